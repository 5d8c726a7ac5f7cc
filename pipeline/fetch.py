"""Stage 1: get the raw names list, from a URL or a local path (data.url).

$MAKEMORE_DATA names a local copy of a list for offline machines and CI. It stands in
for data.url only where data.sha256 pins the content and the copy has that checksum
(the default params: the lecture's list), so that the params always say which list was
read and DVC's run-cache never restores another one. A user's own list (data.sha256
empty, or another checksum) is always read from data.url.
"""

import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Callable

from pipeline import files
from pipeline.errors import PipelineError
from pipeline.names import parse_names

LOCAL_COPY_ENV = "MAKEMORE_DATA"
# what named the file read, as the fetch stage says it
BY_LOCAL_COPY = f"${LOCAL_COPY_ENV}, a local copy of the list that data.sha256 pins"
BY_URL = "data.url"


def offline_hint(sha256: str) -> str:
    """How to run without the network, for a list pinned by ``sha256`` or not."""
    if sha256:
        return (f"to work offline, set {LOCAL_COPY_ENV}=/path/to/names.txt, a copy of this "
                "list (checked against data.sha256), or point data.url at a local file")
    return "to work offline, point data.url at a local copy of the list"


def read_source(url: str, sha256: str = "", timeout: float = 30.0,
                say: Callable[[str], None] = lambda line: None) -> tuple[bytes, str, str]:
    """The bytes of the names list, the file or URL they came from, and what named it
    (BY_LOCAL_COPY or BY_URL).

    The copy named by $MAKEMORE_DATA is read in place of ``url`` only when ``sha256``
    is set and equals the copy's; otherwise ``say`` is told, in one line, why the
    variable is ignored, and ``url`` is read.
    """
    local = os.environ.get(LOCAL_COPY_ENV)
    if local:
        # relative paths break in `dvc exp run --temp`, which runs in a copy elsewhere
        hint = "" if os.path.isabs(local) else f"; in {os.getcwd()}: give an absolute path"
        if not sha256:
            say(f"${LOCAL_COPY_ENV} ignored: data.sha256 is empty, so the list is read "
                f"from data.url ({LOCAL_COPY_ENV} stands in only for a list whose "
                "checksum data.sha256 pins)")
        else:
            data = _read_local(Path(local), f"${LOCAL_COPY_ENV}{hint}")
            actual = files.sha256_bytes(data)
            if actual == sha256:
                return data, local, BY_LOCAL_COPY
            say(f"${LOCAL_COPY_ENV} ignored: its checksum {actual} differs from "
                f"data.sha256 {sha256}, so the list is read from data.url")
    scheme = urllib.parse.urlparse(url).scheme
    if scheme in ("http", "https", "ftp"):
        return _download(url, sha256, timeout), url, BY_URL
    path = Path(url[len("file://"):] if scheme == "file" else url)
    return _read_local(path, BY_URL), str(path), BY_URL


def _read_local(path: Path, named_by: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise PipelineError(f"{path}: not found (named by {named_by})")
    except IsADirectoryError:
        raise PipelineError(f"{path}: is a directory, not a names file (named by {named_by})")
    except OSError as e:
        raise PipelineError(f"{path}: cannot read ({e.strerror}; named by {named_by})")


def _download(url: str, sha256: str, timeout: float) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read()
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise PipelineError(f"could not download {url} ({reason}); {offline_hint(sha256)}")


def fetch_names(url: str, sha256: str, dest,
                say: Callable[[str], None] = lambda line: None) -> tuple[str, str]:
    """Write the names list to ``dest`` after checking it; returns the file or URL read
    and what named it. ``say`` gets one line when $MAKEMORE_DATA is set but not used."""
    data, source, named_by = read_source(url, sha256, say=say)
    actual = files.sha256_bytes(data)
    if sha256 and actual != sha256:
        raise PipelineError(
            f"{source}: checksum mismatch: data.sha256 expects {sha256}, file has {actual} "
            "(set data.sha256 to empty to use your own list)"
        )
    parse_names(data, source)  # refuse a bad list here, naming the user's file, not our copy
    files.write_bytes(dest, data)
    return source, named_by
