"""Sharing work through a git remote and a DVC remote, end to end.

A bare git repository and the project's default DVC remote (which lives under ~, so
here under a temporary HOME) stand in for the shared ones; clones of the bare
repository stand in for people on other machines. Tiny params keep every training to
a few seconds.
"""

import hashlib
import json
from pathlib import Path

import pytest

from dvc_project import GIT_IDENTITY, make_project, output_hashes, project_env, run, stages_run

TINY = {"train": {"steps": 300, "log_every": 100, "compile": False}, "sample": {"count": 10},
        "lr_find": {"steps": 100, "smoothing": 10},
        "models": {"ngram": None, "bigram": None}}  # sharing needs the two trained models
WAVENET_STAGES = {"train@wavenet", "lr_find@wavenet", "evaluate@wavenet", "embedding@wavenet",
                  "sample@wavenet"}
UP_TO_DATE = "Data and pipelines are up to date."


class Shared:
    """The stand-ins for the shared git repository and DVC remote, and a way to clone."""

    def __init__(self, root: Path, names_path: Path):
        self.root = root
        self.names_path = names_path
        self.home = root / "home"  # HOME of everyone here: the default remote is under it
        self.home.mkdir()
        self.remote = self.home / ".local/share/makemore/dvc-storage"
        self.origin = root / "origin.git"

    def env(self, repo: Path) -> dict[str, str]:
        env = project_env(repo, self.names_path, HOME=str(self.home), **GIT_IDENTITY)
        for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
            env.pop(name, None)  # DVC's global config and the like: from HOME only
        return env

    def holds(self, path: Path) -> bool:
        """Whether the DVC remote holds this file's contents (DVC 3 names them by md5)."""
        md5 = hashlib.md5(path.read_bytes()).hexdigest()
        return (self.remote / "files/md5" / md5[:2] / md5[2:]).is_file()

    def clone(self, name: str) -> tuple[Path, dict[str, str]]:
        repo = self.root / name
        run(["git", "clone", "-q", str(self.origin), str(repo)], self.root, self.env(repo))
        return repo, self.env(repo)


@pytest.fixture(scope="module")
def shared(tmp_path_factory, names_path):
    """The project with tiny params, run once (`dvc repro`), committed and pushed to both
    remotes, as a person would after a run: `git push` and `dvc push`."""
    sh = Shared(tmp_path_factory.mktemp("share"), names_path)
    seed = sh.root / "seed"
    seed.mkdir()
    env = sh.env(seed)
    run(["git", "init", "-q", "--bare", "-b", "main", str(sh.origin)], sh.root, env)
    make_project(seed, TINY, env)
    # the default remote, as committed in .dvc/config, resolves under HOME (dvc wraps a
    # long path across lines, so the listing is read without its white space)
    assert str(sh.remote) in "".join(run(["dvc", "remote", "list"], seed, env).split())
    assert len(stages_run(run(["dvc", "repro"], seed, env))) == 15
    run(["git", "add", "-A"], seed, env)
    run(["git", "commit", "-qm", "baseline run"], seed, env)
    run(["git", "remote", "add", "origin", str(sh.origin)], seed, env)
    run(["git", "push", "-q", "origin", "main"], seed, env)
    run(["dvc", "push"], seed, env)
    assert sh.holds(seed / "models/wavenet.safetensors")
    sh.seed_hashes = output_hashes(seed)
    return sh


def test_fresh_clone_pulls_instead_of_retraining(shared):
    repo, env = shared.clone("fresh")
    assert not (repo / "models/wavenet.safetensors").exists()  # models are not in git
    assert UP_TO_DATE not in run(["dvc", "status"], repo, env)
    run(["dvc", "pull"], repo, env)
    assert output_hashes(repo) == shared.seed_hashes  # every output, byte for byte
    assert {"data/raw/names.txt", "data/splits/train.parquet", "data/tensors/windows_8.safetensors",
            "models/mlp.safetensors", "models/wavenet.safetensors"} <= set(shared.seed_hashes)
    assert UP_TO_DATE in run(["dvc", "status"], repo, env)
    assert stages_run(run(["dvc", "repro"], repo, env)) == set()


def exp_rows(show: list) -> dict[str, dict]:
    """`dvc exp show --json`'s experiments, by name: {name: the row's data}."""
    rows = {}
    for baseline in show:
        for exp in baseline.get("experiments") or []:
            for rev in exp["revs"]:
                rows[rev["name"]] = rev["data"]
    return rows


@pytest.fixture(scope="module")
def workers(shared):
    """Two people, each in a clone of their own, run one experiment each and push it (its
    git ref to origin, its outputs to the DVC remote). Alice runs hers in her workspace
    and pushes with `dvc exp push origin <exp>`; Bob runs his in a temporary copy
    (`--temp`, as the queue does), which pushes it itself (DVC_EXP_AUTO_PUSH): the copy
    must find the same default remote. Returns {experiment: (model.hidden,
    metrics/wavenet.json, output hashes, clone)}."""
    done = {}
    for name, hidden, temp in (("alice-h16", 16, False), ("bob-h24", 24, True)):
        repo, env = shared.clone(name.split("-")[0])
        run(["dvc", "pull"], repo, env)
        exp_run = ["dvc", "exp", "run", "-n", name, "-S", f"model.hidden={hidden}"]
        if temp:
            log = run(exp_run + ["--temp"], repo, {**env, "DVC_EXP_AUTO_PUSH": "true"})
            assert "Pushing experiment to 'origin'" in log
            run(["dvc", "exp", "apply", name], repo, env)  # its outputs, to compare with
        else:
            log = run(exp_run, repo, env)
            run(["dvc", "exp", "push", "origin", name], repo, env)
        assert stages_run(log) == WAVENET_STAGES
        assert f"/{name}" in run(["git", "ls-remote", "origin"], repo, env)
        # where the default remote is, not elsewhere: DVC reads the config of an
        # experiment's commit as /.dvc/config, so a URL relative to .dvc/ would send the
        # push to a directory under / (seen with ../../dvc-storage: /dvc-storage)
        assert shared.holds(repo / "models/wavenet.safetensors")
        metrics = json.loads((repo / "metrics/wavenet.json").read_text())
        done[name] = hidden, metrics, output_hashes(repo), repo
    return done


def test_experiments_across_clones(shared, workers):
    alice, bob = workers["alice-h16"], workers["bob-h24"]
    assert alice[1]["wavenet"]["params"] < bob[1]["wavenet"]["params"]
    assert alice[2]["models/mlp.safetensors"] == shared.seed_hashes["models/mlp.safetensors"]
    assert alice[2]["models/wavenet.safetensors"] != bob[2]["models/wavenet.safetensors"]

    # a third person sees both, with the workers' metrics, without running anything
    repo, env = shared.clone("carol")
    run(["dvc", "exp", "pull", "origin", *workers], repo, env)
    rows = exp_rows(json.loads(run(["dvc", "exp", "show", "--json"], repo, env)))
    for name, (hidden, metrics, _, _) in workers.items():
        assert rows[name]["params"]["params.yaml"]["data"]["model"]["hidden"] == hidden
        assert rows[name]["metrics"]["metrics/wavenet.json"]["data"] == metrics

    # ... and takes either one's results: outputs byte-identical to the worker's
    for name, (_, _, hashes, _) in workers.items():
        run(["dvc", "exp", "apply", name], repo, env)
        run(["dvc", "pull"], repo, env)
        assert output_hashes(repo) == hashes
        assert UP_TO_DATE in run(["dvc", "status"], repo, env)
        assert stages_run(run(["dvc", "repro"], repo, env)) == set()


def test_run_cache_across_clones(shared, workers):
    """Another clone runs bob's params: the run-cache on the remote restores bob's stages
    instead of training, once tools/push_run_cache.py has pushed it; `dvc push
    --run-cache` alone leaves out the `cache: false` outputs that a restore needs (dvc
    3.67.1; should a DVC upgrade fix that, the first half fails: drop the tool)."""
    hidden, _, hashes, bob = workers["bob-h24"]
    bob_env = shared.env(bob)
    wavenet = [path for path in hashes if "wavenet" in path]
    same_params = ["dvc", "exp", "run", "--pull", "-S", f"model.hidden={hidden}"]

    run(["dvc", "push", "--run-cache"], bob, bob_env)
    repo, env = shared.clone("dave")
    log = run(same_params, repo, env)
    # trained again: the `cache: false` outputs the records name are not on the remote
    assert stages_run(log) == WAVENET_STAGES
    assert "Missing cache files" in log
    retrained = output_hashes(repo)
    assert all(retrained[path] == hashes[path] for path in wavenet)  # same bytes, retrained

    assert "output files pushed" in run(["python", "tools/push_run_cache.py"], bob, bob_env)
    repo, env = shared.clone("erin")
    log = run(same_params, repo, env)
    assert "Stage 'train@wavenet' is cached - skipping run" in log
    assert "Stage 'evaluate@wavenet' is cached - skipping run" in log
    assert "Stage 'lr_find@wavenet' is cached - skipping run" in log
    # sampling and the embedding map have `cache: false` outputs that are not metrics or
    # plots: never in the run-cache
    assert stages_run(log) == {"sample@wavenet", "embedding@wavenet"}
    assert output_hashes(repo) == hashes
