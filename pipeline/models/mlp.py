from dataclasses import dataclass

import torch
from torch import nn

from pipeline.models.config import ModelConfig, param
from pipeline.models.layers import hidden_block, output_layer
from pipeline.models.sequential import EmbeddingSequential

INITS = ("kaiming", "normal")


@dataclass(frozen=True)
class LayerConfig(ModelConfig):
    """What the MLP and the WaveNet tree share: ``hidden`` channels, batch norm or not."""

    hidden: int = param(200)
    batch_norm: bool = param(True)


@dataclass(frozen=True)
class MLPConfig(LayerConfig):
    # kaiming: Part 3's N(0, 1/fan_in) and a 0.1-scaled output layer; normal: Part 2's
    # plain N(0, 1) for every tensor
    init: str = param("kaiming", choices=INITS)


class MLP(EmbeddingSequential):
    """Bengio et al. 2003, "A Neural Probabilistic Language Model", as in makemore Part 2.

    Embed each of ``block_size`` context characters, concatenate, one tanh hidden
    layer, logits over the vocabulary. With ``batch_norm`` it is Part 5's starting
    point (12,097 params at 10/200/3); without, Part 2's MLP (11,897), which with
    ``init: normal`` starts as Part 2's notebook does.
    """

    Config = MLPConfig
    reads = "windows"

    def __init__(self, config: MLPConfig):
        super().__init__()
        self.config = config
        # the embedding first, then the layers: this order fixes the initialisation
        self.embedding = nn.Embedding(config.vocab_size, config.n_embd)
        self.net = nn.Sequential(
            nn.Flatten(),  # (B, T, n_embd) -> (B, T * n_embd)
            *hidden_block(config.block_size * config.n_embd, config.hidden, config.batch_norm),
            output_layer(config.hidden, config.vocab_size))
        if config.init == "normal":
            self._init_normal()

    @torch.no_grad()
    def _init_normal(self):
        """Part 2's notebook: C, W1, b1, W2, b2 drawn with ``torch.randn`` in that order
        and in its shapes (W as (fan_in, fan_out), the transpose of nn.Linear's), from a
        generator seeded with the model's seed (``train.seed``; the notebook's is
        2147483647). Batch-norm gains and shifts, if any, stay 1 and 0."""
        g = torch.Generator().manual_seed(torch.initial_seed())  # build_model's seed
        self.embedding.weight.copy_(torch.randn(self.embedding.weight.shape, generator=g))
        for layer in (m for m in self.net if isinstance(m, nn.Linear)):
            layer.weight.copy_(torch.randn(layer.in_features, layer.out_features,
                                           generator=g).t())
            if layer.bias is not None:
                layer.bias.copy_(torch.randn(layer.out_features, generator=g))
