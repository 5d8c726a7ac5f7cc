import click

from pipeline.compare import compare as compare_rows
from pipeline.compare import is_real, read_rows, table, without_repeats
from pipeline.errors import PipelineError
from stages.common import stage


@click.command()
@click.argument("revs", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(["text", "md", "json"]), default="text",
              show_default=True, help="md: the table the README carries; json: for programs.")
@click.option("--resamples", type=click.IntRange(min=2000), default=10_000, show_default=True,
              help="Bootstrap resamples of the val names.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@stage
def compare(revs, fmt, resamples, seed):
    """One row per model of the workspace and of each REV given (a git revision or a DVC
    experiment, e.g. HEAD~1 or tf-64x4-d01), best val first, with the paired-bootstrap
    95% interval of each model's val difference from the best; 'real' marks those whose
    interval excludes zero. Reads metrics/<model>.json and metrics/names/<model>.csv.

    'train time' is the train stage's wall time as recorded on this machine under the
    checkpoint's md5 in dvc.lock ($MAKEMORE_CACHE/train_seconds, default
    ~/.cache/makemore); '–' where there is none: trained on another machine, or before
    training times were recorded."""
    rows = without_repeats([row for rev in (None, *revs) for row in read_rows(rev)])
    if not rows:
        raise PipelineError("no evaluated models found: run `dvc repro` (or name experiments "
                            "that have run)")
    rows = compare_rows(rows, resamples, seed)
    click.echo(table(rows, fmt))
    if fmt == "text":
        real = sum(map(is_real, rows[1:]))
        click.echo(f"\n{real} of {len(rows) - 1} differences from the best are real "
                   f"(95% paired bootstrap over val names, {resamples:,} resamples)")


if __name__ == "__main__":
    compare()
