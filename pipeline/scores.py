"""A model's scores file, metrics/<name>.json: its train / val / test loss and parameter
count, held under the model's own name::

    {"wavenet": {"train": 1.769262, "val": 1.993885, "test": 1.989418, "params": 76579}}

so that `dvc exp show` heads each column with a short name found in no other file
(``wavenet.val``, not ``metrics/wavenet.json:val_loss``) and every model's four numbers
come first, in that order, within a 200-column terminal (docs/experiments.md)."""

SPLITS = ("train", "val", "test")


def scores_path(model: str) -> str:
    return f"metrics/{model}.json"


def scores(model: str, metrics: dict) -> dict:
    """The file's contents, from {"train_loss", "val_loss", "test_loss", "params"}."""
    return {model: {**{split: metrics[f"{split}_loss"] for split in SPLITS},
                    "params": metrics["params"]}}


def read_scores(contents: dict, model: str) -> dict:
    """{"train_loss", "val_loss", "test_loss", "params"} of a scores file; a revision
    older than this layout held them flat, and reads as it is."""
    if model not in contents:
        return contents
    held = contents[model]
    return {**{f"{split}_loss": held[split] for split in SPLITS}, "params": held["params"]}
