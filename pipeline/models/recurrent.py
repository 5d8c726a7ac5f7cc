from dataclasses import dataclass

import torch
from torch import nn

from pipeline.models.config import ModelConfig, param
from pipeline.models.layers import sequence_loss


@dataclass(frozen=True)
class RecurrentConfig(ModelConfig):
    """``block_size`` is unused: the state carries the whole name, of any length.
    ``dropout``: on the outputs of every layer (between layers and before the head)."""

    hidden: int = param(64)   # size of the hidden state of every layer
    n_layer: int = param(1)   # stacked recurrent layers
    dropout: float = param(0.0, below=1.0)

    @property
    def context_size(self) -> None:
        return None  # each prediction depends on the whole name so far


class Recurrent(nn.Module):
    """A recurrent language model, the shape of karpathy/makemore's RNN: token
    embedding -> ``n_layer`` recurrent layers of ``hidden`` units, from a learned
    start state -> linear head. Subclasses choose the cell (``layer``: torch's fused
    nn.RNN, nn.GRU or nn.LSTM, run over the whole sequence in one call).

    Reads names as sequences: idx (B, T) starting with '.', logits (B, T, vocab); no
    limit on T. Position t's state has read characters 0..t only (tested).
    """

    layer: type[nn.RNNBase]
    reads = "sequences"

    def __init__(self, config: RecurrentConfig):
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.n_embd)
        # torch applies its dropout between layers only; self.dropout does the last one
        between = config.dropout if config.n_layer > 1 else 0.0
        self.recurrent = self.layer(config.n_embd, config.hidden, num_layers=config.n_layer,
                                    dropout=between, batch_first=True)
        states = 2 if self.layer is nn.LSTM else 1  # the LSTM has a hidden and a cell state
        self.start = nn.Parameter(torch.zeros(states, config.n_layer, 1, config.hidden))
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden, config.vocab_size)

    def forward(self, idx, targets=None):
        start = self.start.expand(-1, -1, idx.shape[0], -1).contiguous()  # (states, L, B, H)
        state = tuple(start) if self.layer is nn.LSTM else start[0]
        out, _ = self.recurrent(self.embedding(idx), state)  # (B, T, hidden)
        logits = self.head(self.dropout(out))  # (B, T, vocab)
        return logits, sequence_loss(logits, targets)


@dataclass(frozen=True)
class RNNConfig(RecurrentConfig):
    subsection = "rnn"


@dataclass(frozen=True)
class GRUConfig(RecurrentConfig):
    subsection = "gru"


@dataclass(frozen=True)
class LSTMConfig(RecurrentConfig):
    subsection = "lstm"


class RNN(Recurrent):
    """The recurrent language model of Mikolov et al. 2010, "Recurrent neural network
    based language model" (an Elman network), with makemore's tanh in place of the
    paper's sigmoid: h_t = tanh(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh).

    makemore's RNNCell computes the same function with one Linear on [x_t, h_(t-1)]
    and one bias; torch's nn.RNN keeps two biases, so ``hidden`` more parameters
    per layer.
    """

    Config = RNNConfig
    layer = nn.RNN


class GRU(Recurrent):
    """The gated recurrent unit of Cho et al. 2014, "Learning Phrase Representations
    using RNN Encoder-Decoder for Statistical Machine Translation", as torch's nn.GRU:
    reset gate r and update gate z from x_t and h_(t-1); candidate
    n = tanh(W_in x_t + b_in + r * (W_hn h_(t-1) + b_hn)); h_t = (1 - z) * n + z * h_(t-1).

    Cho's original, and makemore's GRUCell, apply r before the hidden matmul,
    n = tanh(W [x_t, r * h_(t-1)] + b); torch applies it after. makemore's z also
    weighs the candidate where Cho's and torch's weigh the previous state (the same
    model with z and 1 - z swapped). torch keeps two biases per gate: 3 * ``hidden``
    more parameters per layer than makemore's.
    """

    Config = GRUConfig
    layer = nn.GRU


class LSTM(Recurrent):
    """The long short-term memory of Hochreiter & Schmidhuber 1997, "Long Short-Term
    Memory", with the forget gate of Gers et al. 2000, in the form of Graves 2013,
    "Generating Sequences With Recurrent Neural Networks" (without peepholes), as
    torch's nn.LSTM: input, forget and output gates and a tanh candidate from x_t and
    h_(t-1); c_t = f * c_(t-1) + i * g; h_t = o * tanh(c_t). makemore has no LSTM.
    Both the hidden and the cell state start from learned values.
    """

    Config = LSTMConfig
    layer = nn.LSTM
