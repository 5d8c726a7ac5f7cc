import click

from pipeline import files
from pipeline.checkpoint import load_checkpoint
from pipeline.evaluate import evaluate as evaluate_model
from pipeline.models import count_params
from pipeline.windows import load_windows
from stages.common import model_argument, stage


@click.command()
@model_argument
@stage
def evaluate(model):
    """Full-split train/val/test loss of MODEL's checkpoint -> metrics/<MODEL>.json."""
    ckpt = load_checkpoint(f"models/{model}.safetensors")
    windows, _, _ = load_windows(f"data/windows/block_{ckpt.config.block_size}.safetensors")
    metrics = {**evaluate_model(ckpt.model, windows), "params": count_params(ckpt.model)}
    files.write_json(f"metrics/{model}.json", metrics)
    click.echo(f"{model}: " + ", ".join(f"{k} {v}" for k, v in metrics.items()))


if __name__ == "__main__":
    evaluate()
