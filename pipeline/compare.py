"""Which differences between models are real: a leaderboard with paired intervals.

Val holds 3,203 names, so one model's val loss carries a standard error of about
±0.008 nats; but two models scored on the same names err together, and the
difference of their losses is far tighter. The paired bootstrap resamples names
(with replacement, the same draws for every model) and recomputes each model's loss
over the resampled names, Σ loss / Σ events; the 2.5 and 97.5 percentiles of the
difference from the best model give its 95% interval. A difference whose interval
excludes zero is one this split can tell apart from noise.
"""

import csv
import io
import json
from dataclasses import dataclass, field

import numpy as np
import yaml

from pipeline import train_time
from pipeline.errors import PipelineError
from pipeline.scores import read_scores, scores_path


@dataclass
class Row:
    label: str  # the model's name, "<rev>:<name>" for another revision or experiment
    arch: str
    metrics: dict  # train_loss, val_loss, test_loss, params
    val_names: tuple = field(repr=False)  # (loss (names,), events (names,)) on val
    diff: tuple | None = None  # (val - best val, low, high) once compared
    train_seconds: float | None = None  # recorded by the train stage on this machine


def read_rows(rev: str | None) -> list[Row]:
    """Every model of ``rev`` (None: the workspace) that has been evaluated."""
    import dvc.api  # slow to import; only this command needs it

    def read(path):
        try:
            return dvc.api.read(path, rev=rev)
        except Exception:  # DVC raises many kinds for a missing file or revision
            return None

    params = read("params.yaml")
    if params is None:
        raise PipelineError(f"{rev or 'the workspace'}: no params.yaml (is '{rev}' a git "
                            "revision or an experiment of this project?)")
    params = yaml.safe_load(params)
    lock = read("dvc.lock")  # the checkpoints' md5s, which name their training times
    rows = []
    ensembles = params.get("ensembles") or {}
    for name, section in {**models_of(params), **dict.fromkeys(ensembles)}.items():
        metrics, per_name = read(scores_path(name)), read(f"metrics/names/{name}.csv")
        if metrics is None or per_name is None:
            continue
        label = name if rev is None else f"{rev}:{name}"
        arch = ("ensemble" if name in ensembles else
                params[section].get("arch", "mlp") if section in params else "?")
        timed = train_time.recorded(train_time.checkpoint_md5(lock, name))
        rows.append(Row(label, arch, read_scores(json.loads(metrics), name), val_losses(per_name),
                        train_seconds=None if timed is None else timed["seconds"]))
    return rows


def models_of(params: dict) -> dict[str, str]:
    """model name -> its params section, as that revision's params.yaml has them."""
    return params.get("models") or {"mlp": "baseline", "wavenet": "model"}  # before models


def val_losses(text: str):
    """(loss, events) arrays of the val names, from a metrics/names CSV."""
    rows = [r for r in csv.DictReader(io.StringIO(text)) if r["split"] == "val"]
    return (np.array([float(r["log_loss"]) for r in rows]),
            np.array([int(r["events"]) for r in rows]))


def without_repeats(rows: list[Row]) -> list[Row]:
    """Each distinct model once: an experiment's untouched models equal the workspace's."""
    seen, kept = set(), []
    for row in rows:
        key = row.val_names[0].tobytes()
        if key not in seen:
            seen.add(key)
            kept.append(row)
    return kept


def compare(rows: list[Row], resamples: int = 10_000, seed: int = 0) -> list[Row]:
    """The rows sorted by val loss, each with its paired 95% interval against the best."""
    rows = sorted(rows, key=lambda r: r.metrics["val_loss"])
    best_loss, events = rows[0].val_names
    for row in rows:
        if not np.array_equal(row.val_names[1], events):
            raise PipelineError(f"{row.label} and {rows[0].label} were scored on different "
                                "val names: compare models of the same split")
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(events), size=(resamples, len(events)))  # names, resampled
    total = events[picks].sum(1)
    best = best_loss[picks].sum(1) / total
    for row in rows:
        loss = row.val_names[0]
        delta = loss[picks].sum(1) / total - best
        low, high = np.percentile(delta, [2.5, 97.5])
        row.diff = (loss.sum() / events.sum() - best_loss.sum() / events.sum(), low, high)
    return rows


def is_real(row: Row) -> bool:
    """The interval of its difference from the best excludes zero."""
    return bool(row.diff[1] > 0 or row.diff[2] < 0)


def seconds(value: float | None) -> str:
    """A training time as the table shows it ('64 s', '0.4 s'), '–' where unknown."""
    if value is None:
        return "–"
    return f"{value:.1f} s" if value < 10 else f"{value:,.0f} s"


def table(rows: list[Row], fmt: str) -> str:
    if fmt == "json":
        return json.dumps([{"model": r.label, "arch": r.arch, **r.metrics,
                            "train_seconds": r.train_seconds,
                            "val_diff": round(float(r.diff[0]), 6),
                            "val_diff_low": round(float(r.diff[1]), 6),
                            "val_diff_high": round(float(r.diff[2]), 6), "real": is_real(r)}
                           for r in rows], indent=2)
    header = ["model", "arch", "params", "train", "val", "test", "train time",
              "val - best (95% CI)"]
    lines = [[r.label, r.arch, f"{r.metrics['params']:,}",
              *(f"{r.metrics[k]:.4f}" for k in ("train_loss", "val_loss", "test_loss")),
              seconds(r.train_seconds),
              "best" if r is rows[0] else
              f"{r.diff[0]:+.4f} [{r.diff[1]:+.4f}, {r.diff[2]:+.4f}]"
              + (" real" if is_real(r) else "")] for r in rows]
    if fmt == "md":
        out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        return "\n".join(out + ["| " + " | ".join(line) + " |" for line in lines])
    widths = [max(len(x) for x in column) for column in zip(header, *lines)]
    return "\n".join("  ".join(x.ljust(w) for x, w in zip(line, widths)).rstrip()
                     for line in [header, *lines])
