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
