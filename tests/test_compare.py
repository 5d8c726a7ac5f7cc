"""Each name's loss, and the paired comparison that says which differences are real."""

import json

import numpy as np
import pytest
import torch

from pipeline.compare import Row, compare, is_real, table, val_losses, without_repeats
from pipeline.errors import PipelineError
from pipeline.evaluate import name_losses, split_loss
from pipeline.models import build_model, make_config
from pipeline.sequences import name_sequences
from pipeline.vocab import Vocabulary
from pipeline.windows import context_windows

VOCAB = Vocabulary(tuple(".abcdefghijklmnopqrstuvwxyz"))
NAMES = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "x"]


def test_name_losses_add_up_to_the_split_loss_for_windows_and_sequences():
    tree = build_model(make_config("hierarchical", vocab_size=27, block_size=8, n_embd=4,
                                   hidden=8), seed=0)
    with torch.no_grad():
        tree(torch.randint(0, 27, (64, 8)))  # running statistics that are not trivial
    dilated = build_model(make_config("dilated", vocab_size=27, block_size=8, n_embd=4,
                                      hidden=8), seed=1)
    dilated.load_state_dict(tree.state_dict())  # the same function over whole names
    X, Y = (torch.from_numpy(a).long() for a in context_windows(NAMES, VOCAB, 8))
    Xs, Ys = (torch.from_numpy(a).long() for a in name_sequences(NAMES, VOCAB, 9))
    loss, events = name_losses(tree, X, Y)
    assert events.tolist() == [len(n) + 1 for n in NAMES]
    assert loss.sum() / events.sum() == pytest.approx(split_loss(tree, X, Y), rel=1e-6)
    seq_loss, seq_events = name_losses(dilated, Xs, Ys)
    assert torch.equal(seq_events, events)
    assert torch.allclose(seq_loss, loss, atol=1e-4)


def row(label, per_name, events):
    loss = np.asarray(per_name, dtype=float)
    metrics = {"params": 1, "train_loss": 0.0, "test_loss": 0.0,
               "val_loss": loss.sum() / np.sum(events)}
    return Row(label, "mlp", metrics, (loss, np.asarray(events)))


def test_a_consistent_difference_is_real_and_noise_is_not():
    rng = np.random.default_rng(0)
    events = rng.integers(3, 10, size=3000)
    base = events * 2.0 + rng.normal(0, 1.0, size=3000)
    better = base - 0.02 * events  # 0.02 nats better on every event of every name
    noisy = base + rng.normal(0, 1.0, size=3000)  # no better and no worse, on average
    rows = compare([row("base", base, events), row("better", better, events),
                    row("noisy", noisy, events)], resamples=2000)
    assert [r.label for r in rows][0] == "better"
    by_label = {r.label: r for r in rows}
    diff, low, high = by_label["base"].diff
    assert diff == pytest.approx(0.02) and low > 0 and is_real(by_label["base"])
    assert by_label["better"].diff == (0.0, 0.0, 0.0)
    noisy_diff = by_label["noisy"].diff
    assert noisy_diff[1] < noisy_diff[0] < noisy_diff[2]


def test_the_intervals_are_seeded():
    events = np.arange(1, 101)
    rows = [row("a", events * 2.0, events), row("b", events * 2.0 + np.sin(events), events)]
    first = compare([*rows], resamples=2000, seed=3)[1].diff
    assert compare([*rows], resamples=2000, seed=3)[1].diff == first
    assert compare([*rows], resamples=2000, seed=4)[1].diff != first


def test_models_of_different_splits_are_not_compared():
    with pytest.raises(PipelineError, match="scored on different val names"):
        compare([row("a", [1.0, 2.0], [1, 2]), row("b", [1.0, 2.0], [2, 1])], resamples=2000)


def test_repeats_are_shown_once():
    rows = [row("mlp", [1.0, 2.0], [1, 2]), row("exp:mlp", [1.0, 2.0], [1, 2]),
            row("exp:wavenet", [1.0, 1.5], [1, 2])]
    assert [r.label for r in without_repeats(rows)] == ["mlp", "exp:wavenet"]


def test_the_markdown_table_marks_what_is_real():
    events = np.full(500, 5)
    rows = compare([row("a", events * 2.0, events), row("b", events * 2.1, events)],
                   resamples=2000)
    lines = table(rows, "md").splitlines()
    assert lines[0] == "| model | arch | params | train | val | test | val - best (95% CI) |"
    assert lines[2].endswith("| best |") and lines[3].endswith("real |")


def test_json_holds_every_row():
    events = np.full(500, 5)
    rows = compare([row("a", events * 2.0, events), row("b", events * 2.1, events)],
                   resamples=2000)
    board = json.loads(table(rows, "json"))
    assert [(r["model"], r["real"]) for r in board] == [("a", False), ("b", True)]
    assert board[1]["val_diff"] == pytest.approx(0.1)


def test_val_losses_reads_the_val_rows():
    text = "split,name,events,log_loss\nval,0,3,1.5\nval,1,2,1.0\ntest,0,4,2.0\n"
    loss, events = val_losses(text)
    assert loss.tolist() == [1.5, 1.0] and events.tolist() == [3, 2]
