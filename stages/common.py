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
