"""Sampling as a name generator: temperature, top-k, a prefix, only new names, no repeats;
seeded for every architecture; bad values in one line; by hand nothing tracked is written."""

import numpy as np
import pytest
from click.testing import CliRunner

from pipeline.checkpoint import Checkpoint, save_checkpoint
from pipeline.models import build_model
from pipeline.sample import Controls, sample_kept, sample_names, shaped
from pipeline.split import write_splits
from pipeline.vocab import Vocabulary
from stages.cli import main
from test_checkpoint_and_sample import ARCH_CONFIGS

VOCAB = Vocabulary(tuple(".abcdefghijklmnopqrstuvwxyz"))
CONFIGS = ARCH_CONFIGS  # every architecture, small


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: c.arch)
def test_every_control_is_seeded_for_every_architecture(cfg):
    model = build_model(cfg, seed=0).eval()
    controls = Controls(temperature=0.7, top_k=5, prefix="ka")
    a = sample_kept(model, VOCAB, 30, 1, 12, controls, exclude={"ka"}, unique=True)
    b = sample_kept(model, VOCAB, 30, 1, 12, controls, exclude={"ka"}, unique=True)
    c = sample_kept(model, VOCAB, 30, 2, 12, controls, exclude={"ka"}, unique=True)
    assert a == b and a[0] != c[0]
    names = a[0]
    assert len(names) == len(set(names)) == 30 and "ka" not in names
    assert all(n.startswith("ka") and len(n) <= 12 and "." not in n for n in names)


def test_without_controls_the_names_are_the_plain_draws():
    model = build_model(CONFIGS[1], seed=0).eval()
    names, draws = sample_kept(model, VOCAB, 40, 3, 20)
    assert names == sample_names(model, VOCAB, 40, 3, 20) and draws == 40


def test_the_prefix_is_read_as_context():
    """A window model fed 'q' must see it: its first draw differs from one without."""
    model = build_model(CONFIGS[0], seed=0).eval()
    seen = []
    forward = model.forward
    model.forward = lambda idx, targets=None: (seen.append(idx.clone()), forward(idx))[1]
    sample_names(model, VOCAB, 2, 0, 5, Controls(prefix="qu"))
    assert seen[0].tolist() == [[0, 17, 21]] * 2  # '.', 'q', 'u': the last 3 characters


def test_top_k_and_temperature_shape_the_distribution():
    logits = np.log(np.array([[0.1, 0.2, 0.3, 0.4]]))
    top2 = shaped(logits, Controls(top_k=2))
    assert np.isneginf(top2[0, :2]).all() and np.allclose(top2[0, 2:], logits[0, 2:])
    cold = np.exp(shaped(logits, Controls(temperature=0.5)))
    assert np.allclose(cold / cold.sum(), np.array([1, 4, 9, 16]) / 30)
    assert shaped(logits, Controls()) is logits  # the default draws are untouched


def test_top_1_is_greedy():
    model = build_model(CONFIGS[2], seed=0).eval()
    names, _ = sample_kept(model, VOCAB, 10, 0, 12, Controls(top_k=1))
    assert len(set(names)) == 1


def test_asking_for_more_new_names_than_can_be_found_stops():
    model = build_model(CONFIGS[0], seed=0).eval()
    names, draws = sample_kept(model, VOCAB, 5, 0, 12, Controls(top_k=1), unique=True,
                               max_draws=50)
    assert names and len(names) == 1 and draws == 50


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project folder with a tiny trained-looking WaveNet and a training split."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text("sample: {count: 4, seed: 42, max_length: 20}\n")
    cfg = CONFIGS[1]
    save_checkpoint(tmp_path / "models/wavenet.safetensors",
                    Checkpoint(build_model(cfg, seed=0).eval(), cfg, VOCAB, step=1, train={}))
    write_splits({"train": ["anna", "bob"]}, VOCAB, tmp_path / "data/splits")
    return tmp_path


def makemore(*args):
    return CliRunner().invoke(main, ["sample", "wavenet", *args])


def test_by_hand_it_prints_and_writes_nothing_tracked(project):
    result = makemore("--count", "5", "--prefix", "ka", "--temperature", "0.8", "--top-k",
                      "10", "--novel", "--seed", "7")
    assert result.exit_code == 0, result.output
    names = result.output.split()
    assert len(names) == 5 and all(n.startswith("ka") for n in names)
    assert makemore("--count", "5", "--prefix", "ka", "--temperature", "0.8", "--top-k",
                    "10", "--novel", "--seed", "7").output.split() == names
    assert not (project / "metrics").exists()


def test_metrics_writes_the_stage_outputs(project):
    result = makemore("--metrics")
    assert result.exit_code == 0, result.output
    assert len((project / "metrics/samples/wavenet.txt").read_text().splitlines()) == 4
    assert (project / "metrics/samples/wavenet.json").is_file()


@pytest.mark.parametrize("args, message", [
    (["--temperature", "0"], "error: --temperature must be a number > 0 (1 leaves the "
                             "model's probabilities as they are), got 0"),
    (["--temperature", "nan"], "error: --temperature must be a number > 0"),
    (["--top-k", "0"], "error: --top-k must be an integer >= 1 (1 always takes the "
                       "likeliest character), got 0"),
    (["--top-k", "28"], "error: --top-k must be at most the vocabulary size (27) of "
                        "models/wavenet.safetensors, got 28"),
    (["--prefix", "kä"], "error: --prefix 'kä': 'ä' is not in the vocabulary of "
                         "models/wavenet.safetensors (abcdefghijklmnopqrstuvwxyz)"),
    (["--prefix", "a.b"], "error: --prefix 'a.b': '.' marks a name's start and end"),
    (["--count", "0"], "error: --count must be an integer >= 1, got 0"),
    (["--count", "3", "--top-k", "1", "--novel", "--unique"],
     "error: found only 1 new and distinct names of the 3 asked for in 300 draws"),
    (["--metrics", "--count", "3"], "error: --metrics writes the stage's outputs from "
                                    "params.yaml alone"),
])
def test_bad_values_get_one_line(project, args, message):
    result = makemore(*args)
    assert result.exit_code == 1
    assert result.output.startswith(message), result.output
    assert len(result.output.strip().splitlines()) == 1

