"""Layers the models share: the lecture's hand-built ones in torch.nn form, and the
kernel-2 causal convolution of the WaveNets."""

import torch
import torch.nn.functional as F
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

    ``mask`` (B, T), in training, limits the statistics to the positions where it
    is true: the padding after a name's end must not move them.
    """

    def forward(self, x, mask=None):
        if mask is not None and self.training:
            return self._masked(x, mask)
        if x.ndim == 3:
            B, T, C = x.shape
            return super().forward(x.reshape(B * T, C)).view(B, T, C)
        return super().forward(x)

    def _masked(self, x, mask):
        x = x.float()  # statistics in float32, also under bfloat16 autocast
        m = mask.unsqueeze(-1).to(x.dtype)  # (B, T, 1)
        n = m.sum()
        mean = (x * m).sum((0, 1)) / n
        var = ((x - mean).square() * m).sum((0, 1)) / n
        with torch.no_grad():  # as nn.BatchNorm1d: the running variance is unbiased
            # momentum None: the cumulative average over the batches seen, as nn.BatchNorm1d
            factor = (self.momentum if self.momentum is not None
                      else 1.0 / (int(self.num_batches_tracked) + 1))
            self.running_mean.lerp_(mean, factor)
            self.running_var.lerp_(var * n / (n - 1).clamp(min=1), factor)
            self.num_batches_tracked.add_(1)
        return (x - mean) * torch.rsqrt(var + self.eps) * self.weight + self.bias


class Dropout(nn.Dropout):
    """nn.Dropout that a compiled training step draws and scales the same way whether it
    is traced through autograd or through torch.func (``dropout``)."""

    def forward(self, x):
        return dropout(x, self.p, self.training)


def dropout(x, p: float, training: bool = True):
    """F.dropout. Compiled, the draws and roundings of ``aten.native_dropout``, the op that
    torch.compile's autograd trace makes of F.dropout (a torch.func trace would otherwise
    replace it by a Bernoulli draw and a division, other masks and other roundings). On
    the CPU that op's kernel, written out: a Bernoulli(1 - p) mask, then x * mask * scale;
    here the mask stays float32, where the kernel's is bool, since compiled C++ for AVX2
    loads and stores bool lanes one at a time (docs/performance.md)."""
    if not (training and p):
        return x
    if compiled_on_cpu_in_float32(x):
        mask = torch.empty_like(x).bernoulli_(1.0 - p)
        return x * mask * (1.0 / (1.0 - p))
    if torch.compiler.is_compiling():
        # the op itself: on a GPU its kernel draws otherwise than bernoulli_ would
        return torch.ops.aten.native_dropout(x, p, True)[0]
    return F.dropout(x, p)


def compiled_on_cpu_in_float32(x) -> bool:
    """Whether x is being traced by torch.compile, on the CPU, in float32: where ``dropout``
    and ``GELU`` write their ops out for inductor's C++. Elsewhere they keep the op: in
    bfloat16 it rounds its intermediate results to bfloat16, which a written-out form
    fused by inductor would not, and the bfloat16 records repeat the op's bits."""
    return (torch.compiler.is_compiling() and x.device.type == "cpu"
            and x.dtype == torch.float32)


class GELU(nn.Module):
    """nn.GELU, the exact one (Hendrycks & Gimpel 2016): x * Phi(x) = x/2 * (1 + erf(x/sqrt 2)).

    Compiled on the CPU in float32, erf is computed as ATen's vectorized CPU kernel
    computes it, and the forward keeps its exp(-x^2/2) for the backward (``_GELUKeepingExp``):
    the backward of the op recomputes erf, and with it that exp, and then another exp, so
    a step evaluates exp once per activation instead of three times. It is the same
    function within float32 rounding, not the same bits (tests/test_models.py); the
    gain is measured in docs/performance.md. Elsewhere it is the op itself
    (``compiled_on_cpu_in_float32``)."""

    def forward(self, x):
        if compiled_on_cpu_in_float32(x):
            return _GELUKeepingExp.apply(x)[0]
        return F.gelu(x)


class _GELUKeepingExp(torch.autograd.Function):
    """GELU that returns erf(x/sqrt 2) and exp(-x^2/2) beside its output, for its backward.

    erf(u) = sign(u) * (1 - r(t) * t * exp(-u^2)), t = 1 / (1 + P|u|), r a quartic:
    Abramowitz & Stegun 7.1.26, the formula and constants of ATen's vectorized erf."""

    @staticmethod
    def forward(x):
        u = x * 0.70710678118654752440  # x / sqrt 2
        t = 1 / (1 + 0.3275911 * u.abs())
        r = (((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t
        r = r + 0.254829592
        e = torch.exp(-(u * u))  # exp(-x^2/2), the normal density's, up to a constant
        erf = torch.copysign(1 - r * t * e, u)
        return x * 0.5 * (1 + erf), erf, e

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0], output[1], output[2])
        ctx.mark_non_differentiable(output[1], output[2])

    @staticmethod
    def backward(ctx, grad, _erf, _e):
        x, erf, e = ctx.saved_tensors  # d/dx = Phi(x) + x * phi(x)
        return grad * (0.5 * (1 + erf) + x * e * 0.39894228040143267794)  # 1 / sqrt(2 pi)


class CausalConv(nn.Module):
    """``nn.Conv1d(c_in, c_out, kernel_size=2, dilation=d)`` made causal: the output
    at t sees the inputs at t - d and t, and zeros before the sequence starts.

    Computed on the (B, T, C) layout as one matrix product of the two taps side by
    side, [x[t - d], x[t]] @ weight.T, which is also exactly the lecture's
    FlattenConsecutive(2) + Linear for the pair (t - d, t). ``weight`` is
    (c_out, 2 * c_in): the tap at t - d in the first c_in columns.
    """

    def __init__(self, c_in: int, c_out: int, dilation: int, bias: bool = True):
        super().__init__()
        self.dilation = dilation
        self.proj = kaiming_linear(2 * c_in, c_out, bias)

    def forward(self, x):  # (B, T, c_in) -> (B, T, c_out)
        earlier = F.pad(x, (0, 0, self.dilation, 0))[:, :x.shape[1]]
        return self.proj(torch.cat([earlier, x], dim=-1))


def kaiming_linear(fan_in: int, fan_out: int, bias: bool, scale: float = 1.0) -> nn.Linear:
    """The lecture's Linear: weight ~ N(0, 1/fan_in) (times ``scale``), bias zero."""
    layer = nn.Linear(fan_in, fan_out, bias=bias)
    with torch.no_grad():
        layer.weight.normal_(0.0, fan_in ** -0.5)
        if scale != 1.0:
            layer.weight.mul_(scale)
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
    return kaiming_linear(hidden, vocab_size, bias=True, scale=0.1)


def sequence_loss(logits, targets):
    """Mean cross-entropy over the events of a batch: (B, V) logits with (B,) targets
    (windows), or (B, T, V) with (B, T) targets, -1 marking padding (sequences)."""
    if targets is None:
        return None
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1),
                           ignore_index=-1)
