"""Every model, chosen by name; one contract: ``forward(idx, targets=None) -> (logits, loss)``.

Each architecture is one module here: a config dataclass (``Config``, its
hyperparameters and their valid ranges) and an ``nn.Module``. ``reads`` says which
data it takes: ``"windows"`` (idx (B, block_size) -> logits (B, vocab), one event
per row) or ``"sequences"`` (idx (B, T), a name from its leading '.', -> logits
(B, T, vocab), one event per position, targets -1 on padding). Training,
evaluation and sampling use only this contract. To add an architecture, write its
module and register it in ``ARCHS``.

A model with a ``fit(X, Y)`` method (the bigram, the n-gram) is fitted by counting
the training events instead of by gradient steps; it has no learning rate. The
ensemble is built from trained models' checkpoints (params.yaml's ensembles), never
from a model section.
"""

import torch

from pipeline.models.bigram import Bigram
from pipeline.models.bow import BoW
from pipeline.models.config import ModelConfig, ParamError
from pipeline.models.dilated import DilatedWaveNet
from pipeline.models.ensemble import Ensemble
from pipeline.models.gated import GatedWaveNet
from pipeline.models.hierarchical import WaveNet
from pipeline.models.mlp import MLP
from pipeline.models.ngram import KneserNey
from pipeline.models.recurrent import GRU, LSTM, RNN
from pipeline.models.transformer import Transformer

ARCHS = {
    "mlp": MLP,
    "hierarchical": WaveNet,
    "dilated": DilatedWaveNet,
    "gated": GatedWaveNet,
    "transformer": Transformer,
    "ngram": KneserNey,
    "bigram": Bigram,
    "rnn": RNN,
    "gru": GRU,
    "lstm": LSTM,
    "bow": BoW,
    "ensemble": Ensemble,  # params.yaml's ensembles, never a model section's arch
}
# checkpoints written before model.arch existed name the hierarchical model "wavenet"
_OLD_NAMES = {"wavenet": "hierarchical"}


def make_config(arch: str, **values) -> ModelConfig:
    """The architecture's config from its field values (unknown keys are an error)."""
    return ARCHS[arch].Config(arch=arch, **values)


def config_from_json(obj: dict) -> ModelConfig:
    arch = _OLD_NAMES.get(obj["arch"], obj["arch"])
    if arch not in ARCHS:
        raise KeyError(f"unknown architecture {obj['arch']!r}")
    return make_config(arch, **{k: v for k, v in obj.items() if k != "arch"})


def build_model(config: ModelConfig, seed: int | None = None) -> torch.nn.Module:
    """A freshly initialised model; ``seed`` makes the initialisation repeatable."""
    if seed is not None:
        torch.manual_seed(seed)
    return ARCHS[config.arch](config)


def fitted_by_counting(model: torch.nn.Module) -> bool:
    """Whether ``model`` is fitted by counting (``fit(X, Y)``), not by gradient steps."""
    return callable(getattr(model, "fit", None))


def count_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


__all__ = ["ARCHS", "ModelConfig", "ParamError", "build_model", "config_from_json",
           "count_params", "fitted_by_counting", "make_config"]
