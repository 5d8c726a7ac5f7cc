import click

from pipeline.names import read_names
from pipeline.params import SplitParams, load_params
from pipeline.split import split_names, write_splits
from pipeline.vocab import Vocabulary
from stages.common import params_option, stage


@click.command()
@params_option
@click.option("--names", "names_path", default="data/raw/names.txt", show_default=True,
              type=click.Path(dir_okay=False))
@click.option("--out", default="data/splits", show_default=True, type=click.Path(file_okay=False))
@stage
def split(params_path, names_path, out):
    """Shuffle the names into train/val/test parquet files plus vocab.json."""
    p = SplitParams.load(load_params(params_path))
    names, report = read_names(names_path)
    click.echo(report.describe(names_path))
    splits = split_names(names, p.seed, p.train, p.val, p.dedupe, source=names_path,
                         shuffles=p.shuffles)
    vocab = Vocabulary.from_names(names)
    write_splits(splits, vocab, out)
    sizes = " / ".join(f"{k} {len(v):,}" for k, v in splits.items())
    dropped = f" ({report.duplicates} duplicates removed first)" if p.dedupe else ""
    click.echo(f"split {sizes}{dropped}; vocabulary of {len(vocab)} tokens -> {out}")


if __name__ == "__main__":
    split()
