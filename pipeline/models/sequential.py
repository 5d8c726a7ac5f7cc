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
    def forward_backward(self, idx, targets):
        """Set every parameter's ``.grad`` as ``forward(idx, targets)[1].backward()``
        would, and update batch-norm running statistics as in training mode.

        Returns the loss, detached.
        """
        x = F.embedding(idx, self.embedding.weight)  # (B, T, n_embd)
        activations = [x]  # the input of layer i is activations[i], its output [i + 1]
        for layer in self.net:
            activations.append(_forward(layer, activations[-1]))
        logp = torch.log_softmax(activations[-1], dim=-1)  # (B, vocab)
        onehot = torch.zeros_like(logp).scatter_(1, targets[:, None], 1.0)
        loss = torch.dot(logp.view(-1), onehot.view(-1)).neg_().div_(len(targets))
        # d(mean loss)/d(logits) = (softmax - onehot) / B
        grad = logp.exp_().sub_(onehot).div_(len(targets))
        for i in reversed(range(len(self.net))):
            grad = _backward(self.net[i], activations[i], activations[i + 1], grad)
        weight = self.embedding.weight
        weight.grad = torch.zeros_like(weight).index_add_(
            0, idx.reshape(-1), grad.reshape(-1, weight.shape[1]))
        return loss

    def supports_forward_backward(self) -> bool:
        return all(isinstance(layer, _LAYERS) for layer in self.net)


_LAYERS = (nn.Flatten, FlattenConsecutive, nn.Linear, SequenceBatchNorm, nn.Tanh)


def _forward(layer, x):
    """The layer's training-mode forward; batch norm keeps what its backward needs."""
    if isinstance(layer, SequenceBatchNorm):
        x2 = x.reshape(-1, x.shape[-1])
        out, layer.saved_mean, layer.saved_invstd = torch.native_batch_norm(
            x2, layer.weight, layer.bias, layer.running_mean, layer.running_var, True,
            layer.momentum, layer.eps)
        layer.num_batches_tracked.add_(1)
        return out.view(x.shape)
    return layer(x)


def _backward(layer, x_in, x_out, grad):
    """Given d(loss)/d(output) and the layer's input and output, set its params'
    grads and return d(loss)/d(input)."""
    if isinstance(layer, nn.Linear):
        x2, g2 = x_in.reshape(-1, layer.in_features), grad.reshape(-1, layer.out_features)
        layer.weight.grad = g2.t().mm(x2)
        if layer.bias is not None:
            layer.bias.grad = g2.sum(0)
        return g2.mm(layer.weight).view(x_in.shape)
    if isinstance(layer, SequenceBatchNorm):
        C = x_in.shape[-1]
        g, layer.weight.grad, layer.bias.grad = torch.ops.aten.native_batch_norm_backward(
            grad.reshape(-1, C), x_in.reshape(-1, C), layer.weight, layer.running_mean,
            layer.running_var, layer.saved_mean, layer.saved_invstd, True, layer.eps,
            [True, True, True])
        return g.view(x_in.shape)
    if isinstance(layer, nn.Tanh):
        return torch.ops.aten.tanh_backward(grad, x_out)
    return grad.reshape(x_in.shape)  # the flattens only move numbers around
