"""Layers the lecture builds by hand, in their torch.nn form."""

import torch
from torch import nn


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


def hidden_block(fan_in: int, hidden: int, batch_norm: bool) -> list[nn.Module]:
    """Linear -> [BatchNorm] -> tanh; a batch-normed Linear needs no bias."""
    layers = [kaiming_linear(fan_in, hidden, bias=not batch_norm)]
    if batch_norm:
        layers.append(SequenceBatchNorm(hidden))
    return layers + [nn.Tanh()]


def output_layer(hidden: int, vocab_size: int) -> nn.Linear:
    """Final logits layer, weights scaled by 0.1 so the model starts unconfident."""
    layer = kaiming_linear(hidden, vocab_size, bias=True)
    with torch.no_grad():
        layer.weight.mul_(0.1)
    return layer
