"""Stage 3b: every name as one padded row of character indices, for the models that
read whole names (dilated, gated, transformer).

Row i of ``X`` is '.', then the name, then '.' padding; row i of ``Y`` is the name,
then '.', then -1 (no event) padding: position t predicts the character after the
first t + 1 of X. The events (Y >= 0) are exactly the windows stage's examples,
in the same order, so every model is scored on the same (context, next character)
pairs. All splits share one width: the longest name + 1.
"""

import numpy as np

from pipeline.vocab import Vocabulary
from pipeline.windows import load_split_tensors, save_split_tensors

NO_EVENT = -1  # the ignore_index of the loss


def name_sequences(names, vocab: Vocabulary, width: int):
    """X (N, width) and Y (N, width) int64 numpy arrays; ``width`` >= longest name + 1."""
    X = np.zeros((len(names), width), dtype=np.int64)
    Y = np.full((len(names), width), NO_EVENT, dtype=np.int64)
    for row, name in enumerate(names):
        ids = vocab.encode(name)
        X[row, 1:len(ids) + 1] = ids
        Y[row, :len(ids)] = ids
        Y[row, len(ids)] = 0  # the end '.'
    return X, Y


def sequence_width(splits: dict) -> int:
    return max(len(name) for names in splits.values() for name in names) + 1


def save_sequences(path, sequences: dict, vocab: Vocabulary):
    width = next(iter(sequences.values()))[0].shape[1]
    save_split_tensors(path, sequences, vocab, width=width)


def load_sequences(path):
    """(split -> (X, Y) torch tensors, vocab)."""
    sequences, vocab, _ = load_split_tensors(path, "sequences")
    return sequences, vocab
