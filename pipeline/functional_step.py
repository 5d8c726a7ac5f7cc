"""The compiled training step of a model whose state is its parameters (no buffers): one
compiled function from the parameters and a batch to the loss and every gradient.

Compiled through autograd (``loss.backward()``), a step runs a forward graph, autograd's
engine, a backward graph, and an optimizer that visits each parameter tensor. Here the
forward and backward are one graph (``torch.func.grad_and_value`` of
``torch.func.functional_call``), the parameters are views into one flat tensor per
optimizer group, and that graph writes the gradients straight into one flat tensor per
group, so the optimizer updates two tensors rather than dozens.

The function is the same; the rounding may not be. In bfloat16 without dropout the
weights are bit for bit those of the autograd step (tests/test_train.py). In float32,
or with dropout, inductor fuses the one graph differently from the two (the attention's
softmax reaches the backward unrounded, for one), so the last bits differ; dropout draws
the same masks either way (``pipeline.models.layers.dropout``). The speed it gains is
measured in docs/performance.md.
"""

import math

import torch


class FlatParameters:
    """The model's parameters as views into one flat tensor per optimizer group.

    ``groups``: the optimizer's parameter groups (``train.param_groups``); ``.groups`` are
    the same groups over the flat tensors. ``restore()`` gives each parameter its own
    storage again (safetensors saves no tensors that share one).
    """

    def __init__(self, model: torch.nn.Module, groups: list[dict]):
        names = {id(q): name for name, q in model.named_parameters()}
        groups = [g for g in groups if g["params"]]
        self.parameters = [list(g["params"]) for g in groups]
        # the layout as plain names and shapes: a compiled function that reads them
        # guards on constants, not on every parameter tensor
        self.names = tuple(tuple(names[id(q)] for q in group) for group in self.parameters)
        self.shapes = tuple(tuple(tuple(q.shape) for q in group) for group in self.parameters)
        self.flats = [torch.nn.Parameter(torch.cat([q.detach().reshape(-1) for q in group]))
                      for group in self.parameters]
        # the flat tensors as the compiled function takes them: their storage, which the
        # optimizer updates in place, so they are made once
        self.tensors = [flat.detach() for flat in self.flats]
        for group, flat, shapes in zip(self.parameters, self.tensors, self.shapes):
            for q, view in zip(group, _split(flat, shapes)):
                q.data = view
        self.groups = [dict(g, params=[flat]) for g, flat in zip(groups, self.flats)]

    def views(self, flats: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        """{parameter name: its view into ``flats``}."""
        return {name: view for flat, names, shapes in zip(flats, self.names, self.shapes)
                for name, view in zip(names, _split(flat, shapes))}

    def concatenated(self, grads: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        """The gradients ({name: gradient}) laid out as the flat tensors are."""
        return [torch.cat([grads[name].reshape(-1) for name in names]) for names in self.names]

    def set_grads(self, grads: list[torch.Tensor]):
        for flat, grad in zip(self.flats, grads):
            flat.grad = grad

    def restore(self):
        for group in self.parameters:
            for q in group:
                q.data = q.data.clone()


def _split(flat: torch.Tensor, shapes: tuple[tuple[int, ...], ...]) -> list[torch.Tensor]:
    """``flat`` cut into views of ``shapes``, in order."""
    pieces = flat.split([math.prod(shape) for shape in shapes])
    return [piece.view(shape) for piece, shape in zip(pieces, shapes)]


def steps_functionally(model: torch.nn.Module) -> bool:
    """Whether the model's state is its parameters only: a model with buffers (batch
    norm's running statistics) updates them in its forward, which a torch.func trace
    does not allow."""
    return next(model.buffers(), None) is None


def gradients_function(model: torch.nn.Module, flat: FlatParameters, matmul_dtype):
    """``gradients(flats, xb, yb) -> (loss, flat gradients)``, to be compiled."""

    def loss_of(params, xb, yb):
        # autocast rounds the matmul inputs as forward_backward(matmul_dtype=...) does
        with torch.autocast(xb.device.type, dtype=matmul_dtype,
                            enabled=matmul_dtype != torch.float32):
            return torch.func.functional_call(model, params, (xb, yb))[1]

    def gradients(flats, xb, yb):
        grads, loss = torch.func.grad_and_value(loss_of)(flat.views(flats), xb, yb)
        return loss, flat.concatenated(grads)
    return gradients
