"""Each architecture's layers, described once and without torch.

The torch models (``mlp.py``, ``wavenet.py``) build their ``net`` from this plan,
and sampling evaluates the same plan with numpy (``pipeline/numpy_model.py``),
which spares it the 1-2 s that importing torch takes. The plan covers the layers
after the embedding, in order: spec ``i`` is the torch model's ``net[i]``.
"""

from dataclasses import dataclass

from pipeline.models.config import ModelConfig

BATCH_NORM_EPS = 1e-5  # torch.nn.BatchNorm1d's default, shared by both implementations


@dataclass(frozen=True)
class Flatten:
    """Join every ``n`` neighbouring positions: (B, T, C) -> (B, T/n, n*C), a length-1
    time axis dropped.

    ``whole`` marks a join of the entire context at once (the MLP's, an nn.Flatten in
    torch) rather than one level of the WaveNet's tree (FlattenConsecutive).
    """

    n: int
    whole: bool = False

    def state_shapes(self) -> dict:
        return {}


@dataclass(frozen=True)
class Linear:
    """x @ weight.T (+ bias). ``init_scale`` multiplies the initial weights only."""

    fan_in: int
    fan_out: int
    bias: bool
    init_scale: float = 1.0

    def state_shapes(self) -> dict:
        shapes = {"weight": (self.fan_out, self.fan_in)}
        return {**shapes, "bias": (self.fan_out,)} if self.bias else shapes


@dataclass(frozen=True)
class BatchNorm:
    """Per-channel batch norm over every axis but the last (batch and time)."""

    width: int
    eps: float = BATCH_NORM_EPS

    def state_shapes(self) -> dict:
        vector = (self.width,)
        return {"weight": vector, "bias": vector, "running_mean": vector,
                "running_var": vector, "num_batches_tracked": ()}


@dataclass(frozen=True)
class Tanh:
    def state_shapes(self) -> dict:
        return {}


LayerSpec = Flatten | Linear | BatchNorm | Tanh


def layer_plan(config: ModelConfig) -> list[LayerSpec]:
    """The layers after the embedding, for ``config.arch`` ("mlp" or "wavenet")."""
    return PLANS[config.arch](config)


def mlp_plan(config: ModelConfig) -> list[LayerSpec]:
    """Concatenate the whole context's embeddings, one hidden block, logits."""
    return [Flatten(config.block_size, whole=True),  # (B, T, n_embd) -> (B, T * n_embd)
            *hidden_block(config.block_size * config.n_embd, config.hidden, config.batch_norm),
            output_layer(config.hidden, config.vocab_size)]


def wavenet_plan(config: ModelConfig) -> list[LayerSpec]:
    """log2(block_size) levels of: join neighbouring pairs, hidden block; then logits."""
    levels = config.block_size.bit_length() - 1  # block_size = 2**levels
    layers, width = [], config.n_embd
    for _ in range(levels):
        # (B, T, width) -> (B, T/2, 2*width) -> (B, T/2, hidden); T/2 = 1 is dropped
        layers += [Flatten(2), *hidden_block(2 * width, config.hidden, config.batch_norm)]
        width = config.hidden
    return layers + [output_layer(config.hidden, config.vocab_size)]


PLANS = {"mlp": mlp_plan, "wavenet": wavenet_plan}


def hidden_block(fan_in: int, hidden: int, batch_norm: bool) -> list[LayerSpec]:
    """Linear -> [BatchNorm] -> tanh; a batch-normed Linear needs no bias."""
    layers = [Linear(fan_in, hidden, bias=not batch_norm)]
    if batch_norm:
        layers.append(BatchNorm(hidden))
    return layers + [Tanh()]


def output_layer(hidden: int, vocab_size: int) -> Linear:
    """Final logits layer, weights scaled by 0.1 so the model starts unconfident."""
    return Linear(hidden, vocab_size, bias=True, init_scale=0.1)


def state_shapes(config: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Every state-dict key of the model, with its shape, named as the torch model
    names them (``embedding.weight``, ``net.<i>.<param>``): what a checkpoint holds."""
    shapes = {"embedding.weight": (config.vocab_size, config.n_embd)}
    for i, spec in enumerate(layer_plan(config)):
        shapes.update({f"net.{i}.{name}": shape for name, shape in spec.state_shapes().items()})
    return shapes
