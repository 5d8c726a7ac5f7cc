import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from pipeline.models.config import ModelConfig, ParamError, param
from pipeline.models.layers import GELU, Dropout, dropout, sequence_loss

START = 0  # '.', the index every name's row starts with (pipeline/vocab.py)


@dataclass(frozen=True)
class TransformerConfig(ModelConfig):
    """``block_size``: the longest sequence (positions with an embedding); at least
    the longest name + 1 in the data (params.yaml's null: exactly that)."""

    subsection = "transformer"
    position_limit = True
    n_layer: int = param(4)
    n_head: int = param(4)
    dropout: float = param(0.0, below=1.0)

    def check(self):
        if self.n_embd % self.n_head:
            raise ParamError("n_head", f"a divisor of model.n_embd ({self.n_embd})",
                             self.n_head)


class CausalSelfAttention(nn.Module):
    def __init__(self, config: TransformerConfig):
        super().__init__()
        self.n_head, self.dropout = config.n_head, config.dropout
        self.qkv = nn.Linear(config.n_embd, 3 * config.n_embd)
        self.proj = nn.Linear(config.n_embd, config.n_embd)
        self.proj_dropout = Dropout(config.dropout)

    def forward(self, x, names=None):  # (B, T, C) -> (B, T, C)
        B, T, C = x.shape
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
                   for t in self.qkv(x).split(C, dim=2))  # each (B, heads, T, head size)
        dropout = self.dropout if self.training else 0.0
        if torch.compiler.is_compiling():
            y = causal_attention(q, k, v, dropout, names)
        else:  # float32 also under bfloat16 autocast, where torch's CPU kernel is 3x slower
            with torch.autocast(x.device.type, enabled=False):
                y = F.scaled_dot_product_attention(q.float(), k.float(), v.float(),
                                                   is_causal=True, dropout_p=dropout)
        return self.proj_dropout(self.proj(y.transpose(1, 2).reshape(B, T, C)))


def causal_attention(q, k, v, dropout_p: float, names=None):
    """softmax(q k^T / sqrt(head size), causally masked), dropped out, times v: the function
    of ``F.scaled_dot_product_attention(q, k, v, is_causal=True)`` in plain operations,
    which torch.compile fuses (at a dozen positions torch's fused CPU kernel is the slower,
    compiled: bench/sequence_speed.py). ``names`` (B, T), where given: the name each
    position belongs to; a position then sees only the earlier positions of its name."""
    T = q.shape[-2]
    weights = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(q.shape[-1]))
    hidden = torch.ones(T, T, dtype=torch.bool, device=q.device).triu(1)  # the future
    if names is not None:  # (B, 1, T, T): and the other names of the row
        hidden = hidden | (names[:, None, :, None] != names[:, None, None, :])
    weights = weights.masked_fill(hidden, float("-inf")).softmax(-1)
    return dropout(weights, dropout_p) @ v


class Block(nn.Module):
    """Pre-norm transformer block: x + attention(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, config: TransformerConfig):
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(config.n_embd), nn.LayerNorm(config.n_embd)
        self.attn = CausalSelfAttention(config)
        self.mlp = nn.Sequential(nn.Linear(config.n_embd, 4 * config.n_embd), GELU(),
                                 nn.Linear(4 * config.n_embd, config.n_embd),
                                 Dropout(config.dropout))

    def forward(self, x, names=None):
        x = x + self.attn(self.ln_1(x), names)
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    """A small causal transformer (Vaswani et al. 2017, "Attention Is All You Need"),
    the shape of karpathy/makemore's: token and position embeddings, ``n_layer``
    pre-norm blocks of ``n_head``-head causal self-attention and a 4x MLP, a final
    layer norm, a linear head.

    Reads names as sequences: idx (B, T <= block_size) starting with '.', logits
    (B, T, vocab). Compiled, it reads each '.' as the start of a name, so a row may hold
    several (``reads_packed_names``): each position is embedded at its place in its name
    and attends to its name only. Where a row holds one name, that changes nothing for
    its events.
    """

    Config = TransformerConfig
    reads = "sequences"
    compiled_training = True  # train.compile compiles its step (bench/sequence_speed.py)
    reads_packed_names = True  # its compiled step trains on packed rows (packed_rows)

    def __init__(self, config: TransformerConfig):
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.n_embd)
        self.position = nn.Embedding(config.block_size, config.n_embd)
        self.dropout = Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd)
        self.head = nn.Linear(config.n_embd, config.vocab_size, bias=False)

    def forward(self, idx, targets=None):
        T = idx.shape[1]
        if T > self.config.block_size:
            raise ValueError(f"a sequence of {T} positions is longer than block_size "
                             f"{self.config.block_size}")
        column, names = torch.arange(T, device=idx.device), None
        position = column  # (T,)
        if torch.compiler.is_compiling():  # training rows may hold several names
            start = idx == START  # (B, T): where each name starts
            # float32, not int64: every layer's softmax compares them, and on AVX2 the
            # compiled int64 comparisons (two vectors each, their masks narrowed to float
            # lanes) made it nearly 4x slower (docs/performance.md)
            names = start.cumsum(1, dtype=torch.float32)
            position = column - torch.where(start, column, 0).cummax(1).values  # (B, T)
        x = self.dropout(self.embedding(idx) + self.position(position))
        for block in self.blocks:
            x = block(x, names)
        logits = self.head(self.ln_f(x))  # (B, T, vocab)
        return logits, sequence_loss(logits, targets)
