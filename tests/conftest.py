"""Shared fixtures. Lecture facts need the real names list: $MAKEMORE_DATA, or
../shared/data/names.txt beside the checkout; tests that need it skip without it."""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def names_file() -> Path | None:
    for candidate in (os.environ.get("MAKEMORE_DATA"), ROOT.parent / "shared/data/names.txt"):
        if candidate and Path(candidate).is_file():
            return Path(candidate).resolve()
    return None


@pytest.fixture(scope="session")
def names_path():
    path = names_file()
    if path is None:
        pytest.skip("the makemore names list is not here (set MAKEMORE_DATA)")
    return path


@pytest.fixture(scope="session")
def lecture_names(names_path):
    from pipeline.names import read_names
    return read_names(names_path)[0]


@pytest.fixture(scope="session")
def lecture_splits(lecture_names):
    from pipeline.split import split_names
    return split_names(lecture_names, seed=42, train=0.8, val=0.1)


@pytest.fixture(scope="session", autouse=True)
def makemore_cache(tmp_path_factory):
    """The train stage records training times in a per-user cache ($MAKEMORE_CACHE): in
    the tests, a temporary one, which the stages they run under DVC inherit too."""
    before = os.environ.get("MAKEMORE_CACHE")
    os.environ["MAKEMORE_CACHE"] = str(tmp_path_factory.mktemp("makemore-cache"))
    yield Path(os.environ["MAKEMORE_CACHE"])
    if before is None:
        del os.environ["MAKEMORE_CACHE"]
    else:
        os.environ["MAKEMORE_CACHE"] = before
