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


def context_windows(names, vocab: Vocabulary, block_size: int):
    """X (N, block_size) int64 contexts and Y (N,) int64 next characters, as numpy
    arrays: this stage never needs torch, and not importing it saves seconds."""
    lengths = np.fromiter((len(n) + 1 for n in names), dtype=np.int64, count=len(names))
    width = int(lengths.max()) if len(names) else 1
    # each row: block_size dots, the name, then dots (the end token, then padding)
    padded = np.zeros((len(names), block_size + width), dtype=np.int64)
    for row, name in enumerate(names):
        padded[row, block_size:block_size + len(name)] = vocab.encode(name)
    # (names, width, block+1): every window of block contexts plus the next char
    windows = np.lib.stride_tricks.sliding_window_view(padded, block_size + 1, axis=1)[:, :width]
    examples = windows[np.arange(width) < lengths[:, None]]  # (N, block+1), in name order
    return (np.ascontiguousarray(examples[:, :block_size]),
            np.ascontiguousarray(examples[:, block_size]))


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
    (one sorted-JSON metadata entry: stable bytes)."""
    flat = {f"{split}.{k}": t for split, xy in tensors.items() for k, t in zip("XY", xy)}
    meta = {**meta, "vocab": vocab.to_json(), "splits": list(tensors)}
    data = safetensors.numpy.save(flat, metadata={"makemore": json.dumps(meta, sort_keys=True)})
    files.write_bytes(path, data)


def load_split_tensors(path, stage: str):
    """(split -> (X, Y) torch tensors, vocab, metadata) of a file the ``stage`` stage
    wrote; a damaged file gives a PipelineError naming it."""
    from safetensors.torch import load  # here, so that the data stages never import torch

    path = files.require_file(path, f"the {stage} stage")
    data = path.read_bytes()
    try:
        tensors = load(data)
        meta = json.loads(files.safetensors_metadata(data)["makemore"])
        vocab = Vocabulary.from_json(meta["vocab"])
        split_tensors = {s: (tensors[f"{s}.X"], tensors[f"{s}.Y"]) for s in meta["splits"]}
    except (SafetensorError, ValueError, KeyError, TypeError) as e:
        raise PipelineError(f"{path}: damaged or not a {stage} file ({e}); "
                            f"rerun the {stage} stage (dvc repro -f {stage})")
    return split_tensors, vocab, meta
