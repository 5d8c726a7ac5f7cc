import click

from pipeline import files
from pipeline.checkpoint import load_checkpoint
from pipeline.data import model_data
from pipeline.evaluate import evaluate as evaluate_model
from pipeline.models import count_params
from stages.common import model_argument, stage


@click.command()
@model_argument
@stage
def evaluate(model):
    """Full-split train/val/test loss of MODEL's checkpoint -> metrics/<MODEL>.json."""
    ckpt = load_checkpoint(f"models/{model}.safetensors")
    data, _ = model_data(ckpt.model.reads, ckpt.config)
    metrics = {**evaluate_model(ckpt.model, data), "params": count_params(ckpt.model)}
    files.write_json(f"metrics/{model}.json", metrics)
    click.echo(f"{model} ({ckpt.config.arch}): " + ", ".join(f"{k} {v}" for k, v in metrics.items()))


if __name__ == "__main__":
    evaluate()
