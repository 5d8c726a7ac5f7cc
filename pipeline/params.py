"""params.yaml: loading and validation, before any work starts.

Each stage reads only its own sections. Every check names the key and what
would be valid, so ``dvc exp run -S model.hidden=-1`` fails at once, clearly.
"""

import math
from dataclasses import dataclass
from pathlib import Path

import yaml

from pipeline.errors import PipelineError

OPTIMIZERS = ("sgd", "adamw")
SCHEDULES = ("step", "cosine", "linear")
SAMPLINGS = ("replacement", "epochs")
MATMUL_PRECISIONS = ("float32", "bfloat16")


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

    def float(self, key, default=None, low=0.0, high=math.inf, low_open=True):
        v = self._get(key, default)
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        if not ok or v > high or (v <= low if low_open else v < low):
            bracket = "(" if low_open else "["
            self._fail(key, f"a number in {bracket}{low}, {high}]", v)
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

    def str(self, key, default=None, allow_empty=True):
        v = self._get(key, default)
        if v is None and allow_empty:
            return ""
        if not isinstance(v, str) or (not allow_empty and not v):
            self._fail(key, "a string" if allow_empty else "a non-empty string", v)
        return v


_REQUIRED = object()


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

    @classmethod
    def load(cls, params):
        s = _Section(params, "split", ("seed", "train", "val", "dedupe"))
        train = s.float("train", 0.8, high=1.0)
        val = s.float("val", 0.1, high=1.0)
        if train + val >= 1.0:
            raise PipelineError(
                f"params.yaml: split.train + split.val must be < 1 to leave a test split, "
                f"got {train} + {val}"
            )
        return cls(seed=s.int("seed", 42, minimum=0), train=train, val=val,
                   dedupe=s.bool("dedupe", False))


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


# Each model has its own section of params.yaml: the MLP is the baseline.
MODEL_SECTIONS = {"mlp": "baseline", "wavenet": "model"}


@dataclass(frozen=True)
class ModelParams:
    arch: str
    block_size: int
    n_embd: int
    hidden: int
    batch_norm: bool

    @classmethod
    def load(cls, params, arch: str):
        section = MODEL_SECTIONS[arch]
        s = _Section(params, section, ("block_size", "n_embd", "hidden", "batch_norm"))
        block_size = s.int("block_size", _REQUIRED)
        if arch == "wavenet" and (block_size < 2 or block_size & (block_size - 1)):
            s._fail("block_size", "a power of two >= 2 for the wavenet (it fuses pairs)",
                    block_size)
        return cls(arch=arch, block_size=block_size, n_embd=s.int("n_embd", _REQUIRED),
                   hidden=s.int("hidden", _REQUIRED), batch_norm=s.bool("batch_norm", True))


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

    @classmethod
    def load(cls, params):
        s = _Section(params, "train", ("steps", "batch_size", "lr", "lr_final", "decay_at",
                                       "optimizer", "schedule", "warmup_steps", "weight_decay",
                                       "sampling", "seed", "log_every", "threads", "compile",
                                       "matmul_precision"))
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
