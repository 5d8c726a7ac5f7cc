"""Part 1's bigram model: a table of counts, smoothed by adding k to every cell."""

from dataclasses import dataclass

import torch
from torch import nn

from pipeline.models.config import ModelConfig, param
from pipeline.models.layers import sequence_loss


@dataclass(frozen=True)
class BigramConfig(ModelConfig):
    """``smoothing``: k, added to every count (Part 1 adds 1). ``block_size`` and
    ``n_embd`` are unused: the context is the one previous character."""

    subsection = "bigram"
    smoothing: float = param(1.0, below=1e6, positive=True)

    @property
    def context_size(self) -> int:
        return 1


class Bigram(nn.Module):
    """The character bigram model of Shannon 1948, "A Mathematical Theory of
    Communication" (his second-order approximation), with additive (add-k) smoothing
    as Chen & Goodman 1998, "An Empirical Study of Smoothing Techniques for Language
    Modeling", describe it: P(w | v) = (N[v, w] + k) / (N[v, :].sum() + k V).

    ``counts`` (V, V) is a buffer: N[v, w] is how often w followed v in training,
    fitted by counting (``fit``); unfitted, the model predicts the uniform
    distribution. Reads names as sequences: idx (B, T) -> logits (B, T, V), the
    log-probabilities of the character after each position.
    """

    Config = BigramConfig
    reads = "sequences"

    def __init__(self, config: BigramConfig):
        super().__init__()
        self.config = config
        V = config.vocab_size
        self.register_buffer("counts", torch.zeros((V, V), dtype=torch.long))

    @torch.no_grad()
    def fit(self, X, Y):
        """Count every event of sequences X, Y (N, T) (Y -1 where there is none)."""
        events = Y >= 0
        previous, following = X[events].long(), Y[events].long()
        self.counts.zero_()
        self.counts.index_put_((previous, following), torch.ones_like(following), accumulate=True)
        return self

    def log_probs(self):  # (V, V): row v, the log-distribution of the next character
        smoothed = self.counts.double() + self.config.smoothing
        return (smoothed / smoothed.sum(1, keepdim=True)).log().float()

    def forward(self, idx, targets=None):
        logits = self.log_probs()[idx]  # (B, T, V)
        return logits, sequence_loss(logits, targets)
