"""Self-describing checkpoints: weights + model config + vocabulary + training step.

Stored as safetensors (no pickle: loading never runs code). All metadata sits
under one key as sorted JSON, because safetensors writes several metadata keys
in an unstable order and the file's bytes must not change between runs.
"""

import json
from dataclasses import dataclass

import torch
from safetensors import SafetensorError
from safetensors.torch import load, save

from pipeline import files
from pipeline.errors import PipelineError
from pipeline.models import ModelConfig, build_model
from pipeline.vocab import Vocabulary

META_KEY = "makemore"


@dataclass
class Checkpoint:
    model: torch.nn.Module
    config: ModelConfig
    vocab: Vocabulary
    step: int
    train: dict  # the training params that produced it, for the record


def save_checkpoint(path, ckpt: Checkpoint):
    meta = {"config": ckpt.config.to_json(), "vocab": ckpt.vocab.to_json(),
            "step": ckpt.step, "train": ckpt.train}
    state = {k: v.contiguous() for k, v in ckpt.model.state_dict().items()}
    files.write_bytes(path, save(state, metadata={META_KEY: json.dumps(meta, sort_keys=True)}))


def load_checkpoint(path) -> Checkpoint:
    """Rebuild the model from the file alone, in eval mode."""
    path = files.require_file(path, "the train stage")
    data = path.read_bytes()
    try:
        state = load(data)
        meta = json.loads(files.safetensors_metadata(data)[META_KEY])
        config = ModelConfig.from_json(meta["config"])
        model = build_model(config)
        model.load_state_dict(state, strict=True)
        ckpt = Checkpoint(model.eval(), config, Vocabulary.from_json(meta["vocab"]),
                          int(meta["step"]), meta.get("train", {}))
    except (SafetensorError, ValueError, KeyError, TypeError, RuntimeError) as e:
        reason = str(e).splitlines()[0][:200]
        raise PipelineError(f"{path}: damaged or not a makemore checkpoint ({reason}); "
                            "retrain it (dvc repro -f train)")
    return ckpt

