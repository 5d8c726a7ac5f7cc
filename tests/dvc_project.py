"""Helpers for the tests that run DVC end to end on a copy of the project.

The copy holds the tracked files of this checkout (as they are in the working tree,
without dvc.lock) with some params overridden, committed in a new git repo.
"""

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent

# who commits in the test repos: git and DVC's experiment commits both read these
GIT_IDENTITY = {"GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.com",
                "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.com"}


def run(cmd, cwd, env) -> str:
    """Run a command (a list: no shell), fail the test with its output if it fails."""
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def stages_run(log: str) -> set[str]:
    """The stages a `dvc repro`/`dvc exp run` log says it ran."""
    return {line.split("'")[1] for line in log.splitlines() if line.startswith("Running stage")}


def project_env(dest: Path, names_path: Path, **extra: str) -> dict[str, str]:
    """The environment to run DVC in `dest` with: this venv's dvc and python first on
    PATH, the project's own code importable, the names list from `names_path`."""
    bindir = str(Path(sys.executable).parent)
    return {**os.environ, "MAKEMORE_DATA": str(names_path), "DVC_NO_ANALYTICS": "1",
            "PATH": bindir + os.pathsep + os.environ["PATH"], "PYTHONPATH": str(dest), **extra}


def copy_project(dest: Path, params: dict) -> None:
    """Copy the tracked files (no dvc.lock) to `dest` and update params.yaml's sections
    with `params` ({section: {key: value}}; a value None removes the key)."""
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split("\0")
    for rel in filter(None, tracked):
        if (ROOT / rel).is_file() and rel != "dvc.lock":
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, dest / rel)
    values = yaml.safe_load((dest / "params.yaml").read_text())
    for section, updates in params.items():
        values[section].update(updates)
        for key in [key for key, value in updates.items() if value is None]:
            del values[section][key]
    (dest / "params.yaml").write_text(yaml.safe_dump(values, sort_keys=False))


def make_project(dest: Path, params: dict, env: dict[str, str]) -> list[str]:
    """A copy of the project in `dest`, committed on branch main of a new git repo.
    Returns the git command line to commit with."""
    copy_project(dest, params)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
    run(["git", "init", "-q", "-b", "main"], dest, env)
    run(git + ["add", "-A"], dest, env)
    run(git + ["commit", "-qm", "project"], dest, env)
    return git


def output_hashes(repo: Path) -> dict[str, str]:
    """sha256 of every file under data/, models/ and metrics/ (every output of the
    pipeline, DVC-cached or in git), by path; .gitignore files left out."""
    return {str(path.relative_to(repo)): hashlib.sha256(path.read_bytes()).hexdigest()
            for top in ("data", "models", "metrics") for path in sorted((repo / top).rglob("*"))
            if path.is_file() and path.name != ".gitignore"}
