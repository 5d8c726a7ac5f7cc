"""The WaveNet family, the transformer and makemore's other sequence models: one
contract, causal, and the dilated form is the hierarchical model's function."""

import dataclasses
from pathlib import Path

import pytest
import torch
import yaml
from click.testing import CliRunner
from torch import nn

from pipeline.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from pipeline.evaluate import name_losses, pass_plan
from pipeline.models import ARCHS, build_model, count_params, fitted_by_counting, make_config
from pipeline.models.bow import causal_average
from pipeline.models.layers import CausalConv
from pipeline.models.transformer import causal_attention
from pipeline.params import TrainParams
from pipeline.sequences import name_sequences, save_sequences, sequence_width
from pipeline.train import bucket_width, packed_rows, train
from pipeline.vocab import Vocabulary
from pipeline.windows import context_windows
from stages.cli import main
from conftest import ROOT

VOCAB = Vocabulary(tuple(".abcdefghijklmnopqrstuvwxyz"))
NAMES = ["emma", "olivia", "ava", "isabella", "sophia", "charlotte", "mia", "amelia", "q",
         "christopherjohn"]

SEQUENCE_MODELS = [
    make_config("dilated", vocab_size=27, block_size=8, n_embd=6, hidden=16),
    make_config("gated", vocab_size=27, block_size=4, n_embd=6, residual=8, skip=12, cycles=2),
    make_config("gated", vocab_size=27, block_size=8, n_embd=6, residual=8, skip=12,
                norm="layer", dropout=0.1),
    make_config("gated", vocab_size=27, block_size=8, n_embd=6, residual=8, skip=12, norm="none"),
    make_config("transformer", vocab_size=27, block_size=16, n_embd=8, n_layer=2, n_head=2,
                dropout=0.1),
    make_config("rnn", vocab_size=27, block_size=8, n_embd=6, hidden=12),
    make_config("gru", vocab_size=27, block_size=8, n_embd=6, hidden=12, n_layer=2, dropout=0.1),
    make_config("lstm", vocab_size=27, block_size=8, n_embd=6, hidden=12, n_layer=2),
    make_config("bow", vocab_size=27, block_size=16, n_embd=8, hidden=12, n_layer=2),
]
COUNTED_MODELS = [  # fitted by counting: no parameters, no gradient
    make_config("ngram", vocab_size=27, block_size=8, n_embd=1, order=6),
    make_config("ngram", vocab_size=27, block_size=8, n_embd=1, order=2),
    make_config("bigram", vocab_size=27, block_size=8, n_embd=1),
]
RECURRENT = ("rnn", "gru", "lstm")


def sequences(names=NAMES, width=16):
    X, Y = name_sequences(names, VOCAB, width)
    return torch.from_numpy(X).long(), torch.from_numpy(Y).long()  # stored int8; models read int64


def moved(model, steps=3):
    """Train-mode passes that move the batch-norm running statistics away from 0 and 1,
    and params nudged off their initial values (a bug could hide behind fresh ones); a
    counted model is fitted (a fresh one is uniform)."""
    X, Y = sequences()
    if fitted_by_counting(model):
        return model.fit(X, Y).eval()
    with torch.no_grad():
        for _ in range(steps):
            model.train()(X, Y) if model.reads == "sequences" else model.train()(
                torch.randint(0, 27, (64, model.config.block_size)))
        for p in model.parameters():
            if p.ndim == 1:
                p.add_(torch.randn_like(p) * 0.3)
    return model.eval()


def test_every_architecture_is_registered_with_its_config():
    for name, cls in ARCHS.items():
        assert cls.reads in ("windows", "sequences")
        assert dataclasses.is_dataclass(cls.Config) and cls.__doc__


def test_dilated_form_is_the_hierarchical_function(tmp_path):
    """A trained hierarchical checkpoint, loaded into the dilated form: the same logits
    for every window of every name, in eval mode."""
    cfg = make_config("hierarchical", vocab_size=27, block_size=8, n_embd=6, hidden=16)
    model = build_model(cfg, seed=0)
    Xw, Yw = (torch.from_numpy(a).long() for a in context_windows(NAMES * 20, VOCAB, 8))
    p = TrainParams(steps=300, batch_size=32, lr=0.1, lr_final=0.01, decay_at=0.75,
                    optimizer="sgd", schedule="step", weight_decay=0.0, seed=0,
                    log_every=100, compile=False)
    train(model, Xw, Yw, p, progress=False)
    path = tmp_path / "hierarchical.safetensors"
    save_checkpoint(path, Checkpoint(model.eval(), cfg, VOCAB, step=300, train={}))
    ckpt = load_checkpoint(path)
    dilated = build_model(dataclasses.replace(ckpt.config, arch="dilated"))
    dilated.load_state_dict(ckpt.model.state_dict(), strict=True)  # the same state dict
    dilated.eval()

    X, Y = sequences()
    windows_x, windows_y = (torch.from_numpy(a).long() for a in context_windows(NAMES, VOCAB, 8))
    with torch.no_grad():
        per_window, _ = ckpt.model(windows_x)  # (events, vocab)
        per_position, _ = dilated(X)          # (names, width, vocab)
    events = Y >= 0
    assert torch.equal(Y[events], windows_y)  # the same events, in the same order
    assert per_window.abs().max() > 1  # trained, not a near-uniform fresh model
    torch.testing.assert_close(per_position[events], per_window, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("cfg", SEQUENCE_MODELS + COUNTED_MODELS, ids=lambda c: f"{c.arch}")
def test_later_characters_never_change_earlier_outputs(cfg):
    """Causality: position t's logits depend on characters 0..t only, so changing
    characters after t leaves them unchanged; and the predicted character (t + 1) is
    never an input of position t."""
    model = moved(build_model(cfg, seed=0))
    X, _ = sequences()
    with torch.no_grad():
        before, _ = model(X)
        for t in range(1, X.shape[1]):
            changed = X.clone()
            changed[:, t:] = torch.randint(1, 27, changed[:, t:].shape)
            after, _ = model(changed)
            torch.testing.assert_close(after[:, :t], before[:, :t], atol=1e-5, rtol=1e-5)
            assert not torch.allclose(after[:, t:], before[:, t:], atol=1e-5)


@pytest.mark.parametrize("cfg", SEQUENCE_MODELS + COUNTED_MODELS, ids=lambda c: f"{c.arch}")
def test_sequence_contract_and_padding(cfg):
    model = moved(build_model(cfg, seed=0)) if cfg in COUNTED_MODELS else build_model(cfg, 0)
    X, Y = sequences()
    logits, loss = model.train()(X, Y)
    assert logits.shape == (len(NAMES), 16, 27) and loss.ndim == 0
    # the loss is the mean over events only: padding positions (Y = -1) do not count
    events = Y >= 0
    expected = torch.nn.functional.cross_entropy(logits[events], Y[events])
    torch.testing.assert_close(loss, expected)
    if not fitted_by_counting(model):
        loss.backward()
        assert all(p.grad is not None for p in model.parameters())
    assert model.eval()(X)[1] is None


@pytest.mark.parametrize("cfg", SEQUENCE_MODELS[:2], ids=lambda c: f"{c.arch}")
def test_batch_norm_statistics_ignore_padding(cfg):
    # what stands after a name's end (padding) must not move the statistics in training
    model = build_model(cfg, seed=0)
    X, Y = sequences()
    padded = X.clone()
    padded[Y < 0] = torch.randint(1, 27, padded[Y < 0].shape)
    a, b = build_model(cfg, seed=0), build_model(cfg, seed=0)
    la, _ = a.train()(X, Y)
    lb, _ = b.train()(padded, Y)
    events = Y >= 0
    torch.testing.assert_close(la[events], lb[events], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(a.state_dict(), b.state_dict())


@pytest.mark.parametrize("cfg", SEQUENCE_MODELS, ids=lambda c: f"{c.arch}")
def test_bucketed_widths_give_the_loss_of_the_unpadded_batch(cfg):
    """A compiled training step pads each batch from its longest name to bucket_width
    columns (input '.', target -1): the loss, the events' logits, every gradient and the
    batch-norm statistics stay those of the batch cut to its longest name."""
    if hasattr(cfg, "dropout"):  # dropout's draws depend on the shape
        cfg = dataclasses.replace(cfg, dropout=0.0)
    X, Y = sequences(NAMES[:9])  # the longest, charlotte, takes 10 columns with its '.'
    cut = int((Y >= 0).sum(1).max())
    wide = bucket_width(cut, X.shape[1])
    assert (cut, wide) == (10, 12)
    a, b = build_model(cfg, seed=0).train(), build_model(cfg, seed=0).train()
    logits_a, loss_a = a(X[:, :cut], Y[:, :cut])
    logits_b, loss_b = b(X[:, :wide], Y[:, :wide])
    loss_a.backward()
    loss_b.backward()
    torch.testing.assert_close(loss_b, loss_a, atol=1e-6, rtol=1e-6)
    events = Y[:, :cut] >= 0
    torch.testing.assert_close(logits_b[:, :cut][events], logits_a[events], atol=1e-5,
                               rtol=1e-5)
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        torch.testing.assert_close(q.grad, p.grad, atol=1e-6, rtol=1e-5, msg=name)
    torch.testing.assert_close(b.state_dict(), a.state_dict())


@pytest.mark.parametrize("cfg", SEQUENCE_MODELS + COUNTED_MODELS, ids=lambda c: f"{c.arch}")
def test_names_scored_by_length_in_cut_passes_score_as_at_full_width(cfg, monkeypatch):
    """Evaluation scores names shortest first, each pass cut to its longest name
    (pipeline/evaluate.py's pass_plan): every name's loss is the one it has at the
    split's full width, in one pass."""
    model = moved(build_model(cfg, seed=0)).eval()
    X, Y = sequences()
    with torch.no_grad():
        logits, _ = model(X)
    each = torch.nn.functional.cross_entropy(logits.transpose(1, 2), Y, ignore_index=-1,
                                             reduction="none").double().sum(1)
    monkeypatch.setattr("pipeline.evaluate.EVAL_VALUES", 3 * 16 * 256)  # 3 names a pass
    assert [width for _, width in pass_plan(model, X, Y)] == [4, 7, 10, 16]
    loss, events = name_losses(model, X, Y)
    torch.testing.assert_close(loss, each, atol=1e-5, rtol=1e-6)
    assert events.tolist() == [len(name) + 1 for name in NAMES]


def test_compiled_attention_is_torchs_causal_attention():
    q, k, v = torch.randn(3, 4, 2, 11, 8).unbind(0)
    expected = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
    torch.testing.assert_close(causal_attention(q, k, v, 0.0), expected, atol=1e-6, rtol=1e-5)


def test_compiled_transformer_reads_packed_rows_as_one_name_each():
    """Compiled, the transformer reads each '.' input as a name's start (the trainer's
    packed rows): every name's logits, the loss and every gradient are those of the names
    in rows of their own."""
    cfg = make_config("transformer", vocab_size=27, block_size=16, n_embd=8, n_layer=2,
                      n_head=2)
    X, Y = sequences()
    cut = int((Y >= 0).sum(1).max())
    packed_x, packed_y = packed_rows(X, Y)
    assert len(packed_x) < len(X)  # some rows hold two names
    a, b = build_model(cfg, seed=0).train(), build_model(cfg, seed=0).train()
    logits_a, loss_a = a(X[:, :cut], Y[:, :cut])
    # dynamo's trace takes the compiled branch; the eager backend runs it without inductor
    logits_b, loss_b = torch.compile(b, backend="eager")(packed_x, packed_y)
    loss_a.backward()
    loss_b.backward()
    torch.testing.assert_close(loss_b, loss_a, atol=1e-6, rtol=1e-6)
    alone = {tuple(x[:n].tolist()): logits[:n] for x, n, logits
             in zip(X, (Y >= 0).sum(1).tolist(), logits_a)}  # each name's inputs -> logits
    packed = {}
    for x, y, logits in zip(packed_x, packed_y, logits_b):
        starts = (x == 0).nonzero().flatten().tolist() + [len(x)]
        for start, end in zip(starts, starts[1:]):
            n = int((y[start:end] >= 0).sum())  # 0 for a padding column
            if n:
                packed[tuple(x[start:start + n].tolist())] = logits[start:start + n]
    assert packed.keys() == alone.keys()  # every name once (NAMES are distinct)
    for name, logits in alone.items():
        torch.testing.assert_close(packed[name], logits, atol=1e-5, rtol=1e-5)
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        torch.testing.assert_close(q.grad, p.grad, atol=1e-6, rtol=1e-5, msg=name)


@pytest.mark.parametrize("dilation", [1, 2, 4])
def test_causal_conv_is_a_left_padded_conv1d(dilation):
    conv = CausalConv(3, 5, dilation)
    reference = nn.Conv1d(3, 5, kernel_size=2, dilation=dilation, padding=dilation)
    with torch.no_grad():  # columns 0..2 weigh x[t - d], 3..5 weigh x[t]
        reference.weight.copy_(conv.proj.weight.view(5, 2, 3).transpose(1, 2))
        reference.bias.copy_(conv.proj.bias)
    x = torch.randn(4, 10, 3)
    expected = reference(x.transpose(1, 2))[:, :, :10].transpose(1, 2)
    torch.testing.assert_close(conv(x), expected, atol=1e-6, rtol=1e-5)


def test_parameter_counts():
    tree = dict(vocab_size=27, block_size=8, n_embd=24, hidden=128)
    assert count_params(build_model(make_config("dilated", **tree))) == 76_579
    gated = make_config("gated", vocab_size=27, block_size=16, n_embd=24, residual=64,
                        skip=128, cycles=1)
    # embedding 27*24; input 24*64+64; 4 blocks of conv 128*128+128 (bias: none with
    # batch norm) + bn 2*128, residual 64*64+64 (not the last block's), skip 64*128+128;
    # head 128*128+128, 128*27+27
    block = 128 * 128 + 2 * 128 + 64 * 64 + 64 + 64 * 128 + 128
    expected = (27 * 24 + 24 * 64 + 64 + 4 * block - (64 * 64 + 64) + 128 * 128 + 128
                + 128 * 27 + 27)
    assert count_params(build_model(gated)) == expected
    assert gated.context_size == 16
    assert make_config("gated", vocab_size=27, block_size=8, n_embd=4,
                       cycles=3).context_size == 22


@pytest.mark.parametrize("arch", RECURRENT)
def test_recurrent_models_see_the_whole_name(arch):
    """No limit on positions or context: the last of 40 positions depends on the first
    character, and the learned start state sets the first prediction."""
    cfg = make_config(arch, vocab_size=27, block_size=8, n_embd=6, hidden=12)
    assert cfg.context_size is None and cfg.max_positions is None
    # float64: a fresh tanh RNN's memory of 39 steps back is below float32's rounding
    model = build_model(cfg, seed=0).double().eval()
    X = torch.randint(1, 27, (4, 40))
    changed = X.clone()
    changed[:, 1] = X[:, 1] % 26 + 1
    with torch.no_grad():
        before, after = model(X)[0], model(changed)[0]
        assert torch.equal(before[:, 0], after[:, 0])
        assert (before[:, -1] - after[:, -1]).abs().amax(-1).min() > 0  # every name
        model.start.add_(0.5)
        assert not torch.allclose(model(X)[0][:, 0], before[:, 0])


def test_bow_averages_the_positions_so_far():
    x = torch.tensor([[[2.0], [4.0], [0.0], [10.0]]])  # (1, 4, 1)
    assert causal_average(x).flatten().tolist() == [2.0, 3.0, 2.0, 4.0]


def test_makemore_sequence_model_parameter_counts():
    """At makemore's default sizes (n_embd 64, n_embd2 64, one layer; vocab 27, block
    16) makemore.py prints 11,803 (rnn), 28,315 (gru) and 12,827 (bow) params. torch's
    fused layers keep two biases (b_ih and b_hh) per gate: one hidden-sized vector
    more per gate than makemore's cells."""
    sizes = dict(vocab_size=27, block_size=16, n_embd=64, hidden=64, n_layer=1)
    counts = {arch: count_params(build_model(make_config(arch, **sizes)))
              for arch in ("rnn", "gru", "lstm", "bow")}
    assert counts["rnn"] == 11_803 + 64
    assert counts["gru"] == 28_315 + 3 * 64
    # start (h and c) 2*64; embedding 27*64; 4 gates of 64*64 + 64*64 + 2*64; head 64*27+27
    assert counts["lstm"] == 2 * 64 + 27 * 64 + 4 * (2 * 64 * 64 + 2 * 64) + 64 * 27 + 27
    assert counts["bow"] == 12_827


@pytest.mark.parametrize("config", SEQUENCE_MODELS + COUNTED_MODELS, ids=lambda c: c.arch)
def test_long_names_and_a_large_vocabulary(config):
    """Names of up to 64 characters from 2,999 letters: every sequence model trains a
    step and scores them (a transformer or bag of words given 65 positions)."""
    letters = [chr(0x4E00 + i) for i in range(2999)]
    vocab = Vocabulary.from_names(letters)
    names = ["".join(letters[(7 * i + j) % 2999] for j in range(n))
             for i, n in enumerate([64, 1, 33, 64, 5])]
    X, Y = (torch.from_numpy(a).long() for a in name_sequences(names, vocab, 65))
    fields = {"block_size": 65} if config.max_positions is not None else {}
    model = build_model(dataclasses.replace(config, vocab_size=len(vocab), **fields), seed=0)
    if fitted_by_counting(model):
        model.fit(X, Y)
    else:
        model.train()(X, Y)[1].backward()
    logits, loss = model.eval()(X, Y)
    assert logits.shape == (5, 65, 3000) and torch.isfinite(loss)


LONG_NAME = "christopher" * 5 + "johnz"  # 60 letters: the sequences' width is 61


@pytest.fixture
def long_name_project(tmp_path, monkeypatch):
    """A project holding the sequences of a few names, one of 60 letters, and params
    with a transformer in a section named ``tf``; ``params(block_size)`` writes them."""
    monkeypatch.chdir(tmp_path)
    splits = {"train": NAMES + [LONG_NAME], "val": ["emma", "anna"], "test": ["mia", "ivy"]}
    width = sequence_width(splits)
    save_sequences("data/tensors/sequences.safetensors",
                   {s: name_sequences(n, VOCAB, width) for s, n in splits.items()}, VOCAB)

    def params(block_size):
        params = yaml.safe_load((ROOT / "params.yaml").read_text())
        params["models"] = {"tf": "tf"}
        params["tf"] = {"arch": "transformer", "block_size": block_size, "n_embd": 8,
                        "transformer": {"n_layer": 1, "n_head": 2},
                        "train": {"steps": 2, "batch_size": 4, "compile": False}}
        (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    return params


def test_block_size_null_takes_the_longest_name_plus_one(long_name_project):
    long_name_project(None)
    result = CliRunner().invoke(main, ["train", "tf", "--quiet"])
    assert result.exit_code == 0, result.output
    ckpt = load_checkpoint("models/tf.safetensors")
    assert ckpt.config.block_size == len(LONG_NAME) + 1 == 61
    assert ckpt.model.position.weight.shape == (61, 8)
    result = CliRunner().invoke(main, ["evaluate", "tf"])  # the checkpoint's 61, whole names
    assert result.exit_code == 0, result.output


def test_a_block_size_below_the_longest_name_is_one_line_naming_the_section(long_name_project):
    long_name_project(16)
    result = CliRunner().invoke(main, ["train", "tf", "--quiet"])
    assert result.exit_code == 1
    assert result.stderr == ("error: params.yaml: tf.block_size must be >= 61 for the "
                             "transformer model (the longest name + 1), got 16; null follows "
                             "the list\n")
    assert not (Path.cwd() / "models").exists()
