"""Stage 6: names sampled from a trained model, and how many of them are new.

Start from '.' (and an optional prefix), sample the next character from the
softmax (optionally sharpened or flattened by a temperature and cut to the top k),
append it, stop at '.'. All names are generated side by side, one forward pass of the model per
character position, with a seeded generator. A window model sees the last
``block_size`` characters (dots before the start, as in training); a sequence
model sees the whole name so far, cut to its context (if it has a limit).
"""

from dataclasses import dataclass

import numpy as np
import torch

from pipeline.vocab import Vocabulary


@dataclass(frozen=True)
class Controls:
    """How names are drawn: ``temperature`` divides the logits (below 1: safer names,
    above 1: wilder ones), ``top_k`` keeps only the k likeliest characters at each step,
    and every name starts with ``prefix``, which the model reads as context."""

    temperature: float = 1.0
    top_k: int | None = None
    prefix: str = ""


@torch.no_grad()
def sample_names(model: torch.nn.Module, vocab: Vocabulary, count: int, seed: int,
                 max_length: int, controls=Controls(), rng=None) -> list[str]:
    """``count`` names of at most ``max_length`` characters (longer ones are cut there).
    ``rng`` (a numpy Generator) continues a stream of draws; else one is seeded."""
    model.eval()
    rng = np.random.default_rng(seed) if rng is None else rng
    windows = model.reads == "windows"
    context = model.config.block_size if windows else model.config.context_size
    # windows: block_size dots; sequences: the one start '.'; then the prefix
    start = [0] * (context if windows else 1) + vocab.encode(controls.prefix)
    tokens = torch.tensor([start] * count, dtype=torch.long)
    out = np.zeros((count, max_length - len(controls.prefix)), dtype=np.int64)
    finished = np.zeros(count, dtype=bool)
    for t in range(out.shape[1]):
        # one uniform per name, finished or not, so the draws do not depend on which
        # rows the model runs on: only the names still growing
        u = rng.random((count, 1))
        active = np.flatnonzero(~finished)
        rows = tokens[torch.from_numpy(active)]
        logits, _ = model(rows if context is None else rows[:, -context:])  # (active, ...)
        if not windows:
            logits = logits[:, -1]  # the prediction after the last character
        nxt = np.zeros(count, dtype=np.int64)  # finished names get '.'
        nxt[active] = draw(softmax(shaped(logits.float().numpy(), controls)), u[active])
        out[:, t] = nxt
        finished |= nxt == 0
        if finished.all():
            break
        tokens = torch.cat([tokens, torch.from_numpy(nxt)[:, None]], dim=1)
    return [controls.prefix + vocab.decode(row).split(".", 1)[0] for row in out.tolist()]


def sample_kept(model, vocab, count: int, seed: int, max_length: int, controls=Controls(),
                exclude=frozenset(), unique=False, max_draws=None):
    """(names, draws): ``count`` names, none in ``exclude`` and, with ``unique``, none
    twice, drawn ``count`` at a time from one seeded stream until there are enough or
    ``max_draws`` (100 x count) names were drawn. Without filters: one round, the same
    names as ``sample_names``."""
    rng = np.random.default_rng(seed)
    limit = max_draws or 100 * count
    kept, seen, draws = [], set(), 0
    while len(kept) < count and draws < limit:
        batch = sample_names(model, vocab, min(count, limit - draws), seed, max_length,
                             controls, rng)
        draws += len(batch)
        for name in batch:
            if name not in exclude and not (unique and name in seen) and len(kept) < count:
                kept.append(name)
                seen.add(name)
    return kept, draws


def shaped(logits: np.ndarray, controls: Controls) -> np.ndarray:
    """Logits divided by the temperature, all but the top k set to -inf."""
    if controls.temperature != 1.0:
        logits = logits / controls.temperature
    if controls.top_k is not None and controls.top_k < logits.shape[1]:
        kth = np.partition(logits, -controls.top_k, axis=1)[:, -controls.top_k, None]
        logits = np.where(logits < kth, -np.inf, logits)
    return logits


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise probabilities in float64, the max subtracted first so exp cannot overflow."""
    z = logits.astype(np.float64)
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def draw(probs: np.ndarray, u: np.ndarray) -> np.ndarray:
    """One class per row by inverting its CDF at the row's uniform draw ``u`` (N, 1)
    in [0, 1): the first class whose cumulative probability exceeds it."""
    cdf = np.cumsum(probs, axis=1)
    u = u * cdf[:, -1:]
    index = (cdf <= u).sum(axis=1)
    # u < cdf[:, -1] exactly, but the product can round up to it: no class past the last
    return np.minimum(index, probs.shape[1] - 1)


def sample_report(samples: list[str], train_names, max_length: int) -> dict:
    known = set(train_names)
    n = len(samples)
    return {
        "count": n,
        "novel_share": round(sum(s not in known for s in samples) / n, 6),
        "mean_length": round(sum(map(len, samples)) / n, 6),
        "cut_at_max_length": sum(len(s) >= max_length for s in samples),
    }
