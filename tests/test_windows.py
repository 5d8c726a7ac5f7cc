import numpy as np
import pytest
import torch

from pipeline.errors import PipelineError
from pipeline.vocab import Vocabulary
from pipeline.windows import context_windows, load_windows, save_windows


@pytest.mark.parametrize("block_size", [3, 8])
def test_lecture_window_counts(lecture_names, lecture_splits, block_size):
    vocab = Vocabulary.from_names(lecture_names)
    counts = [len(context_windows(lecture_splits[s], vocab, block_size)[1])
              for s in ("train", "val", "test")]
    assert counts == [182_625, 22_655, 22_866]


def test_windows_of_emma_as_in_the_lecture():
    vocab = Vocabulary(tuple(".abcdefghijklmnopqrstuvwxyz"))
    X, Y = context_windows(["emma"], vocab, 3)
    # ... -> e, ..e -> m, .em -> m, emm -> a, mma -> .
    contexts = ["...", "..e", ".em", "emm", "mma"]
    assert [vocab.decode(row) for row in X.tolist()] == contexts
    assert vocab.decode(Y.tolist()) == "emma."
    assert X.dtype == Y.dtype == np.int8  # the smallest type that holds 27 tokens and -1


def test_windows_keep_name_order_and_block_sizes():
    vocab = Vocabulary.from_names(["ab", "c"])
    X, Y = context_windows(["ab", "c"], vocab, 2)
    assert [vocab.decode(r) for r in X.tolist()] == ["..", ".a", "ab", "..", ".c"]
    assert vocab.decode(Y.tolist()) == "ab.c."


def test_save_load_round_trip_and_damage(tmp_path):
    vocab = Vocabulary.from_names(["ab", "c"])
    windows = {s: context_windows(["ab", "c"], vocab, 2) for s in ("train", "val", "test")}
    path = tmp_path / "block_2.safetensors"
    save_windows(path, windows, vocab, 2)
    loaded, vocab2, block = load_windows(path)
    assert block == 2 and vocab2 == vocab
    assert all(torch.equal(loaded[s][i], torch.from_numpy(windows[s][i]))
               for s in windows for i in (0, 1))
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(PipelineError, match="block_2.safetensors: damaged"):
        load_windows(path)


def test_a_pickle_posing_as_windows_is_refused(tmp_path):
    import pickle
    path = tmp_path / "block_3.safetensors"
    path.write_bytes(pickle.dumps({"train.X": torch.zeros(3)}))
    with pytest.raises(PipelineError, match="block_3.safetensors: damaged or not a windows file"):
        load_windows(path)


def _one_name_at_a_time(names, vocab, block_size):
    """The lecture's loop: a context of dots, shifted one character at a time."""
    X, Y = [], []
    for name in names:
        context = [0] * block_size
        for ch in name + ".":
            X.append(context)
            Y.append(vocab.stoi[ch])
            context = context[1:] + [vocab.stoi[ch]]
    return np.array(X).reshape(-1, block_size), np.array(Y)


@pytest.mark.parametrize("vocab_size, dtype", [(27, np.int8), (3000, np.int16)])
def test_large_vocabularies_and_long_names_give_the_lecture_loops_windows(vocab_size, dtype):
    rng = np.random.default_rng(0)
    letters = [chr(0x4E00 + i) for i in range(vocab_size - 1)]  # CJK: one letter each
    names = ["".join(rng.choice(letters, size=n)) for n in rng.integers(1, 65, size=300)]
    vocab = Vocabulary.from_names(letters)
    for block_size in (1, 3, 8):
        X, Y = context_windows(names, vocab, block_size)
        expected_X, expected_Y = _one_name_at_a_time(names, vocab, block_size)
        assert X.dtype == Y.dtype == dtype
        assert np.array_equal(X, expected_X) and np.array_equal(Y, expected_Y)


def test_index_types_hold_the_vocabulary_and_no_event():
    from pipeline.vocab import index_dtype

    assert [index_dtype(n) for n in (27, 128, 129, 32768, 32769)] == [
        np.int8, np.int8, np.int16, np.int16, np.int32]
