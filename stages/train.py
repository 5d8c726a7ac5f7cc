from dataclasses import asdict

import click

from pipeline.checkpoint import Checkpoint, save_checkpoint
from pipeline.errors import PipelineError
from pipeline.models import ModelConfig, build_model, count_params
from pipeline.params import MODEL_SECTIONS, ModelParams, TrainParams, WindowParams, load_params
from pipeline.plots import write_loss_curve
from pipeline.train import train as train_model
from pipeline.windows import load_windows
from stages.common import model_argument, params_option, stage


@click.command()
@model_argument
@params_option
@click.option("--quiet", is_flag=True, help="No progress bar.")
@stage
def train(model, params_path, quiet):
    """Train MODEL (mlp: params 'baseline'; wavenet: params 'model') with params 'train'."""
    params = load_params(params_path)
    mp, tp = ModelParams.load(params, model), TrainParams.load(params)
    windows_path = f"data/windows/block_{mp.block_size}.safetensors"
    sizes = WindowParams.load(params).block_sizes  # no windows are built at other sizes
    if mp.block_size not in sizes:
        raise PipelineError(f"params.yaml: {MODEL_SECTIONS[model]}.block_size must be one of "
                            f"windows.block_sizes {list(sizes)}, got {mp.block_size}")
    windows, vocab, block_size = load_windows(windows_path)
    if block_size != mp.block_size:
        raise PipelineError(f"{windows_path}: holds block size {block_size}, "
                            f"expected {mp.block_size}; rerun the windows stage")
    config = ModelConfig(arch=model, vocab_size=len(vocab), block_size=mp.block_size,
                         n_embd=mp.n_embd, hidden=mp.hidden, batch_norm=mp.batch_norm)
    net = build_model(config, seed=tp.seed)
    click.echo(f"{model}: {count_params(net):,} parameters; {tp.steps:,} steps of "
               f"{tp.optimizer} at batch {tp.batch_size}")
    X, Y = windows["train"]
    curve = train_model(net, X, Y, tp, progress=not quiet)
    save_checkpoint(f"models/{model}.safetensors",
                    Checkpoint(net, config, vocab, step=tp.steps, train=asdict(tp)))
    write_loss_curve(f"metrics/loss/{model}.csv", curve)


if __name__ == "__main__":
    train()
