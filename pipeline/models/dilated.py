import torch
import torch.nn.functional as F
from torch import nn

from pipeline.models.hierarchical import TreeConfig, WaveNet
from pipeline.models.layers import FlattenConsecutive, SequenceBatchNorm, sequence_loss


class DilatedWaveNet(WaveNet):
    """The hierarchical WaveNet's tree computed the efficient way (van den Oord et al.
    2016): causal convolutions of kernel 2 with dilations 1, 2, 4, ... over a whole
    name at once, so each node of the tree is computed once per position instead of
    once per window that contains it.

    Same layers, same state dict, same function as ``WaveNet``: level k joins the
    positions t - 2**k and t (the pair FlattenConsecutive(2) joins) and applies the
    same Linear. A hierarchical checkpoint loads as it is, and gives the same
    logits for every position (tested). Reads names as sequences: idx (B, T)
    starting with '.', logits (B, T, vocab) for the next character at each position.
    """

    Config = TreeConfig
    reads = "sequences"

    def supports_forward_backward(self) -> bool:
        return False  # the hand-derived backward is the window form's

    def forward(self, idx, targets=None):
        pad = self.config.block_size - 1  # what a window holds before the first character
        x = self.embedding(F.pad(idx, (pad, 0)))  # (B, pad + T, n_embd); '.' is index 0
        # padding after a name's end leaves batch-norm statistics alone (training)
        valid = None if targets is None else targets >= 0  # (B, T)
        dilation = 1
        for layer in self.net[:-1]:
            if isinstance(layer, FlattenConsecutive):  # (B, T', C) -> (B, T' - d, 2C)
                x = torch.cat([x[:, :-dilation], x[:, dilation:]], dim=-1)
                pad -= dilation
                dilation *= 2
            elif isinstance(layer, SequenceBatchNorm):
                mask = None if valid is None else F.pad(valid, (pad, 0), value=True)
                x = layer(x, mask)
            else:
                x = layer(x)
        logits = self.net[-1](x)  # (B, T, vocab)
        return logits, sequence_loss(logits, targets)
