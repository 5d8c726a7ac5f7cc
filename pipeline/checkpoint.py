"""Self-describing checkpoints: weights + model config + vocabulary + training step.

Stored as safetensors (no pickle: loading never runs code). All metadata sits
under one key as sorted JSON, because safetensors writes several metadata keys
in an unstable order and the file's bytes must not change between runs.

Reading the file gives numpy arrays and imports no torch, so that sampling (which
runs the model in numpy) does not pay the 1-2 s of importing it; only building the
torch model (``load_checkpoint``) and saving one import torch.
"""

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import safetensors.numpy
from safetensors import SafetensorError

from pipeline import files
from pipeline.errors import PipelineError
from pipeline.models import ModelConfig
from pipeline.vocab import Vocabulary

if TYPE_CHECKING:
    import torch

META_KEY = "makemore"


@dataclass
class Checkpoint:
    model: "torch.nn.Module"
    config: ModelConfig
    vocab: Vocabulary
    step: int
    train: dict  # the training params that produced it, for the record


@dataclass
class CheckpointArrays:
    """A checkpoint file's contents as read, before any model is built from it."""

    path: Path
    config: ModelConfig
    vocab: Vocabulary
    step: int
    train: dict
    state: dict[str, np.ndarray]  # the model's state dict


def save_checkpoint(path, ckpt: Checkpoint):
    from safetensors.torch import save  # imports torch; saving always has a torch model

    meta = {"config": ckpt.config.to_json(), "vocab": ckpt.vocab.to_json(),
            "step": ckpt.step, "train": ckpt.train}
    state = {k: v.contiguous() for k, v in ckpt.model.state_dict().items()}
    files.write_bytes(path, save(state, metadata={META_KEY: json.dumps(meta, sort_keys=True)}))


def read_checkpoint_arrays(path) -> CheckpointArrays:
    """The metadata and the state dict as numpy arrays; no model is built."""
    path = files.require_file(path, "the train stage")
    data = path.read_bytes()
    with refused_if_damaged(path):
        state = safetensors.numpy.load(data)
        meta = json.loads(files.safetensors_metadata(data)[META_KEY])
        return CheckpointArrays(path, ModelConfig.from_json(meta["config"]),
                                Vocabulary.from_json(meta["vocab"]), int(meta["step"]),
                                meta.get("train", {}), state)


def load_checkpoint(path) -> Checkpoint:
    """Rebuild the torch model from the file alone, in eval mode."""
    import torch  # here, not at the top: reading a checkpoint for sampling needs no torch

    from pipeline.models import build_model

    arrays = read_checkpoint_arrays(path)
    with refused_if_damaged(arrays.path):
        model = build_model(arrays.config)
        model.load_state_dict({k: torch.from_numpy(v) for k, v in arrays.state.items()},
                              strict=True)
    return Checkpoint(model.eval(), arrays.config, arrays.vocab, arrays.step, arrays.train)


@contextlib.contextmanager
def refused_if_damaged(path):
    """Any sign of a damaged file or of weights that do not fit the model becomes one
    line naming the file and how to remake it."""
    try:
        yield
    except (SafetensorError, ValueError, KeyError, TypeError, RuntimeError) as e:
        reason = str(e).splitlines()[0][:200]
        raise PipelineError(f"{path}: damaged or not a makemore checkpoint ({reason}); "
                            "retrain it (dvc repro -f train)")
