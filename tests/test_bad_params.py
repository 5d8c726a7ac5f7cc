"""Bad params are refused before any work, naming the key and what would be valid."""


import copy
import re

import pytest
import yaml
from click.testing import CliRunner

from stages.cli import main
from conftest import ROOT

CASES = [  # (stage args, params override "section.key" (or several: {key: value}), value,
           #  the error must contain)
    (["train", "wavenet"], "model.hidden", 0, "model.hidden must be an integer >= 1, got 0"),
    (["train", "mlp"], "baseline.n_embd", -3, "baseline.n_embd must be an integer >= 1, got -3"),
    (["train", "mlp"], "train.steps", 0, "train.steps must be an integer >= 1, got 0"),
    (["train", "mlp"], "train.batch_size", -1, "train.batch_size must be an integer >= 1"),
    (["train", "mlp"], "train.lr", 0, "train.lr must be a number in (0.0, 10.0], got 0"),
    (["train", "mlp"], "train.lr", -0.1, "train.lr must be a number in (0.0, 10.0]"),
    (["train", "wavenet"], "model.block_size", 6,
     "model.block_size must be a power of two >= 2 for the hierarchical model (it fuses "
     "pairs), got 6"),
    (["train", "wavenet"], "model.block_size", 16,
     "model.block_size must be one of windows.block_sizes [3, 8] for the hierarchical model"),
    (["train", "wavenet"], "model.block_size", None,
     "model.block_size must be an integer >= 1 for the hierarchical model (null, the longest "
     "name + 1, is for transformer and bow only)"),
    (["train", "mlp"], "baseline.block_size", None,
     "baseline.block_size must be an integer >= 1 for the mlp model (null, the longest name "
     "+ 1, is for transformer and bow only)"),
    (["train", "wavenet"], {"model.arch": "gru", "model.block_size": None}, None,
     "model.block_size must be an integer >= 1 for the gru model (null, the longest name + 1, "
     "is for transformer and bow only)"),
    (["train", "wavenet"], "model.block_size", 0, "model.block_size must be an integer >= 1, got 0"),
    (["train", "wavenet"], "model.block_size", "x",
     "model.block_size must be an integer >= 1, got 'x'"),
    (["train", "wavenet"], "model.hiden", 68,
     "unknown key model.hiden (valid keys: arch, block_size, n_embd, hidden, batch_norm, "
     "bigram, bow, gated, gru, lstm, ngram, rnn, transformer, train)"),
    (["train", "mlp"], "baseline.arch", "gated",
     "unknown key baseline.arch (valid keys: block_size, n_embd, hidden, batch_norm, init, train)"),
    (["train", "mlp"], "baseline.init", "xavier",
     "baseline.init must be one of kaiming, normal, got 'xavier'"),
    (["train", "wavenet"], "model.init", "normal",
     "unknown key model.init (valid keys: arch, block_size, n_embd, hidden, batch_norm, "
     "bigram, bow, gated, gru, lstm, ngram, rnn, transformer, train)"),
    (["lr-find", "mlp"], "lr_find.max_exp", -3,
     "lr_find.max_exp must be a number above lr_find.min_exp (-3), got -3.0"),
    (["lr-find", "wavenet"], "lr_find.min_exp", -11,
     "lr_find.min_exp must be a number in [-10.0, 1.0], got -11"),
    (["lr-find", "mlp"], "lr_find.steps", 1, "lr_find.steps must be an integer >= 2, got 1"),
    (["lr-find", "mlp"], "lr_find.smoothing", 5000,
     "lr_find.smoothing must be an integer from 1 to lr_find.steps (1000), got 5000"),
    (["lr-find", "mlp"], "train.batch_size", 0, "train.batch_size must be an integer >= 1"),
    (["train", "wavenet"], "model.arch", "gpt",
     "model.arch must be one of hierarchical, dilated, gated, transformer, rnn, gru, lstm, bow, "
     "ngram, bigram, "
     "got 'gpt'"),
    (["train", "wavenet"], {"model.arch": "dilated", "model.block_size": 12}, None,
     "model.block_size must be a power of two >= 2 for the dilated model"),
    (["train", "wavenet"], {"model.arch": "gated", "model.gated.norm": "group"}, None,
     "model.gated.norm must be one of batch, layer, none, got 'group'"),
    (["train", "wavenet"], {"model.arch": "gated", "model.gated.dropout": 1.0}, None,
     "model.gated.dropout must be a number in [0.0, 1.0), got 1.0"),
    (["train", "wavenet"], {"model.arch": "gated", "model.gated.channels": 8}, None,
     "unknown key model.gated.channels (valid keys: residual, skip, cycles, norm, dropout)"),
    (["train", "wavenet"], {"model.arch": "gated", "model.gated": "big"}, None,
     "section 'model.gated' is missing or not a mapping"),
    (["train", "wavenet"], {"model.arch": "transformer", "model.transformer.n_head": 5}, None,
     "model.transformer.n_head must be a divisor of model.n_embd (24), got 5"),
    (["train", "wavenet"], {"model.arch": "transformer", "model.transformer.n_layer": 0}, None,
     "model.transformer.n_layer must be an integer >= 1, got 0"),
    (["train", "wavenet"], {"model.arch": "ngram", "model.ngram.order": 0}, None,
     "model.ngram.order must be an integer >= 1, got 0"),
    (["lr-find", "wavenet"], {"model.arch": "bigram", "model.bigram.smoothing": -1}, None,
     "model.bigram.smoothing must be a number in (0.0, 1000000.0), got -1"),
    (["train", "wavenet"], {"model.arch": "gru", "model.gru.hidden": 0}, None,
     "model.gru.hidden must be an integer >= 1, got 0"),
    (["train", "wavenet"], {"model.arch": "lstm", "model.lstm.dropout": 1.0}, None,
     "model.lstm.dropout must be a number in [0.0, 1.0), got 1.0"),
    (["train", "wavenet"], {"model.arch": "rnn", "model.rnn.n_head": 4}, None,
     "unknown key model.rnn.n_head (valid keys: hidden, n_layer, dropout)"),
    (["train", "wavenet"], {"model.arch": "bow", "model.bow.n_layer": 0}, None,
     "model.bow.n_layer must be an integer >= 1, got 0"),
    (["train", "mlp"], "train.optimizer", "adam", "train.optimizer must be one of sgd, adamw"),
    (["train", "mlp"], "train.seed", "x", "train.seed must be an integer >= 0, got 'x'"),
    (["train", "mlp"], "train.compile", "yes", "train.compile must be true or false, got 'yes'"),
    (["train", "mlp"], "train.warmup_steps", 200000,
     "train.warmup_steps must be an integer >= 0 and below train.steps (200000), got 200000"),
    (["train", "mlp"], "train.sampling", "shuffle",
     "train.sampling must be one of replacement, epochs, got 'shuffle'"),
    (["train", "mlp"], "train.matmul_precision", "float16",
     "train.matmul_precision must be one of float32, bfloat16, got 'float16'"),
    (["train", "mlp"], "train.schedule", "exp", "train.schedule must be one of step, cosine, linear"),
    (["train", "mlp"], "train.device", "tpu", "train.device must be one of cpu, cuda, auto"),
    (["train", "mlp"], "train.ema", 1.0, "train.ema must be a number in [0.0, 1.0), got 1.0"),
    (["train", "mlp"], "train.ema", -0.1, "train.ema must be a number in [0.0, 1.0), got -0.1"),
    (["train", "wavenet"], "model.train.ema", 1.5,
     "model.train.ema must be a number in [0.0, 1.0), got 1.5"),
    (["evaluate", "mlp"], "train.device", "gpu", "train.device must be one of cpu, cuda, auto"),
    (["split"], "split.train", 0.95, "split.train + split.val must be < 1"),
    (["split"], "split.val", 0, "split.val must be a number in (0.0, 1.0], got 0"),
    (["split"], "split.shuffles", 0, "split.shuffles must be an integer >= 1, got 0"),
    (["windows", "3"], "windows.block_sizes", [0, 3], "windows.block_sizes must be a non-empty"),
    (["windows", "5"], "windows.block_sizes", [3, 8], "block size 5 is not in windows.block_sizes"),
    (["sample", "mlp"], "sample.count", 0, "sample.count must be an integer >= 1, got 0"),
    (["fetch"], "data.sha256", "abc", "data.sha256 must be 64 hex digits, or empty"),
    # strict types: no bools for numbers, no strings for bools, no inf/nan
    (["train", "mlp"], "train.steps", True, "train.steps must be an integer >= 1, got True"),
    (["train", "mlp"], "baseline.hidden", 200.0,
     "baseline.hidden must be an integer >= 1, got 200.0"),
    (["train", "mlp"], "train.lr", float("inf"),
     "train.lr must be a number in (0.0, 10.0], got inf"),
    (["train", "wavenet"], {"model.arch": "gated", "model.gated.dropout": float("nan")}, None,
     "model.gated.dropout must be a number in [0.0, 1.0), got nan"),
    # a model's own train: subsection is checked as train is, under its full key
    (["train", "wavenet"], "model.train.lr", 0,
     "model.train.lr must be a number in (0.0, 10.0], got 0"),
    (["lr-find", "mlp"], "baseline.train.batch_size", 0,
     "baseline.train.batch_size must be an integer >= 1, got 0"),
    (["train", "mlp"], "baseline.train.stpes", 5,
     "unknown key baseline.train.stpes (valid keys: steps, batch_size, lr, lr_final,"),
    (["train", "wavenet"], "model.train", 5, "section 'model.train' is missing or not a mapping"),
]


def with_overrides(params: dict, overrides: dict) -> dict:
    """As ``dvc exp run -S key=value`` for each dotted key."""
    for key, value in overrides.items():
        *parents, name = key.split(".")
        section = params
        for parent in parents:
            section = section.setdefault(parent, {})
        section[name] = value
    return params


@pytest.mark.parametrize("args, key, value, error", CASES,
                         ids=[",".join(f"{k}={v}" for k, v in (c[1] if isinstance(c[1], dict) else
                                                                {c[1]: c[2]}).items())
                              for c in CASES])
def test_bad_param_is_refused_before_work(tmp_path, monkeypatch, args, key, value, error):
    monkeypatch.chdir(tmp_path)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    overrides = key if isinstance(key, dict) else {key: value}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(with_overrides(params, overrides)))
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    assert f"error: " in result.stderr and error in result.stderr
    assert not list(tmp_path.rglob("*.safetensors")) and not (tmp_path / "data").exists()


def test_unknown_model_name(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, ["train", "gpt"])
    assert result.exit_code == 1
    assert result.stderr == ("error: params.yaml: no model 'gpt' in models (models: mlp, "
                             "wavenet, ngram, bigram)\n")


@pytest.mark.parametrize("command", ["train", "evaluate", "sample", "embedding"])
def test_a_model_name_cannot_leave_its_folder(command):
    result = CliRunner().invoke(main, [command, "../../etc/x"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: model '../../etc/x': a model is named with ")


@pytest.mark.parametrize("entry, error", [
    ({"models.gpt": "nowhere"}, "models.gpt must name the section of params.yaml that "
                                "defines the model, got 'nowhere'"),
    ({"models": ["mlp"]}, "section 'models' is missing or not a mapping"),
])
def test_bad_model_entries(tmp_path, monkeypatch, entry, error):
    monkeypatch.chdir(tmp_path)
    params = with_overrides(yaml.safe_load((ROOT / "params.yaml").read_text()), entry)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    result = CliRunner().invoke(main, ["train", "mlp"])
    assert result.exit_code == 1 and result.stderr == f"error: params.yaml: {error}\n"


def test_unreadable_params_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text("train:\n  steps: [1,\n")
    result = CliRunner().invoke(main, ["train", "mlp"])
    assert result.exit_code == 1 and "params.yaml line 3: not valid YAML" in result.stderr


def test_exponent_floats_as_dvc_writes_them(tmp_path):
    # `dvc exp run -S train.lr_final=0.00001` writes 1e-05, which PyYAML reads as a string
    from pipeline.params import TrainParams, load_params
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    (tmp_path / "params.yaml").write_text(
        yaml.safe_dump(params).replace("lr_final: 0.01", "lr_final: 1e-05"))
    loaded = load_params(tmp_path / "params.yaml")
    assert loaded["train"]["lr_final"] == "1e-05"
    assert TrainParams.load(loaded).lr_final == 1e-05


def test_a_subsection_key_named_as_a_model_key_is_read_from_the_subsection():
    # model.gru.hidden, not model.hidden (the hierarchical model's), sets the GRU's size
    from pipeline.params import ModelParams
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params = with_overrides(params, {"model.arch": "gru", "model.gru.hidden": 32})
    values = ModelParams.load(params, "wavenet").values
    assert values["hidden"] == 32 and values["n_embd"] == params["model"]["n_embd"]


def test_a_models_train_subsection_overrides_the_shared_one_key_by_key():
    from pipeline.params import TrainParams
    params = with_overrides(yaml.safe_load((ROOT / "params.yaml").read_text()),
                            {"model.train.lr": 0.002, "baseline.train.steps": 7})
    shared, wavenet, mlp = (TrainParams.load(params, m) for m in (None, "wavenet", "mlp"))
    assert (shared.lr, shared.steps, shared.batch_size) == (0.1, 200_000, 32)
    assert (wavenet.lr, wavenet.steps, wavenet.batch_size) == (0.002, 200_000, 32)
    assert (mlp.lr, mlp.steps, mlp.batch_size) == (0.1, 7, 32)


def test_a_new_architecture_is_checked_from_its_config_alone(monkeypatch):
    """A config declared with param(), subsection and check() needs nothing in params.py
    but its name in WAVENET_ARCHS: its ranges, keys and cross-field rule are checked."""
    from dataclasses import dataclass

    from pipeline import params as P
    from pipeline.errors import PipelineError
    from pipeline.models import ARCHS, ModelConfig, ParamError
    from pipeline.models.config import param

    @dataclass(frozen=True)
    class ToyConfig(ModelConfig):
        subsection = "toy"
        width: int = param(3, minimum=2)
        rate: float = param(0.5, below=1.0)

        def check(self):
            if self.width > self.n_embd:
                raise ParamError("width", f"at most model.n_embd ({self.n_embd})", self.width)

    monkeypatch.setitem(ARCHS, "toy", type("Toy", (), {"Config": ToyConfig}))
    monkeypatch.setattr(P, "WAVENET_ARCHS", (*P.WAVENET_ARCHS, "toy"))
    P._model_schema.cache_clear()
    params = with_overrides(yaml.safe_load((ROOT / "params.yaml").read_text()),
                            {"model.arch": "toy", "model.toy.rate": "5e-01"})
    assert P.ModelParams.load(params, "wavenet").values == {
        "block_size": 8, "n_embd": 24, "width": 3, "rate": 0.5}
    for key, value, error in [
            ("width", 1, "model.toy.width must be an integer >= 2, got 1"),
            ("width", 30, "model.toy.width must be at most model.n_embd (24), got 30"),
            ("rate", 1.0, "model.toy.rate must be a number in [0.0, 1.0), got 1.0"),
            ("wdth", 3, "unknown key model.toy.wdth (valid keys: width, rate)")]:
        bad = with_overrides(copy.deepcopy(params), {f"model.toy.{key}": value})
        with pytest.raises(PipelineError, match=re.escape(error)):
            P.ModelParams.load(bad, "wavenet")
    P._model_schema.cache_clear()
