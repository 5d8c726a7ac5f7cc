"""Where a training step's time goes, kernel by kernel (run by hand, not a test).

    python bench/step_profile.py -p makemore-transformer -v bfloat16 -v eager

Trains a preset's model with ``pipeline.train`` as bench/sequence_speed.py does (one
thread, the preset's batch; variants as there), profiles ``--steps`` steps after a
warm-up that has compiled every batch width, and prints the self time of each group
of kernels, in ms a step and as a share of the step: the matrix products (oneDNN's
mm, addmm, bmm, and inductor's gemm templates), GELU, the attention's softmax, the
loss's log-softmax, layer norm, the optimizer, dropout's mask draws, the framework around
them (dynamo, the compiled graphs' wrappers, autograd), the rest; a group no kernel fell
into is left out. A compiled step's kernels are seen one by one through inductor's
``cpp.enable_kernel_profile``; the profiler's own cost is in the times, so they run a
little slower than bench/sequence_speed.py's.

The products' share is the highest fraction of the matmul limit the step could show
if its products ran at that limit: the rest of the step is time without any.
"""

import dataclasses
import sys
from pathlib import Path

import click
import torch
import torch._inductor.config

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from pipeline.train import train  # noqa: E402
from pipeline.models import build_model  # noqa: E402
from sequence_speed import VARIANTS, preset_model, timed_range, training_data  # noqa: E402

GROUPS = {  # group -> the kernel names it holds (first match wins, in this order)
    "matrix products": ("aoti_torch_cpu_mm_out", "aoti_torch_cpu_addmm_out",
                        "aoti_torch_cpu_bmm_out", "aten::mm", "aten::addmm", "aten::bmm",
                        "gemm", "mkldnn"),
    # compiled in float32, pipeline.models.layers.GELU's kernels: named after its ops, of
    # which copysign is its alone
    "GELU": ("gelu", "copysign"),
    "loss (log-softmax)": ("log_softmax", "nll_loss", "cross_entropy"),
    "attention softmax": ("softmax",),
    "layer norm": ("layer_norm",),
    "optimizer": ("Optimizer.", "aten::_fused_adamw_", "aten::_foreach"),
    # torch's generator drawing dropout's masks, one number at a time: an eager step's
    # draws; of a compiled step's, the kernels that fill the masks' buffers first
    "dropout masks": ("bernoulli",),
    # the calls around the kernels: dynamo's guards, the compiled graphs' wrappers,
    # autograd's engine and gradient accumulation. A graph's C++ wrapper calls some ops
    # through torch's C shim, which the profiler does not record one by one: their time
    # is the wrapper's (a compiled CPU step's dropout draws: pipeline.models.layers.dropout)
    "framework": ("Compiled", "Dynamo", "AOTDispatcher", "Pregraph", "autograd::",
                  "AccumulateGrad"),
}
PROFILER = "ProfilerStep"  # the profiler's own record of each step: not the step's time


def group_of(name: str) -> str:
    return next((g for g, parts in GROUPS.items() if any(p in name for p in parts)), "rest")


def profiled_times(config, X, Y, p, warmup: int, steps: int) -> dict[str, float]:
    """Self time (s) of each group over ``steps`` steps after ``warmup`` steps."""
    model = build_model(config, seed=p.seed)
    schedule = torch.profiler.schedule(wait=warmup - 1, warmup=1, active=steps, repeat=1)
    profile = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU],
                                     schedule=schedule)

    def look(_step, _loss):
        profile.step()
        return 0.0

    with profile:
        train(model, X, Y, dataclasses.replace(p, eval_every=1), progress=False, look=look)
    times = dict.fromkeys((*GROUPS, "rest"), 0.0)
    for event in profile.key_averages():
        if not event.key.startswith(PROFILER):
            times[group_of(event.key)] += event.self_cpu_time_total / 1e6
    return times


@click.command()
@click.option("--preset", "-p", "presets", multiple=True, default=("makemore-transformer",),
              show_default=True)
@click.option("--variant", "-v", "variants", multiple=True, type=click.Choice(list(VARIANTS)),
              default=("bfloat16",), show_default=True)
@click.option("--steps", default=200, show_default=True, help="Profiled steps.")
@click.option("--warmup", default=30, show_default=True, help="Steps before, at least.")
def main(presets, variants, steps, warmup):
    torch._dynamo.config.recompile_limit = 256
    torch._inductor.config.cpp.enable_kernel_profile = True  # each compiled kernel by name
    X, Y, vocab_size = training_data()
    print(f"torch {torch.__version__}, {torch.backends.cpu.get_cpu_capability()}; "
          f"{steps} profiled steps\n")
    for name in presets:
        config, recipe = preset_model(name, vocab_size, X.shape[1])
        first, total = timed_range(X, Y, recipe, warmup, steps)
        columns = {}
        for variant in variants:
            p = dataclasses.replace(recipe, steps=total, warmup_steps=0, log_every=total,
                                    keep="last", **VARIANTS[variant])
            torch.set_num_threads(p.threads)
            columns[variant] = profiled_times(config, X, Y, p, first, steps)
        print(f"{name}, batch {recipe.batch_size}: ms a step (share of the step)\n")
        print("| kernels | " + " | ".join(columns) + " |")
        print("|---|" + "---|" * len(columns))
        for group in (*GROUPS, "rest"):
            if not any(t[group] for t in columns.values()):
                continue  # no kernel of this group ran (dropout masks without dropout)
            cells = (f"{t[group] / steps * 1e3:.2f} ({t[group] / sum(t.values()):.0%})"
                     for t in columns.values())
            print(f"| {group} | " + " | ".join(cells) + " |")
        totals = (f"**{sum(t.values()) / steps * 1e3:.2f}**" for t in columns.values())
        print("| whole step | " + " | ".join(totals) + " |\n")


if __name__ == "__main__":
    main()
