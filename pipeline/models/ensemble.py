"""A mixture of trained models: their next-character distributions averaged with
weights fitted on val.

Averaging the predictions of several models is the oldest reliable gain in language
modelling (Zaremba et al. 2014 average their LSTMs; every strong result since does),
and mixing a neural model with a counted n-gram is Bengio et al. 2003, section 4.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from pipeline.models.config import ModelConfig, ParamError
from pipeline.models.layers import sequence_loss

MIXES = ("linear", "loglinear")
# the log-linear fit holds every member's distribution at every event of the split it is
# fitted on (float32): at most this many values, 1 GB (the lecture's val: 0.6M per member)
LOGLINEAR_VALUES = 2**28


@dataclass(frozen=True)
class EnsembleConfig(ModelConfig):
    """``names``: the members' model names (params.yaml's models), for the record;
    ``members``: their configs, as their checkpoints store them; ``mix``: linear,
    p(w | h) = sum_k weight_k p_k(w | h), or loglinear, p(w | h) proportional to
    prod_k p_k(w | h) ** weight_k (a product of experts, Hinton 2002). ``block_size`` and
    ``n_embd`` are unused (each member keeps its own)."""

    names: tuple = ()
    members: tuple = ()
    mix: str = "linear"

    def check(self):
        if len(self.members) != len(self.names) or not self.members:
            raise ParamError("members", "one config per member name, at least one",
                             len(self.members))
        if self.mix not in MIXES:
            raise ParamError("mix", "one of " + ", ".join(MIXES), self.mix)

    @property
    def context_size(self) -> None:
        return None  # the whole name: each member cuts it to its own context

    @classmethod
    def hyperparameters(cls):
        return []  # set from the members' checkpoints, never from a model section


class Ensemble(nn.Module):
    """Members of any architecture, read as sequences: idx (B, T) -> logits (B, T, vocab),
    the log of the mixture ``sum_k weights[k] * softmax(member_k logits)``.

    A window member sees, at each position, the block_size characters before it ('.'
    before the start), exactly its windows; a sequence member sees the name, or, past
    its position limit (sampling a long name), the last block_size characters, as it
    does when sampled alone. The weights start equal; ``fit_weights`` sets them to
    maximise the likelihood of a split's events (EM, Dempster et al. 1977).
    """

    Config = EnsembleConfig
    reads = "sequences"

    def __init__(self, config: EnsembleConfig):
        super().__init__()
        from pipeline.models import build_model, config_from_json  # they register this module
        self.config = config
        self.members = nn.ModuleList(build_model(config_from_json(dict(c)))
                                     for c in config.members)
        k = len(config.members)
        self.register_buffer("weights", torch.full((k,), 1.0 / k, dtype=torch.float64))

    def member_log_probs(self, idx):
        """(K, B, T, vocab) float64: each member's log-probabilities at every position."""
        return torch.stack([log_probs(m, idx) for m in self.members])

    def forward(self, idx, targets=None):
        lp = self.member_log_probs(idx)  # (K, B, T, vocab)
        if self.config.mix == "linear":
            mixed = torch.logsumexp(lp + self.weights.log()[:, None, None, None], dim=0)
        else:  # unnormalised: softmax (and the loss) normalise it
            mixed = torch.einsum("kbtv,k->btv", lp, self.weights)
        logits = mixed.float()  # (B, T, vocab)
        return logits, sequence_loss(logits, targets)

    @torch.no_grad()
    def fit_weights(self, X, Y, rows: int):
        """The weights that maximise the likelihood of the events of X, Y (N, T), each
        member run once over them, ``rows`` names per pass. Returns the steps taken."""
        self.eval()
        loglinear, K = self.config.mix == "loglinear", len(self.members)
        # linear needs each member's log-probability of the target; loglinear all of them
        width, total = (self.config.vocab_size if loglinear else 1), int((Y >= 0).sum())
        if loglinear and total * K * width > LOGLINEAR_VALUES:
            raise ParamError("mix", "linear for a split this large (loglinear holds every "
                             f"member's distribution at each event: {total * K * width:,} "
                             f"values, over {LOGLINEAR_VALUES:,})", self.config.mix)
        # one buffer each, filled pass by pass (no list of per-pass tensors on the heap)
        lp = torch.empty((total, K, width), dtype=torch.float32 if loglinear else torch.float64)
        y, at = torch.empty(total, dtype=torch.long), 0
        for start in range(0, len(X), rows):
            targets = Y[start:start + rows].long()
            seen = targets >= 0
            chunk = self.member_log_probs(X[start:start + rows].long())[:, seen].transpose(0, 1)
            n = len(chunk)  # (n, K, vocab): this pass's events
            y[at:at + n] = targets[seen]
            lp[at:at + n] = chunk if loglinear else chunk.gather(
                -1, y[at:at + n, None, None].expand(-1, K, 1))
            at += n
        fit = self._fit_linear if self.config.mix == "linear" else self._fit_loglinear
        return fit(lp, y)

    def _fit_linear(self, target, y, iterations: int = 1000, tol: float = 1e-12):
        """EM (Dempster et al. 1977) on target (E, K, 1), each member's log-probability of
        each event's target: each step sets every weight to its mean share of the events'
        mixture probability, which never lowers the likelihood."""
        target = target.squeeze(-1)
        shift = target.max(1, keepdim=True).values
        p = (target - shift).exp()  # scaled per event; the shares do not change
        w = self.weights.clone()
        for step in range(1, iterations + 1):
            share = p * w
            new = (share / share.sum(1, keepdim=True)).mean(0)
            converged = (new - w).abs().max() < tol
            w = new
            if converged:
                break
        self.weights.copy_(w)
        return step

    @torch.enable_grad()
    def _fit_loglinear(self, lp, y, iterations: int = 100):
        """L-BFGS on the mean cross-entropy of softmax(sum_k w_k log p_k) over the events
        of lp (E, K, vocab), from equal weights; the loss is convex in w."""
        w = torch.full((len(self.members),), 1.0 / len(self.members), dtype=torch.float64,
                       requires_grad=True)
        optimizer = torch.optim.LBFGS([w], max_iter=iterations, tolerance_grad=1e-10,
                                      tolerance_change=1e-14, line_search_fn="strong_wolfe")

        def loss():
            optimizer.zero_grad()
            value = F.cross_entropy(torch.einsum("ekv,k->ev", lp.double(), w), y)
            value.backward()
            return value

        optimizer.step(loss)
        self.weights.copy_(w.detach())
        return optimizer.state[w]["n_iter"]


def log_probs(member, idx):
    """(B, T, vocab) float64 log-probabilities of one member at every position of idx."""
    B, T = idx.shape
    if member.reads == "windows":
        k = member.config.block_size  # the k characters before each position
        windows = F.pad(idx, (k - 1, 0)).unfold(1, k, 1).reshape(B * T, k)
        logits = member(windows)[0].view(B, T, -1)
    elif member.config.max_positions is None or T <= member.config.max_positions:
        logits = member(idx)[0]
    else:  # past its positions: the window of its size ending at each later position
        k = member.config.max_positions
        later = idx.unfold(1, k, 1)[:, 1:].reshape(-1, k)
        logits = torch.cat([member(idx[:, :k])[0],
                            member(later)[0][:, -1].view(B, T - k, -1)], dim=1)
    return F.log_softmax(logits.double(), dim=-1)
