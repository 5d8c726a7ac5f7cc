import click

from pipeline.fetch import fetch_names
from pipeline.params import DataParams, load_params
from stages.common import params_option, stage


@click.command()
@params_option
@click.option("--out", default="data/raw/names.txt", show_default=True, type=click.Path())
@stage
def fetch(params_path, out):
    """Get the names list (data.url; offline, $MAKEMORE_DATA: a copy of the list that
    data.sha256 pins) into data/raw/."""
    p = DataParams.load(load_params(params_path))
    source, named_by = fetch_names(p.url, p.sha256, out, say=click.echo)
    checked = "checksum verified" if p.sha256 else "no checksum set (data.sha256 empty)"
    click.echo(f"fetched {source} (named by {named_by}) -> {out} ({checked})")


if __name__ == "__main__":
    fetch()
