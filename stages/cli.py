"""``makemore``: every stage command under one roof, for use outside DVC."""

import click

from stages.evaluate import evaluate
from stages.fetch import fetch
from stages.sample import sample
from stages.split import split
from stages.train import train
from stages.windows import windows


@click.group()
def main():
    """The makemore pipeline's stages: fetch, split, windows, train, evaluate, sample."""


for command in (fetch, split, windows, train, evaluate, sample):
    main.add_command(command)

if __name__ == "__main__":
    main()
