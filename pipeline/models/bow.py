from dataclasses import dataclass

import torch
from torch import nn

from pipeline.models.config import ModelConfig, param
from pipeline.models.layers import sequence_loss


@dataclass(frozen=True)
class BoWConfig(ModelConfig):
    """``block_size``: the longest sequence (positions with an embedding); at least
    the longest name + 1 in the data (params.yaml's null: exactly that)."""

    subsection = "bow"
    position_limit = True
    hidden: int = param(64)  # width of each block's MLP (makemore's n_embd2)
    n_layer: int = param(1)  # blocks; makemore's BoW has one


def causal_average(x):  # (B, T, C) -> (B, T, C)
    """Position t gets the mean of positions 0..t: makemore's CausalBoW, whose
    attention weights are a softmax of zeros under the causal mask."""
    counts = torch.arange(1, x.shape[1] + 1, device=x.device, dtype=x.dtype)
    return x.cumsum(dim=1) / counts.unsqueeze(-1)


class BoWBlock(nn.Module):
    """x + causal_average(x), then x + Linear -> tanh -> Linear (no norms)."""

    def __init__(self, config: BoWConfig):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(config.n_embd, config.hidden), nn.Tanh(),
                                 nn.Linear(config.hidden, config.n_embd))

    def forward(self, x):
        x = x + causal_average(x)
        return x + self.mlp(x)


class BoW(nn.Module):
    """karpathy/makemore's causal bag of words: token and position embeddings,
    ``n_layer`` blocks that add to each position the average of it and every earlier
    one, then a tanh MLP, and a linear head. It is a transformer (Vaswani et al.
    2017, "Attention Is All You Need") whose attention is fixed to uniform weights
    over the past, the neural form of the continuous bag of words of Mikolov et al.
    2013, "Efficient Estimation of Word Representations in Vector Space", made causal.

    Reads names as sequences: idx (B, T <= block_size) starting with '.', logits
    (B, T, vocab).
    """

    Config = BoWConfig
    reads = "sequences"

    def __init__(self, config: BoWConfig):
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.n_embd)
        self.position = nn.Embedding(config.block_size, config.n_embd)
        self.blocks = nn.ModuleList(BoWBlock(config) for _ in range(config.n_layer))
        self.head = nn.Linear(config.n_embd, config.vocab_size)

    def forward(self, idx, targets=None):
        T = idx.shape[1]
        if T > self.config.block_size:
            raise ValueError(f"a sequence of {T} positions is longer than block_size "
                             f"{self.config.block_size}")
        x = self.embedding(idx) + self.position(torch.arange(T, device=idx.device))
        for block in self.blocks:
            x = block(x)
        logits = self.head(x)  # (B, T, vocab)
        return logits, sequence_loss(logits, targets)
