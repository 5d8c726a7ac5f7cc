"""The Part 5 performance log as DVC experiments, and the table beside the lecture's.

    python bench/perf_log.py run      # queues the experiments and runs them, 2 at a time
    python bench/perf_log.py table    # prints the reproduced table next to the lecture's

Each experiment trains both models, so two experiments cover four rows: the
defaults are rows 1 (MLP, context 3) and 5 (WaveNet 24/128); one experiment with
context 8 for the MLP and the 22K WaveNet gives rows 2 and 4. Row 3 (the lecture's
batch-norm bug, statistics over the batch axis only) is left out: the project
implements only the fixed batch norm.

Row P2 is Part 2's notebook: its MLP without batch norm, N(0, 1) for every tensor from
the seed 2147483647, lr 0.1 then 0.01 from step 100,000, on Part 2's split (its
shuffle cell ran 4 times, hence 182,441 / 22,902 / 22,803 windows). Its minibatches came
from torch's unseeded global generator, so no run can repeat its numbers exactly.
"""

import subprocess
import sys
from pathlib import Path

import click
import dvc.api

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from pipeline.presets import exp_run_command  # noqa: E402

# the experiments: presets/<name>.yaml, each run as a DVC experiment of that name
EXPERIMENTS = ("perf-rows-1-5", "perf-rows-2-4", "perf-part2")
# row, change, experiment, model, lecture train, lecture val (as the lecture printed them:
# the table shows as many decimals)
ROWS = [
    (1, "original: 3-char context, 200 hidden, batch norm", "perf-rows-1-5", "mlp",
     "2.058", "2.105"),
    (2, "context 3 -> 8, flat MLP", "perf-rows-2-4", "mlp", "1.918", "2.027"),
    (4, "hierarchical, batch norm fixed (n_embd 10, hidden 68)", "perf-rows-2-4", "wavenet",
     "1.912", "2.022"),
    (5, "scale up: n_embd 24, hidden 128", "perf-rows-1-5", "wavenet", "1.769", "1.993"),
    ("P2", "Part 2: MLP without batch norm, N(0, 1) init, lr 0.1 -> 0.01 at 100k "
     "(Part 2's split: the shuffle run 4 times)", "perf-part2", "mlp", "2.1260", "2.1701"),
]


def score(row: dict, model: str, key: str):
    """A model's score in a row of `dvc exp show` (pipeline/scores.py's column names;
    revisions from before that layout name the file and a flat key)."""
    flat = key if key == "params" else f"{key}_loss"
    return row.get(f"{model}.{key}", row.get(f"metrics/{model}.json:{flat}"))


@click.group()
def main():
    """Part 5's performance log, reproduced as DVC experiments."""


@main.command()
@click.option("--only", type=click.Choice(sorted(EXPERIMENTS)), multiple=True,
              help="Run just these experiments.")
@click.option("--jobs", default=2, show_default=True,
              help="Experiments run at once (each trains on train.threads threads).")
def run(only, jobs):
    """Queue the experiments in DVC's queue, then run the queue and wait for it."""
    for name in only or EXPERIMENTS:
        _run(exp_run_command(name, queue=True), f"could not queue experiment {name}")
    _run(["dvc", "exp", "run", "--run-all", "--jobs", str(jobs)],
         "an experiment failed; see 'dvc queue logs <name>'")


def _run(cmd, failure):
    click.echo(f"$ {' '.join(cmd)}", err=True)
    if subprocess.run(cmd).returncode != 0:
        sys.exit(f"error: {failure}")


@main.command()
@click.option("--commits", default=1, show_default=True,
              help="Read experiments based on the last N commits (-1: all), the newest "
                   "run of each name winning: commits made after `run` hide its rows.")
def table(commits):
    """The reproduced rows next to the lecture's numbers."""
    found = {}
    for row in dvc.api.exp_show(num=commits):  # newest baseline commit first
        if row.get("Experiment") in EXPERIMENTS:
            found.setdefault(row["Experiment"], row)
    click.echo("| row | change | params | train | val | lecture train | lecture val | val diff |")
    click.echo("|---|---|---|---|---|---|---|---|")
    for row, change, exp, model, lec_train, lec_val in ROWS:
        result = found.get(exp)
        if result is None or score(result, model, "val") in (None, "-"):
            click.echo(f"| {row} | {change} | | not run | | {lec_train} | {lec_val} | |")
            continue
        train, val = score(result, model, "train"), score(result, model, "val")
        params = int(score(result, model, "params"))
        digits = len(lec_val.partition(".")[2])
        click.echo(f"| {row} | {change} | {params:,} | {train:.{digits}f} | {val:.{digits}f} | "
                   f"{lec_train} | {lec_val} | {val - float(lec_val):+.{digits}f} |")


if __name__ == "__main__":
    main()
