"""Part 2's learning-rate finder: one short run with the learning rate rising
exponentially, its loss plotted against the exponent, and the valley suggested.

A fresh model (the model's own params, the ``train`` section for everything but the
schedule) trains ``lr_find.steps`` steps with lr = 10**x, x rising evenly from
``min_exp`` to ``max_exp``, through the project's trainer. The suggestion is the
*valley*: the exponent where the loss, averaged over ``smoothing`` steps centred on
each step, is lowest. Steps whose loss is not finite (a diverged run) end the curve.
"""

import dataclasses
import math

import torch

from pipeline.params import LrFindParams, TrainParams
from pipeline.train import train


def exponents(p: LrFindParams) -> list[float]:
    """x for each step, from min_exp to max_exp inclusive (the lecture's linspace)."""
    return [p.min_exp + (p.max_exp - p.min_exp) * i / (p.steps - 1) for i in range(p.steps)]


def lr_sweep(model: torch.nn.Module, X: torch.Tensor, Y: torch.Tensor, tp: TrainParams,
             p: LrFindParams, progress: bool = True) -> list[tuple[float, float]]:
    """(exponent, minibatch loss in nats) for each step of the sweep, training ``model``."""
    xs = exponents(p)
    # the sweep's curve is its raw steps' losses: no weight average (train.ema) to keep
    sweep = dataclasses.replace(tp, steps=p.steps, log_every=1, warmup_steps=0, ema=0.0)
    curve = train(model, X, Y, sweep, progress=progress, lr_at=lambda step: 10.0 ** xs[step])
    return [(x, 10.0 ** log10_loss) for x, (_, log10_loss) in zip(xs, curve)]


def smoothed(losses: list[float], window: int) -> list[float]:
    """The mean of the ``window`` losses centred on each step (fewer at the ends)."""
    half, out = window // 2, []
    for i in range(len(losses)):
        part = losses[max(0, i - half):i - half + window]
        out.append(sum(part) / len(part))
    return out


def finite_prefix(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The points before the first non-finite loss."""
    for i, (_, loss) in enumerate(points):
        if not math.isfinite(loss):
            return points[:i]
    return points


def lr_find_curve(points, window: int) -> list[dict]:
    """Rows of the plot: exponent, loss and smoothed loss, up to the first non-finite loss."""
    kept = finite_prefix(points)
    smooth = smoothed([loss for _, loss in kept], window)
    return [{"exponent": round(x, 6), "loss": round(loss, 6), "smoothed": round(s, 6)}
            for (x, loss), s in zip(kept, smooth)]


def suggestion(points, curve: list[dict]) -> dict:
    """The valley of the smoothed curve, and where the run diverged if it did."""
    if not curve:
        return {"diverged_at_exponent": round(points[0][0], 6)}
    valley = min(curve, key=lambda row: row["smoothed"])
    result = {"suggested_exponent": valley["exponent"],
              "suggested_lr": float(f"{10.0 ** valley['exponent']:.6g}"),
              "valley_loss": valley["smoothed"]}
    if len(curve) < len(points):
        result["diverged_at_exponent"] = round(points[len(curve)][0], 6)
    return result
