from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a model; stored in every checkpoint."""

    arch: str  # a key of pipeline.models.MODELS (and of plan.PLANS)
    vocab_size: int
    block_size: int
    n_embd: int
    hidden: int
    batch_norm: bool = True

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, obj: dict) -> "ModelConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in obj.items() if k in names})
