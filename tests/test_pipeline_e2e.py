"""The whole pipeline through DVC, on a copy of the project in a temporary git repo.

Small step counts keep it to a couple of minutes; the data stages run on the real list.
"""

import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from dvc_project import make_project, project_env, run, stages_run
from pipeline.checkpoint import load_checkpoint
from pipeline.scores import read_scores

# enough steps that a kill lands mid-training; few enough to keep the test short
# (compile off: compiling costs more than 2,000 steps; the compiled step is tested in test_train)
TINY = {"train": {"steps": 2000, "log_every": 100, "compile": False}, "sample": {"count": 10},
        "lr_find": {"steps": 100, "smoothing": 10}}
# what a change of the WaveNet's params reruns
WAVENET_SIDE = {"train@wavenet", "lr_find@wavenet", "evaluate@wavenet", "embedding@wavenet",
                "sample@wavenet"}
MLP_SIDE = {stage.replace("wavenet", "mlp") for stage in WAVENET_SIDE}
MODELS = ("mlp", "wavenet", "ngram", "bigram")  # params.yaml's models
EVERY_STAGE = {"fetch", "split", "windows@3", "windows@8", "sequences"} | {
    f"{kind}@{model}" for kind in ("train", "lr_find", "evaluate", "embedding", "sample")
    for model in MODELS}


@pytest.fixture(scope="module")
def project(tmp_path_factory, names_path):
    """A committed copy of the project (tracked files only) with tiny params."""
    dest = tmp_path_factory.mktemp("project")
    env = project_env(dest, names_path)
    git = make_project(dest, TINY, env)
    return dest, env, git


def kill_during_training(dest, env) -> int:
    """Start the WaveNet's training under DVC and SIGKILL the whole process group mid-run."""
    proc = subprocess.Popen(["dvc", "repro", "-f", "-s", "train@wavenet"], cwd=dest, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    for line in proc.stdout:
        if "step/s" in line or "steps of sgd" in line:  # the trainer is under way
            break
    time.sleep(1.0)
    os.killpg(proc.pid, signal.SIGKILL)
    return proc.wait()


def test_repro_then_experiment(project):
    dest, env, git = project
    log = run(["dvc", "repro"], dest, env)
    assert stages_run(log) == EVERY_STAGE
    for model, params in (("mlp", 12_097), ("wavenet", 76_579)):
        metrics = read_scores(json.loads((dest / f"metrics/{model}.json").read_text()), model)
        assert metrics["params"] == params
        assert 1.5 < metrics["val_loss"] < 3.3  # 2,000 steps: well trained it is not
        assert len((dest / f"metrics/samples/{model}.txt").read_text().splitlines()) == 10
        assert (dest / f"metrics/loss/{model}.csv").read_text().startswith("step,log10_loss\n")
        initial = json.loads((dest / f"metrics/init/{model}.json").read_text())
        assert initial["uniform_loss"] == 3.295837  # -ln(1/27)
        assert abs(initial["initial_loss"] - 3.2958) < 0.05  # Kaiming init, output x0.1
        lr_rows = (dest / f"metrics/lr_find/{model}.csv").read_text().splitlines()
        assert lr_rows[0] == "exponent,loss,smoothed" and len(lr_rows) == 101
        assert "suggested_lr" in json.loads((dest / f"metrics/lr_find/{model}.json").read_text())
        assert len((dest / f"metrics/embedding/{model}.csv").read_text().splitlines()) == 28
        live = json.loads((dest / f"metrics/live/{model}/metrics.json").read_text())
        assert live["step"] == 2000 and live["val_loss"] == metrics["val_loss"]
    # the counted models: fitted in seconds, no learning rate, no embedding to map
    ngram = read_scores(json.loads((dest / "metrics/ngram.json").read_text()), "ngram")
    assert 1.9 < ngram["val_loss"] < 2.0  # the 6-gram: 1.974 on the lecture split
    for model in ("ngram", "bigram"):
        assert (dest / f"metrics/lr_find/{model}.csv").read_text() == "exponent,loss,smoothed\n"
        assert (dest / f"metrics/embedding/{model}.csv").read_text() == "char,x,y\n"
        assert len((dest / f"metrics/names/{model}.csv").read_text().splitlines()) == 6408
    run(git + ["add", "-A"], dest, env)
    run(git + ["commit", "-qm", "baseline run"], dest, env)

    assert stages_run(run(["dvc", "repro"], dest, env)) == set()  # everything up to date

    # byte-for-byte: rerunning every stage from scratch gives the same dvc.lock
    lock = (dest / "dvc.lock").read_bytes()
    assert stages_run(run(["dvc", "repro", "-f"], dest, env)) == EVERY_STAGE
    assert (dest / "dvc.lock").read_bytes() == lock

    # kill -9 in the middle of training; the next repro finishes with the same bytes
    killed = kill_during_training(dest, env)
    assert killed == -signal.SIGKILL, "training finished before the kill: raise TINY steps"
    status = run(["dvc", "status"], dest, env)
    assert "train@wavenet" in status
    # empty DVC's cache, so that the rerun must retrain rather than restore the model
    shutil.rmtree(dest / ".dvc/cache")
    log = run(["dvc", "repro"], dest, env)
    assert "train@wavenet" in stages_run(log), status + log
    assert (dest / "dvc.lock").read_bytes() == lock
    assert not list(dest.rglob(".*.tmp-*"))

    log = run(["dvc", "exp", "run", "-S", "model.hidden=8"], dest, env)
    assert stages_run(log) == WAVENET_SIDE
    # the leaderboard: the workspace's models against HEAD's, with paired intervals
    board = json.loads(run(["makemore", "compare", "HEAD", "--format", "json"], dest, env))
    assert {row["model"] for row in board} == {*MODELS, "HEAD:wavenet"}
    assert sum(row["val_diff"] == 0 for row in board) == 1
    # every one trained here: its time recorded under its checkpoint's md5, in no output
    assert all(row["train_seconds"] is not None and row["train_seconds"] > 0 for row in board)
    # the lr finder's own params rerun it alone
    log = run(["dvc", "exp", "run", "-S", "lr_find.max_exp=-1"], dest, env)
    assert stages_run(log) == {f"lr_find@{model}" for model in MODELS}

    # another architecture reruns the WaveNet side only, and is scored on the same events
    # (the preset below runs a GRU the same way; each architecture's contract and
    # causality are unit-tested)
    for arch, extra in (("transformer", ["-S", "model.block_size=16", "-S", "model.n_embd=16"]),):
        log = run(["dvc", "exp", "run", "-S", f"model.arch={arch}",
                   *extra], dest, env)
        assert stages_run(log) == WAVENET_SIDE, arch
        metrics = json.loads((dest / "metrics/wavenet.json").read_text())["wavenet"]
        assert 1.5 < metrics["val"] < 3.3, arch
        assert len((dest / "metrics/samples/wavenet.txt").read_text().splitlines()) == 10

    diff = json.loads(run(["dvc", "metrics", "diff", "--json"], dest, env))
    changed = {path for path, metrics in diff.items() if metrics}
    assert "metrics/wavenet.json" in changed and "metrics/mlp.json" not in changed
    assert diff["metrics/wavenet.json"]["wavenet.params"]["new"] < 76_579

    # a model's own train: subsection overrides train for that model only, and reruns
    # that model's side only
    def trained_lr(model):
        return load_checkpoint(dest / f"models/{model}.safetensors").train["lr"]

    log = run(["dvc", "exp", "run", "-S", "model.train.lr=0.05"], dest, env)
    assert stages_run(log) == WAVENET_SIDE
    assert (trained_lr("wavenet"), trained_lr("mlp")) == (0.05, 0.1)
    log = run(["dvc", "exp", "run", "-S", "baseline.train.lr=0.05"], dest, env)
    assert stages_run(log) == MLP_SIDE
    assert (trained_lr("wavenet"), trained_lr("mlp")) == (0.05, 0.05)

    # a preset is a named experiment: its params, checked, then dvc exp run -n NAME
    (dest / "presets/tiny-gru.yaml").write_text(
        "description: a small GRU\nparams: {model: {arch: gru, train: {steps: 300}}}\n")
    log = run(["makemore", "preset", "run", "tiny-gru"], dest, env)
    assert stages_run(log) == WAVENET_SIDE
    assert "tiny-gru" in run(["dvc", "exp", "list", "--name-only"], dest, env).split()
    assert load_checkpoint(dest / "models/wavenet.safetensors").config.arch == "gru"

    # an ensemble of trained models: `++` adds the entry; only its own stage runs, and it
    # is scored, sampled and compared as a model is
    log = run(["dvc", "exp", "run", "-S",
               "++ensembles.mix={members: [wavenet, ngram], mix: loglinear}"], dest, env)
    assert stages_run(log) == {"ensemble@mix"}
    val = {m: read_scores(json.loads((dest / f"metrics/{m}.json").read_text()), m)["val_loss"]
           for m in ("mix", "wavenet", "ngram")}
    assert val["mix"] <= min(val["wavenet"], val["ngram"]) + 1e-6
    assert len((dest / "metrics/samples/mix.txt").read_text().splitlines()) == 10
    board = json.loads(run(["makemore", "compare", "--format", "json"], dest, env))
    assert {row["model"]: row["arch"] for row in board}["mix"] == "ensemble"
