import click

from pipeline import files
from pipeline.checkpoint import load_checkpoint, model_checkpoint
from pipeline.embedding_map import embedding_map, map_rows, nearest_neighbours, neighbours_text
from pipeline.plots import write_csv
from stages.common import model_argument, stage


@click.command()
@model_argument
@stage
def embedding(model):
    """The character embeddings of MODEL's checkpoint as a 2-D map (PCA unless n_embd is
    2) -> metrics/embedding/<MODEL>.csv (the plot), .json (explained variance) and
    .neighbours.txt (each character's nearest ones, by cosine)."""
    ckpt = load_checkpoint(model_checkpoint(model))
    out = f"metrics/embedding/{model}"
    if getattr(ckpt.model, "embedding", None) is None:
        note = f"the {ckpt.config.arch} model has no character embedding"
        write_csv(f"{out}.csv", ["char", "x", "y"], [])  # the declared outputs, empty
        files.write_json(f"{out}.json", {"note": note})
        files.write_text(f"{out}.neighbours.txt", f"# {note}\n")
        click.echo(f"{model}: {note}; nothing to map")
        return
    table = ckpt.model.embedding.weight.detach().numpy()  # (vocab, n_embd)
    itos = ckpt.vocab.itos
    coords, explained = embedding_map(table)
    metrics = {"n_embd": table.shape[1]}
    if explained is not None:
        metrics.update(explained_variance_x=round(explained[0], 6),
                       explained_variance_y=round(explained[1], 6),
                       explained_variance=round(sum(explained), 6))
    write_csv(f"{out}.csv", ["char", "x", "y"], map_rows(itos, coords))
    files.write_json(f"{out}.json", metrics)
    title = (f"nearest neighbours by cosine similarity in the {model}'s "
             f"{table.shape[1]}-dimensional character embeddings")
    files.write_text(f"{out}.neighbours.txt",
                     neighbours_text(itos, nearest_neighbours(table), title))
    shown = ("the table itself (n_embd 2)" if explained is None else
             f"PCA, explained variance {explained[0]:.1%} + {explained[1]:.1%}")
    click.echo(f"{model}: {len(itos)} characters mapped to 2-D: {shown} -> {out}.csv")


if __name__ == "__main__":
    embedding()
