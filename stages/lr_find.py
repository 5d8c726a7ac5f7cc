import click

from pipeline import files
from pipeline.lr_find import lr_find_curve, lr_sweep, suggestion
from pipeline.models import fitted_by_counting
from pipeline.params import LrFindParams, load_params
from pipeline.plots import write_csv
from pipeline.start import fresh_model
from stages.common import model_argument, params_option, stage


@click.command("lr-find")
@model_argument
@params_option
@click.option("--quiet", is_flag=True, help="No progress bar.")
@stage
def lr_find(model, params_path, quiet):
    """Part 2's learning-rate finder for MODEL: a fresh model trained lr_find.steps steps
    with lr rising from 10**lr_find.min_exp to 10**lr_find.max_exp (params 'train'
    otherwise) -> metrics/lr_find/<MODEL>.csv (the plot) and .json (the suggestion)."""
    params = load_params(params_path)
    p = LrFindParams.load(params)
    mp, tp, net, data, _ = fresh_model(params, model)
    if fitted_by_counting(net):  # the declared outputs, holding no curve
        note = f"the {mp.arch} model is fitted by counting: it has no learning rate"
        write_csv(f"metrics/lr_find/{model}.csv", ["exponent", "loss", "smoothed"], [])
        files.write_json(f"metrics/lr_find/{model}.json", {"note": note})
        click.echo(f"{model}: {note}")
        return
    click.echo(f"{model}: {p.steps:,} steps, lr 10^{p.min_exp:g} -> 10^{p.max_exp:g}")
    points = lr_sweep(net, *data["train"], tp, p, progress=not quiet)
    curve = lr_find_curve(points, p.smoothing)
    result = suggestion(points, curve)
    write_csv(f"metrics/lr_find/{model}.csv", ["exponent", "loss", "smoothed"], curve)
    files.write_json(f"metrics/lr_find/{model}.json", result)
    if "suggested_lr" in result:
        click.echo(f"{model}: valley at 10^{result['suggested_exponent']:.3f}: suggested lr "
                   f"{result['suggested_lr']:.3g} (smoothed loss {result['valley_loss']:.4f})")
    if "diverged_at_exponent" in result:
        click.echo(f"{model}: the loss stopped being finite at 10^"
                   f"{result['diverged_at_exponent']:.3f}")


if __name__ == "__main__":
    lr_find()
