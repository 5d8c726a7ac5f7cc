import click

from pipeline.split import SPLITS, read_split, read_vocab
from pipeline.windows import context_windows, save_windows
from stages.common import stage


@click.command()
@click.argument("block_size", type=click.IntRange(min=1))
@click.option("--splits", "splits_dir", default="data/splits", show_default=True,
              type=click.Path(file_okay=False))
@click.option("--out", default=None, type=click.Path(dir_okay=False),
              help="Default: data/windows/block_<BLOCK_SIZE>.safetensors")
@stage
def windows(block_size, splits_dir, out):
    """Every (context of BLOCK_SIZE characters, next character) example of every split."""
    out = out or f"data/windows/block_{block_size}.safetensors"
    vocab = read_vocab(f"{splits_dir}/vocab.json")
    tensors = {s: context_windows(read_split(f"{splits_dir}/{s}.parquet"), vocab, block_size)
               for s in SPLITS}
    save_windows(out, tensors, vocab, block_size)
    counts = " / ".join(f"{s} {len(y):,}" for s, (_, y) in tensors.items())
    click.echo(f"windows at block size {block_size}: {counts} -> {out}")


if __name__ == "__main__":
    windows()
