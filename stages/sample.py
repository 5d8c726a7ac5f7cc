import os

# One BLAS thread for numpy's matrix products: at sampling's sizes a second thread
# mostly waits, and on a 2-core machine with the other core busy it made the whole
# command twice as slow (0.85 s against 0.45 s); the results are the same bits either
# way. OpenBLAS reads this once, when numpy is first imported, so it comes first.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import click  # noqa: E402

from pipeline import files  # noqa: E402
from pipeline.numpy_model import load_numpy_model  # noqa: E402
from pipeline.params import SampleParams, load_params  # noqa: E402
from pipeline.sample import sample_names, sample_report  # noqa: E402
from pipeline.split import read_split  # noqa: E402
from stages.common import model_argument, params_option, stage  # noqa: E402


@click.command()
@model_argument
@params_option
@click.option("--count", type=click.IntRange(min=1), help="Override sample.count.")
@click.option("--seed", type=click.IntRange(min=0), help="Override sample.seed.")
@click.option("--out", type=click.Path(dir_okay=False),
              help="Write names here instead of metrics/samples/<MODEL>.txt; '-' prints "
                   "them (and writes no metrics).")
@stage
def sample(model, params_path, count, seed, out):
    """Sample names from MODEL's checkpoint; report the share not seen in training."""
    p = SampleParams.load(load_params(params_path))
    count, seed = count or p.count, p.seed if seed is None else seed
    net, vocab = load_numpy_model(f"models/{model}.safetensors")  # numpy: no torch to import
    names = sample_names(net, vocab, count, seed, p.max_length)
    if out == "-":
        click.echo("\n".join(names))
        return
    report = sample_report(names, read_split("data/splits/train.parquet"), p.max_length)
    files.write_text(out or f"metrics/samples/{model}.txt", "\n".join(names) + "\n")
    if out is None:
        files.write_json(f"metrics/samples/{model}.json", report)
    click.echo(f"{model}: {count} samples, {report['novel_share']:.1%} not in the training names")


if __name__ == "__main__":
    sample()
