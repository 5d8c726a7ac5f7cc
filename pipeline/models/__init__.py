"""Models share one contract: ``forward(idx, targets=None) -> (logits, loss)``.

Importing this package imports no torch, so that the config and the layer plan
(all that numpy sampling needs) cost nothing: importing torch takes 1-2 s. The
torch names (``MODELS``, ``build_model``, ``count_params``) come from
``pipeline.models.build`` on first use.
"""

from pipeline.models.config import ModelConfig
from pipeline.models.plan import layer_plan, state_shapes

_TORCH_NAMES = ("MODELS", "build_model", "count_params")


def __getattr__(name):
    if name in _TORCH_NAMES:
        from pipeline.models import build
        return getattr(build, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["MODELS", "ModelConfig", "build_model", "count_params", "layer_plan", "state_shapes"]
