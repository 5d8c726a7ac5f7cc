"""The n-gram model with interpolated modified Kneser-Ney smoothing, fitted by counting.

Tables are stored per context length L = 0 .. order - 1, sparse: only the contexts
and the (context, next character) pairs seen in training, so storage grows with the
observed n-grams, never with contexts x vocabulary. A context of length L is named
by its row in its level's table; its key is (row of its L - 1 most recent
characters) * vocab + its oldest character, so keys stay below (contexts of the
level below) * vocab whatever the order and the vocabulary size.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from pipeline.models.config import ModelConfig, param
from pipeline.models.layers import sequence_loss


@dataclass(frozen=True)
class NgramConfig(ModelConfig):
    """``order``: n, the characters of an n-gram (n - 1 of context, '.' before a name's
    start). ``block_size`` and ``n_embd`` are unused: the model has no embedding and
    its context is order - 1 characters."""

    subsection = "ngram"
    order: int = param(6)

    @property
    def context_size(self) -> int:
        return max(self.order - 1, 1)  # order 1 still reads one position to predict at


class CountTable(nn.Module):
    """One context length's smoothed counts, as buffers (the checkpoint carries them).

    keys (contexts,): sorted context keys; offsets (contexts + 1,): each context's
    entries in next_char/prob (CSR); next_char, prob (entries,): a next character and
    its discounted probability max(c - D(c), 0) / c(h); gamma (contexts,): the mass
    given to the shorter context, (D1 N1(h.) + D2 N2(h.) + D3+ N3+(h.)) / c(h).
    """

    def __init__(self, contexts: int = 0, gamma: float = 1.0):
        super().__init__()
        self.register_buffer("keys", torch.zeros(contexts, dtype=torch.long))
        self.register_buffer("offsets", torch.zeros(contexts + 1, dtype=torch.long))
        self.register_buffer("next_char", torch.zeros(0, dtype=torch.long))
        self.register_buffer("prob", torch.zeros(0, dtype=torch.float64))
        self.register_buffer("gamma", torch.full((contexts,), gamma, dtype=torch.float64))

    @torch.no_grad()
    def fill(self, keys, pairs, counts, vocab_size: int):
        """From the sorted unique ``pairs`` (context row * vocab + next character) and
        their ``counts`` (raw at the longest context, continuation counts below)."""
        row, nxt = pairs // vocab_size, pairs % vocab_size
        per_context = torch.bincount(row, minlength=len(keys))
        total = torch.zeros(len(keys), dtype=torch.float64).index_add_(0, row, counts.double())
        discount = discounts(counts)[counts.clamp(max=3)]  # D(c) for each pair
        self.keys, self.next_char = keys, nxt
        self.offsets = F.pad(per_context.cumsum(0), (1, 0))
        self.prob = (counts - discount) / total[row]
        self.gamma = torch.zeros_like(total).index_add_(0, row, discount) / total

    def find(self, parents, chars, vocab_size: int):
        """Rows of the contexts (parent context, older character); -1 where unseen."""
        if len(self.keys) == 0:
            return torch.full_like(parents, -1)
        key = parents * vocab_size + chars
        row = torch.searchsorted(self.keys, key).clamp(max=len(self.keys) - 1)
        return torch.where((parents >= 0) & (self.keys[row] == key), row, -1)

    def interpolate(self, p, rows):
        """p(w | h) = prob(h, w) + gamma(h) * p(w | shorter h) where h was seen (rows >= 0),
        p (N, vocab) of the shorter context where it was not; updates ``p`` in place."""
        seen = (rows >= 0).nonzero().squeeze(1)  # (S,) positions whose context was seen
        ctx = rows[seen]
        p[seen] *= self.gamma[ctx, None]
        start, count = self.offsets[ctx], self.offsets[ctx + 1] - self.offsets[ctx]
        first = count.cumsum(0) - count  # where each position's entries begin in the list
        entry = (torch.arange(int(count.sum()), device=rows.device)
                 + torch.repeat_interleave(start - first, count))  # (entries,)
        p[torch.repeat_interleave(seen, count), self.next_char[entry]] += self.prob[entry]
        return p

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # the tables' sizes are the training data's: take them from the checkpoint
        for name, buffer in self._buffers.items():
            if prefix + name in state_dict:
                shape = state_dict[prefix + name].shape
                self._buffers[name] = torch.empty(shape, dtype=buffer.dtype,
                                                  device=buffer.device)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


def discounts(counts) -> torch.Tensor:
    """[0, D1, D2, D3+] of Chen & Goodman (1998) from the count-of-counts
    n_r: Y = n1 / (n1 + 2 n2), D_r = r - (r + 1) Y n_{r+1} / n_r. Where n_r is 0
    (tiny corpora) D_r is Y; each is kept within [0, r] so no probability is negative."""
    n = [int((counts == r).sum()) for r in range(5)]
    y = n[1] / (n[1] + 2 * n[2]) if n[1] + n[2] else 0.0
    d = [0.0]
    for r in (1, 2, 3):
        raw = r - (r + 1) * y * n[r + 1] / n[r] if n[r] else y
        d.append(min(max(raw, 0.0), float(r)))
    return torch.tensor(d, dtype=torch.float64)


class KneserNey(nn.Module):
    """A character n-gram model with interpolated modified Kneser-Ney smoothing: Chen &
    Goodman 1998, "An Empirical Study of Smoothing Techniques for Language Modeling",
    their modified form: three discounts D1, D2, D3+ per context length.

    The longest context uses the raw counts c(h, w); each shorter one the continuation
    counts N1+(. h w), the number of distinct characters seen before h w. Each level
    interpolates with the next shorter one; the empty context with the uniform
    distribution over the vocabulary, so no character ever has probability zero.
    Contexts before a name's start are '.', as in the lecture's windows. Fitted by
    counting (``fit``); an unfitted model predicts the uniform distribution.

    Reads names as sequences: idx (B, T) -> logits (B, T, vocab), the log-probabilities
    (softmax(logits) is the smoothed distribution). Position t sees idx[t - order + 2 .. t].
    """

    Config = NgramConfig
    reads = "sequences"

    def __init__(self, config: NgramConfig):
        super().__init__()
        self.config = config
        # the empty context is always there: level 0 holds it, unfitted with gamma 1
        self.levels = nn.ModuleList(CountTable(contexts=int(L == 0))
                                    for L in range(config.order))

    def contexts(self, idx):  # (B, T) -> (B, T, order - 1), most recent character first
        n = self.config.order - 1
        padded = F.pad(idx, (max(n - 1, 0), 0))  # '.' (0) before the start
        return padded.unfold(1, n, 1).flip(-1) if n else idx.new_zeros((*idx.shape, 0))

    @torch.no_grad()
    def fit(self, X, Y):
        """Count every event of sequences X, Y (N, T) (Y -1 where there is none)."""
        V = self.config.vocab_size
        events = Y >= 0
        # (E, order - 1) in the stored index type, (E,) int64; the keys are built in place
        # in the rows of the level before: memory for a list of millions of names
        context, target = self.contexts(X)[events], Y[events].long()
        del events
        row, keys = torch.zeros_like(target), [torch.zeros(1, dtype=torch.long)]
        for L in range(1, self.config.order):  # each context's row at every length
            key, row = torch.unique(row.mul_(V).add_(context[:, L - 1]), return_inverse=True)
            keys.append(key)
        del context
        pairs, counts = torch.unique(row.mul_(V).add_(target), return_counts=True)
        for L in reversed(range(self.config.order)):
            self.levels[L].fill(keys[L], pairs, counts, V)
            if L:  # continuation counts: distinct longer contexts that end in (h, w)
                parent = keys[L][pairs // V] // V
                pairs, counts = torch.unique(parent * V + pairs % V, return_counts=True)
        return self

    def forward(self, idx, targets=None):
        B, T = idx.shape
        context = self.contexts(idx).reshape(B * T, -1)
        V = self.config.vocab_size
        p = torch.full((B * T, V), 1.0 / V, dtype=torch.float64, device=idx.device)
        rows = torch.zeros(B * T, dtype=torch.long, device=idx.device)
        for L, table in enumerate(self.levels):
            if L:
                rows = table.find(rows, context[:, L - 1], V)
            p = table.interpolate(p, rows)  # (B*T, V)
        logits = p.log().float().view(B, T, V)
        return logits, sequence_loss(logits, targets)
