"""The torch models: build one from its config, count its parameters."""

import torch

from pipeline.models.config import ModelConfig
from pipeline.models.mlp import MLP
from pipeline.models.wavenet import WaveNet

MODELS = {"mlp": MLP, "wavenet": WaveNet}


def build_model(config: ModelConfig, seed: int | None = None) -> torch.nn.Module:
    """A freshly initialised model; ``seed`` makes the initialisation repeatable."""
    if seed is not None:
        torch.manual_seed(seed)
    return MODELS[config.arch](config)


def count_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
