import torch
import torch.nn.functional as F

from pipeline.models.hierarchical import TreeConfig, WaveNet
from pipeline.models.layers import FlattenConsecutive


class DilatedWaveNet(WaveNet):
    """The hierarchical WaveNet's tree computed the efficient way (van den Oord et al.
    2016): causal convolutions of kernel 2 with dilations 1, 2, 4, ... over a whole
    name at once, so each node of the tree is computed once per position instead of
    once per window that contains it.

    Same layers, same state dict, same function as ``WaveNet``: level k joins the
    positions t - 2**(k-1) and t (the pair FlattenConsecutive(2) joins) and applies
    the same Linear. A hierarchical checkpoint loads as it is, and gives the same
    logits for every position (tested). Reads names as sequences: idx (B, T)
    starting with '.', logits (B, T, vocab) for the next character at each position.

    The positions are packed: only the events (positions with a target; every
    position when there are no targets) are computed, as rows of one (1 + N, C)
    matrix per level. Row 0 holds the one node every name shares before its start,
    where the context is all '.': a window's left padding is the same for every
    name, so it is computed once, not once per name and position. In training the
    batch-norm statistics are taken over these rows, so row 0 counts once: training
    statistics differ from the window form's (which counts each node once per window
    holding it), while in eval mode, where batch norm uses its running statistics,
    the two forms are the same function.
    """

    Config = TreeConfig
    reads = "sequences"

    def supports_forward_backward(self) -> bool:
        return False  # the hand-derived backward is the window form's

    def forward(self, idx, targets=None):
        B, T = idx.shape
        events = torch.ones_like(idx, dtype=torch.bool) if targets is None else targets >= 0
        rows = torch.zeros_like(idx)  # (B, T): each event's row in the packed matrices
        rows[events] = torch.arange(1, int(events.sum()) + 1, device=idx.device)
        # level 0: '.' (the padding before every name) in row 0, then each event's input
        x = self.embedding(F.pad(idx[events], (1, 0)))  # (1 + N, n_embd)
        dilation = 1
        for layer in self.net[:-1]:
            if isinstance(layer, FlattenConsecutive):  # join each row with t - dilation's
                # events are a prefix of each row, so t - dilation >= 0 is an event too;
                # before the start it is the shared row 0
                earlier = F.pad(F.pad(rows, (dilation, 0))[:, :T][events], (1, 0))
                x = torch.cat([x.index_select(0, earlier), x], dim=-1)  # (1 + N, 2C)
                dilation *= 2
            else:
                x = layer(x)
        logits = self.net[-1](x[1:])  # (N, vocab): one row per event
        loss = None if targets is None else F.cross_entropy(logits, targets[events])
        if targets is None:  # every position is an event, in order
            return logits.view(B, T, -1), loss
        return logits.new_zeros(B, T, logits.shape[-1]).index_put((events,), logits), loss
