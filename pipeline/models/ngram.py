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

from pipeline.errors import PipelineError
from pipeline.models.config import ModelConfig, param
from pipeline.models.layers import sequence_loss

BLOCK_VALUES = 2**22  # forward computes the probabilities this many values at a time
PART = 2**22  # fit sorts, and fills the tables from, about this many keys at a time


@dataclass(frozen=True)
class NgramConfig(ModelConfig):
    """``order``: n, the characters of an n-gram (n - 1 of context, '.' before a name's
    start). ``min_count``: a context (of one character or more) seen in fewer training
    events than this is left out of the tables, and its events are predicted from the
    longest shorter context kept, as an unseen one is; 1 keeps every context (exact
    Kneser-Ney), 2 drops those seen once, most of a large list's long contexts.
    ``max_table_gb``: ``fit`` stops with an error (``TablesTooLarge``) as soon as the
    contexts it keeps show that its tables would pass this size, and says how many a
    larger min_count would keep. ``block_size`` and ``n_embd`` are unused: the model has
    no embedding and its context is order - 1 characters."""

    subsection = "ngram"
    order: int = param(6)
    min_count: int = param(1)
    max_table_gb: float = param(1.0, positive=True)

    @property
    def context_size(self) -> int:
        return max(self.order - 1, 1)  # order 1 still reads one position to predict at


CONTEXT_BYTES, PAIR_BYTES = 24, 16  # a table's bytes per context and per stored pair


class TablesTooLarge(PipelineError):
    """The n-gram's tables would pass ``max_table_gb``; the message starts with the key."""


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
        their ``counts`` (raw at the longest context, continuation counts below); PART
        pairs at a time, so that the scratch stays bounded."""
        d = discounts(counts)  # [0, D1, D2, D3+]
        per_context = torch.zeros(len(keys), dtype=torch.long)
        total = torch.zeros(len(keys), dtype=torch.float64)  # c(h)
        discounted = torch.zeros(len(keys), dtype=torch.float64)  # the sum of D(c) over h's
        self.next_char = torch.empty_like(pairs)
        self.prob = torch.empty(len(pairs), dtype=torch.float64)
        for part in range(0, len(pairs), PART):
            row, c = pairs[part:part + PART] // vocab_size, counts[part:part + PART]
            per_context += torch.bincount(row, minlength=len(keys))
            total.index_add_(0, row, c.double())
            discount = d[c.clamp(max=3)]  # D(c) for each pair
            discounted.index_add_(0, row, discount)
            self.next_char[part:part + PART] = pairs[part:part + PART] % vocab_size
            self.prob[part:part + PART] = c - discount
        for part in range(0, len(pairs), PART):  # max(c - D(c), 0) / c(h)
            self.prob[part:part + PART] /= total[pairs[part:part + PART] // vocab_size]
        self.keys, self.gamma = keys, discounted / total
        self.offsets = F.pad(per_context.cumsum(0), (1, 0))

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
        scale = torch.ones(len(p), dtype=p.dtype, device=p.device)  # 1: the unseen rows
        scale[seen] = self.gamma[ctx]
        p.mul_(scale[:, None])  # in place: a copy of the seen rows is a copy of nearly all
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


def unique_parts(keys, inverse: bool = False, counts: bool = True):
    """torch.unique(keys) in parts, as ([distinct], rows, [counts]): each key's row among
    the distinct ones if ``inverse``, and how often each came if ``counts`` (both int32),
    else None. ``joined`` of the lists is torch.unique's result; join them once ``keys``
    is freed.

    It sorts about PART keys at a time, so that the scratch stays bounded on a list of
    millions of names: the key range is cut at quantiles of a strided sample, and each
    part's distinct keys follow those of the part before."""
    parts = -(-len(keys) // PART)
    if parts <= 1:
        bounds = [None, None]
    else:
        sample = keys[::max(1, len(keys) // (64 * parts))].sort().values
        cuts = sample[torch.linspace(0, len(sample) - 1, parts + 1).long()[1:-1]].unique()
        bounds = [None, *cuts.tolist(), None]
    distinct, tallies = [], []
    rows = torch.empty(len(keys), dtype=torch.int32) if inverse else None
    for low, high in zip(bounds, bounds[1:]):
        if parts <= 1:
            inside = slice(None)  # every key
        elif low is None or high is None:
            inside = keys < high if low is None else keys >= low
        else:
            inside = (keys >= low) & (keys < high)
        part = torch.unique(keys[inside], return_inverse=inverse, return_counts=counts)
        part = part if isinstance(part, tuple) else (part,)
        if inverse:
            rows[inside] = part[1].int().add_(sum(map(len, distinct)))
        distinct.append(part[0])
        tallies.append(part[-1].int() if counts else None)  # (counts < 2^31)
    return distinct, rows, tallies if counts else None


def joined(parts):
    return parts[0] if len(parts) == 1 else torch.cat(parts)


def continuation_counts(keys, rows, target, vocab_size: int):
    """The pairs (context row * vocab + next character) one length shorter than the
    events' contexts ``rows`` (whose sorted ``keys`` are (shorter row) * vocab + oldest
    character), each with N1+(. h w): how many distinct longer contexts x h saw w."""
    pairs = rows.long().mul_(vocab_size).add_(target)  # (x h, w) of each event
    seen = unique_parts(pairs, counts=False)[0]
    del pairs
    seen = joined(seen)  # distinct (x h, w)
    pairs = keys[seen // vocab_size].div_(vocab_size, rounding_mode="floor")  # shorter h
    pairs.mul_(vocab_size).add_(seen.remainder_(vocab_size))  # (h, w) of each (x h, w)
    del seen
    distinct, _, counts = unique_parts(pairs)
    del pairs
    return joined(distinct), joined(counts)


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
        """Count every event of sequences X, Y (N, T) (Y -1 where there is none).

        One context length at a time, shortest first, so that memory holds each event's
        context row at one length, not at all of them: the rows at length L give level
        L - 1 its continuation counts and the longest level its raw counts. With
        min_count > 1, the events of a context left out are counted no further (none of
        its longer contexts can be kept), and each level's discounts come from the
        contexts it keeps."""
        V, order, min_count = self.config.vocab_size, self.config.order, self.config.min_count
        events = Y >= 0
        target = Y[events]  # (E,) in the stored index type
        row = torch.zeros(len(target), dtype=torch.int32)  # each event's context, length L
        keys = torch.zeros(1, dtype=torch.long)
        for L in range(1, order):
            oldest = F.pad(X, (L - 1, 0))[:, :X.shape[1]][events]  # the char L - 1 before
            longer = row.long().mul_(V).add_(oldest)  # each event's key at length L
            del row, oldest  # (the events' arrays are the counting's memory: freed early)
            distinct, row, seen = unique_parts(longer, inverse=True)
            del longer
            longer, seen = joined(distinct), joined(seen)
            self.check_size(L, seen, len(keys))  # before the continuation counts' sorting
            self.levels[L - 1].fill(keys, *continuation_counts(longer, row, target, V), V)
            keys = longer
            if min_count > 1:
                kept = seen >= min_count
                present = kept[row]  # (E,) the events whose context is kept
                events[events.clone()] = present
                renumber = kept.cumsum(0, dtype=torch.int32) - 1
                keys, row, target = keys[kept], renumber[row[present]], target[present]
        pairs = row.long().mul_(V).add_(target)
        del row
        pairs, _, counts = unique_parts(pairs)
        self.levels[order - 1].fill(keys, joined(pairs), joined(counts), V)
        self.check_size(order, torch.zeros(0, dtype=torch.int32))
        return self

    def check_size(self, L, seen, shorter: int = 0):
        """Raise TablesTooLarge where the tables will pass max_table_gb, by what is known
        before counting at length L: the levels built, the ``shorter`` contexts of length
        L - 1 about to be, and those of length L to keep (``seen``: how many events each
        distinct one has), at a context and a pair each at least. With min_count 1 every
        longer length has at least as many contexts as this one (each extends one)."""
        built = sum(b.numel() * b.element_size() for b in self.buffers())
        kept = int((seen >= self.config.min_count).sum())
        lengths = self.config.order - L if self.config.min_count == 1 else 1
        if built + (shorter + kept * lengths) * (CONTEXT_BYTES + PAIR_BYTES) \
                <= self.config.max_table_gb * 2**30:
            return
        min_count, detail = self.config.min_count, f"{built / 2**20:,.1f} MB built"
        if len(seen):
            larger = [k for k in (2, 4, 8, 16, 32) if k > min_count]
            detail += (f", then {kept:,} contexts of length {L} to keep at min_count "
                       f"{min_count}: " + ", ".join(f"{int((seen >= k).sum()):,} at {k}"
                                                    for k in larger))
        raise TablesTooLarge(
            f"ngram.max_table_gb: the n-gram's tables would pass {self.config.max_table_gb:g} "
            f"GB ({detail}): raise ngram.min_count, or max_table_gb where memory allows")

    def forward(self, idx, targets=None):
        B, T = idx.shape
        V = self.config.vocab_size
        context = self.contexts(idx).reshape(B * T, -1)
        # positions whose longest seen context is the same (the padding after every name,
        # say) have one distribution: compute each once, a bounded block at a time
        chains, which = torch.unique(self.longest_seen(context), return_inverse=True)
        members = torch.argsort(which, stable=True)  # the positions, chain by chain
        bounds = F.pad(torch.bincount(which, minlength=len(chains)).cumsum(0), (1, 0))
        logits = torch.empty(B * T, V, device=idx.device)
        rows = max(1, BLOCK_VALUES // V)  # chains a block
        for start in range(0, len(chains), rows):
            end = min(start + rows, len(chains))
            log_p = self.probabilities(context[members[bounds[start:end]]]).log_().float()
            those = members[bounds[start]:bounds[end]]
            logits[those] = log_p[which[those] - start]
        logits = logits.view(B, T, V)
        return logits, sequence_loss(logits, targets)

    def longest_seen(self, context):
        """(N,) for each position, its longest context in the tables, as row * order +
        length: positions with the same one have the same distribution."""
        rows = torch.zeros(len(context), dtype=torch.long, device=context.device)
        longest = torch.zeros_like(rows)  # the empty context: length 0, row 0
        for L, table in enumerate(self.levels[1:], start=1):
            rows = table.find(rows, context[:, L - 1], self.config.vocab_size)
            longest = torch.where(rows >= 0, rows * self.config.order + L, longest)
        return longest

    def probabilities(self, context):
        """(N, order - 1) contexts, most recent character first -> (N, vocab) float64."""
        V, device = self.config.vocab_size, context.device
        # every position has the empty context: its distribution is one row for all
        uniform = torch.full((1, V), 1.0 / V, dtype=torch.float64, device=device)
        empty = torch.zeros(1, dtype=torch.long, device=device)
        p = self.levels[0].interpolate(uniform, empty).expand(len(context), V).clone()
        rows = empty.expand(len(context))
        for L, table in enumerate(self.levels[1:], start=1):
            rows = table.find(rows, context[:, L - 1], V)
            p = table.interpolate(p, rows)  # (N, V)
        return p
