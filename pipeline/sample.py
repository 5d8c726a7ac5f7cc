"""Stage 6: names sampled from a trained model, and how many of them are new.

Start from '.', sample the next character from the softmax, append it, stop at
'.'. All names are generated side by side, one forward pass of the model per
character position, with a seeded generator. A window model sees the last
``block_size`` characters (dots before the start, as in training); a sequence
model sees the whole name so far, cut to its context (if it has a limit).
"""

import numpy as np
import torch

from pipeline.vocab import Vocabulary


@torch.no_grad()
def sample_names(model: torch.nn.Module, vocab: Vocabulary, count: int, seed: int,
                 max_length: int) -> list[str]:
    """``count`` names of at most ``max_length`` characters (longer ones are cut there)."""
    model.eval()
    rng = np.random.default_rng(seed)
    windows = model.reads == "windows"
    context = model.config.block_size if windows else model.config.context_size
    # windows: block_size dots; sequences: the one start '.'
    tokens = torch.zeros((count, context if windows else 1), dtype=torch.long)
    out = np.zeros((count, max_length), dtype=np.int64)
    finished = np.zeros(count, dtype=bool)
    for t in range(max_length):
        # one uniform per name, finished or not, so the draws do not depend on which
        # rows the model runs on: only the names still growing
        u = rng.random((count, 1))
        active = np.flatnonzero(~finished)
        rows = tokens[torch.from_numpy(active)]
        logits, _ = model(rows if context is None else rows[:, -context:])  # (active, ...)
        if not windows:
            logits = logits[:, -1]  # the prediction after the last character
        nxt = np.zeros(count, dtype=np.int64)  # finished names get '.'
        nxt[active] = draw(softmax(logits.float().numpy()), u[active])
        out[:, t] = nxt
        finished |= nxt == 0
        if finished.all():
            break
        tokens = torch.cat([tokens, torch.from_numpy(nxt)[:, None]], dim=1)
    return [vocab.decode(row).split(".", 1)[0] for row in out.tolist()]


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
