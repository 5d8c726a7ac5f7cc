import click

from pipeline import files
from pipeline.checkpoint import checkpoint_path, load_checkpoint
from pipeline.data import model_data
from pipeline.evaluate import evaluate as evaluate_model
from pipeline.evaluate import name_losses
from pipeline.models import count_params
from pipeline.params import TrainParams, load_params
from pipeline.plots import write_csv
from pipeline.scores import scores, scores_path
from pipeline.device import resolve_device
from stages.common import model_argument, params_option, stage


@click.command()
@model_argument
@params_option
@stage
def evaluate(model, params_path):
    """Full-split train/val/test loss of MODEL's checkpoint and its parameter count ->
    metrics/<MODEL>.json (pipeline/scores.py), and
    each val and test name's summed loss -> metrics/names/<MODEL>.csv (for paired
    comparisons), computed on train.device."""
    params = load_params(params_path)
    device = resolve_device(TrainParams.load(params).device)
    ckpt = load_checkpoint(checkpoint_path(params, model))
    ckpt.model.to(device)
    data, _ = model_data(ckpt.model.reads, ckpt.config)
    metrics = {**evaluate_model(ckpt.model, data, progress=True),
               "params": count_params(ckpt.model)}
    files.write_json(scores_path(model), scores(model, metrics), sort_keys=False)
    write_csv(f"metrics/names/{model}.csv", ["split", "name", "events", "log_loss"],
              [{"split": split, "name": i, "events": int(n), "log_loss": f"{loss:.6f}"}
               for split in ("val", "test")
               for i, (loss, n) in enumerate(zip(*name_losses(ckpt.model, *data[split],
                                                              f"{split} names")))])
    click.echo(f"{model} ({ckpt.config.arch}): " + ", ".join(f"{k} {v}" for k, v in metrics.items()))


if __name__ == "__main__":
    evaluate()
