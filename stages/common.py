"""What every stage command shares: the --params option and one-line errors."""

import functools
import sys

import click

from pipeline.errors import PipelineError
from pipeline.params import MODEL_SECTIONS

params_option = click.option(
    "--params", "params_path", default="params.yaml", show_default=True,
    type=click.Path(dir_okay=False), help="The params file to read.")

model_argument = click.argument("model", type=click.Choice(sorted(MODEL_SECTIONS)))


def stage(fn):
    """Run a stage body; a PipelineError becomes ``error: <message>`` and exit 1."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except PipelineError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(1)
    return wrapper



def fresh_model(params: dict, model: str):
    """What training MODEL starts from: its checked params (model and train), a freshly
    initialised, seeded network and the data it reads. Every params check (the device
    included) runs before any data is read. Returns (ModelParams, TrainParams, net,
    data, vocab)."""
    from pipeline.data import model_data  # torch: imported by the stages that train
    from pipeline.device import resolve_device
    from pipeline.models import ARCHS, build_model
    from pipeline.params import ModelParams, TrainParams, WindowParams

    mp, tp = ModelParams.load(params, model), TrainParams.load(params)
    resolve_device(tp.device)  # no GPU for train.device cuda: say so before any work
    reads = ARCHS[mp.arch].reads
    sizes = WindowParams.load(params).block_sizes  # no windows are built at other sizes
    if reads == "windows" and mp.block_size not in sizes:
        raise PipelineError(f"params.yaml: {MODEL_SECTIONS[model]}.block_size must be one of "
                            f"windows.block_sizes {list(sizes)} for the {mp.arch} model, "
                            f"got {mp.block_size}")
    data, vocab = model_data(reads, mp.config(vocab_size=0))
    net = build_model(mp.config(vocab_size=len(vocab)), seed=tp.seed)
    return mp, tp, net, data, vocab
