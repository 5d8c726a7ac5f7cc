import math
from dataclasses import asdict

import click

from pipeline import files
from pipeline.checkpoint import Checkpoint, save_checkpoint
from pipeline.evaluate import split_loss
from pipeline.models import count_params
from pipeline.params import load_params
from pipeline.plots import write_loss_curve
from pipeline.start import fresh_model
from pipeline.train import train as train_model
from stages.common import model_argument, params_option, stage


@click.command()
@model_argument
@params_option
@click.option("--quiet", is_flag=True, help="No progress bar.")
@stage
def train(model, params_path, quiet):
    """Train MODEL (mlp: params 'baseline'; wavenet: params 'model', whose model.arch
    picks the architecture) with params 'train'. Also records the loss of the freshly
    initialised model on the training split, beside the uniform guess's -ln(1/vocab)."""
    mp, tp, net, data, vocab = fresh_model(load_params(params_path), model)
    click.echo(f"{model} ({mp.arch}): {count_params(net):,} parameters; {tp.steps:,} steps of "
               f"{tp.optimizer} at batch {tp.batch_size} {net.reads}")
    X, Y = data["train"]
    initial = {"initial_loss": round(split_loss(net, X, Y), 6),
               "uniform_loss": round(math.log(len(vocab)), 6)}
    click.echo(f"initial loss {initial['initial_loss']:.4f} on the training split "
               f"(uniform prediction: {initial['uniform_loss']:.4f})")
    curve = train_model(net, X, Y, tp, progress=not quiet)
    save_checkpoint(f"models/{model}.safetensors",
                    Checkpoint(net, net.config, vocab, step=tp.steps, train=asdict(tp)))
    write_loss_curve(f"metrics/loss/{model}.csv", curve)
    files.write_json(f"metrics/init/{model}.json", initial)


if __name__ == "__main__":
    train()
