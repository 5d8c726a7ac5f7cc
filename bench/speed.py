"""Side-by-side benchmark (run by hand, not a test): the lecture's notebook loop
against this project's trainer, and the fast recipe against the lecture recipe.

    python bench/speed.py steps      # steps/s at the lecture recipe, both models
    python bench/speed.py quality    # wall time and val loss: lecture vs fast recipe

Both read the names list from $MAKEMORE_DATA (or data/raw/names.txt) and split it
as the pipeline does. Timings go to stdout only; nothing here is a tracked output.
"""

import dataclasses
import os
import sys
import time
from pathlib import Path

import click
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import notebook  # noqa: E402
from pipeline.evaluate import split_loss  # noqa: E402
from pipeline.models import build_model, make_config  # noqa: E402
from pipeline.names import read_names  # noqa: E402
from pipeline.params import TrainParams, load_params  # noqa: E402
from pipeline.split import split_names  # noqa: E402
from pipeline.train import train  # noqa: E402
from pipeline.vocab import Vocabulary  # noqa: E402
from pipeline.windows import context_windows  # noqa: E402

DEFAULT_THREADS = torch.get_num_threads()
LECTURE = TrainParams(steps=200_000, batch_size=32, lr=0.1, lr_final=0.01, decay_at=0.75,
                      optimizer="sgd", schedule="step", weight_decay=0.0, seed=42,
                      log_every=1000)
MODELS = {  # name: (pipeline config kwargs, notebook builder)
    "mlp": (dict(arch="mlp", block_size=3, n_embd=10, hidden=200), notebook.mlp),
    "wavenet": (dict(arch="hierarchical", block_size=8, n_embd=24, hidden=128), notebook.wavenet),
}


def lecture_windows(block_size):
    path = os.environ.get("MAKEMORE_DATA") or "data/raw/names.txt"
    names, _ = read_names(path)
    vocab = Vocabulary.from_names(names)
    splits = split_names(names, seed=42, train=0.8, val=0.1)
    windows = {s: context_windows(v, vocab, block_size) for s, v in splits.items()}
    return {s: tuple(torch.from_numpy(a).long() for a in xy) for s, xy in windows.items()}, len(vocab)


def time_notebook(builder, X, Y, steps):
    torch.manual_seed(42)
    net, parameters = notebook.build(builder)
    started = time.perf_counter()
    lossi = notebook.train(net, parameters, X, Y, steps)
    return time.perf_counter() - started, sum(lossi[-1000:]) / min(1000, len(lossi))


def time_pipeline(config, X, Y, p):
    """(timings, last loss-curve point, model); timings as pipeline.train.train fills them."""
    model = build_model(config, seed=p.seed)
    timings = {}
    curve = train(model, X, Y, p, progress=False, timings=timings)
    return timings, curve[-1][1], model


@click.group()
def main():
    """Benchmarks for issue 4: speed at the lecture recipe, and time to quality."""


@main.command()
@click.option("--steps", default=20_000, show_default=True, help="Steps per timed run.")
@click.option("--repeats", default=2, show_default=True, help="Alternating runs; best is kept.")
def steps(steps, repeats):
    """Steps/s of the notebook loop and the pipeline's trainer, same model and recipe."""
    print(f"torch {torch.__version__}, default {DEFAULT_THREADS} threads, {steps} steps, batch 32")
    for name, (kwargs, builder) in MODELS.items():
        windows, vocab_size = lecture_windows(kwargs["block_size"])
        X, Y = windows["train"]
        config = make_config(vocab_size=vocab_size, **kwargs)
        p = dataclasses.replace(LECTURE, steps=steps)
        nb, nb1, ours, ours_all = [], [], [], []
        for _ in range(repeats):
            torch.set_num_threads(DEFAULT_THREADS)  # the notebook as it runs: torch's default
            nb.append(time_notebook(builder, X, Y, steps))
            torch.set_num_threads(1)
            nb1.append(time_notebook(builder, X, Y, steps))
            timings, last, _ = time_pipeline(config, X, Y, p)  # sets train.threads itself
            # steady rate: steps after the first (which compiles); whole run: all of it
            ours.append(((steps - 1) / timings["steps_per_second"], last))
            ours_all.append((timings["seconds"], last))
        best = {k: steps / min(t for t, _ in v) for k, v in
                (("notebook", nb), ("notebook 1 thread", nb1), ("pipeline", ours),
                 ("pipeline incl. compile", ours_all))}
        print(f"{name:8s} " + " | ".join(f"{k} {v:.0f} steps/s" for k, v in best.items())
              + f" | speed-up x{best['pipeline'] / best['notebook']:.2f} "
              f"(x{best['pipeline'] / best['notebook 1 thread']:.2f} against the notebook "
              f"on 1 thread; x{best['pipeline incl. compile'] / best['notebook']:.2f} "
              "counting compilation)", flush=True)
        print(f"{name:8s} mean log10 loss of the last 1000 steps: notebook "
              f"{nb[0][1]:.4f}, pipeline {ours[0][1]:.4f}", flush=True)


@main.command()
@click.option("--fast-params", default="bench/fast_recipe.yaml", show_default=True,
              help="A params file whose 'train' section is the fast recipe.")
@click.option("--fast-seeds", default="42", show_default=True,
              help="Comma-separated seeds: the fast recipe is trained once per seed.")
@click.option("--lecture-steps", default=200_000, show_default=True)
@click.option("--notebook-steps", default=20_000, show_default=True,
              help="Also time the notebook loop this many steps and scale it to the "
                   "lecture's (0: skip).")
def quality(fast_params, fast_seeds, lecture_steps, notebook_steps):
    """Wall time and val loss of the WaveNet (24/128/8): lecture recipe vs fast recipe."""
    windows, vocab_size = lecture_windows(8)
    X, Y = windows["train"]
    config = make_config(vocab_size=vocab_size, **MODELS["wavenet"][0])
    fast = TrainParams.load(load_params(fast_params))
    runs = [(f"fast s{seed}", dataclasses.replace(fast, seed=int(seed)))
            for seed in fast_seeds.split(",")]
    runs.append(("lecture", dataclasses.replace(LECTURE, steps=lecture_steps)))
    results = {}
    for name, p in runs:
        timings, _, model = time_pipeline(config, X, Y, p)
        results[name] = timings["seconds"]
        print(f"{name:9s} {p.optimizer} batch {p.batch_size} {p.steps} steps: "
              f"{timings['seconds']:6.1f}s (first step {timings['first_step_seconds']:.1f}s), "
              f"val {split_loss(model, *windows['val']):.4f}", flush=True)
    for name in results:
        if name != "lecture":
            print(f"{name} took {results[name] / results['lecture']:.3f} of the lecture "
                  "recipe's time in this pipeline")
    if notebook_steps:
        torch.set_num_threads(DEFAULT_THREADS)
        seconds, _ = time_notebook(notebook.wavenet, X, Y, notebook_steps)
        estimate = seconds * lecture_steps / notebook_steps
        fastest = min(t for name, t in results.items() if name != "lecture")
        print(f"notebook loop: {notebook_steps} steps in {seconds:.1f}s, so ~{estimate:.0f}s for "
              f"the lecture's {lecture_steps} steps; the fast recipe took "
              f"{fastest / estimate:.3f} of that (its fastest seed)")


if __name__ == "__main__":
    main()
