from torch import nn

from pipeline.models.config import ModelConfig
from pipeline.models.layers import build_layer
from pipeline.models.plan import layer_plan
from pipeline.models.sequential import EmbeddingSequential


class WaveNet(EmbeddingSequential):
    """The hierarchical model of makemore Part 5, after van den Oord et al. 2016,
    "WaveNet: A Generative Model for Raw Audio".

    The context is fused in a binary tree: log2(block_size) times, join each pair of
    neighbouring positions and pass them through Linear -> BatchNorm -> tanh
    (``plan.wavenet_plan``). 76,579 params at n_embd 24, hidden 128, block 8.
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        *tree, output = layer_plan(config)
        # Creation order fixes the random initialisation, and this one (the tree, then
        # the embedding, then the output layer) is the one every trained model came from.
        tree_layers = [build_layer(spec) for spec in tree]
        self.embedding = nn.Embedding(config.vocab_size, config.n_embd)
        self.net = nn.Sequential(*tree_layers, build_layer(output))
