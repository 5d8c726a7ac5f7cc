"""Stage 5: the mean cross-entropy of a model over whole splits, never a sample of them."""

import torch
import torch.nn.functional as F

EVAL_BATCH = 16384  # windows per forward pass: bounds memory, keeps the passes few


@torch.no_grad()
def split_loss(model: torch.nn.Module, X: torch.Tensor, Y: torch.Tensor) -> float:
    """Mean cross-entropy (nats) over every window, in eval mode (running batch-norm stats)."""
    was_training = model.training
    model.eval()
    total = 0.0
    for start in range(0, len(X), EVAL_BATCH):
        logits, _ = model(X[start:start + EVAL_BATCH])
        total += F.cross_entropy(logits, Y[start:start + EVAL_BATCH], reduction="sum").item()
    model.train(was_training)
    return total / len(X)


def evaluate(model: torch.nn.Module, windows: dict) -> dict:
    """``windows``: split -> (X, Y). Returns {"<split>_loss": loss} rounded for stable diffs."""
    return {f"{split}_loss": round(split_loss(model, X, Y), 6) for split, (X, Y) in windows.items()}
