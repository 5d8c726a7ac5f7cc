"""Stage 5: the mean cross-entropy of a model over whole splits, never a sample of them,
and each name's share of it."""

import itertools
import time

import torch
import torch.nn.functional as F

EVAL_ROWS = 16384  # rows (windows or names) per forward pass at most: keeps passes few
# ... and at most this many values of the widest per-event tensor (the logits, or a
# hidden layer of up to 256 channels) per pass: 256 MB of float32, whatever the names'
# length and the vocabulary's size (the lecture's data stays at EVAL_ROWS)
EVAL_VALUES = 2**26
REPORT_EVERY = 60.0  # seconds between progress lines of a long pass (none on short ones)


def rows_per_pass(model: torch.nn.Module, X: torch.Tensor) -> int:
    """Rows (windows or names) per forward pass: EVAL_ROWS, fewer where a row's events
    times the vocabulary would hold more than EVAL_VALUES values."""
    events_per_row = X.shape[1] if X.ndim == 2 and model.reads == "sequences" else 1
    width = max(model.config.vocab_size, 256)
    return max(1, min(EVAL_ROWS, EVAL_VALUES // (events_per_row * width)))


def passes(total: int, rows: int, label: str | None):
    """The first row of each pass over ``total`` rows. Given a ``label``, a pass that
    runs past REPORT_EVERY seconds prints how far it has come, then again each
    REPORT_EVERY seconds (a split of millions of names takes hours to score)."""
    started = last = time.perf_counter()
    for start in range(0, total, rows):
        now = time.perf_counter()
        if label is not None and start and now - last >= REPORT_EVERY:
            left = (now - started) * (total - start) / start
            print(f"{label}: {start:,} of {total:,} rows, {(now - started) / 60:.0f} min, "
                  f"about {left / 60:.0f} min left", flush=True)
            last = now
        yield start


@torch.no_grad()
def split_loss(model: torch.nn.Module, X: torch.Tensor, Y: torch.Tensor,
               label: str | None = None) -> float:
    """Mean cross-entropy (nats) over every event of a split, in eval mode (running
    batch-norm statistics, no dropout). Works for windows (Y (N,)) and sequences
    (Y (N, T), -1 where there is no event) alike: the sum over events / their count.
    ``label``: name the pass in progress lines (``passes``)."""
    was_training = model.training
    model.eval()
    # the data goes where the model is (a counted model holds buffers only)
    device = next(itertools.chain(model.parameters(), model.buffers())).device
    total, events, rows = 0.0, 0, rows_per_pass(model, X)
    for start in passes(len(X), rows, label):
        logits, _ = model(X[start:start + rows].to(device).long())
        y = Y[start:start + rows].reshape(-1).to(device).long()
        total += F.cross_entropy(logits.reshape(len(y), -1), y, ignore_index=-1,
                                 reduction="sum").item()
        events += int((y >= 0).sum())
    model.train(was_training)
    return total / events


def leading_events(X: torch.Tensor, Y: torch.Tensor, limit: int):
    """The first rows of a split holding at most ``limit`` events (every row where the
    split holds fewer): enough for a figure such as the loss at initialisation, at a
    cost that does not grow with the list."""
    events = (Y >= 0).reshape(len(Y), -1).sum(1).cumsum(0)
    rows = int(torch.searchsorted(events, torch.tensor(limit), right=True))
    return X[:rows], Y[:rows]


def evaluate(model: torch.nn.Module, data: dict, progress: bool = False) -> dict:
    """``data``: split -> (X, Y). Returns {"<split>_loss": loss} rounded for stable diffs."""
    return {f"{split}_loss": round(split_loss(model, X, Y, split if progress else None), 6)
            for split, (X, Y) in data.items()}


@torch.no_grad()
def name_losses(model: torch.nn.Module, X: torch.Tensor, Y: torch.Tensor,
                label: str | None = None):
    """(loss, events): each name's summed cross-entropy (float64) and its number of
    events, in the split's name order, so two models can be compared name by name.
    Windows (Y (N,)) belong to the name whose first window is the all-dot context
    before them; a sequence row is one name. ``label``: as split_loss's."""
    was_training = model.training
    model.eval()
    device = next(itertools.chain(model.parameters(), model.buffers())).device
    # one buffer, written pass by pass: a list of small per-pass tensors would pin the
    # heap between each pass's large ones (glibc cannot reuse or return the space around
    # them), some 1.5 GB per 1.5M events at a 5,000-letter vocabulary. A sequence row is
    # summed in its pass (the padding's losses are 0: ignore_index), windows after all
    loss, rows = torch.empty(len(Y), dtype=torch.float64), rows_per_pass(model, X)
    for start in passes(len(X), rows, label):
        logits, _ = model(X[start:start + rows].to(device).long())
        y = Y[start:start + rows].to(device).long()
        each = F.cross_entropy(logits.reshape(y.numel(), -1), y.reshape(-1),
                               ignore_index=-1, reduction="none").view(y.shape).double()
        loss[start:start + rows] = each.sum(1) if Y.ndim == 2 else each
    model.train(was_training)
    if Y.ndim == 2:
        return loss, (Y >= 0).sum(1)
    name = (X == 0).all(1).cumsum(0) - 1  # each window's name: a new one at each all-dot context
    count = int(name[-1]) + 1 if len(name) else 0
    summed = torch.zeros(count, dtype=torch.float64).index_add_(0, name, loss)
    return summed, torch.bincount(name, minlength=count)
