"""params.yaml: loading and validation, before any work starts.

Each stage reads only its own sections. Every check names the key and what
would be valid, so ``dvc exp run -S model.hidden=-1`` fails at once, clearly.
"""

import math
from dataclasses import MISSING, dataclass
from pathlib import Path

import yaml

from pipeline.errors import PipelineError

OPTIMIZERS = ("sgd", "adamw")
SCHEDULES = ("step", "cosine", "linear")
SAMPLINGS = ("replacement", "epochs")
MATMUL_PRECISIONS = ("float32", "bfloat16")
DEVICES = ("cpu", "cuda", "auto")


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


class _Section:
    """Typed, checked access to one section of params.yaml."""

    def __init__(self, params: dict, name: str, allowed: tuple[str, ...]):
        section = params.get(name)
        if not isinstance(section, dict):
            raise PipelineError(f"params.yaml: section '{name}' is missing or not a mapping")
        unknown = sorted(set(section) - set(allowed))
        if unknown:
            raise PipelineError(
                f"params.yaml: unknown key {name}.{unknown[0]} (valid keys: {', '.join(allowed)})"
            )
        self.name, self.values = name, section

    def _get(self, key, default):
        if key not in self.values:
            if default is _REQUIRED:
                raise PipelineError(f"params.yaml: {self.name}.{key} is missing")
            return default
        return self.values[key]

    def _fail(self, key, want, got):
        raise PipelineError(f"params.yaml: {self.name}.{key} must be {want}, got {got!r}")

    def int(self, key, default=None, minimum=1):
        v = self._get(key, default)
        if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
            self._fail(key, f"an integer >= {minimum}", v)
        return v

    def float(self, key, default=None, low=0.0, high=math.inf, low_open=True, high_open=False):
        v = _yaml11_float(self._get(key, default))
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        if (not ok or (v >= high if high_open else v > high)
                or (v <= low if low_open else v < low)):
            brackets = ("(" if low_open else "[") + "{}, {}" + (")" if high_open else "]")
            self._fail(key, "a number in " + brackets.format(low, high), v)
        return float(v)

    def bool(self, key, default=None):
        v = self._get(key, default)
        if not isinstance(v, bool):
            self._fail(key, "true or false", v)
        return v

    def choice(self, key, choices, default=None):
        v = self._get(key, default)
        if v not in choices:
            self._fail(key, f"one of {', '.join(choices)}", v)
        return v

    def field(self, f):
        """A config dataclass field (``pipeline.models.config.param``): its type and
        rule say what is valid; absent, it takes the field's default."""
        rule, default = f.metadata, _REQUIRED if f.default is MISSING else f.default
        if f.type in (bool, "bool"):
            return self.bool(f.name, default)
        if f.type in (int, "int"):
            return self.int(f.name, default, minimum=rule.get("minimum") or 1)
        if f.type in (float, "float"):
            return self.float(f.name, default, low=0.0, high=rule["below"],
                              low_open=rule.get("positive", False), high_open=True)
        return self.choice(f.name, rule["choices"], default)

    def str(self, key, default=None, allow_empty=True):
        v = self._get(key, default)
        if v is None and allow_empty:
            return ""
        if not isinstance(v, str) or (not allow_empty and not v):
            self._fail(key, "a string" if allow_empty else "a non-empty string", v)
        return v


_REQUIRED = object()


def _yaml11_float(v):
    """``1e-05`` as a number: YAML 1.1 (PyYAML) reads an exponent without a dot as a
    string, and that is how ``dvc exp run -S train.lr_final=0.00001`` writes it."""
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return v
    return v


@dataclass(frozen=True)
class DataParams:
    url: str
    sha256: str

    @classmethod
    def load(cls, params):
        s = _Section(params, "data", ("url", "sha256"))
        sha = s.str("sha256", "").strip().lower()
        if sha and (len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha)):
            s._fail("sha256", "64 hex digits, or empty to skip the check", sha)
        return cls(url=s.str("url", _REQUIRED, allow_empty=False), sha256=sha)


@dataclass(frozen=True)
class SplitParams:
    seed: int
    train: float
    val: float
    dedupe: bool
    shuffles: int = 1

    @classmethod
    def load(cls, params):
        s = _Section(params, "split", ("seed", "train", "val", "dedupe", "shuffles"))
        train = s.float("train", 0.8, high=1.0)
        val = s.float("val", 0.1, high=1.0)
        if train + val >= 1.0:
            raise PipelineError(
                f"params.yaml: split.train + split.val must be < 1 to leave a test split, "
                f"got {train} + {val}"
            )
        return cls(seed=s.int("seed", 42, minimum=0), train=train, val=val,
                   dedupe=s.bool("dedupe", False), shuffles=s.int("shuffles", 1))


@dataclass(frozen=True)
class WindowParams:
    block_sizes: tuple[int, ...]

    @classmethod
    def load(cls, params):
        s = _Section(params, "windows", ("block_sizes",))
        sizes = s._get("block_sizes", _REQUIRED)
        if (not isinstance(sizes, list) or not sizes
                or any(isinstance(b, bool) or not isinstance(b, int) or b < 1 for b in sizes)):
            s._fail("block_sizes", "a non-empty list of integers >= 1", sizes)
        return cls(block_sizes=tuple(sizes))


# Each model has its own section of params.yaml: the MLP is the baseline; the
# WaveNet-side section picks its architecture with model.arch.
MODEL_SECTIONS = {"mlp": "baseline", "wavenet": "model"}
# the keys every architecture reads from the model section itself, never a subsection
SHARED_KEYS = ("block_size", "n_embd")
WAVENET_ARCHS = ("hierarchical", "dilated", "gated", "transformer", "rnn", "gru", "lstm",
                 "bow", "ngram", "bigram")


@dataclass(frozen=True)
class ModelParams:
    """A model's section, checked against its architecture's config class: the
    architecture and its hyperparameters (everything but the vocabulary size)."""

    arch: str
    values: dict

    @property
    def block_size(self) -> int:
        return self.values["block_size"]

    def config(self, vocab_size: int):
        from pipeline.models import make_config
        return make_config(self.arch, vocab_size=vocab_size, **self.values)

    @classmethod
    def load(cls, params, model: str):
        from pipeline.models import ARCHS, ParamError

        name = MODEL_SECTIONS[model]
        top = [f.name for f in ARCHS["hierarchical"].Config.hyperparameters()]
        if model == "mlp":
            arch, allowed = "mlp", [f.name for f in ARCHS["mlp"].Config.hyperparameters()]
        else:
            subsections = sorted({c.Config.subsection for c in ARCHS.values()} - {None})
            allowed = ["arch", *top, *subsections]
            arch = _Section(params, name, tuple(allowed)).choice("arch", WAVENET_ARCHS,
                                                                 "hierarchical")
        section = _Section(params, name, tuple(allowed))
        config_class = ARCHS[arch].Config
        sub = config_class.subsection
        values = {}
        for f in config_class.hyperparameters():
            # a subsection's own keys, even one named as a top key (rnn's hidden)
            own = sub is not None and f.name not in SHARED_KEYS
            s = _subsection(params, name, sub, config_class) if own else section
            values[f.name] = s.field(f)
        try:
            config_class(arch=arch, vocab_size=0, **values)  # its cross-field rules
        except ParamError as e:
            where = f"{name}.{sub}" if sub and e.key not in SHARED_KEYS else name
            raise PipelineError(f"params.yaml: {where}.{e}")
        return cls(arch=arch, values=values)


def _subsection(params, name, sub, config_class):
    own = tuple(f.name for f in config_class.hyperparameters() if f.name not in SHARED_KEYS)
    section = params[name].get(sub, {}) if isinstance(params[name], dict) else {}
    return _Section({f"{name}.{sub}": section or {}}, f"{name}.{sub}", own)


@dataclass(frozen=True)
class TrainParams:
    steps: int
    batch_size: int
    lr: float
    lr_final: float
    decay_at: float
    optimizer: str
    schedule: str
    weight_decay: float
    seed: int
    log_every: int
    threads: int = 1
    compile: bool = True
    warmup_steps: int = 0
    sampling: str = "replacement"
    matmul_precision: str = "float32"
    device: str = "cpu"

    @classmethod
    def load(cls, params):
        s = _Section(params, "train", ("steps", "batch_size", "lr", "lr_final", "decay_at",
                                       "optimizer", "schedule", "warmup_steps", "weight_decay",
                                       "sampling", "seed", "log_every", "threads", "compile",
                                       "matmul_precision", "device"))
        steps = s.int("steps", _REQUIRED)
        warmup_steps = s.int("warmup_steps", 0, minimum=0)
        if warmup_steps >= steps:
            s._fail("warmup_steps", f"an integer >= 0 and below train.steps ({steps})",
                    warmup_steps)
        return cls(
            steps=steps,
            batch_size=s.int("batch_size", _REQUIRED),
            lr=s.float("lr", _REQUIRED, high=10.0),
            lr_final=s.float("lr_final", 0.01, low=0.0, high=10.0, low_open=False),
            decay_at=s.float("decay_at", 0.75, low=0.0, high=1.0, low_open=False),
            optimizer=s.choice("optimizer", OPTIMIZERS, "sgd"),
            schedule=s.choice("schedule", SCHEDULES, "step"),
            weight_decay=s.float("weight_decay", 0.0, low=0.0, high=1.0, low_open=False),
            seed=s.int("seed", 42, minimum=0),
            log_every=s.int("log_every", 1000),
            threads=s.int("threads", 1),
            compile=s.bool("compile", True),
            warmup_steps=warmup_steps,
            sampling=s.choice("sampling", SAMPLINGS, "replacement"),
            matmul_precision=s.choice("matmul_precision", MATMUL_PRECISIONS, "float32"),
            device=s.choice("device", DEVICES, "cpu"),
        )


@dataclass(frozen=True)
class SampleParams:
    count: int
    seed: int
    max_length: int

    @classmethod
    def load(cls, params):
        s = _Section(params, "sample", ("count", "seed", "max_length"))
        return cls(count=s.int("count", _REQUIRED), seed=s.int("seed", 42, minimum=0),
                   max_length=s.int("max_length", 50))


@dataclass(frozen=True)
class LrFindParams:
    """The learning-rate finder: ``steps`` steps with lr = 10**x, x rising evenly from
    ``min_exp`` to ``max_exp``; the curve is smoothed over ``smoothing`` steps."""

    steps: int
    min_exp: float
    max_exp: float
    smoothing: int

    @classmethod
    def load(cls, params):
        s = _Section(params, "lr_find", ("steps", "min_exp", "max_exp", "smoothing"))
        steps = s.int("steps", 1000, minimum=2)
        # train.lr's range, (0, 10], as powers of ten
        min_exp = s.float("min_exp", -3.0, low=-10.0, high=1.0, low_open=False)
        max_exp = s.float("max_exp", 0.0, low=-10.0, high=1.0, low_open=False)
        if min_exp >= max_exp:
            s._fail("max_exp", f"a number above lr_find.min_exp ({min_exp:g})", max_exp)
        smoothing = s.int("smoothing", 50)
        if smoothing > steps:
            s._fail("smoothing", f"an integer from 1 to lr_find.steps ({steps})", smoothing)
        return cls(steps=steps, min_exp=min_exp, max_exp=max_exp, smoothing=smoothing)
