"""Stage 4: a model-agnostic training loop.

The trainer knows only the contract ``model(idx, targets) -> (logits, loss)``.
Minibatches are drawn uniformly with replacement from the training windows by a
seeded generator, so the same params give the same weights, step for step.
"""

import math
import time

import torch
from tqdm import tqdm

from pipeline.params import TrainParams

# Batch indices are drawn this many steps at a time: one call instead of thousands.
INDEX_CHUNK = 1000


def learning_rate(step: int, p: TrainParams) -> float:
    """The lecture's step schedule (lr, then lr_final from decay_at of the run), or cosine."""
    if p.schedule == "cosine":
        return p.lr_final + 0.5 * (p.lr - p.lr_final) * (1 + math.cos(math.pi * step / p.steps))
    return p.lr if step < p.decay_at * p.steps else p.lr_final


def make_optimizer(model: torch.nn.Module, p: TrainParams) -> torch.optim.Optimizer:
    if p.optimizer == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=p.lr, weight_decay=p.weight_decay)
    # plain SGD: the lecture's ``p.data += -lr * p.grad``
    return torch.optim.SGD(model.parameters(), lr=p.lr, weight_decay=p.weight_decay)


def batch_indices(n: int, p: TrainParams):
    """Yield (B,) index tensors into the training windows, one per step."""
    generator = torch.Generator().manual_seed(p.seed)
    for start in range(0, p.steps, INDEX_CHUNK):
        chunk = min(INDEX_CHUNK, p.steps - start)
        yield from torch.randint(0, n, (chunk, p.batch_size), generator=generator)


def train(model: torch.nn.Module, X: torch.Tensor, Y: torch.Tensor, p: TrainParams,
          progress: bool = True) -> list[tuple[int, float]]:
    """Train ``model`` in place on windows X (N, T), Y (N,).

    Returns the loss curve: (last step of the block, mean log10 loss over the
    block) for every ``log_every`` steps, as the lecture plots it.
    """
    model.train()
    optimizer = make_optimizer(model, p)
    log10_losses = torch.empty(p.steps)
    bar = tqdm(total=p.steps, disable=not progress, unit="step", mininterval=1.0,
               dynamic_ncols=True)
    started, lr = time.perf_counter(), None
    for step, ix in enumerate(batch_indices(len(X), p)):
        if (new_lr := learning_rate(step, p)) != lr:
            lr = new_lr
            for group in optimizer.param_groups:
                group["lr"] = lr
        _, loss = model(X[ix], Y[ix])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        log10_losses[step] = loss.detach().log10()
        if (step + 1) % p.log_every == 0 or step + 1 == p.steps:
            bar.update(step + 1 - bar.n)
            bar.set_postfix(loss=f"{loss.item():.4f}", lr=f"{lr:g}", refresh=False)
    bar.close()
    elapsed = time.perf_counter() - started
    if progress:
        print(f"trained {p.steps} steps in {elapsed:.1f}s ({p.steps / elapsed:.0f} steps/s)")
    return loss_curve(log10_losses, p.log_every)


def loss_curve(log10_losses: torch.Tensor, block: int) -> list[tuple[int, float]]:
    """Mean of each ``block`` consecutive values, keyed by the block's last step."""
    curve = []
    for start in range(0, len(log10_losses), block):
        values = log10_losses[start:start + block]
        curve.append((start + len(values), round(values.double().mean().item(), 6)))
    return curve
