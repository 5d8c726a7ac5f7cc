"""Self-describing checkpoints: weights + model config + vocabulary + training step.

Stored as safetensors (no pickle: loading never runs code). All metadata sits
under one key as sorted JSON, because safetensors writes several metadata keys
in an unstable order and the file's bytes must not change between runs. The
weights are saved from the CPU, so a checkpoint never names a device.
"""

import contextlib
import json
from dataclasses import dataclass

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_tensors
from safetensors.torch import save_file

from pipeline import files
from pipeline.errors import PipelineError
from pipeline.models import ModelConfig, build_model, config_from_json
from pipeline.vocab import Vocabulary

META_KEY = "makemore"


@dataclass
class Checkpoint:
    model: torch.nn.Module
    config: ModelConfig
    vocab: Vocabulary
    step: int
    train: dict  # the training params that produced it, for the record


def model_checkpoint(model: str) -> str:
    """Where the train stage writes MODEL's checkpoint."""
    return f"models/{model}.safetensors"


def ensemble_checkpoint(model: str) -> str:
    """Where the ensemble stage writes MODEL's checkpoint (outside models/, on which
    that stage depends)."""
    return f"ensembles/{model}.safetensors"


def checkpoint_path(params: dict, model: str) -> str:
    """Where MODEL's checkpoint is: an entry of params.yaml's ensembles has an
    ensemble's, any other model a trained one's."""
    ensembles = params.get("ensembles") or {}  # checked by the ensemble stage, not here
    if isinstance(ensembles, dict) and model in ensembles:
        return ensemble_checkpoint(model)
    return model_checkpoint(model)


def save_checkpoint(path, ckpt: Checkpoint):
    meta = {"config": ckpt.config.to_json(), "vocab": ckpt.vocab.to_json(),
            "step": ckpt.step, "train": ckpt.train}
    state = {k: v.detach().cpu().contiguous() for k, v in ckpt.model.state_dict().items()}
    with files.atomic_path(path) as tmp:  # written as it is serialised: one copy, not two
        save_file(state, tmp, metadata={META_KEY: json.dumps(meta, sort_keys=True)})


def load_checkpoint(path) -> Checkpoint:
    """Rebuild the model from the file alone, on the CPU, in eval mode."""
    path = files.require_file(path, "the train stage")
    data = path.read_bytes()
    with refused_if_damaged(path):
        state = load_tensors(data)
        meta = json.loads(files.safetensors_metadata(data)[META_KEY])
        config = config_from_json(meta["config"])
        model = build_model(config)
        model.load_state_dict(state, strict=True)
        return Checkpoint(model.eval(), config, Vocabulary.from_json(meta["vocab"]),
                          int(meta["step"]), meta.get("train", {}))


@contextlib.contextmanager
def refused_if_damaged(path):
    """Any sign of a damaged file or of weights that do not fit the model becomes one
    line naming the file and how to remake it."""
    try:
        yield
    except (SafetensorError, ValueError, KeyError, TypeError, RuntimeError) as e:
        reason = " ".join(str(e).split())[:200]  # torch puts the detail on later lines
        raise PipelineError(f"{path}: damaged or not a makemore checkpoint ({reason}); "
                            "retrain it (dvc repro -f train)")
