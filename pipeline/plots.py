"""Loss curves as DVC plot files: CSV of (step, log10_loss)."""

from pipeline import files


def write_loss_curve(path, curve):
    lines = ["step,log10_loss"] + [f"{step},{value:.6f}" for step, value in curve]
    files.write_text(path, "\n".join(lines) + "\n")
