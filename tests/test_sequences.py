"""Whole names as rows: the same events as the windows, so every model is scored alike."""

import numpy as np
import torch

from pipeline.sequences import load_sequences, name_sequences, save_sequences, sequence_width
from pipeline.vocab import Vocabulary
from pipeline.windows import context_windows

VOCAB = Vocabulary(tuple(".abcdefghijklmnopqrstuvwxyz"))


def test_rows_are_start_name_and_targets_shifted():
    X, Y = name_sequences(["ab", "c"], VOCAB, width=4)
    assert X.tolist() == [[0, 1, 2, 0], [0, 3, 0, 0]]
    assert Y.tolist() == [[1, 2, 0, -1], [3, 0, -1, -1]]


def test_lecture_split_has_the_windows_events(lecture_splits):
    """Every (context, next character) pair of the split, once, in the windows' order:
    182,625 / 22,655 / 22,866 events, scored alike by every architecture."""
    width = sequence_width(lecture_splits)
    assert width == 16  # the longest name (15) + 1
    counts = {}
    for split, names in lecture_splits.items():
        X, Y = name_sequences(names, VOCAB, width)
        _, windows_y = context_windows(names, VOCAB, 8)
        assert np.array_equal(Y[Y >= 0], windows_y)
        assert (X[:, 0] == 0).all()
        counts[split] = int((Y >= 0).sum())
    assert counts == {"train": 182_625, "val": 22_655, "test": 22_866}


def test_save_and_load(tmp_path):
    tensors = {"train": name_sequences(["anna", "bo"], VOCAB, 5),
               "val": name_sequences(["cy"], VOCAB, 5)}
    path = tmp_path / "sequences.safetensors"
    save_sequences(path, tensors, VOCAB)
    loaded, vocab = load_sequences(path)
    assert vocab == VOCAB and list(loaded) == ["train", "val"]
    assert torch.equal(loaded["val"][1], torch.from_numpy(tensors["val"][1]))
    save_sequences(tmp_path / "again.safetensors", tensors, VOCAB)
    assert (tmp_path / "again.safetensors").read_bytes() == path.read_bytes()


def test_a_large_vocabulary_and_long_names_keep_every_event():
    rng = np.random.default_rng(1)
    letters = [chr(0x4E00 + i) for i in range(2999)]
    names = ["".join(rng.choice(letters, size=n)) for n in rng.integers(1, 65, size=200)]
    vocab = Vocabulary.from_names(letters)
    X, Y = name_sequences(names, vocab, width=sequence_width({"all": names}))
    assert X.dtype == Y.dtype == np.int16 and X.shape == (200, 65)
    for row, name in enumerate(names):
        ids = [vocab.stoi[ch] for ch in name]
        assert X[row, :len(ids) + 1].tolist() == [0, *ids] and not X[row, len(ids) + 1:].any()
        assert Y[row].tolist() == [*ids, 0] + [-1] * (64 - len(ids))
