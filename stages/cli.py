"""``makemore``: every stage command under one roof, for use outside DVC.

Subcommands are imported only when run (click's LazyGroup pattern): importing them
all would import torch (train, evaluate), 1-2 s that ``makemore sample`` and the data
stages do not need. ``makemore --help`` still imports every one, to show its help.
"""

import importlib

import click

COMMANDS = {  # name -> "module:attribute" of its click command
    "fetch": "stages.fetch:fetch",
    "split": "stages.split:split",
    "windows": "stages.windows:windows",
    "sequences": "stages.sequences:sequences",
    "train": "stages.train:train",
    "ensemble": "stages.ensemble:ensemble",
    "evaluate": "stages.evaluate:evaluate",
    "sample": "stages.sample:sample",
    "lr-find": "stages.lr_find:lr_find",
    "embedding": "stages.embedding:embedding",
    "preset": "stages.preset:preset",
    "compare": "stages.compare:compare",
}


class LazyGroup(click.Group):
    """A group whose subcommands are named up front and imported on first use."""

    def __init__(self, *args, lazy_commands: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy_commands = lazy_commands

    def list_commands(self, ctx):
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx, cmd_name):
        if cmd_name not in self.lazy_commands:
            return super().get_command(ctx, cmd_name)
        module, attribute = self.lazy_commands[cmd_name].split(":")
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.lazy_commands[cmd_name]} is not a click command")
        return command


@click.group(cls=LazyGroup, lazy_commands=COMMANDS)
def main():
    """The makemore pipeline's stages: fetch, split, windows, sequences, train, ensemble,
    evaluate, sample, lr-find, embedding; and two for experiments: preset (named experiments) and compare
    (the leaderboard, with paired intervals)."""


if __name__ == "__main__":
    main()
