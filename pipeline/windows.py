"""Stage 3: every (context, next character) example of every name, as tensors.

For each name the context starts as ``block_size`` dots; each character of
``name + '.'`` is one example, then the context shifts left and takes it in.
Stored per block size as safetensors: ``{split}.X`` (N, block) and ``{split}.Y`` (N,).
``sequences.py`` stores the same events a name per row.
"""

import json

import numpy as np
import safetensors.numpy
from safetensors import SafetensorError

from pipeline import files
from pipeline.errors import PipelineError
from pipeline.vocab import Vocabulary


def windows_path(block_size: int) -> str:
    """Where the windows stage writes the windows of BLOCK_SIZE."""
    return f"data/tensors/windows_{block_size}.safetensors"


def name_events(names, vocab: Vocabulary):
    """(stream, position): the events of every name in order, its characters then the
    end '.' (0), as indices of the smallest type; and each event's position in its name."""
    ids, lengths = vocab.encode_all(names)
    ends = np.cumsum(lengths + 1) - 1  # the end event of each name
    stream = np.zeros(len(ids) + len(lengths), dtype=ids.dtype)
    is_char = np.ones(len(stream), dtype=bool)
    is_char[ends] = False
    stream[is_char] = ids
    # int32: half the memory of int64, and positions are below MAX_NAME_LENGTH
    index = np.int32 if len(stream) < 2**31 else np.int64
    position = np.arange(len(stream), dtype=index)
    position -= np.repeat((ends - lengths).astype(index), lengths + 1)
    return stream, position


def context_windows(names, vocab: Vocabulary, block_size: int):
    """X (N, block_size) contexts and Y (N,) next characters, numpy arrays of the
    smallest index type (this stage never needs torch). Time and memory linear in the
    characters: column j of X is the event block_size - j back, or '.' before a name."""
    Y, position = name_events(names, vocab)
    X = np.zeros((len(Y), block_size), dtype=Y.dtype)
    for j in range(block_size):
        back = block_size - j
        X[back:, j] = np.where(position[back:] >= back, Y[:-back], 0)
    return X, Y


def save_windows(path, windows: dict, vocab: Vocabulary, block_size: int):
    """``windows``: split -> (X, Y) numpy arrays."""
    save_split_tensors(path, windows, vocab, block_size=block_size)


def load_windows(path):
    """(split -> (X, Y) torch tensors, vocab, block_size); a damaged file gives a
    PipelineError."""
    windows, vocab, meta = load_split_tensors(path, "windows")
    return windows, vocab, meta["block_size"]


def save_split_tensors(path, tensors: dict, vocab: Vocabulary, **meta):
    """split -> (X, Y) numpy arrays, with the vocabulary and ``meta``, as safetensors
    (one sorted-JSON metadata entry: stable bytes), written straight to the file."""
    flat = {f"{split}.{k}": t for split, xy in tensors.items() for k, t in zip("XY", xy)}
    meta = {**meta, "vocab": vocab.to_json(), "splits": list(tensors)}
    with files.atomic_path(path) as tmp:
        safetensors.numpy.save_file(flat, tmp, metadata={"makemore": json.dumps(meta, sort_keys=True)})


def load_split_tensors(path, stage: str):
    """(split -> (X, Y) torch tensors as stored (the smallest index type; see
    ``as_indices``), vocab, metadata) of a file the ``stage`` stage wrote; a damaged
    file gives a PipelineError naming it."""
    from safetensors.torch import load_file  # here, so that the data stages never import torch

    path = files.require_file(path, f"the {stage} stage")
    try:
        with open(path, "rb") as f:  # the header alone: 8 bytes of length, then JSON
            head = f.read(8)
            head += f.read(int.from_bytes(head, "little")) if len(head) == 8 else b""
        meta = json.loads(files.safetensors_metadata(head)["makemore"])
        tensors = load_file(path)  # read tensor by tensor: no second copy of the file
        vocab = Vocabulary.from_json(meta["vocab"])
        split_tensors = {s: (tensors[f"{s}.X"], tensors[f"{s}.Y"]) for s in meta["splits"]}
    except (SafetensorError, ValueError, KeyError, TypeError) as e:
        raise PipelineError(f"{path}: damaged or not a {stage} file ({e}); "
                            f"rerun the {stage} stage (dvc repro -f {stage})")
    return split_tensors, vocab, meta
