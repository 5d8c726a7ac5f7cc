"""What every model config shares, and how a config says which values are valid.

Each architecture's config is a frozen dataclass whose fields are its
hyperparameters (nanoGPT style). ``param(default, ...)`` attaches the rule that
params.yaml is checked against, so ``pipeline/params.py`` validates any
architecture from its config class alone; ``check()`` adds the rules that span
fields and raises ``ParamError`` naming the key.
"""

from dataclasses import asdict, dataclass, field, fields
from typing import ClassVar


class ParamError(ValueError):
    """A hyperparameter out of range: ``key`` must be ``want``, got ``got``."""

    def __init__(self, key: str, want: str, got):
        super().__init__(f"{key} must be {want}, got {got!r}")
        self.key, self.want, self.got = key, want, got


def param(default, *, minimum=None, below=None, positive=False, choices=None):
    """A config field with its valid range: ints >= ``minimum`` (default 1), floats in
    [0, ``below``) (``positive``: in (0, ``below``)), strings among ``choices``; bools
    need no rule."""
    return field(default=default, metadata={"minimum": minimum, "below": below,
                                            "positive": positive, "choices": choices})


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a model; stored in every checkpoint."""

    arch: str  # a key of pipeline.models.ARCHS
    vocab_size: int
    block_size: int  # how many characters of context the model sees
    n_embd: int

    # Where its own hyperparameters sit in params.yaml: None for the section itself,
    # else a subsection of it (model.gated.*, model.transformer.*).
    subsection: ClassVar[str | None] = None
    # Whether block_size is the longest sequence it takes (a position embedding each);
    # only these take params.yaml's block_size null: the longest name + 1 of the list.
    position_limit: ClassVar[bool] = False

    def __post_init__(self):
        self.check()

    def check(self):
        """Cross-field rules; raise ParamError. Per-field ranges come from ``param``."""

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def hyperparameters(cls):
        """The fields that params.yaml sets (all but arch and vocab_size)."""
        return [f for f in fields(cls) if f.name not in ("arch", "vocab_size")]

    @property
    def context_size(self) -> int | None:
        """The most characters one prediction can depend on (its receptive field);
        None: no limit (a recurrent state carries the whole name)."""
        return self.block_size

    @property
    def max_positions(self) -> int | None:
        """The longest sequence a sequence model takes, if it has a limit."""
        return self.block_size if self.position_limit else None
