import click

from pipeline import files
from pipeline.checkpoint import load_checkpoint
from pipeline.data import model_data
from pipeline.evaluate import evaluate as evaluate_model
from pipeline.models import count_params
from pipeline.params import TrainParams, load_params
from pipeline.device import resolve_device
from stages.common import model_argument, params_option, stage


@click.command()
@model_argument
@params_option
@stage
def evaluate(model, params_path):
    """Full-split train/val/test loss of MODEL's checkpoint -> metrics/<MODEL>.json,
    computed on train.device."""
    device = resolve_device(TrainParams.load(load_params(params_path)).device)
    ckpt = load_checkpoint(f"models/{model}.safetensors")
    ckpt.model.to(device)
    data, _ = model_data(ckpt.model.reads, ckpt.config)
    metrics = {**evaluate_model(ckpt.model, data), "params": count_params(ckpt.model)}
    files.write_json(f"metrics/{model}.json", metrics)
    click.echo(f"{model} ({ckpt.config.arch}): " + ", ".join(f"{k} {v}" for k, v in metrics.items()))


if __name__ == "__main__":
    evaluate()
