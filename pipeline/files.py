"""Atomic file writes and checked file reads.

Every output goes to a temporary file in the same directory and is renamed over
its final name only once complete, so a killed stage never leaves a file that
looks finished.
"""

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path

from pipeline.errors import PipelineError


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; rename it to ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.name}.tmp-*"):  # left by a killed run
        stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def write_bytes(path, data: bytes):
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path, text: str):
    write_bytes(path, text.encode("utf-8"))


def write_json(path, obj, sort_keys: bool = True):
    """JSON with sorted keys (or in the order given) and a trailing newline: stable
    bytes, clean diffs."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=sort_keys) + "\n")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def require_file(path, made_by: str):
    """Fail with a hint about which stage makes ``path`` when it is missing."""
    path = Path(path)
    if not path.is_file():
        raise PipelineError(f"{path}: not found (it is made by {made_by})")
    return path


def safetensors_metadata(data: bytes) -> dict:
    """The ``__metadata__`` of safetensors bytes, read from the header alone."""
    n = int.from_bytes(data[:8], "little")
    if len(data) < 8 or n > len(data) - 8:
        raise ValueError("header longer than the file")
    return json.loads(data[8:8 + n])["__metadata__"]
