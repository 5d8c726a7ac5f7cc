import math
import time

import click

from pipeline import files, train_time
from pipeline.checkpoint import Checkpoint, model_checkpoint, save_checkpoint
from pipeline.evaluate import leading_events, split_loss
from pipeline.errors import PipelineError
from pipeline.models import count_params, fitted_by_counting
from pipeline.models.ngram import TablesTooLarge
from pipeline.params import load_params, model_section
from pipeline.plots import write_loss_curve
from pipeline.start import fresh_model
from pipeline.train import fit_by_counting
from pipeline.train import train as train_model
from pipeline.watch import Watch
from stages.common import model_argument, params_option, stage

# the loss at initialisation (and a counted model's training loss once fitted) is measured
# on the first this many training events: all of the lecture's 182,625; on a list of
# millions, a figure to ±0.001 at a bounded cost (the evaluate stage scores every event)
INITIAL_EVENTS = 2**18


@click.command()
@model_argument
@params_option
@click.option("--quiet", is_flag=True, help="No progress bar.")
@stage
def train(model, params_path, quiet):
    """Train MODEL (mlp: params 'baseline'; wavenet: params 'model', whose model.arch
    picks the architecture) with params 'train'. Also records the loss of the freshly
    initialised model on the training split (at most its first INITIAL_EVENTS events),
    beside the uniform guess's -ln(1/vocab).

    A model fitted by counting (bigram, ngram) counts the training events instead: no
    steps, an empty loss curve, a checkpoint at step 0; its initial loss, before
    counting, is the uniform one.

    Every train.eval_every steps (and after the last) it scores the model on all val
    events and logs train and val loss to metrics/live/MODEL (DVCLive); with
    train.keep: best it saves the weights of the lowest val loss, at their step.

    The wall time of training (val looks included, data loading not) goes to the log and,
    under the checkpoint's md5, to $MAKEMORE_CACHE/train_seconds (default
    ~/.cache/makemore), outside the tracked outputs: makemore compare shows it."""
    params = load_params(params_path)
    mp, tp, net, data, vocab = fresh_model(params, model)
    counted = fitted_by_counting(net)
    how = ("fitted by counting" if counted else
           f"{tp.steps:,} steps of {tp.optimizer} at batch {tp.batch_size}")
    click.echo(f"{model} ({mp.arch}): {count_params(net):,} parameters; {how} {net.reads}")
    X, Y = data["train"]
    first = leading_events(X, Y, INITIAL_EVENTS)
    initial = {"initial_loss": round(split_loss(net, *first), 6),
               "uniform_loss": round(math.log(len(vocab)), 6)}
    where = "the training split" if len(first[0]) == len(X) else \
        f"the first {int((first[1] >= 0).sum()):,} events of the training split"
    click.echo(f"initial loss {initial['initial_loss']:.4f} on {where} "
               f"(uniform prediction: {initial['uniform_loss']:.4f})")
    watch = Watch(net, data["val"], f"metrics/live/{model}", tp.keep)
    started = time.perf_counter()
    if counted:
        try:
            fit_by_counting(net, X, Y, progress=not quiet)
        except TablesTooLarge as e:  # name the key where it is
            raise PipelineError(f"params.yaml: {model_section(params, model)}.{e}") from None
        watch(0, split_loss(net, *first))  # one look: the fitted model, on the same events
        curve, step, record = [], 0, {"fitted_by": "counting"}
    else:
        curve = train_model(net, X, Y, tp, progress=not quiet, look=watch)
        step, record = tp.steps, tp.record()
    seconds = time.perf_counter() - started
    best = watch.finish()
    if best is not None:
        click.echo(f"kept the weights of step {best:,}, the lowest val loss "
                   f"({watch.best_loss:.4f}; train.keep: best)")
        step = best
    checkpoint = model_checkpoint(model)
    save_checkpoint(checkpoint, Checkpoint(net, net.config, vocab, step=step, train=record))
    write_loss_curve(f"metrics/loss/{model}.csv", curve)
    files.write_json(f"metrics/init/{model}.json", initial)
    # the time is no output (outputs repeat byte for byte): it goes to a per-user cache,
    # under the checkpoint's md5, for makemore compare
    try:
        where = train_time.record(checkpoint, seconds, 0 if counted else tp.steps)
        click.echo(f"trained in {seconds:.1f} s (recorded in {where})")
    except OSError as e:
        click.echo(f"trained in {seconds:.1f} s (not recorded: {e})")


if __name__ == "__main__":
    train()
