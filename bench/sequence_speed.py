"""Training speed of the sequence models against the machine's limit and a plain loop (run
by hand, not a test).

    python bench/sequence_speed.py                          # every preset below, 300 steps
    python bench/sequence_speed.py -p makemore-transformer -v preset -v eager --rounds 3

For each preset (its model and train params, loaded as ``makemore preset`` loads them;
one thread, ``train.threads``; ``--batch-size`` and ``--threads`` override the preset's
for every run) it prints, as a markdown table:

- events/s: training events (positions with a target) per second of the trainer,
  over ``--steps`` steps after ``--warmup`` steps (the warm-up is lengthened, where
  needed, until every batch width of the timed steps has been seen, so a compiled
  step compiles nothing while it is timed), for each variant: ``preset`` (the
  preset's params with ``train.compile: true``, the default), ``eager`` (``train.compile: false``), ``bfloat16``
  (``train.matmul_precision: bfloat16``), ``eager-bfloat16``, ``compiled`` (the
  autograd step compiled also for a model that does not ask for it), ``float32`` (compiled,
  ``train.matmul_precision: float32``: a ``-fast`` preset as a CPU without bfloat16
  instructions runs it);
- GFLOP/s: events/s times the model's matrix-multiply FLOPs per event, forward and
  backward, counted on the trainer's batches cut to their longest name (the work a
  batch needs; the attention and the fused LSTM, which torch's flop counter does not
  see, by their products' shapes); for a variant whose batches the trainer packs
  (``batch_layout``: the compiled transformer), on its packed rows as the step runs them;
- the matmul limit: the same products (every shape, as often as one step runs it)
  timed as plain ``torch.mm``/``torch.bmm`` in float32 and bfloat16 in the same round,
  and the GFLOP/s as a fraction of it (a bfloat16 variant against the bfloat16 rate);
- plain loop: the same model trained by a few lines of PyTorch as karpathy/makemore's
  makemore.py does it (names padded to the longest of the list, eager float32,
  ``torch.optim.AdamW``), and the trainer's events/s over it.

Variants alternate within each of ``--rounds`` rounds, and each reports its median,
so a load that comes and goes on the machine hits all of them alike.
"""

import collections
import dataclasses
import os
import statistics
import sys
import time
from pathlib import Path

import click
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.models import build_model, count_params  # noqa: E402
from pipeline.names import read_names  # noqa: E402
from pipeline.params import ModelParams, TrainParams, load_params  # noqa: E402
from pipeline.presets import check_preset  # noqa: E402
from pipeline.sequences import name_sequences, sequence_width  # noqa: E402
from pipeline.split import split_names  # noqa: E402
from pipeline.train import batch_layout, minibatches, train  # noqa: E402
from pipeline.vocab import Vocabulary  # noqa: E402

PRESETS = ("makemore-transformer", "makemore-gru", "makemore-lstm", "makemore-rnn",
           "makemore-bow", "tf-64x4-d01", "gated-96-128-d04", "dil-16-32-100")
VARIANTS = {  # name -> the train params it changes
    "preset": {"compile": True},  # the default path (the record presets pin compile: false,
    # so that they repeat their documented figures)
    "eager": {"compile": False},
    "bfloat16": {"compile": True, "matmul_precision": "bfloat16"},
    "eager-bfloat16": {"compile": False, "matmul_precision": "bfloat16"},
    "compiled": {"compile": True},  # the autograd step compiled even where the model
    # does not ask for it (compiled_training), to see what it would give
    "float32": {"compile": True, "matmul_precision": "float32"},  # a -fast preset's step
    # on a CPU without bfloat16 instructions (docs/performance.md)
}
FLOP_BATCHES = 40  # trainer batches whose products are counted and timed for the limit
aten = torch.ops.aten


def training_data():
    names, _ = read_names(os.environ.get("MAKEMORE_DATA") or ROOT / "data/raw/names.txt")
    vocab = Vocabulary.from_names(names)
    splits = split_names(names, seed=42, train=0.8, val=0.1)
    X, Y = name_sequences(splits["train"], vocab, sequence_width(splits))
    return torch.from_numpy(X).long(), torch.from_numpy(Y).long(), len(vocab)


def preset_model(name: str, vocab_size: int, width: int):
    """(model config, train params) of preset ``name``, as ``dvc exp run`` would set them
    (block_size null: ``width``, the sequences' width)."""
    merged = check_preset(name, load_params(ROOT / "params.yaml"), folder=ROOT / "presets")
    return (ModelParams.load(merged, "wavenet").resolved(width).config(vocab_size),
            TrainParams.load(merged, "wavenet"))


class Products(torch.utils._python_dispatch.TorchDispatchMode):
    """Records every matrix product a forward and backward runs, as (batch, m, k, n)
    shapes: mm, addmm, bmm, and the products inside the CPU's fused attention and
    fused (oneDNN) LSTM kernels, which torch's flop counter leaves out."""

    def __init__(self):
        super().__init__()
        self.shapes = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        for shape, times in _products(func, args):
            self.shapes[shape] += times
        return func(*args, **(kwargs or {}))

    @property
    def flops(self) -> int:
        return sum(2 * b * m * k * n * times for (b, m, k, n), times in self.shapes.items())


def _products(func, args):
    if func is aten.mm.default:
        return [((1, *args[0].shape, args[1].shape[1]), 1)]
    if func is aten.addmm.default:
        return [((1, *args[1].shape, args[2].shape[1]), 1)]
    if func is aten.bmm.default:
        return [((*args[0].shape, args[1].shape[2]), 1)]
    if func is aten._scaled_dot_product_flash_attention_for_cpu.default:
        B, h, T, d = args[0].shape  # q @ k.T, then weights @ v
        return [((B * h, T, d, T), 1), ((B * h, T, T, d), 1)]
    if func is aten._scaled_dot_product_flash_attention_for_cpu_backward.default:
        B, h, T, d = args[1].shape  # dV, dP, dQ, dK
        return [((B * h, T, T, d), 2), ((B * h, T, d, T), 1), ((B * h, T, T, d), 1)]
    if func in (aten.mkldnn_rnn_layer.default, aten.mkldnn_rnn_layer_backward.default):
        x, w_ih = args[0], args[1]
        G, E = w_ih.shape  # gates * hidden, input size
        H = args[2].shape[1]
        T = x.shape[1] if args[14 if func is aten.mkldnn_rnn_layer.default else 21] else x.shape[0]
        B = x.numel() // E // T
        if func is aten.mkldnn_rnn_layer.default:  # x @ W_ih.T for all steps, h @ W_hh.T per step
            return [((1, B * T, E, G), 1), ((1, B, H, G), T)]
        # grad x, grad W_ih; grad h, grad W_hh per step
        return [((1, B * T, G, E), 1), ((1, E, B * T, G), 1), ((1, B, G, H), T),
                ((1, H, B, G), T)]
    return []


def count_products(model, batches):
    """The products (shape -> count) of a training forward and backward over ``batches``,
    and the events they hold."""
    recorder, events = Products(), 0
    model.train()
    for xb, yb in batches:
        with recorder:
            model(xb, yb)[1].backward()
        events += int((yb >= 0).sum())
    model.zero_grad(set_to_none=True)
    return recorder, events


def matmul_rate(shapes: collections.Counter, dtype, repeats=5) -> float:
    """GFLOP/s of ``torch.mm``/``torch.bmm`` over these shapes, each weighted by its
    count: total FLOPs over total time, each shape's time the median of ``repeats``."""
    flops = seconds = 0.0
    for (b, m, k, n), times in shapes.items():
        a = torch.randn(b, m, k).to(dtype)
        w = torch.randn(b, k, n).to(dtype)
        product = (lambda: torch.mm(a[0], w[0])) if b == 1 else (lambda: torch.bmm(a, w))
        product()
        reps = max(1, int(2e6 / (b * m * k * n)))  # ~4 MFLOP a timing
        timings = []
        for _ in range(repeats):
            started = time.perf_counter()
            for _ in range(reps):
                product()
            timings.append((time.perf_counter() - started) / reps)
        flops += 2 * b * m * k * n * times
        seconds += statistics.median(timings) * times
    return flops / seconds / 1e9


def trainer_rate(config, X, Y, p: TrainParams, warmup: int, force_compile=False) -> float:
    """Events/s of ``pipeline.train`` over steps ``warmup`` to ``p.steps``."""
    model = build_model(config, seed=p.seed)
    if force_compile:
        model.compiled_training = True
    stamps = {}

    def look(step, _loss):
        stamps[step] = time.perf_counter()
        return 0.0

    train(model, X, Y, dataclasses.replace(p, eval_every=warmup), progress=False, look=look)
    events = sum(int((yb >= 0).sum()) for step, (_, yb) in enumerate(minibatches(X, Y, p))
                 if step >= warmup)
    return events / (stamps[p.steps] - stamps[warmup])


def plain_loop_rate(config, X, Y, p: TrainParams, steps: int, warmup: int) -> float:
    """Events/s of makemore.py's loop: random names padded to the longest of the list,
    eager float32, torch.optim.AdamW (makemore's betas and eps), over the steps after
    ``warmup``."""
    torch.set_num_threads(p.threads)
    model = build_model(config, seed=p.seed).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=p.lr, weight_decay=p.weight_decay,
                                  betas=(0.9, 0.99), eps=1e-8)
    ix = torch.randint(0, len(X), (steps, p.batch_size),
                       generator=torch.Generator().manual_seed(p.seed))
    for step in range(steps):
        if step == warmup:
            started = time.perf_counter()
        xb, yb = X[ix[step]], Y[ix[step]]
        _, loss = model(xb, yb)
        model.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    seconds = time.perf_counter() - started
    return int((Y[ix[warmup:]] >= 0).sum()) / seconds


def variant_packs(config, p: TrainParams, variant: str) -> bool:
    """Whether the trainer packs this variant's batches (``batch_layout``)."""
    model = build_model(config)
    model.compiled_training = getattr(model, "compiled_training", False) or variant == "compiled"
    return batch_layout(model, dataclasses.replace(p, **VARIANTS[variant]))[1]


def timed_range(X, Y, p: TrainParams, warmup: int, steps: int) -> tuple[int, int]:
    """(warm-up, total steps): the warm-up lengthened until every batch width of the
    ``steps`` timed steps after it has come before it."""
    stream = minibatches(X, Y, dataclasses.replace(p, steps=20 * (warmup + steps)))
    widths = [int(yb.shape[1]) for _, yb in stream]
    while new := [i for i in range(warmup, warmup + steps) if widths[i] not in widths[:warmup]]:
        warmup = new[0] + 1
        if warmup + steps > len(widths):
            raise click.ClickException("no warm-up found that sees every width: more --warmup")
    return warmup, warmup + steps


@click.command()
@click.option("--preset", "-p", "presets", multiple=True, default=PRESETS, show_default=True)
@click.option("--variant", "-v", "variants", multiple=True, type=click.Choice(list(VARIANTS)),
              default=("preset", "eager", "bfloat16"), show_default=True,
              help="Trainer variants; the plain loop always runs.")
@click.option("--steps", default=300, show_default=True, help="Timed steps a run.")
@click.option("--warmup", default=30, show_default=True, help="Steps before timing, at least.")
@click.option("--rounds", default=2, show_default=True, help="Alternating rounds.")
@click.option("--batch-size", type=click.IntRange(min=1), default=None,
              help="Names a batch, for every run (default: each preset's).")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="Threads, for every run, the plain loop's too (default: each preset's).")
def main(presets, variants, steps, warmup, rounds, batch_size, threads):
    # one process trains many models through the same compiled function: room for all
    torch._dynamo.config.recompile_limit = 256
    X, Y, vocab_size = training_data()
    print(f"train split: {len(X):,} names, {int((Y >= 0).sum()):,} events; torch "
          f"{torch.__version__}, {torch.backends.cpu.get_cpu_capability()}")
    rows = []
    for name in presets:
        config, recipe = preset_model(name, vocab_size, X.shape[1])
        recipe = dataclasses.replace(recipe, batch_size=batch_size or recipe.batch_size,
                                     threads=threads or recipe.threads)
        torch.set_num_threads(recipe.threads)
        first, total = timed_range(X, Y, recipe, warmup, steps)
        p = dataclasses.replace(recipe, steps=total, warmup_steps=0, log_every=total,
                                keep="last")
        packs = {variant: variant_packs(config, p, variant) for variant in variants}
        layouts = {False, *packs.values()}  # packed or not: the trainer's own batches
        products, per_event = {}, {}
        for packed in layouts:
            sample = [b for i, b in enumerate(minibatches(X, Y, p, packed, packed))
                      if i >= first][:FLOP_BATCHES]
            products[packed], events = count_products(build_model(config, seed=0), sample)
            per_event[packed] = products[packed].flops / events
        started = time.perf_counter()
        rates = collections.defaultdict(list)
        for _ in range(rounds):
            for variant in variants:
                q = dataclasses.replace(p, **VARIANTS[variant])
                rates[variant].append(trainer_rate(config, X, Y, q, first,
                                                   force_compile=variant == "compiled"))
            rates["plain loop"].append(plain_loop_rate(config, X, Y, p, steps + warmup, warmup))
            for packed in layouts:  # the limit at each layout's shapes
                for dtype in (torch.float32, torch.bfloat16):
                    rates[dtype, packed].append(matmul_rate(products[packed].shapes, dtype))
        rate = {k: statistics.median(v) for k, v in rates.items()}
        label = f"{config.arch} ({name}, {count_params(build_model(config)):,} params)"
        packed_figures = (f" (packed: {per_event[True] / 1e6:.3f} MFLOP an event, limit "
                          f"{rate[torch.float32, True]:.1f}/{rate[torch.bfloat16, True]:.1f})"
                          if True in layouts else "")
        print(f"{label}: {per_event[False] / 1e6:.3f} MFLOP an event; matmul limit "
              f"{rate[torch.float32, False]:.1f} GFLOP/s float32, "
              f"{rate[torch.bfloat16, False]:.1f} bfloat16{packed_figures}; "
              f"warm-up {first} steps [{time.perf_counter() - started:.0f} s]")
        for variant in (*variants, "plain loop"):
            each = ", ".join(f"{r:,.0f}" for r in rates[variant])
            print(f"  {variant}: {rate[variant]:,.0f} events/s (rounds: {each})")
            # the limit of the products' precision: the variant's, else the preset's (the
            # plain loop's is float32)
            precision = ("float32" if variant == "plain loop" else
                         VARIANTS[variant].get("matmul_precision", p.matmul_precision))
            packed = packs.get(variant, False)
            limit = rate[getattr(torch, precision), packed]
            gflops = rate[variant] * per_event[packed] / 1e9
            rows.append((label, variant, rate[variant], gflops, limit, gflops / limit,
                         rate[variant] / rate["plain loop"]))
    each = f"{threads} threads" if threads else "each preset's threads (one)"
    print(f"\n{rounds} rounds of {steps} timed steps (medians), {each}\n")
    print("| model | variant | events/s | GFLOP/s | matmul limit (GFLOP/s) | of the limit "
          "| x plain loop |")
    print("|---|---|---|---|---|---|---|")
    for label, variant, events, gflops, limit, fraction, ratio in rows:
        print(f"| {label} | {variant} | {events:,.0f} | {gflops:.1f} | {limit:.1f} | "
              f"{fraction:.0%} | x{ratio:.2f} |")


if __name__ == "__main__":
    main()
