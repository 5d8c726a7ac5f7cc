"""Passes over a whole split: bounded per pass, the lecture's data in one pass size,
progress on long ones, and the leading events that the initial loss reads."""

from types import SimpleNamespace

import torch

from pipeline.evaluate import (EVAL_ROWS, EVAL_VALUES, leading_events, name_losses,
                               pass_plan, passes, rows_per_pass, split_loss)
from pipeline.models import build_model, make_config


def test_wide_vocabularies_and_long_names_take_fewer_rows_a_pass():
    lecture = build_model(make_config("dilated", vocab_size=27, block_size=8, n_embd=4,
                                      hidden=8))
    wide = build_model(make_config("dilated", vocab_size=5000, block_size=8, n_embd=4,
                                   hidden=8))
    windows = build_model(make_config("mlp", vocab_size=5000, block_size=3, n_embd=4,
                                      hidden=8))
    assert rows_per_pass(lecture, torch.zeros(10, 16)) == EVAL_ROWS  # the lecture's names
    rows = rows_per_pass(wide, torch.zeros(10, 65))
    assert rows * 65 * 5000 <= EVAL_VALUES < (rows + 1) * 65 * 5000
    assert rows_per_pass(windows, torch.zeros(10, 3)) == EVAL_VALUES // 5000


def names_of_many_lengths(count=50, width=12):
    """Sequences (X, Y) of names 1 to width - 1 characters long, in no order."""
    X = torch.randint(1, 27, (count, width), dtype=torch.int8)
    length = torch.randint(1, width, (count,))
    Y = torch.where(torch.arange(width) < length[:, None], X.roll(-1, 1).long(), -1)
    return X, Y, length


def test_a_split_scored_in_many_passes_scores_as_in_one(monkeypatch):
    model = build_model(make_config("dilated", vocab_size=27, block_size=8, n_embd=4,
                                    hidden=8), seed=0)
    X, Y, _ = names_of_many_lengths()
    whole, (each, events) = split_loss(model, X, Y), name_losses(model, X, Y)
    monkeypatch.setattr("pipeline.evaluate.EVAL_VALUES", 7 * 12 * 256)  # 7 names a pass
    assert len(pass_plan(model, X, Y)) == 8
    assert abs(split_loss(model, X, Y) - whole) < 1e-9
    many, many_events = name_losses(model, X, Y)
    assert torch.allclose(many, each, rtol=0, atol=1e-9)  # each name's loss, in split order
    assert torch.equal(many_events, events)
    assert abs(float(each.sum()) / int(events.sum()) - whole) < 1e-9


def test_names_are_scored_shortest_first_each_pass_cut_to_its_longest(monkeypatch):
    model = build_model(make_config("dilated", vocab_size=27, block_size=8, n_embd=4,
                                    hidden=8), seed=0)
    X, Y, length = names_of_many_lengths()
    monkeypatch.setattr("pipeline.evaluate.EVAL_VALUES", 7 * 12 * 256)
    plan = pass_plan(model, X, Y)
    rows = torch.cat([r for r, _ in plan])
    assert sorted(rows.tolist()) == list(range(50))  # every name once
    assert length[rows].tolist() == sorted(length.tolist())
    assert [width for _, width in plan] == [int(length[r].max()) for r, _ in plan]
    windows = torch.zeros(10, 3, dtype=torch.int8)
    mlp = build_model(make_config("mlp", vocab_size=27, block_size=3, n_embd=4, hidden=8))
    monkeypatch.setattr("pipeline.evaluate.EVAL_VALUES", 4 * 256)  # 4 windows a pass
    assert pass_plan(mlp, windows, torch.zeros(10)) == [(slice(0, 4), 3), (slice(4, 8), 3),
                                                        (slice(8, 10), 3)]


def test_a_long_pass_says_how_far_it_has_come(monkeypatch, capsys):
    plan = [(slice(0, 4), 1), (slice(4, 8), 1), (slice(8, 10), 1)]
    assert [rows for rows, _ in passes(plan, "val")] == [slice(0, 4), slice(4, 8), slice(8, 10)]
    assert capsys.readouterr().out == ""  # passes shorter than REPORT_EVERY print nothing
    monkeypatch.setattr("pipeline.evaluate.REPORT_EVERY", 0.0)
    assert len(list(passes(plan, None))) == 3
    assert capsys.readouterr().out == ""  # no label: no lines
    list(passes(plan, "val"))
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in lines] == ["val: 4 of 10 rows", "val: 8 of 10 rows"]
    assert all("min left" in line for line in lines)


def test_the_time_left_is_estimated_from_the_positions_left(monkeypatch, capsys):
    clock = [0.0]
    monkeypatch.setattr("pipeline.evaluate.time", SimpleNamespace(perf_counter=lambda: clock[0]))
    monkeypatch.setattr("pipeline.evaluate.REPORT_EVERY", 0.0)
    plan = [(slice(0, 4), 1), (slice(4, 8), 10)]  # 4 positions, then 40
    for rows, _ in passes(plan, "val"):
        clock[0] += 60.0 if rows.start == 0 else 600.0
    # a minute for 4 of 44 positions: 10 minutes for the 40 left (by rows: 1 minute)
    assert capsys.readouterr().out == "val: 4 of 8 rows, 1 min, about 10 min left\n"


def test_leading_events_cut_whole_rows_at_the_limit():
    Y = torch.tensor([[1, 2, 0, -1], [3, 0, -1, -1], [1, 1, 1, 0]])  # 3, 2 and 4 events
    X = torch.arange(3)
    assert leading_events(X, Y, 5)[0].tolist() == [0, 1]
    assert leading_events(X, Y, 4)[0].tolist() == [0]
    assert leading_events(X, Y, 100)[0].tolist() == [0, 1, 2]
    assert len(leading_events(torch.arange(10), torch.zeros(10), 6)[0]) == 6  # windows
