"""Presets: named experiments that become `dvc exp run -n NAME -S ...`, checked first."""

import shlex

import pytest
import yaml
from click.testing import CliRunner

from conftest import ROOT
from pipeline.errors import PipelineError
from pipeline.params import load_params
from pipeline.presets import (check_preset, exp_run_command, preset_names, preset_params,
                              set_params, yaml_value)
from stages.cli import main

PRESETS = ROOT / "presets"


@pytest.mark.parametrize("name", preset_names(PRESETS))
def test_every_preset_passes_the_params_checks(name):
    check_preset(name, load_params(ROOT / "params.yaml"), PRESETS)


def test_the_records_and_the_performance_log_are_presets():
    names = set(preset_names(PRESETS))
    assert {"tf-44x3-d01-24k", "gated-96-128-d04", "tf-64x4-d01"} <= names
    assert {"perf-rows-1-5", "perf-rows-2-4", "perf-part2"} <= names


@pytest.mark.parametrize("value", [0.1, 1e-05, 24000, True, False, None, "transformer",
                                   [3, 8, 16], "a b: c"])
def test_values_reach_dvc_as_what_they_are(value):
    assert yaml.safe_load(yaml_value(value)) == value


def write(folder, name, text):
    (folder / f"{name}.yaml").write_text(text)


def test_extends_merges_key_by_key(tmp_path):
    write(tmp_path, "base", "params: {model: {train: {lr: 0.1, steps: 5}}, sample: {count: 3}}")
    write(tmp_path, "child", "extends: base\nparams: {model: {arch: gated, train: {lr: 0.002}}}")
    assert preset_params("child", tmp_path) == {
        "model": {"train": {"lr": 0.002, "steps": 5}, "arch": "gated"}, "sample": {"count": 3}}
    assert exp_run_command("child", queue=True, folder=tmp_path) == [
        "dvc", "exp", "run", "-n", "child", "--queue", "-S", "model.train.lr=0.002",
        "-S", "model.train.steps=5", "-S", "model.arch=gated", "-S", "sample.count=3"]


def test_set_params_flattens_to_leaves():
    assert set_params({"a": {"b": {"c": 1}, "d": [1, 2]}, "e": "x"}) == [
        "a.b.c=1", "a.d=[1, 2]", "e=x"]


@pytest.mark.parametrize("files, name, message", [
    ({}, "nope", "no preset 'nope' in"),
    ({"a": "extends: b\nparams: {}", "b": "extends: a\nparams: {}"}, "a",
     "presets extend each other in a loop: a -> b -> a"),
    ({"a": "params: [1, 2]"}, "a", "a.yaml: a preset is a mapping of description"),
    ({"a": "params: {}\nextra: 1"}, "a", "a.yaml: a preset is a mapping of description"),
    ({"a": "params: {model: {hidden: 0}}"}, "a", "model.hidden must be an integer >= 1, got 0"),
])
def test_bad_presets_are_named(tmp_path, files, name, message):
    for file, text in files.items():
        write(tmp_path, file, text)
    with pytest.raises(PipelineError) as error:
        check_preset(name, load_params(ROOT / "params.yaml"), tmp_path)
    assert message in str(error.value)


def test_show_prints_the_dvc_command(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, ["preset", "show", "tf-64x4-d01", "--queue"])
    assert result.exit_code == 0, result.output
    command = shlex.split(result.output)
    assert command[:7] == ["dvc", "exp", "run", "-n", "tf-64x4-d01", "--queue", "-S"]
    assert "model.transformer.n_layer=4" in command


def test_an_unknown_preset_is_one_line(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, ["preset", "run", "tf-1x1"])
    assert result.exit_code == 1
    assert result.output.startswith("error: no preset 'tf-1x1' in presets/ (presets: ")
    assert len(result.output.strip().splitlines()) == 1


def test_run_uses_the_dvc_beside_this_python(monkeypatch):
    """`makemore preset run` works where the venv's bin/ is not on PATH: it runs DVC as
    `python -m dvc` with its own interpreter."""
    import subprocess
    import sys

    ran = []
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(subprocess, "run", lambda argv: ran.append(argv) or
                        subprocess.CompletedProcess(argv, 0))
    result = CliRunner().invoke(main, ["preset", "run", "tf-64x4-d01", "--queue"])
    assert result.exit_code == 0, result.output
    assert ran[0][:6] == [sys.executable, "-m", "dvc", "exp", "run", "-n"]


def test_keys_params_yaml_lacks_are_added_whole():
    """A preset that adds a model (its section and its models entry) or an ensemble
    gets `++`, which dvc exp run -S needs to add a key; keys params.yaml has keep `=`."""
    known = {"models": {"mlp": "baseline"}, "ensembles": {}, "model": {"n_embd": 24}}
    preset = {"models": {"tf": "tf"}, "tf": {"arch": "transformer", "block_size": None},
              "ensembles": {"mix": {"members": ["mlp", "tf"]}}, "model": {"n_embd": 32}}
    assert set_params(preset, known=known) == [
        "++models.tf=tf", "++tf={arch: transformer, block_size: null}",
        "++ensembles.mix={members: [mlp, tf]}", "model.n_embd=32"]
