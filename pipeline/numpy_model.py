"""A trained model's eval-mode forward pass in numpy, for sampling.

Sampling a thousand names costs ~0.03 s of forward passes, but importing torch
costs 1-2 s; this module runs the same layer plan as the torch models
(``pipeline/models/plan.py``) on a checkpoint's arrays, and never imports torch.
Eval mode only: batch norm uses its running statistics, nothing is trained.
Everything is float32, as in torch, so the logits agree to float rounding.
"""

import numpy as np

from pipeline.checkpoint import read_checkpoint_arrays, refused_if_damaged
from pipeline.models.config import ModelConfig
from pipeline.models.plan import BatchNorm, Flatten, Linear, Tanh, layer_plan, state_shapes
from pipeline.vocab import Vocabulary


class NumpyModel:
    """``logits(idx)`` of the model ``config`` describes, with the weights ``state``
    (its torch state dict as numpy arrays, keys and shapes checked)."""

    def __init__(self, config: ModelConfig, state: dict[str, np.ndarray]):
        check_state(state, state_shapes(config))
        self.config = config
        self.embedding = as_float32(state["embedding.weight"])
        self.layers = [numpy_layer(spec, {name: state[f"net.{i}.{name}"]
                                          for name in spec.state_shapes()})
                       for i, spec in enumerate(layer_plan(config))]

    @property
    def block_size(self) -> int:
        return self.config.block_size

    def logits(self, idx: np.ndarray) -> np.ndarray:
        """(B, block_size) character indices -> (B, vocab_size) float32 logits."""
        x = self.embedding[idx]  # (B, T, n_embd)
        for layer in self.layers:
            x = layer(x)
        return x


def load_numpy_model(path) -> tuple[NumpyModel, Vocabulary]:
    """The checkpoint's model and vocabulary; a file that does not fit is refused
    with the same one-line error as the torch loader gives."""
    arrays = read_checkpoint_arrays(path)
    with refused_if_damaged(arrays.path):
        return NumpyModel(arrays.config, arrays.state), arrays.vocab


def check_state(state: dict, expected: dict[str, tuple[int, ...]]):
    """As torch's ``load_state_dict(strict=True)``: the same keys, the same shapes."""
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing or unexpected:
        raise KeyError(f"state dict keys differ: missing {missing}, unexpected {unexpected}")
    for key, shape in expected.items():
        if state[key].shape != shape:
            raise ValueError(f"{key} has shape {state[key].shape}, the model needs {shape}")


def numpy_layer(spec, params: dict[str, np.ndarray]):
    """The eval-mode forward of one layer spec: a function of its input."""
    if isinstance(spec, Flatten):
        return lambda x: flatten_consecutive(x, spec.n)
    if isinstance(spec, Linear):
        weight_t = as_float32(params["weight"]).T
        bias = as_float32(params["bias"]) if spec.bias else None
        return lambda x: x @ weight_t if bias is None else x @ weight_t + bias
    if isinstance(spec, BatchNorm):
        return batch_norm_eval(params, spec.eps)
    if isinstance(spec, Tanh):
        return np.tanh
    raise TypeError(f"no numpy layer for {spec!r}")


def flatten_consecutive(x: np.ndarray, n: int) -> np.ndarray:
    """(B, T, C) -> (B, T/n, n*C); a length-1 time axis is dropped, as in torch."""
    B, T, C = x.shape
    x = x.reshape(B, T // n, n * C)
    return x[:, 0] if x.shape[1] == 1 else x


def batch_norm_eval(params: dict[str, np.ndarray], eps: float):
    """x -> (x - running_mean) / sqrt(running_var + eps) * weight + bias, folded into
    one scale and shift per channel (as torch's CPU kernel does in eval mode)."""
    inv_std = 1.0 / np.sqrt(as_float32(params["running_var"]) + np.float32(eps))
    scale = as_float32(params["weight"]) * inv_std
    shift = as_float32(params["bias"]) - as_float32(params["running_mean"]) * scale
    return lambda x: x * scale + shift


def as_float32(array: np.ndarray) -> np.ndarray:
    return np.asarray(array, dtype=np.float32)
