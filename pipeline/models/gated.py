from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from pipeline.models.config import ModelConfig, ParamError, param
from pipeline.models.layers import (CausalConv, Dropout, SequenceBatchNorm, kaiming_linear,
                                    sequence_loss)

NORMS = ("batch", "layer", "none")


@dataclass(frozen=True)
class GatedConfig(ModelConfig):
    """``block_size``: the receptive field of one dilation cycle (1, 2, ..., block_size/2).
    With ``cycles`` > 1 the cycles stack: receptive field cycles * (block_size - 1) + 1."""

    subsection = "gated"
    residual: int = param(64)   # channels of the residual stream
    skip: int = param(128)      # channels of the skip connections and the output head
    cycles: int = param(1)
    norm: str = param("batch", choices=NORMS)  # on each dilated convolution's output
    dropout: float = param(0.0, below=1.0)

    def check(self):
        if self.block_size < 2 or self.block_size & (self.block_size - 1):
            raise ParamError("block_size", "a power of two >= 2 for the gated model "
                             "(dilations 1, 2, ..., block_size/2)", self.block_size)

    @property
    def dilations(self) -> list[int]:
        return [2 ** i for i in range(self.block_size.bit_length() - 1)] * self.cycles

    @property
    def context_size(self) -> int:
        return 1 + sum(self.dilations)


class GatedBlock(nn.Module):
    """One residual block of the WaveNet paper: dilated causal conv -> norm ->
    tanh(filter) * sigmoid(gate) -> dropout -> 1x1 convs to the residual and skip paths."""

    def __init__(self, config: GatedConfig, dilation: int, last: bool = False):
        super().__init__()
        r = config.residual
        self.conv = CausalConv(r, 2 * r, dilation, bias=config.norm != "batch")
        self.norm = {"batch": lambda: SequenceBatchNorm(2 * r),
                     "layer": lambda: nn.LayerNorm(2 * r),
                     "none": nn.Identity}[config.norm]()
        self.dropout = Dropout(config.dropout)
        # the last block's residual output would go nowhere: it has none
        self.residual = None if last else kaiming_linear(r, r, bias=True)
        self.skip = kaiming_linear(r, config.skip, bias=True)

    def forward(self, x, mask=None):  # (B, T, residual) -> same, and (B, T, skip)
        h = self.conv(x)
        h = self.norm(h, mask) if isinstance(self.norm, SequenceBatchNorm) else self.norm(h)
        filt, gate = h.chunk(2, dim=-1)
        z = self.dropout(torch.tanh(filt) * torch.sigmoid(gate))
        return None if self.residual is None else x + self.residual(z), self.skip(z)


class GatedWaveNet(nn.Module):
    """The WaveNet of van den Oord et al. 2016, "WaveNet: A Generative Model for Raw
    Audio", on characters: embedding -> 1x1 conv -> gated residual blocks with
    dilations 1, 2, ..., block_size/2 (repeated ``cycles`` times) -> sum of the skip
    outputs -> ReLU -> 1x1 conv -> ReLU -> 1x1 conv to logits.

    Reads names as sequences: idx (B, T) starting with '.', logits (B, T, vocab).
    Each convolution pads with zeros before the start, so position t sees only
    the characters up to t (tested).
    """

    Config = GatedConfig
    reads = "sequences"
    compiled_training = True  # train.compile compiles its step (bench/sequence_speed.py)

    def __init__(self, config: GatedConfig):
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.n_embd)
        self.input = kaiming_linear(config.n_embd, config.residual, bias=True)
        dilations = config.dilations
        self.blocks = nn.ModuleList(GatedBlock(config, d, last=i == len(dilations) - 1)
                                    for i, d in enumerate(dilations))
        self.head = nn.Sequential(nn.ReLU(), kaiming_linear(config.skip, config.skip, True),
                                  nn.ReLU(), kaiming_linear(config.skip, config.vocab_size,
                                                            True, scale=0.1))

    def forward(self, idx, targets=None):
        x = self.input(self.embedding(idx))  # (B, T, residual)
        mask = None if targets is None else targets >= 0  # batch-norm statistics: no padding
        skips = 0
        for block in self.blocks:
            x, skip = block(x, mask)
            skips = skips + skip
        logits = self.head(skips)  # (B, T, vocab)
        return logits, sequence_loss(logits, targets)
