from dataclasses import dataclass

from torch import nn

from pipeline.models.config import ParamError, param
from pipeline.models.layers import FlattenConsecutive, hidden_block, output_layer
from pipeline.models.mlp import LayerConfig
from pipeline.models.sequential import EmbeddingSequential


@dataclass(frozen=True)
class TreeConfig(LayerConfig):
    """The WaveNet tree: log2(block_size) levels of ``hidden`` channels."""

    hidden: int = param(128)

    def check(self):
        if self.block_size < 2 or self.block_size & (self.block_size - 1):
            raise ParamError("block_size", f"a power of two >= 2 for the {self.arch} model "
                             "(it fuses pairs)", self.block_size)

    @property
    def levels(self) -> int:
        return self.block_size.bit_length() - 1  # block_size = 2**levels


class WaveNet(EmbeddingSequential):
    """The hierarchical model of makemore Part 5, after van den Oord et al. 2016,
    "WaveNet: A Generative Model for Raw Audio".

    The context is fused in a binary tree: log2(block_size) times, join each pair of
    neighbouring positions and pass them through Linear -> BatchNorm -> tanh.
    76,579 params at n_embd 24, hidden 128, block 8. Reads one window per event;
    ``dilated.py`` computes the same tree for every position of a name at once.
    """

    Config = TreeConfig
    reads = "windows"

    def __init__(self, config: TreeConfig):
        super().__init__()
        self.config = config
        # Creation order fixes the random initialisation, and this one (the tree, then
        # the embedding, then the output layer) is the one every trained model came from.
        tree, width = [], config.n_embd
        for _ in range(config.levels):
            # (B, T, width) -> (B, T/2, 2*width) -> (B, T/2, hidden); T/2 = 1 is dropped
            tree += [FlattenConsecutive(2), *hidden_block(2 * width, config.hidden,
                                                          config.batch_norm)]
            width = config.hidden
        self.embedding = nn.Embedding(config.vocab_size, config.n_embd)
        self.net = nn.Sequential(*tree, output_layer(config.hidden, config.vocab_size))
