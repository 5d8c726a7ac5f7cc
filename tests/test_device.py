"""train.device: the logic CI can check without a GPU."""

import dataclasses

import pytest
import torch

import pipeline.device as device_module
from pipeline.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from pipeline.device import resolve_device
from pipeline.errors import PipelineError
from pipeline.models import build_model, make_config
from pipeline.params import TrainParams
from pipeline.train import train
from pipeline.vocab import Vocabulary

P = TrainParams(steps=20, batch_size=8, lr=0.1, lr_final=0.01, decay_at=0.75, optimizer="sgd",
                schedule="step", weight_decay=0.0, seed=0, log_every=10, compile=False)


def test_cpu_is_the_cpu():
    assert resolve_device("cpu") == torch.device("cpu")


def test_auto_falls_back_to_the_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")


def test_cuda_without_a_gpu_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(PipelineError, match="train.device is cuda, but torch finds no CUDA GPU"):
        resolve_device("cuda")


def test_auto_training_matches_cpu_training_without_a_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    cfg = make_config("hierarchical", vocab_size=5, block_size=4, n_embd=4, hidden=8)
    X, Y = torch.randint(0, 5, (64, 4)), torch.randint(0, 5, (64,))
    a, b = build_model(cfg, seed=0), build_model(cfg, seed=0)
    train(a, X, Y, P, progress=False)
    train(b, X, Y, dataclasses.replace(P, device="auto"), progress=False)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(),
                                                  b.state_dict().values()))


def test_checkpoint_names_no_device(tmp_path):
    # saved from the CPU whatever the model's device; loaded on the CPU
    cfg = make_config("gated", vocab_size=27, block_size=4, n_embd=4, residual=8, skip=8)
    model = build_model(cfg, seed=0)
    path = tmp_path / "m.safetensors"
    save_checkpoint(path, Checkpoint(model, cfg, Vocabulary(tuple(".abcdefghijklmnopqrstuvwxyz")),
                                     step=1, train={"device": "cuda"}))
    loaded = load_checkpoint(path)  # a model trained with train.device cuda, say
    assert loaded.train == {"device": "cuda"}
    assert all(t.device.type == "cpu" for t in loaded.model.state_dict().values())
    logits, _ = loaded.model(torch.zeros((2, 3), dtype=torch.long))
    assert logits.shape == (2, 3, 27)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_train_stage_refuses_cuda_before_any_work(tmp_path, monkeypatch):
    import yaml
    from click.testing import CliRunner

    from conftest import ROOT
    from stages.cli import main
    monkeypatch.chdir(tmp_path)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["train"]["device"] = "cuda"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    result = CliRunner().invoke(main, ["train", "wavenet"])
    assert result.exit_code == 1 and "train.device is cuda, but torch finds no CUDA GPU" in \
        result.stderr
    assert not (tmp_path / "models").exists()


def test_bfloat16_products_on_a_cpu_without_bfloat16_kernels_are_warned_of(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr(device_module, "_cpu_has_bfloat16_kernels", lambda: False)
    warning = device_module.slow_precision_warning("bfloat16", cpu)
    assert warning.startswith("warning: train.matmul_precision is bfloat16, but this CPU")
    assert "set train.matmul_precision: float32" in warning and "\n" not in warning
    assert device_module.slow_precision_warning("float32", cpu) is None
    assert device_module.slow_precision_warning("bfloat16", torch.device("cuda")) is None
    monkeypatch.setattr(device_module, "_cpu_has_bfloat16_kernels", lambda: True)
    assert device_module.slow_precision_warning("bfloat16", cpu) is None


def test_the_slow_precision_warning_comes_before_any_data_is_read(monkeypatch, capsys):
    import yaml

    import pipeline.start
    from conftest import ROOT
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    monkeypatch.setattr(device_module, "_cpu_has_bfloat16_kernels", lambda: False)

    def no_data(*args):
        raise RuntimeError("data read")
    monkeypatch.setattr(pipeline.start, "model_data", no_data)
    for precision, warned in (("float32", False), ("bfloat16", True)):
        params["train"]["matmul_precision"] = precision
        with pytest.raises(RuntimeError, match="data read"):
            pipeline.start.fresh_model(params, "wavenet")
        assert ("train.matmul_precision is bfloat16" in capsys.readouterr().err) == warned
