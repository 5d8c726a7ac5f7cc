import math

import click
import torch

from pipeline import files
from pipeline.checkpoint import checkpoint_path, load_checkpoint
from pipeline.errors import PipelineError
from pipeline.params import SampleParams, load_params
from pipeline.sample import Controls, sample_kept, sample_report
from pipeline.split import read_split
from stages.common import model_argument, params_option, stage

TRAIN_NAMES = "data/splits/train.parquet"


@click.command()
@model_argument
@params_option
@click.option("--count", type=int, help="How many names (default: sample.count).")
@click.option("--seed", type=int, help="The seed of the draws (default: sample.seed).")
@click.option("--temperature", type=float, default=1.0, show_default=True,
              help="Divides the logits: below 1 safer names, above 1 wilder ones.")
@click.option("--top-k", type=int, help="Draw each character from the k likeliest only.")
@click.option("--prefix", default="", help="Every name starts with this; the model reads it.")
@click.option("--novel", is_flag=True, help="Only names that are not in the training list.")
@click.option("--unique", is_flag=True, help="No name twice.")
@click.option("--out", type=click.Path(dir_okay=False), default="-", show_default=True,
              help="Write the names to this file; '-' prints them.")
@click.option("--metrics", is_flag=True,
              help="Write the sample stage's tracked outputs, metrics/samples/MODEL.txt and "
                   ".json, from params.yaml alone (what `dvc repro` runs).")
@stage
def sample(model, params_path, count, seed, temperature, top_k, prefix, novel, unique, out,
           metrics):
    """Sample names from MODEL's checkpoint, seeded and repeatable. By hand it prints
    them; with --metrics it writes the pipeline's outputs and the share of new names."""
    params = load_params(params_path)
    p = SampleParams.load(params)
    hand_options = (count, seed, temperature != 1.0, top_k, prefix, novel, unique, out != "-")
    if metrics and any(hand_options):
        raise PipelineError("--metrics writes the stage's outputs from params.yaml alone: "
                            "drop the other options, or drop --metrics")
    count, seed = p.count if count is None else count, p.seed if seed is None else seed
    check_options(count, seed, temperature, top_k)
    # one thread: at sampling's sizes a second one mostly waits (and the bits are the same)
    torch.set_num_threads(1)
    path = checkpoint_path(params, model)
    ckpt = load_checkpoint(path)
    check_vocabulary(prefix, top_k, ckpt.vocab, path, p.max_length)
    controls = Controls(temperature, top_k, prefix)
    train = read_split(TRAIN_NAMES) if novel or metrics else ()
    names, draws = sample_kept(ckpt.model, ckpt.vocab, count, seed, p.max_length, controls,
                               exclude=frozenset(train) if novel else frozenset(),
                               unique=unique)
    if len(names) < count:
        wanted = " and ".join(w for w, on in (("new", novel), ("distinct", unique)) if on)
        raise PipelineError(f"found only {len(names)} {wanted} names of the {count} asked "
                            f"for in {draws:,} draws; ask for fewer, or loosen the "
                            "temperature, --top-k or --prefix")
    if metrics:
        report = sample_report(names, train, p.max_length)
        files.write_text(f"metrics/samples/{model}.txt", "\n".join(names) + "\n")
        files.write_json(f"metrics/samples/{model}.json", report)
        click.echo(f"{model}: {count} samples, {report['novel_share']:.1%} not in the "
                   "training names")
    elif out == "-":
        click.echo("\n".join(names))
    else:
        files.write_text(out, "\n".join(names) + "\n")


def check_options(count, seed, temperature, top_k):
    if count < 1:
        raise PipelineError(f"--count must be an integer >= 1, got {count}")
    if seed < 0:
        raise PipelineError(f"--seed must be an integer >= 0, got {seed}")
    if not (math.isfinite(temperature) and temperature > 0):
        raise PipelineError(f"--temperature must be a number > 0 (1 leaves the model's "
                            f"probabilities as they are), got {temperature:g}")
    if top_k is not None and top_k < 1:
        raise PipelineError(f"--top-k must be an integer >= 1 (1 always takes the likeliest "
                            f"character), got {top_k}")


def check_vocabulary(prefix, top_k, vocab, path, max_length):
    """The prefix's characters and top-k against the checkpoint's vocabulary."""
    if top_k is not None and top_k > len(vocab):
        raise PipelineError(f"--top-k must be at most the vocabulary size ({len(vocab)}) of "
                            f"{path}, got {top_k}")
    for ch in prefix:
        if ch == vocab.itos[0] or ch not in vocab.stoi:
            why = ("marks a name's start and end" if ch == vocab.itos[0]
                   else "is not in the vocabulary")
            raise PipelineError(f"--prefix {prefix!r}: {ch!r} {why} of {path} "
                                f"({''.join(vocab.itos[1:])})")
    if len(prefix) >= max_length:
        raise PipelineError(f"--prefix {prefix!r} leaves no room within sample.max_length "
                            f"({max_length})")


if __name__ == "__main__":
    sample()
