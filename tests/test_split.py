import pytest

from pipeline.errors import PipelineError
from pipeline.split import read_split, read_vocab, split_names, write_splits
from pipeline.vocab import Vocabulary


def test_lecture_split_sizes_and_first_names(lecture_splits):
    assert [len(lecture_splits[s]) for s in ("train", "val", "test")] == [25_626, 3_203, 3_204]
    assert lecture_splits["train"][:3] == ["yuheng", "diondre", "xavien"]


def test_split_is_a_partition(lecture_names, lecture_splits):
    joined = lecture_splits["train"] + lecture_splits["val"] + lecture_splits["test"]
    assert sorted(joined) == sorted(lecture_names)


def test_split_does_not_touch_the_callers_list():
    names = [f"n{i}" for i in range(10)]
    split_names(names, seed=1, train=0.8, val=0.1)
    assert names == [f"n{i}" for i in range(10)]


def test_dedupe_removes_repeats_before_splitting():
    names = ["ann", "bob", "ann", "cy", "dee", "ann", "eve"]
    splits = split_names(names, seed=0, train=0.6, val=0.2, dedupe=True)
    joined = splits["train"] + splits["val"] + splits["test"]
    assert sorted(joined) == ["ann", "bob", "cy", "dee", "eve"]


def test_too_few_names_are_refused():
    with pytest.raises(PipelineError, match="names: 2 names are too few.*the val split would be empty"):
        split_names(["ann", "bob"], seed=0, train=0.8, val=0.1)


def test_parquet_round_trip(tmp_path):
    splits = {"train": ["ann", "zoë"], "val": ["bob"], "test": ["cy"]}
    write_splits(splits, Vocabulary.from_names(["ann", "zoë", "bob", "cy"]), tmp_path)
    assert read_split(tmp_path / "train.parquet") == ["ann", "zoë"]
    assert read_vocab(tmp_path / "vocab.json").itos[0] == "."
    assert not list(tmp_path.glob(".*tmp*"))  # no temporary files left behind


def test_damaged_parquet_names_the_file(tmp_path):
    splits = {"train": ["ann"] * 50, "val": ["bob"], "test": ["cy"]}
    write_splits(splits, Vocabulary.from_names(["ann", "bob", "cy"]), tmp_path)
    path = tmp_path / "train.parquet"
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(PipelineError, match="train.parquet: not a readable names parquet"):
        read_split(path)


def test_split_files_are_byte_stable(tmp_path):
    splits = {"train": ["ann", "zoë"], "val": ["bob"], "test": ["cy"]}
    vocab = Vocabulary.from_names(["ann", "zoë", "bob", "cy"])
    write_splits(splits, vocab, tmp_path / "a")
    write_splits(splits, vocab, tmp_path / "b")
    for name in ("train.parquet", "val.parquet", "test.parquet", "vocab.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
