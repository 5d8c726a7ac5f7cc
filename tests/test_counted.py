"""The counted models: the bigram (add-k) and the interpolated modified Kneser-Ney n-gram,
fitted by counting; their probabilities, checkpoints, stages and lecture-data score."""

import json
import math
from collections import Counter, defaultdict

import numpy as np
import pytest
import torch
import yaml
from click.testing import CliRunner

from pipeline.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from pipeline.evaluate import split_loss
from pipeline.models import build_model, fitted_by_counting, make_config
from pipeline.models.ngram import discounts
from pipeline.sample import sample_names
from pipeline.sequences import load_sequences, name_sequences, save_sequences, sequence_width
from pipeline.vocab import Vocabulary
from conftest import ROOT

VOCAB = Vocabulary(tuple(".abcdefghijklmnopqrstuvwxyz"))
NAMES = ["emma", "olivia", "ava", "isabella", "sophia", "charlotte", "mia", "amelia", "q",
         "christopherjohn", "emily", "ella", "anna", "annabella"]


def sequences(names=NAMES, vocab=VOCAB, width=16):
    X, Y = name_sequences(names, vocab, width)
    return torch.from_numpy(X).long(), torch.from_numpy(Y).long()  # stored int8; models read int64


def ngram(order, vocab_size=27, names=NAMES, vocab=VOCAB, min_count=1, max_table_gb=1.0):
    cfg = make_config("ngram", vocab_size=vocab_size, block_size=8, n_embd=1, order=order,
                      min_count=min_count, max_table_gb=max_table_gb)
    return build_model(cfg).fit(*sequences(names, vocab)).eval()


def probs(model, idx):
    with torch.no_grad():
        return model(idx)[0].double().exp()  # (B, T, V)


# -- Kneser-Ney, by hand and from the formulas ----------------------------------------------

def test_kneser_ney_by_hand():
    """Order 2 on a corpus small enough to follow Chen & Goodman's formulas by hand."""
    vocab = Vocabulary(tuple(".abc"))
    model = ngram(2, vocab_size=4, names=["ab", "a", "ac", "cc", "bc", "ab"], vocab=vocab)
    # bigram counts: .a 4, c. 3, ab 2, b. 2, and six seen once (a. ac .c cc .b bc):
    # n1..n4 = 6, 2, 1, 1; Y = 6 / (6 + 2*2) = 0.6
    # D1 = 1 - 2*0.6*2/6 = 0.6, D2 = 2 - 3*0.6*1/2 = 1.1, D3+ = 3 - 4*0.6*1/1 = 0.6
    # continuation counts N1+(.w): c 4 (after a . c b), . 3 (c b a), b 2 (a .), a 1 (.)
    # n1..n4 = 1, 1, 1, 1; Y = 1/3; D1 = 1/3, D2 = 2 - 3*(1/3) = 1, D3+ = 3 - 4/3 = 5/3
    # unigram: gamma = (1/3 + 1 + 5/3 + 5/3) / 10 = 7/15 of the uniform 1/4
    p_c = (4 - 5 / 3) / 10 + 7 / 15 / 4   # 0.35
    p_a = (1 - 1 / 3) / 10 + 7 / 15 / 4   # 11/60
    # after 'a': ab 2, a. 1, ac 1 (c(a) = 4): gamma(a) = (D2 + D1 + D1) / 4
    p_c_after_a = (1 - 0.6) / 4 + (1.1 + 0.6 + 0.6) / 4 * p_c
    # after 'b': b. 2, bc 1 (c(b) = 3), 'a' never follows it: only gamma(b) * p(a)
    p_a_after_b = (1.1 + 0.6) / 3 * p_a
    p = probs(model, torch.tensor([[1, 2]]))  # the contexts 'a' and 'b'
    assert p[0, 0, 3].item() == pytest.approx(p_c_after_a, abs=1e-6)  # logits are float32
    assert p[0, 1, 1].item() == pytest.approx(p_a_after_b, abs=1e-6)  # logits are float32
    assert p_c_after_a == pytest.approx(0.30125) and p_a == pytest.approx(11 / 60)


def test_discounts_are_chen_and_goodmans():
    counts = torch.tensor([1] * 6 + [2] * 2 + [3, 4, 7])
    assert discounts(counts).tolist() == pytest.approx([0.0, 0.6, 1.1, 0.6])
    # no count of 2 or 3 (a tiny corpus): those discounts are Y, within [0, r]
    assert discounts(torch.tensor([1, 1, 4])).tolist() == pytest.approx([0.0, 1.0, 1.0, 1.0])


def reference_kneser_ney(names, order, V, min_count=1):
    """p(w | h) from Chen & Goodman's (1998) formulas, with dicts and loops:
    raw counts at the longest context, continuation counts below, the empty context
    interpolated with the uniform 1/V; a context (of one character or more) that fewer
    than ``min_count`` events followed counts as unseen, and each level's discounts come
    from the contexts it keeps. Characters are vocabulary indices."""
    levels, events_after = {order: Counter()}, Counter()
    for name in names:
        ids = [0] * (order - 1) + VOCAB.encode(name) + [0]
        for i in range(len(ids) - order + 1):
            levels[order][tuple(ids[i:i + order])] += 1
            for k in range(1, order):
                events_after[tuple(ids[i + order - 1 - k:i + order - 1])] += 1
    for k in range(order - 1, 0, -1):
        levels[k] = Counter(gram[1:] for gram in levels[k + 1])
    tables = {}
    for k, counts in levels.items():
        counts = {gram: c for gram, c in counts.items()  # the kept contexts' pairs only
                  if k == 1 or events_after[gram[:-1]] >= min_count}
        d = discounts(torch.tensor(list(counts.values()))).tolist()
        by_context = defaultdict(dict)
        for gram, c in counts.items():
            by_context[gram[:-1]][gram[-1]] = c
        tables[k] = (d, by_context)

    def p(context, w):  # context: the order - 1 previous characters, oldest first
        prob = 1.0 / V
        for k in range(1, order + 1):
            d, by_context = tables[k]
            h = tuple(context[len(context) - k + 1:]) if k > 1 else ()
            seen = by_context.get(h)
            if seen and (not h or events_after[h] >= min_count):
                total = sum(seen.values())
                gamma = sum(d[min(c, 3)] for c in seen.values()) / total
                c = seen.get(w, 0)
                prob = max(c - d[min(c, 3)], 0) / total + gamma * prob
        return prob
    return p


@pytest.mark.parametrize("order, min_count", [(1, 1), (2, 1), (3, 1), (4, 1), (2, 3), (4, 2),
                                              (5, 3)])
def test_kneser_ney_is_the_formulas_at_every_position(order, min_count):
    model = ngram(order, min_count=min_count)
    reference = reference_kneser_ney(NAMES, order, 27, min_count)
    X, _ = sequences()
    got = probs(model, X)
    for row in range(len(NAMES)):
        for t in range(X.shape[1]):
            padded = [0] * (order - 1) + X[row, :t + 1].tolist()
            context = padded[len(padded) - order + 1:] if order > 1 else []
            expected = [reference(context, w) for w in range(27)]
            assert got[row, t].tolist() == pytest.approx(expected, abs=1e-6)


# -- distributions, causality, storage, checkpoints ---------------------------------------

@pytest.mark.parametrize("arch, extra", [("ngram", {"order": 1}), ("ngram", {"order": 3}),
                                         ("ngram", {"order": 7}),
                                         ("ngram", {"order": 6, "min_count": 2}), ("bigram", {})])
def test_rows_are_distributions_with_no_zero(arch, extra):
    cfg = make_config(arch, vocab_size=27, block_size=8, n_embd=1, **extra)
    model = build_model(cfg).fit(*sequences()).eval()
    idx = torch.cat([sequences()[0], torch.randint(0, 27, (50, 16))])  # unseen contexts too
    p = probs(model, idx)
    torch.testing.assert_close(p.sum(-1), torch.ones(idx.shape, dtype=torch.float64))
    assert p.min() > 0


def test_an_unfitted_counted_model_predicts_the_uniform_distribution():
    for arch in ("ngram", "bigram"):
        model = build_model(make_config(arch, vocab_size=27, block_size=8, n_embd=1))
        assert fitted_by_counting(model)
        X, Y = sequences()
        assert split_loss(model, X, Y) == pytest.approx(torch.log(torch.tensor(27.0)).item())


def test_ngram_sees_order_minus_one_characters():
    # position t depends on idx[t - order + 2 .. t] only: so the sample path may feed it
    # the last context_size characters of a name
    model = ngram(4)
    X, _ = sequences()
    assert model.config.context_size == 3
    full = probs(model, X)
    for t in range(3, X.shape[1]):
        torch.testing.assert_close(probs(model, X[:, t - 2:t + 1])[:, -1], full[:, t])
    changed = X.clone()
    changed[:, :5] = torch.randint(1, 27, (len(X), 5))
    torch.testing.assert_close(probs(model, changed)[:, 7:], full[:, 7:])


def test_storage_grows_with_the_ngrams_not_the_vocabulary():
    small, large = ngram(5), ngram(5, vocab_size=5000)
    size = {name: b.numel() for name, b in small.named_buffers()}
    assert size == {name: b.numel() for name, b in large.named_buffers()}
    # every stored (context, next character) is one seen in training
    events = sum(len(n) + 1 for n in NAMES)
    assert all(size[f"levels.{L}.prob"] <= events for L in range(5))
    assert size["levels.4.keys"] < events  # the contexts of 4 characters: fewer than events


@pytest.mark.parametrize("arch, extra", [("ngram", {"order": 6}), ("bigram", {"smoothing": 0.5})])
def test_checkpoint_round_trip_gives_the_same_logits(arch, extra, tmp_path):
    cfg = make_config(arch, vocab_size=27, block_size=8, n_embd=1, **extra)
    model = build_model(cfg).fit(*sequences()).eval()
    path = tmp_path / f"{arch}.safetensors"
    save_checkpoint(path, Checkpoint(model, cfg, VOCAB, step=0, train={}))
    assert b"pickle" not in path.read_bytes()[:8] and path.stat().st_size < 200_000
    ckpt = load_checkpoint(path)
    assert ckpt.config == cfg and ckpt.step == 0
    X, _ = sequences()
    torch.testing.assert_close(ckpt.model(X)[0], model(X)[0], rtol=0, atol=0)


# -- the bigram -------------------------------------------------------------------------------

@pytest.mark.parametrize("k", [1.0, 0.01])
def test_bigram_is_the_normalised_counts_plus_k(k):
    model = build_model(make_config("bigram", vocab_size=27, block_size=8, n_embd=1,
                                    smoothing=k)).fit(*sequences())
    N = torch.zeros((27, 27), dtype=torch.float64)  # Part 1's loop over the names
    for name in NAMES:
        chars = [0] + VOCAB.encode(name) + [0]
        for a, b in zip(chars, chars[1:]):
            N[a, b] += 1
    P = (N + k) / (N + k).sum(1, keepdim=True)
    assert N[0, 1] == 4  # ava, amelia, anna, annabella start with 'a'
    torch.testing.assert_close(model.counts.double(), N)
    idx = torch.arange(27)[None]
    torch.testing.assert_close(probs(model, idx)[0], P, rtol=1e-6, atol=0)


# -- params, stages, sampling ---------------------------------------------------------------

@pytest.mark.parametrize("overrides, error", [
    ({"order": 0}, "params.yaml: model.ngram.order must be an integer >= 1, got 0"),
    ({"order": 2.5}, "params.yaml: model.ngram.order must be an integer >= 1, got 2.5"),
    ({"min_count": 0}, "params.yaml: model.ngram.min_count must be an integer >= 1, got 0"),
    ({"max_table_gb": 0}, "params.yaml: model.ngram.max_table_gb must be a number > 0.0, "
                          "got 0"),
    ({"smoothing": 0}, "params.yaml: model.bigram.smoothing must be a number in (0.0, "
                       "1000000.0), got 0"),
])
def test_a_bad_counted_param_is_one_line_naming_its_key(overrides, error):
    from pipeline.errors import PipelineError
    from pipeline.params import ModelParams

    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    arch = "bigram" if "smoothing" in overrides else "ngram"
    params["model"].update(arch=arch)
    params["model"][arch].update(overrides)
    with pytest.raises(PipelineError) as e:
        ModelParams.load(params, "wavenet")
    assert str(e.value) == error


def test_params_put_the_counted_models_in_the_wavenet_slot():
    from pipeline.params import ModelParams

    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["model"].update(arch="ngram", ngram={"order": 4})
    mp = ModelParams.load(params, "wavenet")
    assert mp.arch == "ngram" and mp.config(vocab_size=27).order == 4
    params["model"]["arch"] = "bigram"
    assert ModelParams.load(params, "wavenet").config(vocab_size=27).smoothing == 1.0


@pytest.fixture
def counted_project(tmp_path, monkeypatch):
    """A project directory with the sequences of a few names and params for the n-gram."""
    monkeypatch.chdir(tmp_path)
    splits = {"train": NAMES, "val": ["emma", "anna", "sophie"], "test": ["mia", "ivy"]}
    vocab = Vocabulary.from_names(n for names in splits.values() for n in names)
    width = sequence_width(splits)
    save_sequences("data/tensors/sequences.safetensors",
                   {s: name_sequences(n, vocab, width) for s, n in splits.items()}, vocab)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["model"].update(arch="ngram", ngram={"order": 3})
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    return tmp_path


def test_train_stage_fits_a_counted_model_and_writes_every_output(counted_project):
    from stages.cli import main

    result = CliRunner().invoke(main, ["train", "wavenet", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "fitted by counting" in result.output
    ckpt = load_checkpoint("models/wavenet.safetensors")
    assert ckpt.config.arch == "ngram" and ckpt.step == 0
    assert ckpt.train == {"fitted_by": "counting"}
    data, vocab = load_sequences("data/tensors/sequences.safetensors")
    assert ckpt.vocab == vocab
    assert split_loss(ckpt.model, *data["train"]) < 0.5 * math.log(len(vocab))  # fitted
    initial = json.loads((counted_project / "metrics/init/wavenet.json").read_text())
    assert initial["initial_loss"] == initial["uniform_loss"]  # before counting: uniform
    assert (counted_project / "metrics/loss/wavenet.csv").read_text() == "step,log10_loss\n"
    result = CliRunner().invoke(main, ["evaluate", "wavenet"])
    assert result.exit_code == 0, result.output
    assert "val" in json.loads((counted_project / "metrics/wavenet.json").read_text())["wavenet"]


def test_tables_past_max_table_gb_stop_the_fit_naming_what_min_count_keeps():
    from pipeline.models.ngram import TablesTooLarge

    exact = ngram(4)
    size = sum(b.numel() * b.element_size() for b in exact.buffers())  # 7,168 bytes
    assert ngram(4, max_table_gb=size / 2**30).state_dict().keys() == exact.state_dict().keys()
    with pytest.raises(TablesTooLarge) as e:
        ngram(4, max_table_gb=0.8 * size / 2**30)
    message = str(e.value)
    assert message.startswith("ngram.max_table_gb: the n-gram's tables would pass")
    assert "contexts of length 3 to keep at min_count 1: 14 at 2, 2 at 4," in message
    assert message.endswith("raise ngram.min_count, or max_table_gb where memory allows")


def test_train_stage_refuses_tables_past_the_limit_in_one_line(counted_project):
    from stages.cli import main

    params = yaml.safe_load((counted_project / "params.yaml").read_text())
    params["model"]["ngram"]["max_table_gb"] = 1e-6  # 1 KB
    (counted_project / "params.yaml").write_text(yaml.safe_dump(params))
    result = CliRunner().invoke(main, ["train", "wavenet", "--quiet"])
    assert result.exit_code != 0
    error = result.output.strip().splitlines()[-1]
    assert error.startswith("error: params.yaml: model.ngram.max_table_gb: the n-gram's "
                            "tables would pass 1e-06 GB"), error
    assert not (counted_project / "models/wavenet.safetensors").exists()


def test_lr_find_and_embedding_note_that_a_counted_model_has_neither(counted_project):
    from stages.cli import main

    result = CliRunner().invoke(main, ["lr-find", "wavenet", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "has no learning rate" in result.output
    out = counted_project / "metrics/lr_find/wavenet"
    assert out.with_suffix(".csv").read_text() == "exponent,loss,smoothed\n"
    assert "no learning rate" in json.loads(out.with_suffix(".json").read_text())["note"]
    assert CliRunner().invoke(main, ["train", "wavenet", "--quiet"]).exit_code == 0
    result = CliRunner().invoke(main, ["embedding", "wavenet"])
    assert result.exit_code == 0, result.output
    assert "no character embedding" in result.output
    out = counted_project / "metrics/embedding/wavenet"
    assert out.with_suffix(".csv").read_text() == "char,x,y\n"
    assert "no character embedding" in json.loads(out.with_suffix(".json").read_text())["note"]
    assert (counted_project / "metrics/embedding/wavenet.neighbours.txt").read_text() == (
        "# the ngram model has no character embedding\n")


def test_sampling_a_fitted_ngram_follows_its_distribution():
    model = ngram(6)
    names = sample_names(model, VOCAB, count=4000, seed=0, max_length=2)
    assert names == sample_names(model, VOCAB, count=4000, seed=0, max_length=2)
    # the second character after a first 'a': drawn as p(. | '....a') says
    seconds = Counter(n[1] if len(n) > 1 else "." for n in names if n[:1] == "a")
    p = probs(model, torch.tensor([[0, 1]]))[0, 1]  # after '.a'
    drawn = torch.tensor([seconds[ch] for ch in VOCAB.itos], dtype=torch.float64)
    assert (drawn / drawn.sum() - p).abs().max() < 0.05 and drawn.sum() > 500


# -- the lecture's data -------------------------------------------------------------------

def test_order_6_scores_the_reference_val_loss(lecture_splits):
    """Computed independently on the lecture split: 1.974 at order 6."""
    splits = lecture_splits
    vocab = Vocabulary.from_names(n for names in splits.values() for n in names)
    width = sequence_width(splits)
    model = ngram(6, names=splits["train"], vocab=vocab)
    X, Y = (torch.from_numpy(a).long() for a in name_sequences(splits["val"], vocab, width))
    assert split_loss(model, X, Y) == pytest.approx(1.974, abs=0.005)


@pytest.mark.parametrize("arch, extra", [("ngram", {"order": 4}), ("bigram", {})])
def test_the_stored_int8_indices_fit_the_same_tables(arch, extra):
    """The train stage hands the counted models the stored (int8) tensors."""
    cfg = make_config(arch, vocab_size=27, block_size=8, n_embd=1, **extra)
    X, Y = name_sequences(NAMES, VOCAB, 16)
    stored = build_model(cfg).fit(torch.from_numpy(X), torch.from_numpy(Y))
    widened = build_model(cfg).fit(*sequences())
    assert X.dtype == np.int8
    for (name, a), (_, b) in zip(stored.state_dict().items(), widened.state_dict().items()):
        assert torch.equal(a, b), name


def test_counting_in_parts_is_torch_unique(monkeypatch):
    # a list of millions of names is counted a bounded number of keys at a time
    import pipeline.models.ngram as ngram_module

    monkeypatch.setattr(ngram_module, "PART", 100)
    keys = torch.randint(0, 300, (2_000,), generator=torch.Generator().manual_seed(0)) ** 2
    distinct, rows, counts = ngram_module.unique_parts(keys, inverse=True)
    assert len(distinct) > 1
    got = ngram_module.joined(distinct), rows.long(), ngram_module.joined(counts).long()
    for got, want in zip(got, torch.unique(keys, return_inverse=True, return_counts=True)):
        assert torch.equal(got, want)
    assert ngram_module.unique_parts(keys)[1] is None
