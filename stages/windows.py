import os

import click

from pipeline.errors import PipelineError
from pipeline.params import WindowParams, load_params
from pipeline.split import SPLITS, read_split, read_vocab
from pipeline.windows import context_windows, save_windows, windows_path
from stages.common import params_option, stage


def block_size_of_dvc_stage() -> int:
    """Under DVC, the foreach item from the stage name ``windows@<block size>``.

    dvc.yaml passes the block size this way rather than on the command line, so
    that no value from params.yaml is ever interpolated into a shell command.
    """
    name = os.environ.get("DVC_STAGE", "")
    item = name.partition("@")[2]
    if not item.isdigit():
        raise PipelineError(f"no BLOCK_SIZE given, and DVC_STAGE={name!r} is not windows@<int>")
    return int(item)


@click.command()
@click.argument("block_size", type=click.IntRange(min=1), required=False)
@params_option
@click.option("--splits", "splits_dir", default="data/splits", show_default=True,
              type=click.Path(file_okay=False))
@click.option("--out", default=None, type=click.Path(dir_okay=False),
              help=f"Default: {windows_path('<BLOCK_SIZE>')}")
@stage
def windows(block_size, params_path, splits_dir, out):
    """Every (context of BLOCK_SIZE characters, next character) example of every split.

    BLOCK_SIZE must be one of windows.block_sizes; under DVC it comes from the stage name.
    """
    sizes = WindowParams.load(load_params(params_path)).block_sizes
    block_size = block_size or block_size_of_dvc_stage()
    if block_size not in sizes:
        raise PipelineError(f"block size {block_size} is not in windows.block_sizes {list(sizes)}")
    out = out or windows_path(block_size)
    vocab = read_vocab(f"{splits_dir}/vocab.json")
    tensors = {s: context_windows(read_split(f"{splits_dir}/{s}.parquet"), vocab, block_size)
               for s in SPLITS}
    save_windows(out, tensors, vocab, block_size)
    counts = " / ".join(f"{s} {len(y):,}" for s, (_, y) in tensors.items())
    click.echo(f"windows at block size {block_size}: {counts} -> {out}")


if __name__ == "__main__":
    windows()
