"""Layers the lecture builds by hand, in their torch.nn form, and the torch module for
each layer spec of ``plan.py``."""

import torch
from torch import nn

from pipeline.models import plan


class FlattenConsecutive(nn.Module):
    """Join every ``n`` neighbouring positions along the channel axis.

    (B, T, C) -> (B, T/n, n*C); a length-1 time axis is dropped: (B, n, C) -> (B, n*C).
    """

    def __init__(self, n: int):
        super().__init__()
        self.n = n

    def forward(self, x):
        B, T, C = x.shape
        x = x.reshape(B, T // self.n, C * self.n)
        return x.squeeze(1) if x.shape[1] == 1 else x


class SequenceBatchNorm(nn.BatchNorm1d):
    """Batch norm over every axis but the last: (B, C) or (B, T, C).

    The lecture's fixed bug: on (B, T, C) the statistics are taken over batch
    *and* time, one mean/variance (and running estimate) per channel. Viewing the
    input as (B*T, C) gives exactly that, and keeps torch on its fast contiguous
    kernel (a (B, C, T) transpose is 3-4x slower at these sizes).
    """

    def forward(self, x):
        if x.ndim == 3:
            B, T, C = x.shape
            return super().forward(x.reshape(B * T, C)).view(B, T, C)
        return super().forward(x)


def kaiming_linear(fan_in: int, fan_out: int, bias: bool) -> nn.Linear:
    """The lecture's Linear: weight ~ N(0, 1/fan_in), bias zero."""
    layer = nn.Linear(fan_in, fan_out, bias=bias)
    with torch.no_grad():
        layer.weight.normal_(0.0, fan_in ** -0.5)
        if bias:
            layer.bias.zero_()
    return layer


def build_layer(spec: plan.LayerSpec) -> nn.Module:
    """The torch module for one layer of a plan (``pipeline/models/plan.py``).

    These are the module types the hand-derived backward in ``sequential.py`` knows.
    Linear layers draw their initial weights here, so the order of the calls fixes
    the random initialisation.
    """
    if isinstance(spec, plan.Flatten):
        return nn.Flatten() if spec.whole else FlattenConsecutive(spec.n)
    if isinstance(spec, plan.Linear):
        layer = kaiming_linear(spec.fan_in, spec.fan_out, spec.bias)
        if spec.init_scale != 1.0:
            with torch.no_grad():
                layer.weight.mul_(spec.init_scale)
        return layer
    if isinstance(spec, plan.BatchNorm):
        return SequenceBatchNorm(spec.width, eps=spec.eps)
    if isinstance(spec, plan.Tanh):
        return nn.Tanh()
    raise TypeError(f"no torch layer for {spec!r}")
