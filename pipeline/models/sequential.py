"""The shape both lecture models share: embedding -> a Sequential of plain layers -> logits.

Besides the usual autograd ``forward``, such a model can compute its gradients by
hand (the chain rule per layer, as in makemore Part 4). At batch 32 on a CPU the
work per op is tiny, so autograd's bookkeeping is a large share of a step; the
hand-derived backward calls fewer ops and is checked against autograd in the tests.
"""

import torch
import torch.nn.functional as F
from torch import nn

from pipeline.models.layers import FlattenConsecutive, SequenceBatchNorm


class EmbeddingSequential(nn.Module):
    """Subclasses set ``self.embedding`` (nn.Embedding) and ``self.net`` (nn.Sequential)."""

    embedding: nn.Embedding
    net: nn.Sequential

    def forward(self, idx, targets=None):
        logits = self.net(self.embedding(idx))  # (B, vocab)
        loss = None if targets is None else F.cross_entropy(logits, targets)
        return logits, loss

    @torch.no_grad()
    def forward_backward(self, idx, targets, matmul_dtype=torch.float32):
        """Set every parameter's ``.grad`` as ``forward(idx, targets)[1].backward()``
        would, and update batch-norm running statistics as in training mode.

        Returns the loss, detached. The Linear and embedding ``.grad`` tensors are
        kept and overwritten in place from step to step; batch norm's backward
        returns fresh ones. ``matmul_dtype=torch.bfloat16`` rounds the inputs of
        the matrix products (only those) to bfloat16: mixed precision, as autocast
        would do it.
        """
        B = len(targets)
        # Activations stay 2-D (rows, features): a (B, T, C) tensor is held as its
        # (B*T, C) view, so both flattens are free views and every op sees a matrix.
        x = F.embedding(idx.view(-1), self.embedding.weight)  # (B*T, n_embd)
        activations = [x]  # the input of layer i is activations[i], its output [i + 1]
        for layer in self.net:
            activations.append(_forward(layer, activations[-1], B, matmul_dtype))
        logp = torch.log_softmax(activations[-1], dim=-1)  # (B, vocab)
        onehot = torch.zeros_like(logp).scatter_(1, targets[:, None], 1.0)
        loss = torch.dot(logp.view(-1), onehot.view(-1)).neg_().div_(B)
        # d(mean loss)/d(logits) = (softmax - onehot) / B
        grad = logp.exp_().sub_(onehot).div_(B)
        for i in reversed(range(len(self.net))):
            grad = _backward(self.net[i], activations[i], activations[i + 1], grad,
                             matmul_dtype)
        weight = self.embedding.weight
        _grad_buffer(weight).zero_().index_add_(0, idx.view(-1), grad)
        return loss

    def supports_forward_backward(self) -> bool:
        return all(isinstance(layer, _LAYERS) for layer in self.net)


_LAYERS = (nn.Flatten, FlattenConsecutive, nn.Linear, SequenceBatchNorm, nn.Tanh)


def _forward(layer, x, batch, matmul_dtype):
    """The layer's training-mode forward on 2-D activations (see forward_backward);
    batch norm keeps what its backward needs."""
    if isinstance(layer, nn.Linear) and matmul_dtype != torch.float32:
        out = _mixed_mm(x, layer.weight.t(), matmul_dtype)
        return out if layer.bias is None else out.add_(layer.bias)
    if isinstance(layer, nn.Linear):
        if layer.bias is None:
            return x.mm(layer.weight.t())
        return torch.addmm(layer.bias, x, layer.weight.t())
    if isinstance(layer, SequenceBatchNorm):
        out, layer.saved_mean, layer.saved_invstd = torch.native_batch_norm(
            x, layer.weight, layer.bias, layer.running_mean, layer.running_var, True,
            layer.momentum, layer.eps)
        layer.num_batches_tracked.add_(1)
        return out
    if isinstance(layer, nn.Tanh):
        return torch.tanh(x)
    if isinstance(layer, FlattenConsecutive):  # (B*T, C) -> (B*T/n, n*C)
        return x.view(-1, layer.n * x.shape[1])
    return x.view(batch, -1)  # nn.Flatten: (B*T, C) -> (B, T*C)


def _backward(layer, x_in, x_out, grad, matmul_dtype):
    """Given d(loss)/d(output) and the layer's input and output, set its params'
    grads and return d(loss)/d(input)."""
    if isinstance(layer, nn.Linear) and matmul_dtype != torch.float32:
        _grad_buffer(layer.weight).copy_(_mixed_mm(grad.t(), x_in, matmul_dtype))
        if layer.bias is not None:
            torch.sum(grad, 0, out=_grad_buffer(layer.bias))
        return _mixed_mm(grad, layer.weight, matmul_dtype)
    if isinstance(layer, nn.Linear):
        torch.mm(grad.t(), x_in, out=_grad_buffer(layer.weight))
        if layer.bias is not None:
            torch.sum(grad, 0, out=_grad_buffer(layer.bias))
        return grad.mm(layer.weight)
    if isinstance(layer, SequenceBatchNorm):
        g, layer.weight.grad, layer.bias.grad = torch.ops.aten.native_batch_norm_backward(
            grad, x_in, layer.weight, layer.running_mean, layer.running_var,
            layer.saved_mean, layer.saved_invstd, True, layer.eps, [True, True, True])
        return g
    if isinstance(layer, nn.Tanh):
        return torch.ops.aten.tanh_backward(grad, x_out)
    return grad.view(x_in.shape)  # the flattens only move numbers around


def _mixed_mm(a, b, dtype):
    """a @ b with both inputs rounded to ``dtype``, the result back in float32. On
    CPUs with bfloat16 dot-product instructions (AVX512-BF16, AMX) a bfloat16
    product takes about half the time of a float32 one; the accumulation inside
    stays float32."""
    return a.to(dtype).mm(b.to(dtype)).float()


def _grad_buffer(param):
    """``param.grad``, allocated on first use and then written in place."""
    if param.grad is None:
        param.grad = torch.zeros_like(param)
    return param.grad
