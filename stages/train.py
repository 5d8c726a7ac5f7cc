from dataclasses import asdict

import click

from pipeline.checkpoint import Checkpoint, save_checkpoint
from pipeline.data import model_data
from pipeline.device import resolve_device
from pipeline.errors import PipelineError
from pipeline.models import ARCHS, build_model, count_params
from pipeline.params import MODEL_SECTIONS, ModelParams, TrainParams, WindowParams, load_params
from pipeline.plots import write_loss_curve
from pipeline.train import train as train_model
from stages.common import model_argument, params_option, stage


@click.command()
@model_argument
@params_option
@click.option("--quiet", is_flag=True, help="No progress bar.")
@stage
def train(model, params_path, quiet):
    """Train MODEL (mlp: params 'baseline'; wavenet: params 'model', whose model.arch
    picks the architecture) with params 'train'."""
    params = load_params(params_path)
    mp, tp = ModelParams.load(params, model), TrainParams.load(params)
    resolve_device(tp.device)  # no GPU for train.device cuda: say so before any work
    reads = ARCHS[mp.arch].reads
    sizes = WindowParams.load(params).block_sizes  # no windows are built at other sizes
    if reads == "windows" and mp.block_size not in sizes:
        raise PipelineError(f"params.yaml: {MODEL_SECTIONS[model]}.block_size must be one of "
                            f"windows.block_sizes {list(sizes)} for the {mp.arch} model, "
                            f"got {mp.block_size}")
    config = mp.config(vocab_size=0)
    data, vocab = model_data(reads, config)
    config = mp.config(vocab_size=len(vocab))
    net = build_model(config, seed=tp.seed)
    click.echo(f"{model} ({mp.arch}): {count_params(net):,} parameters; {tp.steps:,} steps of "
               f"{tp.optimizer} at batch {tp.batch_size} {reads}")
    X, Y = data["train"]
    curve = train_model(net, X, Y, tp, progress=not quiet)
    save_checkpoint(f"models/{model}.safetensors",
                    Checkpoint(net, config, vocab, step=tp.steps, train=asdict(tp)))
    write_loss_curve(f"metrics/loss/{model}.csv", curve)


if __name__ == "__main__":
    train()
