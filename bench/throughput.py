"""Training throughput of the WaveNet tree in its two forms (run by hand, not a test):
the hierarchical model on windows against the dilated one on whole names.

    python bench/throughput.py                      # events/s at ~512 to ~8192 events a step
    python bench/throughput.py --windows-batch 512 --steps 300 --rounds 5

Both train the same 76,579-parameter function (n_embd 24, hidden 128, block 8) with the
same optimizer, in one run on the same machine. A step of the hierarchical model takes
``windows-batch`` windows; a step of the dilated one takes as many names as hold about
as many events (182,625 events / 25,626 names = 7.13 a name). Throughput counts events
(windows: one (context, next character) pair each) per second of training, after a
warm-up; the hierarchical model runs its fastest path (hand-derived step, compiled as
in the pipeline's default), the dilated one plain autograd over its packed events.
The two alternate for ``rounds`` rounds and each reports its median, so a load that
comes and goes on the machine hits both alike.
"""

import dataclasses
import os
import sys
import statistics
import time
from pathlib import Path

import click
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.models import build_model, make_config  # noqa: E402
from pipeline.names import read_names  # noqa: E402
from pipeline.params import TrainParams  # noqa: E402
from pipeline.sequences import name_sequences, sequence_width  # noqa: E402
from pipeline.split import split_names  # noqa: E402
from pipeline.train import train  # noqa: E402
from pipeline.vocab import Vocabulary  # noqa: E402
from pipeline.windows import context_windows  # noqa: E402

RECIPE = TrainParams(steps=300, batch_size=512, lr=0.01, lr_final=0.001, decay_at=0.75,
                     optimizer="adamw", schedule="step", weight_decay=0.0, seed=42,
                     log_every=100, threads=2, compile=True)
TREE = dict(block_size=8, n_embd=24, hidden=128)


def training_data():
    names, _ = read_names(os.environ.get("MAKEMORE_DATA") or "data/raw/names.txt")
    vocab = Vocabulary.from_names(names)
    splits = split_names(names, seed=42, train=0.8, val=0.1)
    windows = tuple(map(torch.from_numpy, context_windows(splits["train"], vocab, 8)))
    sequences = tuple(map(torch.from_numpy, name_sequences(splits["train"], vocab,
                                                          sequence_width(splits))))
    return windows, sequences, len(vocab)


def events_per_second(arch, X, Y, p, vocab_size, events_per_row):
    model = build_model(make_config(arch, vocab_size=vocab_size, **TREE), seed=p.seed)
    timings = {}
    train(model, X, Y, p, progress=False, timings=timings)
    return timings["steps_per_second"] * p.batch_size * events_per_row


@click.command()
@click.option("--windows-batch", "batches", multiple=True, type=int,
              default=(512, 2048, 4096, 8192), show_default=True,
              help="Windows a step for the hierarchical model.")
@click.option("--steps", default=300, show_default=True, help="Steps a round, per form.")
@click.option("--rounds", default=3, show_default=True, help="Alternating rounds per batch.")
@click.option("--threads", default=2, show_default=True)
def main(batches, steps, rounds, threads):
    (Xw, Yw), (Xs, Ys), vocab_size = training_data()
    per_name = float((Ys >= 0).sum()) / len(Ys)
    print(f"train split: {len(Yw):,} windows = {int((Ys >= 0).sum()):,} events in "
          f"{len(Ys):,} names ({per_name:.2f} a name)")
    best = {}  # form -> (events/s, its batch)
    for batch in batches:
        names = round(batch / per_name)
        p = dataclasses.replace(RECIPE, steps=steps, threads=threads)
        started, tree, dilated = time.perf_counter(), [], []
        for _ in range(rounds):
            tree.append(events_per_second("hierarchical", Xw, Yw,
                                          dataclasses.replace(p, batch_size=batch), vocab_size, 1))
            dilated.append(events_per_second("dilated", Xs, Ys,
                                             dataclasses.replace(p, batch_size=names),
                                             vocab_size, per_name))
        each = ", ".join(f"x{d / t:.2f}" for t, d in zip(tree, dilated))
        tree, dilated = statistics.median(tree), statistics.median(dilated)
        best["hierarchical"] = max(best.get("hierarchical", (0, 0)), (tree, f"{batch} windows"))
        best["dilated"] = max(best.get("dilated", (0, 0)), (dilated, f"{names} names"))
        print(f"~{batch} events a step: hierarchical {tree:,.0f} events/s (batch {batch} "
              f"windows), dilated {dilated:,.0f} events/s (batch {names} names): "
              f"x{dilated / tree:.2f} (medians of {rounds} rounds; each round: {each})  "
              f"[{time.perf_counter() - started:.0f} s]")
    (tree, tree_batch), (dilated, dilated_batch) = best["hierarchical"], best["dilated"]
    print(f"each at its best batch: hierarchical {tree:,.0f} events/s ({tree_batch}), dilated "
          f"{dilated:,.0f} events/s ({dilated_batch}): x{dilated / tree:.2f}")


if __name__ == "__main__":
    main()
