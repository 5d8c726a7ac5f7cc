"""Part 2's tools: the learning-rate finder, the embedding map, the initial loss, and
Part 2's own model, initialisation and split."""

import dataclasses
import json
import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from pipeline.checkpoint import Checkpoint, save_checkpoint
from pipeline.embedding_map import embedding_map, nearest_neighbours, neighbours_text
from pipeline.evaluate import split_loss
from pipeline.lr_find import exponents, lr_find_curve, lr_sweep, smoothed, suggestion
from pipeline.models import build_model, count_params, make_config
from pipeline.params import LrFindParams
from pipeline.split import split_names
from pipeline.vocab import Vocabulary
from pipeline.windows import context_windows
from test_train import LECTURE

VOCAB = Vocabulary(tuple(".abcdefghijklmnopqrstuvwxyz"))
SWEEP = LrFindParams(steps=1000, min_exp=-3.0, max_exp=0.0, smoothing=50)


def part2_mlp(**overrides):
    values = dict(vocab_size=27, block_size=3, n_embd=10, hidden=200, batch_norm=False,
                  init="normal") | overrides
    return make_config("mlp", **values)


# -- learning-rate finder ----------------------------------------------------------------

def test_exponents_rise_evenly_from_min_to_max():
    xs = exponents(SWEEP)
    assert len(xs) == 1000 and xs[0] == -3.0 and xs[-1] == 0.0
    steps = np.diff(xs)
    assert np.allclose(steps, 3 / 999)


def test_smoothing_is_a_centred_moving_average():
    assert smoothed([1.0, 2.0, 3.0, 4.0, 5.0], 1) == [1.0, 2.0, 3.0, 4.0, 5.0]
    # window 3: the middle values are centred means; the ends average what there is
    assert smoothed([1.0, 2.0, 3.0, 4.0, 5.0], 3) == [1.5, 2.0, 3.0, 4.0, 4.5]


def test_suggestion_is_the_valley_of_the_smoothed_curve():
    xs = exponents(SWEEP)
    rng = np.random.default_rng(0)
    points = [(x, 2.0 + (x + 1.2) ** 2 + 0.05 * rng.standard_normal()) for x in xs]
    result = suggestion(points, lr_find_curve(points, 50))
    assert abs(result["suggested_exponent"] + 1.2) < 0.1
    assert result["suggested_lr"] == pytest.approx(10 ** result["suggested_exponent"], rel=1e-5)
    assert "diverged_at_exponent" not in result


def test_a_diverged_sweep_ends_the_curve_where_the_loss_stops_being_finite():
    xs = exponents(SWEEP)
    points = [(x, 3.0 - x if x < -0.5 else math.nan) for x in xs]
    curve = lr_find_curve(points, 50)
    assert len(curve) == sum(x < -0.5 for x in xs)
    assert all(math.isfinite(row["smoothed"]) for row in curve)
    result = suggestion(points, curve)
    assert result["diverged_at_exponent"] == round(xs[len(curve)], 6)
    assert result["suggested_exponent"] < -0.5


def test_sweep_trains_with_the_rising_learning_rate(monkeypatch):
    import pipeline.lr_find as lr_find

    seen = []

    def recording_train(model, X, Y, p, progress, lr_at):
        seen.extend(lr_at(step) for step in range(p.steps))
        assert p.steps == 5 and p.log_every == 1 and p.batch_size == LECTURE.batch_size
        assert p.ema == 0.0  # the sweep's curve is of raw steps: no weight average kept
        return [(step + 1, 0.5) for step in range(p.steps)]

    monkeypatch.setattr(lr_find, "train", recording_train)
    p = LrFindParams(steps=5, min_exp=-2.0, max_exp=0.0, smoothing=1)
    points = lr_sweep(None, None, None, dataclasses.replace(LECTURE, ema=0.99), p,
                      progress=False)
    assert seen == pytest.approx([0.01, 10 ** -1.5, 0.1, 10 ** -0.5, 1.0])
    assert points == [(x, pytest.approx(10 ** 0.5)) for x in (-2.0, -1.5, -1.0, -0.5, 0.0)]


def test_sweep_of_a_real_model_falls_then_rises():
    """On the real trainer, on a task learnt from the context: the loss falls from
    the uniform guess, and the valley lies inside the range."""
    g = torch.Generator().manual_seed(0)
    X = torch.randint(0, 27, (4096, 3), generator=g)
    Y = X[:, 2]  # the last character again: learnable from the context
    model = build_model(make_config("mlp", vocab_size=27, block_size=3, n_embd=4, hidden=32),
                        seed=0)
    p = LrFindParams(steps=300, min_exp=-3.0, max_exp=1.0, smoothing=20)
    points = lr_sweep(model, X, Y, dataclasses.replace(LECTURE, compile=False), p,
                      progress=False)
    curve = lr_find_curve(points, p.smoothing)
    valley = suggestion(points, curve)["suggested_exponent"]
    assert -3.0 < valley < 1.0
    lowest = min(row["smoothed"] for row in curve)
    assert curve[0]["smoothed"] > lowest + 1.0 and curve[-1]["smoothed"] > lowest + 1.0


# -- embedding map -----------------------------------------------------------------------

def test_a_two_dimensional_table_is_its_own_map():
    table = np.random.default_rng(0).standard_normal((27, 2)).astype(np.float32)
    coords, explained = embedding_map(table)
    assert explained is None and np.array_equal(coords, table.astype(np.float64))


def test_map_is_the_projection_on_the_two_principal_axes():
    rng = np.random.default_rng(1)
    table = rng.standard_normal((27, 10)) * np.linspace(3.0, 0.5, 10)  # unequal variances
    coords, explained = embedding_map(table)
    centred = table - table.mean(0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    expected = centred @ vt[:2].T
    for axis in range(2):  # each axis up to its sign
        assert np.allclose(np.abs(coords[:, axis]), np.abs(expected[:, axis]), atol=1e-9)
    assert explained == pytest.approx((s[:2] ** 2 / (s ** 2).sum()).tolist())
    assert explained[0] >= explained[1] and sum(explained) < 1
    again, _ = embedding_map(table)
    assert np.array_equal(coords, again)  # the same numbers, signs included, every run


def test_a_one_dimensional_table_is_drawn_along_x():
    table = np.arange(27, dtype=np.float32)[:, None]
    coords, explained = embedding_map(table)
    assert coords.shape == (27, 2) and not coords[:, 1].any()
    assert np.allclose(np.abs(coords[:, 0]), np.abs(table[:, 0] - table.mean()))
    assert explained == pytest.approx([1.0, 0.0])


def test_nearest_neighbours_by_cosine():
    table = np.array([[1.0, 0.0, 0.0], [0.9, 0.1, 0.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.1]])
    near = nearest_neighbours(table, k=2)
    assert [j for j, _ in near[0]] == [1, 2]
    assert near[0][0][1] == pytest.approx(0.9 / math.hypot(0.9, 0.1))
    assert [j for j, _ in near[3]] == [2, 1]  # the opposite vector is the least similar
    text = neighbours_text(("a", "e", "q", "x"), near, "test")
    assert text.splitlines()[1] == f"a: e {0.9 / math.hypot(0.9, 0.1):.3f}, q 0.000"


def test_embedding_stage_writes_the_map_its_variance_and_the_neighbours(tmp_path, monkeypatch):
    from stages.cli import main

    monkeypatch.chdir(tmp_path)
    cfg = make_config("hierarchical", vocab_size=27, block_size=8, n_embd=6, hidden=16)
    save_checkpoint("models/wavenet.safetensors",
                    Checkpoint(build_model(cfg, seed=0).eval(), cfg, VOCAB, step=1, train={}))
    result = CliRunner().invoke(main, ["embedding", "wavenet"])
    assert result.exit_code == 0, result.output
    rows = (tmp_path / "metrics/embedding/wavenet.csv").read_text().splitlines()
    assert rows[0] == "char,x,y" and len(rows) == 28
    assert [r.split(",")[0] for r in rows[1:]] == list(VOCAB.itos)
    metrics = json.loads((tmp_path / "metrics/embedding/wavenet.json").read_text())
    assert metrics["n_embd"] == 6
    assert metrics["explained_variance"] == pytest.approx(
        metrics["explained_variance_x"] + metrics["explained_variance_y"], abs=2e-6)
    neighbours = (tmp_path / "metrics/embedding/wavenet.neighbours.txt").read_text()
    assert len(neighbours.splitlines()) == 1 + 27 and "\nq: " in neighbours


# -- initial loss ------------------------------------------------------------------------

@pytest.mark.parametrize("arch, extra", [("mlp", dict(block_size=3, hidden=200)),
                                         ("hierarchical", dict(block_size=8, hidden=128))])
def test_a_fresh_lecture_model_starts_near_the_uniform_loss(arch, extra):
    """Part 3's check: the 0.1-scaled output layer makes the first guess nearly uniform."""
    model = build_model(make_config(arch, vocab_size=27, n_embd=10, **extra), seed=42)
    g = torch.Generator().manual_seed(0)
    X = torch.randint(0, 27, (2000, extra["block_size"]), generator=g)
    Y = torch.randint(0, 27, (2000,), generator=g)
    assert abs(split_loss(model, X, Y) - math.log(27)) < 0.05


def test_part2_init_starts_far_above_the_uniform_loss():
    """N(0, 1) for every tensor: confident, wrong first guesses."""
    model = build_model(part2_mlp(), seed=2147483647)
    g = torch.Generator().manual_seed(0)
    X = torch.randint(0, 27, (2000, 3), generator=g)
    assert split_loss(model, X, torch.randint(0, 27, (2000,), generator=g)) > 10


# -- Part 2's own model, initialisation and split ----------------------------------------

def test_part2_init_is_the_notebooks_draws():
    model = build_model(part2_mlp(), seed=2147483647)
    g = torch.Generator().manual_seed(2147483647)  # the notebook's cell, verbatim
    C = torch.randn((27, 10), generator=g)
    W1 = torch.randn((30, 200), generator=g)
    b1 = torch.randn(200, generator=g)
    W2 = torch.randn((200, 27), generator=g)
    b2 = torch.randn(27, generator=g)
    state = model.state_dict()
    assert count_params(model) == 11_897
    assert torch.equal(state["embedding.weight"], C)
    assert torch.equal(state["net.1.weight"], W1.t()) and torch.equal(state["net.1.bias"], b1)
    assert torch.equal(state["net.3.weight"], W2.t()) and torch.equal(state["net.3.bias"], b2)
    # the notebook's forward pass gives the same logits
    idx = torch.randint(0, 27, (5, 3), generator=g)
    logits, _ = model(idx)
    notebook = torch.tanh(C[idx].view(-1, 30) @ W1 + b1) @ W2 + b2
    assert torch.allclose(logits, notebook, atol=1e-4)


def window_counts(splits, vocab):
    return [len(context_windows(splits[s], vocab, 3)[1]) for s in ("train", "val", "test")]


def test_part2_split_is_the_lecture_shuffle_run_four_times(lecture_names):
    vocab = Vocabulary.from_names(lecture_names)
    once = split_names(lecture_names, seed=42, train=0.8, val=0.1)
    assert window_counts(once, vocab) == [182_625, 22_655, 22_866]  # Part 5's
    four = split_names(lecture_names, seed=42, train=0.8, val=0.1, shuffles=4)
    assert window_counts(four, vocab) == [182_441, 22_902, 22_803]  # Part 2's notebook
    assert sorted(sum(four.values(), [])) == sorted(lecture_names)  # nothing lost or added
