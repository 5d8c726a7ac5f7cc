import time

import click

from pipeline import train_time
from pipeline.checkpoint import Checkpoint, checkpoint_path, load_checkpoint, save_checkpoint
from pipeline.data import model_data
from pipeline.errors import PipelineError
from pipeline.evaluate import rows_per_pass, split_loss
from pipeline.models import ParamError, build_model, make_config
from pipeline.params import EnsembleParams, load_params
from stages.common import model_argument, params_option, stage


@click.command()
@model_argument
@params_option
@stage
def ensemble(model, params_path):
    """Mix the trained models named in params.yaml's ensembles.MODEL.members: their
    next-character distributions, weighted (mix: linear) or multiplied, each raised to
    its weight (mix: loglinear), with the weights that give val its lowest loss ->
    ensembles/MODEL.safetensors, a checkpoint holding every member, which
    the evaluate and sample stages read as any model's.

    Its training time, for makemore compare, is the sum of its members' (as recorded
    when each was trained) and the fit's; none is recorded when a member's is unknown."""
    params = load_params(params_path)
    entry = EnsembleParams.load(params, model)
    paths = [checkpoint_path(params, name) for name in entry.members]
    members = [load_checkpoint(path) for path in paths]
    vocab = members[0].vocab
    for path, member in zip(paths, members):
        if member.vocab != vocab:
            raise PipelineError(f"{path}: the vocabulary differs from {paths[0]}'s; every "
                                f"member of ensembles.{model} must be trained on the same "
                                "data (dvc repro trains them)")
    config = make_config("ensemble", vocab_size=len(vocab), block_size=0, n_embd=0,
                         names=tuple(entry.members), mix=entry.mix,
                         members=tuple(m.config.to_json() for m in members))
    net = build_model(config)
    for member, loaded in zip(net.members, members):
        member.load_state_dict(loaded.model.state_dict())
    data, _ = model_data(net.reads, config, f"ensembles.{model}")
    X, Y = data["val"]
    started = time.perf_counter()
    try:
        steps = net.fit_weights(X, Y, rows=rows_per_pass(net, X))
    except ParamError as e:
        raise PipelineError(f"params.yaml: ensembles.{model}.{e}")
    seconds = time.perf_counter() - started
    weights = ", ".join(f"{name} {w:.4f}" for name, w in zip(entry.members, net.weights))
    click.echo(f"{model} ({entry.mix}): weights {weights} ({steps} steps on val, "
               f"{seconds:.1f} s); val loss {split_loss(net, X, Y):.4f}")
    path = checkpoint_path(params, model)
    save_checkpoint(path, Checkpoint(net, config, vocab, step=0,
                                     train={"fitted_on": "val", "mix": entry.mix}))
    recorded = [train_time.recorded(train_time.file_md5(p)) for p in paths]
    if all(recorded):
        total = seconds + sum(r["seconds"] for r in recorded)
        try:
            where = train_time.record(path, total, sum(r["steps"] for r in recorded))
            click.echo(f"trained in {total:.1f} s, its members' and the fit's "
                       f"(recorded in {where})")
        except OSError as e:
            click.echo(f"trained in {total:.1f} s (not recorded: {e})")
    else:
        click.echo("training time not recorded: a member's is unknown (trained elsewhere)")


if __name__ == "__main__":
    ensemble()
