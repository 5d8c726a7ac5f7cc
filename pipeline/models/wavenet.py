from torch import nn

from pipeline.models.config import ModelConfig
from pipeline.models.layers import FlattenConsecutive, hidden_block, output_layer
from pipeline.models.sequential import EmbeddingSequential


class WaveNet(EmbeddingSequential):
    """The hierarchical model of makemore Part 5, after van den Oord et al. 2016,
    "WaveNet: A Generative Model for Raw Audio".

    The context is fused in a binary tree: log2(block_size) times, join each pair of
    neighbouring positions and pass them through Linear -> BatchNorm -> tanh.
    76,579 params at n_embd 24, hidden 128, block 8.
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        levels = config.block_size.bit_length() - 1  # block_size = 2**levels
        layers, width = [], config.n_embd
        for _ in range(levels):
            # (B, T, width) -> (B, T/2, 2*width) -> (B, T/2, hidden); T/2 = 1 is dropped
            layers += [FlattenConsecutive(2), *hidden_block(2 * width, config.hidden,
                                                             config.batch_norm)]
            width = config.hidden
        self.embedding = nn.Embedding(config.vocab_size, config.n_embd)
        self.net = nn.Sequential(*layers, output_layer(config.hidden, config.vocab_size))
