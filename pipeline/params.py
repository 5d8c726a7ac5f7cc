"""params.yaml: loading, and the schema (pydantic) every section is checked against
before any work starts.

Each stage reads only its own sections. Types are strict (``steps: true`` is refused),
unknown keys and inf/nan are refused, and a failure is one line naming the key and what
would be valid, so ``dvc exp run -S model.hidden=-1`` fails at once, clearly. The model
sections are built from the architectures' config classes (``param`` rules), so each
hyperparameter is declared once, in its config.
"""

import functools
import re
from dataclasses import MISSING, asdict, dataclass, replace
from pathlib import Path
from typing import Annotated, ClassVar, Literal, get_args, get_origin

import pydantic
import yaml
from pydantic import (BeforeValidator, ConfigDict, Field, ValidationError, create_model,
                      model_validator)

from pipeline.errors import PipelineError


def load_params(path="params.yaml") -> dict:
    path = Path(path)
    try:
        params = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PipelineError(f"{path}: not found (run from the project root, or pass --params)")
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise PipelineError(f"{path}{where}: not valid YAML ({getattr(e, 'problem', e)})")
    if not isinstance(params, dict):
        raise PipelineError(f"{path}: expected a mapping of sections, got {type(params).__name__}")
    return params


def _yaml11_float(v):
    """``1e-05`` as a number: YAML 1.1 (PyYAML) reads an exponent without a dot as a
    string, and that is how ``dvc exp run -S train.lr_final=0.00001`` writes it."""
    try:
        return float(v) if isinstance(v, str) else v
    except ValueError:
        return v


Number = Annotated[float, BeforeValidator(_yaml11_float)]


def _empty_if_none(v):
    """A subsection with nothing under it (``gated:``): YAML reads it as None."""
    return {} if v is None else v


STRICT = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)
strict_dataclass = pydantic.dataclasses.dataclass(frozen=True, config=STRICT)


class Section:
    """A section of params.yaml (a strict_dataclass); ``load(params)`` checks it, returns it."""

    name: ClassVar[str]

    @classmethod
    def load(cls, params):
        return _validate(cls, _mapping(params, cls.name), lambda key: cls.name)


def _mapping(parent: dict, key: str, where: str | None = None, optional=False) -> dict:
    value = parent.get(key)
    if value is None and optional:
        return {}
    if not isinstance(value, dict):
        raise PipelineError(f"params.yaml: section '{where or key}' is missing or not a mapping")
    return value


def _validate(schema, values: dict, section_of):
    """``schema`` from ``values``, or a PipelineError from the first failure;
    ``section_of(key)`` says which section of params.yaml the key came from."""
    try:
        return schema(**{str(k): v for k, v in values.items()})
    except ValidationError as e:
        error = e.errors()[0]
        keys = [k for k in error["loc"] if isinstance(k, str)]
        rule = error.get("ctx", {}).get("error")  # a cross-field rule, its text led by the key
        section = section_of((keys or str(rule).split())[0])
        raise PipelineError(f"params.yaml: {_message(schema, error, section, keys, rule)}") \
            from None


def _message(schema, error, section: str, keys: list[str], rule) -> str:
    for key in keys[:-1]:  # down to the (sub)section holding the key
        schema = schema.__pydantic_fields__[key].annotation
    path = ".".join([section, *keys])
    kind = error["type"]
    if kind == "value_error":
        return f"{path}.{rule}"
    if kind in ("extra_forbidden", "unexpected_keyword_argument"):
        return f"unknown key {path} (valid keys: {', '.join(schema.__pydantic_fields__)})"
    if kind == "missing":
        return f"{path} is missing"
    if kind in ("model_type", "dict_type"):
        return f"section '{path}' is missing or not a mapping"
    return f"{path} must be {_valid(schema.__pydantic_fields__[keys[-1]])}, got {error['input']!r}"


def _valid(field) -> str:
    """What a field accepts, in words, from its type and constraints."""
    bound = {k: getattr(m, k) for m in field.metadata for k in ("ge", "gt", "le", "lt")
             if hasattr(m, k)}
    if field.description:
        return field.description
    if field.annotation is bool:
        return "true or false"
    if get_origin(field.annotation) is Literal:
        return "one of " + ", ".join(get_args(field.annotation))
    if field.annotation is str:
        return "a string"
    if field.annotation in (int, int | None):
        return f"an integer >= {bound['ge']}"
    if "lt" not in bound and "le" not in bound:  # no upper bound
        return f"a number > {float(bound['gt'])}" if "gt" in bound else \
            f"a number >= {float(bound['ge'])}"
    low = f"({float(bound['gt'])}" if "gt" in bound else f"[{float(bound['ge'])}"
    high = f"{float(bound['lt'])})" if "lt" in bound else f"{float(bound['le'])}]"
    return f"a number in {low}, {high}"


def _hex_or_empty(v):
    return "" if v is None else v.strip().lower() if isinstance(v, str) else v


@strict_dataclass
class DataParams(Section):
    name = "data"
    url: str = Field(min_length=1, description="a non-empty string")
    sha256: Annotated[str, BeforeValidator(_hex_or_empty)] = Field(
        "", pattern="^([0-9a-f]{64})?$", description="64 hex digits, or empty to skip the check")


@strict_dataclass
class SplitParams(Section):
    name = "split"
    seed: int = Field(42, ge=0)
    train: Number = Field(0.8, gt=0.0, le=1.0)
    val: Number = Field(0.1, gt=0.0, le=1.0)
    dedupe: bool = False
    shuffles: int = Field(1, ge=1)

    @model_validator(mode="after")
    def _leaves_a_test_split(self):
        if self.train + self.val >= 1.0:
            raise ValueError(f"train + split.val must be < 1 to leave a test split, "
                             f"got {self.train} + {self.val}")
        return self


@strict_dataclass
class WindowParams(Section):
    name = "windows"
    block_sizes: list[Annotated[int, Field(ge=1)]] = Field(
        min_length=1, description="a non-empty list of integers >= 1")


@strict_dataclass
class TrainParams(Section):
    """The shared ``train`` section; ``load(params, model)`` overrides it key by key with
    that model's own ``train:`` subsection (``model.train.lr``, ``baseline.train.steps``)."""

    name = "train"
    steps: int = Field(ge=1)
    batch_size: int = Field(ge=1)
    lr: Number = Field(gt=0.0, le=10.0)
    lr_final: Number = Field(0.01, ge=0.0, le=10.0)
    decay_at: Number = Field(0.75, ge=0.0, le=1.0)
    optimizer: Literal["sgd", "adamw"] = "sgd"
    schedule: Literal["step", "cosine", "linear"] = "step"
    weight_decay: Number = Field(0.0, ge=0.0, le=1.0)
    seed: int = Field(42, ge=0)
    log_every: int = Field(1000, ge=1)
    threads: int = Field(1, ge=1)
    compile: bool = True
    warmup_steps: int = Field(0, ge=0)
    sampling: Literal["replacement", "epochs"] = "replacement"
    matmul_precision: Literal["float32", "bfloat16"] = "float32"
    device: Literal["cpu", "cuda", "auto"] = "cpu"
    eval_every: int = Field(0, ge=0)  # steps between val scores; 0: only after the last
    keep: Literal["last", "best"] = "last"  # the weights saved: the last, or the best val
    ema: Number = Field(0.0, ge=0.0, lt=1.0)  # decay of the weights' moving average; 0: off

    @model_validator(mode="after")
    def _warmup_within_steps(self):
        if self.warmup_steps >= self.steps:
            raise ValueError(f"warmup_steps must be an integer >= 0 and below train.steps "
                             f"({self.steps}), got {self.warmup_steps}")
        if self.keep == "best" and not self.eval_every:
            raise ValueError("keep must be last while train.eval_every is 0 (best needs "
                             "val scores during training), got 'best'")
        return self

    def record(self) -> dict:
        """The params as a checkpoint records them: every key, but ``ema`` only when it
        is on, so a run without averaging records (and saves) what it did without the key."""
        return {key: value for key, value in asdict(self).items()
                if key != "ema" or value}

    @classmethod
    def load(cls, params, model: str | None = None):
        name = model_section(params, model) if model else None
        own = _mapping(_mapping(params, name), "train", f"{name}.train", True) if model else {}
        own = {key: value for key, value in own.items() if value is not None}  # null: shared
        return _validate(cls, {**_mapping(params, "train"), **own},
                         lambda key: f"{name}.train" if key in own else "train")


@strict_dataclass
class SampleParams(Section):
    name = "sample"
    count: int = Field(ge=1)
    seed: int = Field(42, ge=0)
    max_length: int = Field(50, ge=1)


@strict_dataclass
class LrFindParams(Section):
    """The learning-rate finder: ``steps`` steps with lr = 10**x, x rising evenly from
    ``min_exp`` to ``max_exp``; the curve is smoothed over ``smoothing`` steps."""

    name = "lr_find"
    steps: int = Field(1000, ge=2)
    min_exp: Number = Field(-3.0, ge=-10.0, le=1.0)  # train.lr's range, (0, 10], as powers of ten
    max_exp: Number = Field(0.0, ge=-10.0, le=1.0)
    smoothing: int = Field(50, ge=1)

    @model_validator(mode="after")
    def _ordered(self):
        if self.min_exp >= self.max_exp:
            raise ValueError(f"max_exp must be a number above lr_find.min_exp "
                             f"({self.min_exp:g}), got {self.max_exp!r}")
        if self.smoothing > self.steps:
            raise ValueError(f"smoothing must be an integer from 1 to lr_find.steps "
                             f"({self.steps}), got {self.smoothing}")
        return self


# Every model `dvc repro` trains is an entry of params.yaml's `models`: its name, which
# names its outputs (models/<name>.safetensors, metrics/<name>.json, ...), -> the section
# that defines it. `baseline` is the MLP's section (no arch key: it is always the MLP);
# every other section picks its architecture with `arch`.
MLP_SECTION = "baseline"
MODEL_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
# the keys every architecture reads from the model section itself, never a subsection;
# where a section leaves them out (a counted model's), the lecture WaveNet's values
SHARED_KEYS = {"block_size": 8, "n_embd": 24}
WAVENET_ARCHS = ("hierarchical", "dilated", "gated", "transformer", "rnn", "gru", "lstm",
                 "bow", "ngram", "bigram")


def model_sections(params) -> dict[str, str]:
    """params.yaml's ``models``: model name -> its section, each checked."""
    models = _mapping(params, "models")
    for name, section in models.items():
        if not isinstance(name, str) or not MODEL_NAME.fullmatch(name):
            raise PipelineError(f"params.yaml: models.{name} must be named with lower-case "
                                "letters, digits, '-' and '_' (it names the model's files)")
        if not isinstance(section, str) or not isinstance(params.get(section), dict):
            raise PipelineError(f"params.yaml: models.{name} must name the section of "
                                f"params.yaml that defines the model, got {section!r}")
    return models


def model_section(params, model: str) -> str:
    """The section that defines ``model``, or a one-line error naming the models."""
    models = model_sections(params)
    if model not in models:
        raise PipelineError(f"params.yaml: no model {model!r} in models (models: "
                            f"{', '.join(models)})")
    return models[model]


def ensemble_sections(params) -> dict[str, dict]:
    """params.yaml's ``ensembles`` (optional, none by default): name -> its entry, each
    named as a model is and unlike any model."""
    ensembles, models = _mapping(params, "ensembles", optional=True), model_sections(params)
    for name in ensembles:
        if not isinstance(name, str) or not MODEL_NAME.fullmatch(name):
            raise PipelineError(f"params.yaml: ensembles.{name} must be named with lower-case "
                                "letters, digits, '-' and '_' (it names the ensemble's files)")
        if name in models:
            raise PipelineError(f"params.yaml: ensembles.{name} has the name of a model of "
                                "models; give the ensemble its own (it names its files)")
    return ensembles


@strict_dataclass
class EnsembleParams:
    """An entry of params.yaml's ``ensembles``: a mixture of models of ``models``, its
    weights fitted on val (dvc.yaml's ensemble stage)."""

    members: list[str] = Field(min_length=2, description="a list of at least two names of "
                                                         "params.yaml's models")
    mix: Literal["linear", "loglinear"] = "linear"

    @classmethod
    def load(cls, params, name: str):
        ensembles = ensemble_sections(params)
        if name not in ensembles:
            raise PipelineError(f"params.yaml: no ensemble {name!r} in ensembles "
                                f"(ensembles: {', '.join(ensembles) or 'none'})")
        entry = _validate(cls, _mapping(ensembles, name, f"ensembles.{name}"),
                          lambda key: f"ensembles.{name}")
        models = model_sections(params)
        for member in entry.members:
            if member not in models:
                raise PipelineError(f"params.yaml: ensembles.{name}.members names {member!r}, "
                                    f"not a model of models (models: {', '.join(models)})")
        if len(set(entry.members)) < len(entry.members):
            raise PipelineError(f"params.yaml: ensembles.{name}.members names a model twice, "
                                f"got {entry.members}")
        return entry


@dataclass(frozen=True)
class ModelParams:
    """A model's section, checked against its architecture's config class: the
    architecture and its hyperparameters (everything but the vocabulary size)."""

    arch: str
    values: dict

    @property
    def block_size(self) -> int | None:
        """None (params.yaml's null, for an architecture with a position limit): the
        longest name + 1, known once the data is read (``resolved``)."""
        return self.values["block_size"]

    def resolved(self, width: int) -> "ModelParams":
        """block_size null as ``width``, the sequences' width: the longest name + 1."""
        if self.block_size is not None:
            return self
        return replace(self, values={**self.values, "block_size": width})

    def config(self, vocab_size: int):
        from pipeline.models import make_config
        return make_config(self.arch, vocab_size=vocab_size, **self.values)

    @classmethod
    def load(cls, params, model: str):
        from pipeline.models import ARCHS, ParamError

        name = model_section(params, model)
        schema = _model_schema("mlp" if name == MLP_SECTION else "arch")
        section = _validate(schema, _mapping(params, name), lambda key: name)
        arch = getattr(section, "arch", "mlp")
        config, sub = ARCHS[arch].Config, ARCHS[arch].Config.subsection
        # a subsection's own keys, even one named as a top key (rnn's hidden)
        values = {f.name: getattr(section if sub is None or f.name in SHARED_KEYS
                                  else getattr(section, sub), f.name)
                  for f in config.hyperparameters()}
        if values["block_size"] is None and not config.position_limit:
            takes = " and ".join(a for a, m in ARCHS.items() if m.Config.position_limit)
            raise PipelineError(f"params.yaml: {name}.block_size must be an integer >= 1 for "
                                f"the {arch} model (null, the longest name + 1, is for "
                                f"{takes} only)")
        try:
            config(arch=arch, vocab_size=0, **values)  # its cross-field rules
        except ParamError as e:
            where = f"{name}.{sub}" if sub and e.key not in SHARED_KEYS else name
            raise PipelineError(f"params.yaml: {where}.{e}")
        return cls(arch=arch, values=values)


@functools.cache
def _model_schema(kind: str):
    """A model's section: its config's hyperparameters and ``train``, the model's
    overrides of the train section (checked by TrainParams). ``kind`` "mlp": the MLP's
    own; "arch": ``arch``, the hierarchical WaveNet's keys and each other architecture's
    own in its subsection."""
    from pipeline.models import ARCHS

    recipe = (Annotated[dict, BeforeValidator(_empty_if_none)], Field(default_factory=dict))
    if kind == "mlp":
        mlp = _config_fields(ARCHS["mlp"].Config)
        return create_model("baseline", __config__=STRICT, **mlp, train=recipe)
    top = _config_fields(ARCHS["hierarchical"].Config)
    top |= {key: (top[key][0], default) for key, default in SHARED_KEYS.items()}
    subsections = {c.Config.subsection: c.Config for c in ARCHS.values() if c.Config.subsection}
    own = {}
    for sub, config in sorted(subsections.items()):
        fields = {k: v for k, v in _config_fields(config).items() if k not in SHARED_KEYS}
        schema = create_model(f"model.{sub}", __config__=STRICT, **fields)
        own[sub] = (Annotated[schema, BeforeValidator(_empty_if_none)],
                    Field(default_factory=schema))
    arch = (Literal[WAVENET_ARCHS], "hierarchical")
    return create_model("model", __config__=STRICT, arch=arch, **top, **own, train=recipe)


def _config_fields(config) -> dict:
    """{name: (type, default)} of a config's hyperparameters, for pydantic: the type with
    the range its ``param`` gives (ints >= minimum, default 1; floats in [0, below);
    strings among choices); block_size and n_embd are required integers >= 1 (block_size
    may be null, which ModelParams.load allows for an architecture with a position limit)."""
    fields = {}
    for f in config.hyperparameters():
        rule = f.metadata
        kind = {"bool": bool, "int": int, "float": float, "str": str}.get(f.type, f.type)
        if rule.get("choices"):
            kind = Literal[tuple(rule["choices"])]
        elif kind is int:
            kind = Annotated[int | None if f.name == "block_size" else int,
                             Field(ge=rule.get("minimum") or 1)]
        elif kind is float and rule.get("positive"):
            kind = Annotated[Number, Field(gt=0.0, lt=rule["below"])]
        elif kind is float:
            kind = Annotated[Number, Field(ge=0.0, lt=rule["below"])]
        fields[f.name] = (kind, ... if f.default is MISSING else f.default)
    return fields
