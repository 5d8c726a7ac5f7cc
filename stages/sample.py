import click
import torch

from pipeline import files
from pipeline.checkpoint import load_checkpoint
from pipeline.params import SampleParams, load_params
from pipeline.sample import sample_names, sample_report
from pipeline.split import read_split
from stages.common import model_argument, params_option, stage


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
    # one thread: at sampling's sizes a second one mostly waits (and the bits are the same)
    torch.set_num_threads(1)
    ckpt = load_checkpoint(f"models/{model}.safetensors")
    names = sample_names(ckpt.model, ckpt.vocab, count, seed, p.max_length)
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
