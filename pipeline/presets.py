"""Named experiments: a preset is a small YAML file in presets/ holding the params that
differ from params.yaml, run as one DVC experiment of the same name.

    # presets/tf-64x4-d01.yaml
    description: transformer 4x64, dropout 0.1
    extends: sequence-recipe          # optional: another preset's params, merged first
    params:
      model: {arch: transformer, block_size: null, n_embd: 64, ...}

A preset is nothing but ``dvc exp run -n NAME -S key=value ...``: params.yaml stays the
one place of every default, ``dvc repro`` never reads presets, and ``dvc exp show`` lists
the run under the preset's name.
"""

from pathlib import Path

import yaml

from pipeline.errors import PipelineError

PRESETS_DIR = Path("presets")


def preset_names(folder=PRESETS_DIR) -> list[str]:
    return sorted(p.stem for p in Path(folder).glob("*.yaml"))


def read_preset(name: str, folder=PRESETS_DIR) -> dict:
    """The preset's file as a mapping with ``description`` and ``params``."""
    path = Path(folder) / f"{name}.yaml"
    if not path.is_file():
        raise PipelineError(f"no preset {name!r} in {folder}/ (presets: "
                            f"{', '.join(preset_names(folder)) or 'none'})")
    try:
        preset = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise PipelineError(f"{path}: not valid YAML ({e})")
    if (not isinstance(preset, dict) or not isinstance(preset.get("params"), dict)
            or set(preset) - {"description", "extends", "params"}):
        raise PipelineError(f"{path}: a preset is a mapping of description, extends "
                            "(optional) and params (a mapping of params.yaml's sections)")
    return preset


def preset_params(name: str, folder=PRESETS_DIR, _seen=()) -> dict:
    """The params a preset sets, its ``extends`` chain merged in first."""
    if name in _seen:
        raise PipelineError(f"presets extend each other in a loop: {' -> '.join(_seen)} -> {name}")
    preset = read_preset(name, folder)
    base = preset.get("extends")
    merged = preset_params(base, folder, (*_seen, name)) if base else {}
    return merge(merged, preset["params"])


def merge(base: dict, override: dict) -> dict:
    """``base`` with ``override`` laid over it key by key, nested mappings merged."""
    out = dict(base)
    for key, value in override.items():
        both = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = merge(out[key], value) if both else value
    return out


def set_params(params: dict, prefix="", known: dict | None = None) -> list[str]:
    """``key.path=value`` for every leaf, as ``dvc exp run -S`` takes them. Where
    ``known`` (params.yaml) lacks a key, ``++key.path=value`` adds it whole: a new
    model's section, a new entry of models or ensembles."""
    out = []
    for key, value in params.items():
        path = f"{prefix}{key}"
        if known is not None and key not in known:
            out.append(f"++{path}={yaml_value(value)}")
        elif isinstance(value, dict) and value:
            below = known.get(key) if known is not None else None
            out += set_params(value, f"{path}.", below if isinstance(below, dict) else None)
        else:
            out.append(f"{path}={yaml_value(value)}")
    return out


def yaml_value(value) -> str:
    """A value as DVC parses it back from ``-S``: YAML flow style on one line."""
    return yaml.safe_dump(value, default_flow_style=True, width=10**6).strip().removesuffix(
        "\n...").strip()


def exp_run_command(name: str, queue=False, folder=PRESETS_DIR,
                    params: dict | None = None) -> list[str]:
    """The ``dvc exp run`` argument list that runs preset ``name`` (no shell); keys that
    ``params`` (params.yaml) lacks are added."""
    command = ["dvc", "exp", "run", "-n", name, *(["--queue"] if queue else [])]
    for setting in set_params(preset_params(name, folder), known=params):
        command += ["-S", setting]
    return command


def check_preset(name: str, params: dict, folder=PRESETS_DIR) -> dict:
    """params.yaml with the preset laid over it, checked as every stage would check it,
    so a bad preset fails before DVC starts."""
    from pipeline import params as p

    merged = merge(params, preset_params(name, folder))
    for section in (p.DataParams, p.SplitParams, p.WindowParams, p.SampleParams,
                    p.LrFindParams):
        section.load(merged)
    for model in p.model_sections(merged):
        p.ModelParams.load(merged, model)
        p.TrainParams.load(merged, model)
    for ensemble in p.ensemble_sections(merged):
        p.EnsembleParams.load(merged, ensemble)
    return merged
