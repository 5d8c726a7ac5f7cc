"""What every stage command shares: the --params option and one-line errors."""

import functools
import sys

import click

from pipeline.errors import PipelineError
from pipeline.params import MODEL_NAME

params_option = click.option(
    "--params", "params_path", default="params.yaml", show_default=True,
    type=click.Path(dir_okay=False), help="The params file to read.")

# a name of params.yaml's models (mlp, wavenet, ngram, ...); it names the model's files
model_argument = click.argument("model")


def stage(fn):
    """Run a stage body; a PipelineError becomes ``error: <message>`` and exit 1."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            model = kwargs.get("model")
            if model is not None and not MODEL_NAME.fullmatch(model):
                raise PipelineError(f"model {model!r}: a model is named with lower-case "
                                    "letters, digits, '-' and '_' (see models in params.yaml)")
            return fn(*args, **kwargs)
        except PipelineError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(1)
    return wrapper
