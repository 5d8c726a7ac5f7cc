"""How long each checkpoint took to train, kept outside the tracked outputs.

A training time differs on every run, so it cannot be an output: `dvc repro -f` must
give the same bytes. The outputs being reproducible, the checkpoint's md5 (the one DVC
writes in dvc.lock) names the run instead; the train stage records its wall time under
that md5 in a per-user cache, where a queued experiment, run in a temporary copy of the
project, leaves it too. `makemore compare` looks each row's checkpoint up there: a model
trained on another machine, or before training times were recorded, has no record.

    $MAKEMORE_CACHE/train_seconds/<md5>.json    (default: $XDG_CACHE_HOME/makemore,
                                                 else ~/.cache/makemore)
"""

import hashlib
import json
import os
import re
from pathlib import Path

import yaml

from pipeline import files
from pipeline.checkpoint import ensemble_checkpoint, model_checkpoint

MD5 = re.compile(r"[0-9a-f]{32}")


def cache_dir() -> Path:
    """The per-user cache of makemore: $MAKEMORE_CACHE, else the XDG cache directory."""
    if os.environ.get("MAKEMORE_CACHE"):
        return Path(os.environ["MAKEMORE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "makemore"


def file_md5(path) -> str:
    """The md5 of a file's bytes, as DVC 3 writes it in dvc.lock (`hash: md5`)."""
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def record_path(md5: str) -> Path:
    if not MD5.fullmatch(md5):
        raise ValueError(f"not an md5: {md5!r}")
    return cache_dir() / "train_seconds" / f"{md5}.json"


def record(checkpoint, seconds: float, steps: int) -> Path:
    """Record that ``checkpoint`` (its bytes, by md5) took ``seconds`` to train."""
    path = record_path(file_md5(checkpoint))
    files.write_json(path, {"seconds": round(seconds, 3), "steps": steps})
    return path


def recorded(md5: str | None) -> dict | None:
    """{"seconds", "steps"} recorded for the checkpoint of this md5; None if there is no
    record (trained elsewhere, or before training times were recorded)."""
    if md5 is None or not MD5.fullmatch(md5):
        return None
    try:
        found = json.loads(record_path(md5).read_text(encoding="utf-8"))
        return found if isinstance(found.get("seconds"), (int, float)) else None
    except (OSError, ValueError, AttributeError):  # no record, or not one of ours
        return None


def checkpoint_md5(lock_text: str | None, model: str) -> str | None:
    """The md5 dvc.lock (its text) gives MODEL's checkpoint, trained or an ensemble's;
    None without one."""
    try:
        lock = yaml.safe_load(lock_text) if lock_text else None
    except yaml.YAMLError:
        return None
    stages = lock.get("stages") if isinstance(lock, dict) else None
    for stage in (stages or {}).values():
        for out in (stage or {}).get("outs") or []:
            if out.get("path") in (model_checkpoint(model), ensemble_checkpoint(model)):
                return out.get("md5")
    return None
