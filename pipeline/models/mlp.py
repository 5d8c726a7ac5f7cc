from dataclasses import dataclass

from torch import nn

from pipeline.models.config import ModelConfig, param
from pipeline.models.layers import hidden_block, output_layer
from pipeline.models.sequential import EmbeddingSequential


@dataclass(frozen=True)
class MLPConfig(ModelConfig):
    hidden: int = param(200)
    batch_norm: bool = param(True)


class MLP(EmbeddingSequential):
    """Bengio et al. 2003, "A Neural Probabilistic Language Model", as in makemore Part 2.

    Embed each of ``block_size`` context characters, concatenate, one tanh hidden
    layer, logits over the vocabulary. With ``batch_norm`` it is Part 5's starting
    point (12,097 params at 10/200/3); without, Part 2's MLP (11,897).
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
