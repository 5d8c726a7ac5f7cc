"""Each name's loss, the paired comparison that says which differences are real, and
each model's training time, recorded outside the tracked outputs."""

import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
import yaml
from click.testing import CliRunner

from pipeline import train_time
from pipeline.compare import (Row, compare, is_real, read_rows, table, val_losses,
                              without_repeats)
from pipeline.errors import PipelineError
from pipeline.evaluate import name_losses, split_loss
from pipeline.models import build_model, make_config
from pipeline.sequences import name_sequences, save_sequences, sequence_width
from pipeline.vocab import Vocabulary
from pipeline.windows import context_windows
from conftest import ROOT

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


def row(label, per_name, events, seconds=None):
    loss = np.asarray(per_name, dtype=float)
    metrics = {"params": 1, "train_loss": 0.0, "test_loss": 0.0,
               "val_loss": loss.sum() / np.sum(events)}
    return Row(label, "mlp", metrics, (loss, np.asarray(events)), train_seconds=seconds)


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
    assert lines[0] == ("| model | arch | params | train | val | test | train time "
                        "| val - best (95% CI) |")
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


def test_the_tables_show_the_training_time_where_it_is_known():
    events = np.full(500, 5)
    rows = compare([row("a", events * 2.0, events, seconds=64.4),
                    row("b", events * 2.1, events, seconds=1234.5),
                    row("c", events * 2.2, events, seconds=0.43),
                    row("d", events * 2.3, events)], resamples=2000)
    cells = [line.split(" | ")[6] for line in table(rows, "md").splitlines()[2:]]
    assert cells == ["64 s", "1,234 s", "0.4 s", "–"]
    text = table(rows, "text").splitlines()
    assert "train time" in text[0] and "64 s" in text[1] and "–" in text[4]
    board = json.loads(table(rows, "json"))
    assert [r["train_seconds"] for r in board] == [64.4, 1234.5, 0.43, None]


def test_a_training_time_is_found_by_the_checkpoints_md5(tmp_path, monkeypatch):
    monkeypatch.setenv("MAKEMORE_CACHE", str(tmp_path / "cache"))
    checkpoint = tmp_path / "models/m.safetensors"
    checkpoint.parent.mkdir()
    checkpoint.write_bytes(b"weights" * 1000)
    md5 = hashlib.md5(checkpoint.read_bytes()).hexdigest()
    where = train_time.record(checkpoint, 12.34567, 2000)
    assert where == tmp_path / "cache/train_seconds" / f"{md5}.json"
    assert train_time.recorded(md5) == {"seconds": 12.346, "steps": 2000}
    assert train_time.recorded("0" * 32) is None  # never trained here
    assert train_time.recorded(None) is None
    assert train_time.recorded("../../etc/passwd") is None  # md5s only
    where.write_text("not json")
    assert train_time.recorded(md5) is None


def test_the_cache_defaults_to_the_users_cache_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("MAKEMORE_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert train_time.cache_dir() == tmp_path / "xdg/makemore"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert train_time.cache_dir() == tmp_path / "home/.cache/makemore"


def test_the_checkpoints_md5_comes_from_dvc_lock():
    lock = yaml.safe_dump({"schema": "2.0", "stages": {
        "train@wavenet": {"cmd": "python -m stages.train wavenet", "outs": [
            {"path": "metrics/init/wavenet.json", "hash": "md5", "md5": "1" * 32},
            {"path": "models/wavenet.safetensors", "hash": "md5", "md5": "a" * 32}]},
        "evaluate@wavenet": {"cmd": "python -m stages.evaluate wavenet", "deps": [
            {"path": "models/wavenet.safetensors", "md5": "b" * 32}]}}})
    assert train_time.checkpoint_md5(lock, "wavenet") == "a" * 32
    assert train_time.checkpoint_md5(lock, "mlp") is None
    assert train_time.checkpoint_md5(None, "wavenet") is None  # no dvc.lock
    assert train_time.checkpoint_md5("stages: [", "wavenet") is None
    real = (ROOT / "dvc.lock").read_text()
    assert len(train_time.checkpoint_md5(real, "wavenet")) == 32


@pytest.fixture
def trained_project(tmp_path, monkeypatch):
    """A DVC project whose n-gram (in the WaveNet's slot) the train stage has fitted and
    the evaluate stage scored, with the dvc.lock DVC would write for its checkpoint."""
    from stages.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MAKEMORE_CACHE", str(tmp_path / "cache"))
    splits = {"train": NAMES * 3, "val": ["emma", "anna", "sophie"], "test": ["mia", "ivy"]}
    vocab = Vocabulary.from_names(n for names in splits.values() for n in names)
    save_sequences("data/tensors/sequences.safetensors",
                   {s: name_sequences(n, vocab, sequence_width(splits))
                    for s, n in splits.items()}, vocab)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["model"].update(arch="ngram", ngram={"order": 3})
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    for command in (["train", "wavenet", "--quiet"], ["evaluate", "wavenet"]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 0, result.output
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True, env=env)
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=tmp_path, check=True, env=env)
    md5 = hashlib.md5((tmp_path / "models/wavenet.safetensors").read_bytes()).hexdigest()
    (tmp_path / "dvc.lock").write_text(yaml.safe_dump({"schema": "2.0", "stages": {
        "train@wavenet": {"cmd": "python -m stages.train wavenet", "outs": [
            {"path": "models/wavenet.safetensors", "hash": "md5", "md5": md5}]}}}))
    return tmp_path, md5


def test_compare_shows_the_time_the_train_stage_recorded(trained_project):
    from stages.cli import main

    project, md5 = trained_project
    record = json.loads((project / "cache/train_seconds" / f"{md5}.json").read_text())
    assert record["steps"] == 0 and 0 < record["seconds"] < 60  # fitted by counting
    outputs = [p for p in project.rglob("*.json") if p.relative_to(project).parts[0] != "cache"]
    assert outputs and not any("seconds" in p.read_text() for p in outputs)  # in no output
    [found] = read_rows(None)
    assert (found.label, found.train_seconds) == ("wavenet", record["seconds"])
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
    subprocess.run(git + ["add", "-A"], cwd=project, check=True)
    subprocess.run(git + ["commit", "-qm", "run"], cwd=project, check=True)
    (project / "dvc.lock").unlink()  # a revision's times come from its own dvc.lock
    [found] = read_rows("HEAD")
    assert (found.label, found.train_seconds) == ("HEAD:wavenet", record["seconds"])
    assert read_rows(None)[0].train_seconds is None
    subprocess.run(["git", "checkout", "-q", "dvc.lock"], cwd=project, check=True)
    result = CliRunner().invoke(main, ["compare", "--format", "json", "--resamples", "2000"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0]["train_seconds"] == record["seconds"]
    # trained elsewhere: no record here, the table says so
    (project / "cache/train_seconds" / f"{md5}.json").unlink()
    result = CliRunner().invoke(main, ["compare", "--resamples", "2000"])
    assert result.exit_code == 0, result.output
    header, line = result.output.splitlines()[:2]
    assert "train time" in header and "–" in line


def test_scores_are_held_under_the_models_name_and_read_in_either_layout():
    from pipeline.scores import read_scores, scores

    flat = {"train_loss": 1.77, "val_loss": 1.99, "test_loss": 1.98, "params": 76579}
    held = scores("wavenet", flat)
    # dvc exp show names a column by its key path when no other file has it: wavenet.val
    assert list(held) == ["wavenet"] and list(held["wavenet"]) == ["train", "val", "test", "params"]
    assert read_scores(held, "wavenet") == flat
    assert read_scores(flat, "wavenet") == flat  # a revision from before this layout


def test_an_ensemble_is_compared_as_a_model(trained_project):
    """An ensemble of params.yaml's ensembles gets its row, arch 'ensemble', and the time
    of its members and its fit, found by its checkpoint's md5 in dvc.lock."""
    from stages.cli import main

    project, member_md5 = trained_project
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["ngram"]["ngram"] = {"order": 2}
    params["ensembles"] = {"mix": {"members": ["wavenet", "ngram"]}}
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
    subprocess.run(git + ["add", "-A"], cwd=project, check=True)
    subprocess.run(git + ["commit", "-qm", "run"], cwd=project, check=True)  # for DVCLive
    for command in (["train", "ngram", "--quiet"], ["ensemble", "mix"], ["evaluate", "mix"]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 0, result.output
    md5 = hashlib.md5((project / "ensembles/mix.safetensors").read_bytes()).hexdigest()
    lock = yaml.safe_load((project / "dvc.lock").read_text())
    lock["stages"]["ensemble@mix"] = {"cmd": ["python -m stages.ensemble mix"], "outs": [
        {"path": "ensembles/mix.safetensors", "hash": "md5", "md5": md5}]}
    (project / "dvc.lock").write_text(yaml.safe_dump(lock))
    rows = {row.label: row for row in read_rows(None)}
    assert rows["mix"].arch == "ensemble"
    members = json.loads((project / "cache/train_seconds" / f"{member_md5}.json").read_text())
    assert rows["mix"].train_seconds >= members["seconds"]
    assert rows["mix"].metrics["val_loss"] <= rows["wavenet"].metrics["val_loss"] + 1e-9
