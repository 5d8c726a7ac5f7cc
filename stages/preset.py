import shlex
import subprocess
import sys

import click

from pipeline.params import load_params
from pipeline.presets import check_preset, exp_run_command, preset_names, read_preset
from stages.common import params_option, stage


@click.group()
def preset():
    """Named experiments (presets/NAME.yaml), each run as `dvc exp run -n NAME -S ...`."""


@preset.command("list")
def list_presets():
    """Every preset, with its description."""
    for name in preset_names():
        click.echo(f"{name:24} {read_preset(name).get('description', '')}")


@preset.command()
@click.argument("name")
@params_option
@click.option("--queue", is_flag=True, help="Queue it (dvc queue start runs the queue).")
@stage
def show(name, params_path, queue):
    """Print the dvc command that runs preset NAME, after checking its params."""
    click.echo(shlex.join(checked_command(name, params_path, queue)))


@preset.command()
@click.argument("name")
@params_option
@click.option("--queue", is_flag=True, help="Queue it instead of running it now.")
@stage
def run(name, params_path, queue):
    """Run preset NAME as a DVC experiment of that name (checked first)."""
    command = checked_command(name, params_path, queue)
    click.echo(shlex.join(command), err=True)
    # the DVC installed beside this makemore, whether or not its bin/ is on PATH
    sys.exit(subprocess.run([sys.executable, "-m", *command]).returncode)


def checked_command(name, params_path, queue) -> list[str]:
    """The dvc command of preset NAME, once its params pass every stage's checks."""
    params = load_params(params_path)
    check_preset(name, params)
    return exp_run_command(name, queue, params=params)


if __name__ == "__main__":
    preset()
