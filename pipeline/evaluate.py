"""Stage 5: the mean cross-entropy of a model over whole splits, never a sample of them."""

import itertools

import torch
import torch.nn.functional as F

EVAL_ROWS = 16384  # rows (windows or names) per forward pass: bounds memory, keeps passes few


@torch.no_grad()
def split_loss(model: torch.nn.Module, X: torch.Tensor, Y: torch.Tensor) -> float:
    """Mean cross-entropy (nats) over every event of a split, in eval mode (running
    batch-norm statistics, no dropout). Works for windows (Y (N,)) and sequences
    (Y (N, T), -1 where there is no event) alike: the sum over events / their count."""
    was_training = model.training
    model.eval()
    # the data goes where the model is (a counted model holds buffers only)
    device = next(itertools.chain(model.parameters(), model.buffers())).device
    total, events = 0.0, 0
    for start in range(0, len(X), EVAL_ROWS):
        logits, _ = model(X[start:start + EVAL_ROWS].to(device))
        y = Y[start:start + EVAL_ROWS].reshape(-1).to(device)
        total += F.cross_entropy(logits.reshape(len(y), -1), y, ignore_index=-1,
                                 reduction="sum").item()
        events += int((y >= 0).sum())
    model.train(was_training)
    return total / events


def evaluate(model: torch.nn.Module, data: dict) -> dict:
    """``data``: split -> (X, Y). Returns {"<split>_loss": loss} rounded for stable diffs."""
    return {f"{split}_loss": round(split_loss(model, X, Y), 6) for split, (X, Y) in data.items()}
