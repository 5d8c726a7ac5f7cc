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
from pipeline.windows import load_split_tensors, name_events, save_split_tensors

NO_EVENT = -1  # the ignore_index of the loss
SEQUENCES_PATH = "data/tensors/sequences.safetensors"  # where the sequences stage writes


def name_sequences(names, vocab: Vocabulary, width: int):
    """X (N, width) and Y (N, width) numpy arrays of the smallest index type;
    ``width`` >= longest name + 1."""
    events, position = name_events(names, vocab)  # each name's characters, then '.'
    row = np.cumsum(position == 0, dtype=position.dtype) - 1  # each event's name
    X = np.zeros((len(names), width), dtype=events.dtype)
    Y = np.full((len(names), width), NO_EVENT, dtype=events.dtype)
    Y[row, position] = events
    inside = position + 1 < width  # X: '.', then the name; the end '.' is no input
    X[row[inside], position[inside] + 1] = events[inside]
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
