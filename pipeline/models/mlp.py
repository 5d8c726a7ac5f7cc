from torch import nn

from pipeline.models.config import ModelConfig
from pipeline.models.layers import build_layer
from pipeline.models.plan import layer_plan
from pipeline.models.sequential import EmbeddingSequential


class MLP(EmbeddingSequential):
    """Bengio et al. 2003, "A Neural Probabilistic Language Model", as in makemore Part 2.

    Embed each of ``block_size`` context characters, concatenate, one tanh hidden
    layer, logits over the vocabulary (``plan.mlp_plan``). With ``batch_norm`` it is
    Part 5's starting point (12,097 params at 10/200/3); without, Part 2's MLP (11,897).
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        # the embedding first, then the layers: this order fixes the initialisation
        self.embedding = nn.Embedding(config.vocab_size, config.n_embd)
        self.net = nn.Sequential(*map(build_layer, layer_plan(config)))
