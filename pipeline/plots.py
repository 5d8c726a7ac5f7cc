"""DVC plot files: small CSVs that `dvc plots show` and `dvc plots diff` draw."""

import csv
import io

from pipeline import files


def write_csv(path, columns: list[str], rows: list[dict]):
    """A CSV of ``rows`` (dicts holding every column), quoted where a value needs it
    (a character of the vocabulary may be a comma)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator="\n", extrasaction="raise")
    writer.writeheader()
    writer.writerows(rows)
    files.write_text(path, out.getvalue())


def write_loss_curve(path, curve):
    """(step, log10 loss) pairs, six decimals."""
    lines = ["step,log10_loss"] + [f"{step},{value:.6f}" for step, value in curve]
    files.write_text(path, "\n".join(lines) + "\n")
