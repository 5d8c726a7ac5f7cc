"""Stage 2: shuffle the names and cut them into train/val/test, stored as parquet.

The default reproduces the lecture exactly: ``random.seed(42)``,
``random.shuffle(words)``, cut at ``int(0.8*n)`` and ``int(0.9*n)``.
"""

import json
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline import files
from pipeline.errors import PipelineError
from pipeline.vocab import Vocabulary

SPLITS = ("train", "val", "test")


def split_names(names, seed: int, train: float, val: float, dedupe: bool = False,
                source: str = "names", shuffles: int = 1):
    """A dict split -> list of names. ``dedupe`` keeps each name's first occurrence;
    ``source`` names the list in errors. ``shuffles``: how many times the seeded
    shuffle runs, each time on the list the last one left, as rerunning the notebook
    cell ``random.seed(42); random.shuffle(words)`` does (Part 2's notebook ran it 4
    times: that is why its windows are 182,441 / 22,902 / 22,803, not 182,625 / ...)."""
    names = list(dict.fromkeys(names)) if dedupe else list(names)
    for _ in range(shuffles):
        random.seed(seed)  # the lecture seeds the global generator; same sequence as its notebook
        random.shuffle(names)
    n = len(names)
    n1, n2 = int(train * n), int(round(train + val, 12) * n)
    splits = {"train": names[:n1], "val": names[n1:n2], "test": names[n2:]}
    empty = [k for k, v in splits.items() if not v]
    if empty:
        raise PipelineError(f"{source}: {n} names are too few for split.train={train}, "
                            f"split.val={val}: "
                            f"the {' and '.join(empty)} split would be empty")
    return splits


def write_splits(splits, vocab: Vocabulary, out_dir):
    out_dir = Path(out_dir)
    for name, names in splits.items():
        table = pa.table({"name": pa.array(names, pa.string())})
        with files.atomic_path(out_dir / f"{name}.parquet") as tmp:
            pq.write_table(table, tmp)
    files.write_json(out_dir / "vocab.json", vocab.to_json())


def read_split(path) -> list[str]:
    path = files.require_file(path, "the split stage")
    try:
        table = pq.read_table(path, columns=["name"])
    except (pa.ArrowInvalid, OSError, KeyError) as e:
        raise PipelineError(f"{path}: not a readable names parquet ({str(e).splitlines()[0]}); "
                            "rerun the split stage")
    return table.column("name").to_pylist()


def read_vocab(path) -> Vocabulary:
    path = Path(path)
    try:
        return Vocabulary.from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise PipelineError(f"{path}: not found (it is made by the split stage)")
    except (ValueError, KeyError, TypeError) as e:
        raise PipelineError(f"{path}: not a valid vocabulary ({e}); rerun the split stage")
