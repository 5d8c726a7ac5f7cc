import math
from dataclasses import asdict

import click

from pipeline import files
from pipeline.checkpoint import Checkpoint, save_checkpoint
from pipeline.evaluate import split_loss
from pipeline.models import count_params, fitted_by_counting
from pipeline.params import load_params
from pipeline.plots import write_loss_curve
from pipeline.start import fresh_model
from pipeline.train import fit_by_counting
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
    initialised model on the training split, beside the uniform guess's -ln(1/vocab).

    A model fitted by counting (bigram, ngram) counts the training events instead: no
    steps, an empty loss curve, a checkpoint at step 0; its initial loss, before
    counting, is the uniform one."""
    mp, tp, net, data, vocab = fresh_model(load_params(params_path), model)
    counted = fitted_by_counting(net)
    how = ("fitted by counting" if counted else
           f"{tp.steps:,} steps of {tp.optimizer} at batch {tp.batch_size}")
    click.echo(f"{model} ({mp.arch}): {count_params(net):,} parameters; {how} {net.reads}")
    X, Y = data["train"]
    initial = {"initial_loss": round(split_loss(net, X, Y), 6),
               "uniform_loss": round(math.log(len(vocab)), 6)}
    click.echo(f"initial loss {initial['initial_loss']:.4f} on the training split "
               f"(uniform prediction: {initial['uniform_loss']:.4f})")
    if counted:
        fit_by_counting(net, X, Y, progress=not quiet)
        curve, step, record = [], 0, {"fitted_by": "counting"}
    else:
        curve = train_model(net, X, Y, tp, progress=not quiet)
        step, record = tp.steps, asdict(tp)
    save_checkpoint(f"models/{model}.safetensors",
                    Checkpoint(net, net.config, vocab, step=step, train=record))
    write_loss_curve(f"metrics/loss/{model}.csv", curve)
    files.write_json(f"metrics/init/{model}.json", initial)


if __name__ == "__main__":
    train()
