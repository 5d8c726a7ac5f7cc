import click

from pipeline.sequences import SEQUENCES_PATH, name_sequences, save_sequences, sequence_width
from pipeline.split import SPLITS, read_split, read_vocab
from stages.common import stage


@click.command()
@click.option("--splits", "splits_dir", default="data/splits", show_default=True,
              type=click.Path(file_okay=False))
@click.option("--out", default=SEQUENCES_PATH, show_default=True,
              type=click.Path(dir_okay=False))
@stage
def sequences(splits_dir, out):
    """Every name of every split as a padded row of indices (for whole-name models)."""
    vocab = read_vocab(f"{splits_dir}/vocab.json")
    splits = {s: read_split(f"{splits_dir}/{s}.parquet") for s in SPLITS}
    width = sequence_width(splits)
    tensors = {s: name_sequences(names, vocab, width) for s, names in splits.items()}
    save_sequences(out, tensors, vocab)
    counts = " / ".join(f"{s} {len(x):,} names, {int((y >= 0).sum()):,} events"
                        for s, (x, y) in tensors.items())
    click.echo(f"sequences of width {width}: {counts} -> {out}")


if __name__ == "__main__":
    sequences()
