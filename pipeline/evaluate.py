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


def pass_plan(model: torch.nn.Module, X: torch.Tensor, Y: torch.Tensor) -> list:
    """Each forward pass over a split, as (rows, width): the split's rows it scores (a
    slice, or an index tensor) and how many positions of each. Windows go in the
    split's order. Names (sequences) go shortest first, each pass cut to its longest
    name: a pass of names in the split's order is as wide as its longest one, and at a
    wide vocabulary most of its logits would be padding's. In eval mode each row is
    scored on its own, so the order changes no row's loss."""
    rows = rows_per_pass(model, X)
    if Y.ndim == 1:
        return [(slice(start, min(start + rows, len(X))), X.shape[1])
                for start in range(0, len(X), rows)]
    length = (Y >= 0).sum(1)  # each name's events: a prefix of its row
    order = torch.sort(length, stable=True).indices
    return [(names, max(1, int(length[names[-1]]))) for names in order.split(rows)]


def passes(plan: list, label: str | None):
    """The passes of ``plan`` (pass_plan's). Given a ``label``, passes that run past
    REPORT_EVERY seconds print how far they have come, then again each REPORT_EVERY
    seconds (a split of millions of names takes hours to score), the time left
    estimated from the positions left."""
    sizes = [(rows.stop - rows.start if isinstance(rows, slice) else len(rows), width)
             for rows, width in plan]
    total = sum(n for n, _ in sizes)
    work = sum(n * width for n, width in sizes)
    done = done_work = 0
    started = last = time.perf_counter()
    for (rows, width), (n, _) in zip(plan, sizes):
        now = time.perf_counter()
        if label is not None and done and now - last >= REPORT_EVERY:
            left = (now - started) * (work - done_work) / done_work
            print(f"{label}: {done:,} of {total:,} rows, {(now - started) / 60:.0f} min, "
                  f"about {left / 60:.0f} min left", flush=True)
            last = now
        yield rows, width
        done, done_work = done + n, done_work + n * width


def scored_passes(model: torch.nn.Module, X: torch.Tensor, Y: torch.Tensor,
                  label: str | None = None):
    """Each pass's (rows, logits, y) in eval mode (running batch-norm statistics, no
    dropout): the rows it scored (pass_plan's), their logits (events, vocab) and targets
    (y (n,) for windows; (n, width) for sequences, -1 where there is no event).
    ``label``: name the passes in progress lines (``passes``)."""
    was_training = model.training
    model.eval()
    # the data goes where the model is (a counted model holds buffers only)
    device = next(itertools.chain(model.parameters(), model.buffers())).device
    try:
        for rows, width in passes(pass_plan(model, X, Y), label):
            y = (Y[rows][:, :width] if Y.ndim == 2 else Y[rows]).to(device).long()
            with torch.no_grad():
                logits, _ = model(X[rows][:, :width].to(device).long())
            yield rows, logits.reshape(y.numel(), -1), y
    finally:
        model.train(was_training)


def split_loss(model: torch.nn.Module, X: torch.Tensor, Y: torch.Tensor,
               label: str | None = None) -> float:
    """Mean cross-entropy (nats) over every event of a split, never a sample of it: the
    sum over events / their count. Windows (Y (N,)) and sequences (Y (N, T)) alike."""
    total = 0.0
    for _, logits, y in scored_passes(model, X, Y, label):
        if Y.ndim == 1:  # a pass's sum as cross_entropy gives it
            total += F.cross_entropy(logits, y, ignore_index=-1, reduction="sum").item()
        else:  # summed in float64: names go in passes by length, and float32 sums would
            # move with that grouping
            total += float(F.cross_entropy(logits, y.reshape(-1), ignore_index=-1,
                                           reduction="none").double().sum())
    return total / int((Y >= 0).sum())


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


def name_losses(model: torch.nn.Module, X: torch.Tensor, Y: torch.Tensor,
                label: str | None = None):
    """(loss, events): each name's summed cross-entropy (float64) and its number of
    events, in the split's name order, so two models can be compared name by name.
    Windows (Y (N,)) belong to the name whose first window is the all-dot context
    before them; a sequence row is one name. ``label``: as scored_passes's."""
    # one buffer, written pass by pass: a list of small per-pass tensors would pin the
    # heap between each pass's large ones (glibc cannot reuse or return the space around
    # them), some 1.5 GB per 1.5M events at a 5,000-letter vocabulary
    loss = torch.empty(len(Y), dtype=torch.float64)
    for rows, logits, y in scored_passes(model, X, Y, label):
        each = F.cross_entropy(logits, y.reshape(-1), ignore_index=-1,
                               reduction="none").view(y.shape).double()
        loss[rows] = (each.sum(1) if Y.ndim == 2 else each).cpu()  # a name's; a window's
    if Y.ndim == 2:
        return loss, (Y >= 0).sum(1)
    name = (X == 0).all(1).cumsum(0) - 1  # each window's name: a new one at each all-dot context
    count = int(name[-1]) + 1 if len(name) else 0
    summed = torch.zeros(count, dtype=torch.float64).index_add_(0, name, loss)
    return summed, torch.bincount(name, minlength=count)
