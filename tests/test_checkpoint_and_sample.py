import pickle

import numpy as np
import pytest
import torch

from pipeline.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from pipeline.errors import PipelineError
from pipeline.models import build_model, make_config
from pipeline.sample import draw, sample_names, sample_report, softmax
from pipeline.vocab import Vocabulary

VOCAB = Vocabulary(tuple(".abcdefghijklmnopqrstuvwxyz"))


@pytest.fixture
def checkpoint(tmp_path):
    cfg = make_config("hierarchical", vocab_size=27, block_size=8, n_embd=6, hidden=16)
    model = build_model(cfg, seed=0)
    with torch.no_grad():  # make the running statistics non-trivial
        model(torch.randint(0, 27, (64, 8)))
    path = tmp_path / "wavenet.safetensors"
    save_checkpoint(path, Checkpoint(model.eval(), cfg, VOCAB, step=123, train={"lr": 0.1}))
    return path, model


def test_round_trip_rebuilds_the_same_model(checkpoint):
    path, model = checkpoint
    ckpt = load_checkpoint(path)
    assert ckpt.step == 123 and ckpt.vocab == VOCAB and ckpt.train == {"lr": 0.1}
    assert not ckpt.model.training
    idx = torch.randint(0, 27, (10, 8))
    assert torch.equal(ckpt.model(idx)[0], model(idx)[0])


def test_checkpoint_bytes_are_stable(checkpoint, tmp_path):
    path, _ = checkpoint
    ckpt = load_checkpoint(path)
    again = tmp_path / "again.safetensors"
    save_checkpoint(again, ckpt)
    assert again.read_bytes() == path.read_bytes()


def test_damaged_checkpoint_is_refused(checkpoint):
    path, _ = checkpoint
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(PipelineError, match="wavenet.safetensors: damaged"):
        load_checkpoint(path)


class _Exploit:
    def __reduce__(self):
        return (exec, ("open('PWNED', 'w').write('x')",))


def test_malicious_pickle_is_refused_without_running_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.safetensors"
    path.write_bytes(pickle.dumps(_Exploit()))
    with pytest.raises(PipelineError, match="evil.safetensors: damaged or not a makemore"):
        load_checkpoint(path)
    assert not (tmp_path / "PWNED").exists()


def test_old_checkpoints_name_the_hierarchical_model_wavenet(checkpoint, tmp_path):
    # checkpoints from before model.arch recorded arch "wavenet"; they still load
    path, model = checkpoint
    import json

    from safetensors.torch import load, save
    from pipeline.files import safetensors_metadata
    data = path.read_bytes()
    meta = json.loads(safetensors_metadata(data)["makemore"])
    meta["config"]["arch"] = "wavenet"
    old = tmp_path / "old.safetensors"
    old.write_bytes(save(load(data), metadata={"makemore": json.dumps(meta)}))
    ckpt = load_checkpoint(old)
    assert ckpt.config.arch == "hierarchical"
    idx = torch.randint(0, 27, (10, 8))
    assert torch.equal(ckpt.model(idx)[0], model(idx)[0])


def test_weights_that_do_not_fit_the_config_are_refused(checkpoint, tmp_path):
    path, model = checkpoint
    wrong = make_config("hierarchical", vocab_size=27, block_size=8, n_embd=6, hidden=17)
    other = tmp_path / "other.safetensors"
    save_checkpoint(other, Checkpoint(model, wrong, VOCAB, step=5, train={}))
    with pytest.raises(PipelineError, match=r"other.safetensors: damaged .*size mismatch"):
        load_checkpoint(other)


ARCH_CONFIGS = [
    make_config("mlp", vocab_size=27, block_size=3, n_embd=4, hidden=16),
    make_config("hierarchical", vocab_size=27, block_size=8, n_embd=4, hidden=16),
    make_config("dilated", vocab_size=27, block_size=8, n_embd=4, hidden=16),
    make_config("gated", vocab_size=27, block_size=4, n_embd=4, residual=8, skip=8),
    make_config("transformer", vocab_size=27, block_size=16, n_embd=8, n_layer=1, n_head=2),
    make_config("ngram", vocab_size=27, block_size=8, n_embd=1, order=4),
    make_config("bigram", vocab_size=27, block_size=8, n_embd=1),
    make_config("rnn", vocab_size=27, block_size=8, n_embd=4, hidden=8),
    make_config("gru", vocab_size=27, block_size=8, n_embd=4, hidden=8),
    make_config("lstm", vocab_size=27, block_size=8, n_embd=4, hidden=8, n_layer=2),
    make_config("bow", vocab_size=27, block_size=16, n_embd=8, hidden=8),
]


@pytest.mark.parametrize("cfg", ARCH_CONFIGS[-4:], ids=lambda c: c.arch)
def test_sequence_model_checkpoints_round_trip(cfg, tmp_path):
    model = build_model(cfg, seed=0).eval()
    with torch.no_grad():  # off the initial values (zero start states)
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    path = tmp_path / f"{cfg.arch}.safetensors"
    save_checkpoint(path, Checkpoint(model, cfg, VOCAB, step=1, train={}))
    ckpt = load_checkpoint(path)
    assert ckpt.config == cfg
    idx = torch.randint(0, 27, (5, 16))
    assert torch.equal(ckpt.model(idx)[0], model(idx)[0])


@pytest.mark.parametrize("cfg", ARCH_CONFIGS, ids=lambda c: c.arch)
def test_sampling_is_seeded(cfg):
    model = build_model(cfg, seed=0).eval()
    a = sample_names(model, VOCAB, count=50, seed=1, max_length=12)
    b = sample_names(model, VOCAB, count=50, seed=1, max_length=12)
    c = sample_names(model, VOCAB, count=50, seed=2, max_length=12)
    assert a == b and a != c
    assert len(a) == 50 and all(len(n) <= 12 and "." not in n for n in a)


@pytest.mark.parametrize("cfg", ARCH_CONFIGS, ids=lambda c: c.arch)
def test_sampling_cuts_at_max_length(cfg):
    model = build_model(cfg, seed=0).eval()
    names = sample_names(model, VOCAB, count=200, seed=0, max_length=20)
    assert all(len(n) <= 20 for n in names) and any(len(n) == 20 for n in names)


class _Scripted(torch.nn.Module):
    """A sequence model that predicts 'e' until the name has ``length`` characters, then '.'."""

    reads = "sequences"

    def __init__(self, config=None, length=3):
        super().__init__()
        self.config = config or make_config("transformer", vocab_size=27, block_size=16,
                                            n_embd=2, n_layer=1, n_head=1)
        self.length, self.seen = length, []

    def forward(self, idx, targets=None):
        self.seen.append(idx.clone())
        logits = torch.full((*idx.shape, 27), -50.0)
        logits[..., 5 if idx.shape[1] <= self.length else 0] = 50.0
        return logits, None


def test_sampling_follows_the_model_and_feeds_it_the_name_so_far():
    model = _Scripted()
    assert set(sample_names(model, VOCAB, count=5, seed=0, max_length=10)) == {"eee"}
    # a sequence model is fed '.', then '.e', '.ee', ...: the name from its start
    assert [s.shape[1] for s in model.seen] == [1, 2, 3, 4]
    assert model.seen[-1][0].tolist() == [0, 5, 5, 5]


def test_a_model_without_a_context_limit_is_fed_the_whole_name():
    # a recurrent model (context_size None) sees the name from its start, past any block
    model = _Scripted(make_config("gru", vocab_size=27, block_size=8, n_embd=2), length=20)
    assert sample_names(model, VOCAB, count=2, seed=0, max_length=30) == ["e" * 20] * 2
    assert [s.shape[1] for s in model.seen] == list(range(1, 22))
    assert model.seen[-1][0].tolist() == [0] + [5] * 20


def test_finished_names_leave_the_batch():
    # the model runs on the names still growing only; the others are done
    model = _Scripted()
    model.forward = _stop_row_zero_first(model.forward)
    names = sample_names(model, VOCAB, count=4, seed=0, max_length=10)
    assert names[0] == "" and names[1:] == ["eee"] * 3
    assert [len(s) for s in model.seen] == [4, 3, 3, 3]


def test_draw_follows_the_probabilities():
    probs = np.tile([0.1, 0.0, 0.6, 0.3], (100_000, 1))
    u = np.random.default_rng(0).random((len(probs), 1))
    counts = np.bincount(draw(probs, u), minlength=4) / len(probs)
    assert counts[1] == 0 and np.allclose(counts, probs[0], atol=0.01)


def test_softmax_is_stable():
    probs = softmax(np.array([[1000.0, 1000.0, -1000.0]], dtype=np.float32))
    assert probs.dtype == np.float64 and np.allclose(probs, [[0.5, 0.5, 0.0]])


def test_sample_report():
    report = sample_report(["ann", "zed", "ann", "abcd"], ["ann", "bob"], max_length=4)
    assert report == {"count": 4, "novel_share": 0.5, "mean_length": 3.25,
                      "cut_at_max_length": 1}


def test_help_lists_every_command():
    from click.testing import CliRunner

    from stages.cli import COMMANDS, main
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    listed = [line.split()[0] for line in result.output.split("Commands:")[1].splitlines()
              if line.strip()]
    assert listed == sorted(COMMANDS) == ["compare", "embedding", "ensemble", "evaluate", "fetch",
                                          "lr-find", "preset", "sample", "sequences", "split",
                                          "train", "windows"]


def _stop_row_zero_first(forward):
    """Make the first name of the first batch end at once ('.')."""
    def wrapped(idx, targets=None):
        logits, _ = forward(idx, targets)
        if idx.shape[1] == 1:
            logits[0, :, :] = -50.0
            logits[0, :, 0] = 50.0
        return logits, None
    return wrapped
