"""Stage 1: get the raw names list, from a URL, a local path, or $MAKEMORE_DATA."""

import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from pipeline import files
from pipeline.errors import PipelineError
from pipeline.names import parse_names

LOCAL_COPY_ENV = "MAKEMORE_DATA"
OFFLINE_HINT = (f"to work offline, set {LOCAL_COPY_ENV}=/path/to/names.txt "
                "or point data.url at a local file")


def read_source(url: str, timeout: float = 30.0) -> tuple[bytes, str]:
    """The bytes of the names list and where they came from.

    $MAKEMORE_DATA, when set, wins over ``url`` so that offline machines (and CI)
    run the same params as everyone else.
    """
    local = os.environ.get(LOCAL_COPY_ENV)
    if local:
        # relative paths break in `dvc exp run --temp`, which runs in a copy elsewhere
        hint = "" if os.path.isabs(local) else f"; in {os.getcwd()}: give an absolute path"
        return _read_local(Path(local), f"${LOCAL_COPY_ENV}{hint}"), local
    scheme = urllib.parse.urlparse(url).scheme
    if scheme in ("http", "https", "ftp"):
        return _download(url, timeout), url
    path = Path(url[len("file://"):] if scheme == "file" else url)
    return _read_local(path, "data.url"), str(path)


def _read_local(path: Path, named_by: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise PipelineError(f"{path}: not found (named by {named_by})")
    except IsADirectoryError:
        raise PipelineError(f"{path}: is a directory, not a names file (named by {named_by})")
    except OSError as e:
        raise PipelineError(f"{path}: cannot read ({e.strerror}; named by {named_by})")


def _download(url: str, timeout: float) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read()
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise PipelineError(f"could not download {url} ({reason}); {OFFLINE_HINT}")


def fetch_names(url: str, sha256: str, dest) -> str:
    """Write the names list to ``dest`` after checking it; returns its source."""
    data, source = read_source(url)
    actual = files.sha256_bytes(data)
    if sha256 and actual != sha256:
        raise PipelineError(
            f"{source}: checksum mismatch: data.sha256 expects {sha256}, file has {actual} "
            "(set data.sha256 to empty to use your own list)"
        )
    parse_names(data, source)  # refuse a bad list here, naming the user's file, not our copy
    files.write_bytes(dest, data)
    return source
