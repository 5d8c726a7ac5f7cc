import pickle

import numpy as np
import pytest
import torch

from pipeline.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from pipeline.errors import PipelineError
from pipeline.models import ModelConfig, build_model
from pipeline.numpy_model import load_numpy_model
from pipeline.sample import draw, sample_names, sample_report, softmax
from pipeline.vocab import Vocabulary

VOCAB = Vocabulary(tuple(".abcdefghijklmnopqrstuvwxyz"))


@pytest.fixture
def checkpoint(tmp_path):
    cfg = ModelConfig(arch="wavenet", vocab_size=27, block_size=8, n_embd=6, hidden=16)
    model = build_model(cfg, seed=0)
    with torch.no_grad():  # make the running statistics non-trivial
        model(torch.randint(0, 27, (64, 8)))
    path = tmp_path / "wavenet.safetensors"
    save_checkpoint(path, Checkpoint(model.eval(), cfg, VOCAB, step=123, train={"lr": 0.1}))
    return path, model


def test_round_trip_rebuilds_the_same_model(checkpoint):
    path, model = checkpoint
    ckpt = load_checkpoint(path)
    assert ckpt.step == 123 and ckpt.vocab == VOCAB and ckpt.train == {"lr": 0.1}
    assert not ckpt.model.training
    idx = torch.randint(0, 27, (10, 8))
    assert torch.equal(ckpt.model(idx)[0], model(idx)[0])


def test_checkpoint_bytes_are_stable(checkpoint, tmp_path):
    path, _ = checkpoint
    ckpt = load_checkpoint(path)
    again = tmp_path / "again.safetensors"
    save_checkpoint(again, ckpt)
    assert again.read_bytes() == path.read_bytes()


def test_damaged_checkpoint_is_refused(checkpoint):
    path, _ = checkpoint
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(PipelineError, match="wavenet.safetensors: damaged"):
        load_checkpoint(path)


class _Exploit:
    def __reduce__(self):
        return (exec, ("open('PWNED', 'w').write('x')",))


def test_malicious_pickle_is_refused_without_running_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.safetensors"
    path.write_bytes(pickle.dumps(_Exploit()))
    with pytest.raises(PipelineError, match="evil.safetensors: damaged or not a makemore"):
        load_checkpoint(path)
    assert not (tmp_path / "PWNED").exists()


def test_sampling_is_seeded(checkpoint):
    path, _ = checkpoint
    model, vocab = load_numpy_model(path)
    a = sample_names(model, vocab, count=50, seed=1, max_length=12)
    b = sample_names(model, vocab, count=50, seed=1, max_length=12)
    c = sample_names(model, vocab, count=50, seed=2, max_length=12)
    assert a == b and a != c
    assert len(a) == 50 and all(len(n) <= 12 and "." not in n for n in a)


def test_sampling_cuts_at_max_length(checkpoint):
    path, _ = checkpoint
    model, vocab = load_numpy_model(path)
    names = sample_names(model, vocab, count=200, seed=0, max_length=3)
    assert all(len(n) <= 3 for n in names) and any(len(n) == 3 for n in names)


def test_sampling_follows_the_model(checkpoint):
    # an output layer that puts all the probability on 'e' gives names of 'e's alone
    path, _ = checkpoint
    model, vocab = load_numpy_model(path)
    model.layers[-1] = lambda x: np.where(np.arange(27) == 5, 50.0, 0.0)[None].repeat(len(x), 0)
    assert set(sample_names(model, vocab, count=20, seed=0, max_length=6)) == {"eeeeee"}


def test_draw_follows_the_probabilities():
    probs = np.tile([0.1, 0.0, 0.6, 0.3], (100_000, 1))
    counts = np.bincount(draw(probs, np.random.default_rng(0)), minlength=4) / len(probs)
    assert counts[1] == 0 and np.allclose(counts, probs[0], atol=0.01)


def test_softmax_is_stable():
    probs = softmax(np.array([[1000.0, 1000.0, -1000.0]], dtype=np.float32))
    assert probs.dtype == np.float64 and np.allclose(probs, [[0.5, 0.5, 0.0]])


def test_sample_report():
    report = sample_report(["ann", "zed", "ann", "abcd"], ["ann", "bob"], max_length=4)
    assert report == {"count": 4, "novel_share": 0.5, "mean_length": 3.25,
                      "cut_at_max_length": 1}
