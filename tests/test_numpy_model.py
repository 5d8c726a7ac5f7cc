"""The numpy eval-mode model that sampling uses: the torch model's logits, without torch."""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from conftest import ROOT
from pipeline.checkpoint import Checkpoint, save_checkpoint
from pipeline.errors import PipelineError
from pipeline.models import ModelConfig, build_model
from pipeline.numpy_model import NumpyModel, load_numpy_model
from pipeline.vocab import Vocabulary
from stages.cli import COMMANDS, main

VOCAB = Vocabulary(tuple(".abcdefghijklmnopqrstuvwxyz"))


def config(arch, block_size, n_embd, hidden, batch_norm=True):
    return ModelConfig(arch=arch, vocab_size=27, block_size=block_size, n_embd=n_embd,
                       hidden=hidden, batch_norm=batch_norm)


def trained_looking(cfg, seed=0) -> torch.nn.Module:
    """A model in eval mode whose batch norms have non-trivial running statistics,
    weights and biases (fresh ones are 0, 1, 1 and 0: a bug could hide behind them)."""
    model = build_model(cfg, seed=seed)
    with torch.no_grad():
        for _ in range(3):  # train-mode passes move the running statistics
            model(torch.randint(0, 27, (64, cfg.block_size)))
        for p in model.parameters():
            if p.ndim == 1:  # the biases, and batch norm's weights
                p.add_(torch.randn_like(p) * 0.5)
    return model.eval()


def numpy_state(model) -> dict:
    return {k: v.numpy() for k, v in model.state_dict().items()}


CONFIGS = [config("mlp", 3, 10, 200), config("mlp", 3, 10, 200, False),
           config("wavenet", 8, 24, 128), config("wavenet", 8, 24, 128, False),
           config("wavenet", 2, 4, 16), config("wavenet", 16, 6, 32)]


@pytest.mark.parametrize("cfg", CONFIGS)
def test_logits_match_torch_in_eval_mode(cfg):
    model = trained_looking(cfg)
    if cfg.batch_norm:
        assert model.net[2].running_var.ne(1).any() and model.net[2].weight.ne(1).all()
    idx = torch.randint(0, 27, (500, cfg.block_size))
    with torch.no_grad():
        expected, _ = model(idx)
    got = NumpyModel(cfg, numpy_state(model)).logits(idx.numpy())
    assert got.dtype == np.float32 and got.shape == (500, 27)
    assert torch.allclose(torch.from_numpy(got), expected, atol=1e-5, rtol=0)


@pytest.fixture
def checkpoint_path(tmp_path):
    cfg = config("wavenet", 8, 6, 16)
    model = trained_looking(cfg)
    path = tmp_path / "models/wavenet.safetensors"
    save_checkpoint(path, Checkpoint(model, cfg, VOCAB, step=5, train={}))
    return path, model


def test_loads_from_a_checkpoint_file(checkpoint_path):
    path, model = checkpoint_path
    net, vocab = load_numpy_model(path)
    assert vocab == VOCAB and net.config == model.config
    idx = torch.randint(0, 27, (50, 8))
    with torch.no_grad():
        expected, _ = model(idx)
    assert torch.allclose(torch.from_numpy(net.logits(idx.numpy())), expected, atol=1e-5, rtol=0)


def test_damaged_checkpoint_is_refused(checkpoint_path):
    path, _ = checkpoint_path
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(PipelineError, match="wavenet.safetensors: damaged or not a makemore"):
        load_numpy_model(path)


def test_weights_that_do_not_fit_the_config_are_refused(checkpoint_path, tmp_path):
    path, model = checkpoint_path
    wrong = ModelConfig.from_json({**model.config.to_json(), "hidden": 17})
    other = tmp_path / "other.safetensors"
    save_checkpoint(other, Checkpoint(model, wrong, VOCAB, step=5, train={}))
    with pytest.raises(PipelineError, match=r"other.safetensors: damaged .*net.1.weight has shape"):
        load_numpy_model(other)


NO_TORCH = ("import sys; bad = sorted(m for m in sys.modules if m == 'torch' or "
            "m.startswith('torch.')); assert not bad, bad")


def run_python(code: str, cwd) -> str:
    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_sampling_imports_no_torch(checkpoint_path):
    path, _ = checkpoint_path
    project = path.parent.parent
    (project / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    # the makemore command, sampling from a checkpoint
    sample = "from stages.cli import main; main(['sample', 'wavenet', '--count', '5', " \
             "'--out', '-'], standalone_mode=False); "
    assert len(run_python(sample + NO_TORCH, project).splitlines()) == 5
    # and the stage's module, as `python -m stages.sample` imports it
    run_python("import stages.sample; " + NO_TORCH, project)


def test_help_lists_every_command():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    listed = [line.split()[0] for line in result.output.split("Commands:")[1].splitlines()
              if line.strip()]
    assert listed == sorted(COMMANDS) == ["evaluate", "fetch", "sample", "split", "train",
                                          "windows"]
