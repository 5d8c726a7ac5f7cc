import hashlib
import math

import pytest
import torch
import torch.nn.functional as F

from pipeline.models import build_model, count_params, make_config
from pipeline.models.layers import GELU, FlattenConsecutive, SequenceBatchNorm, dropout


def config(arch, block_size, n_embd, hidden, batch_norm=True):
    return make_config(arch, vocab_size=27, block_size=block_size, n_embd=n_embd,
                       hidden=hidden, batch_norm=batch_norm)


@pytest.mark.parametrize("cfg, params", [
    (config("mlp", 3, 10, 200), 12_097),                     # Part 5's starting point
    (config("mlp", 3, 10, 200, batch_norm=False), 11_897),   # Part 2's MLP
    (config("mlp", 8, 10, 200), 22_097),                     # row 2: context 8, flat
    (config("hierarchical", 8, 10, 68), 22_397),                  # rows 3-4: hierarchical 22K
    (config("hierarchical", 8, 24, 128), 76_579),                 # row 5: scaled up
])
def test_lecture_parameter_counts(cfg, params):
    assert count_params(build_model(cfg)) == params


@pytest.mark.parametrize("cfg", [config("mlp", 3, 10, 200), config("hierarchical", 8, 24, 128),
                                 config("hierarchical", 2, 4, 16), config("hierarchical", 16, 4, 16)])
def test_forward_contract(cfg):
    model = build_model(cfg, seed=0)
    idx = torch.randint(0, 27, (5, cfg.block_size))
    logits, loss = model(idx)
    assert logits.shape == (5, 27) and loss is None
    logits, loss = model(idx, torch.randint(0, 27, (5,)))
    assert loss.ndim == 0 and loss.item() > 0


def test_initial_loss_is_near_uniform():
    # the 0.1-scaled output layer starts the model unconfident: loss ~ ln 27
    model = build_model(config("hierarchical", 8, 24, 128), seed=0)
    _, loss = model(torch.randint(0, 27, (512, 8)), torch.randint(0, 27, (512,)))
    assert abs(loss.item() - torch.log(torch.tensor(27.0)).item()) < 0.1


def test_seed_makes_initialisation_repeatable():
    a = build_model(config("hierarchical", 8, 24, 128), seed=7).state_dict()
    b = build_model(config("hierarchical", 8, 24, 128), seed=7).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_flatten_consecutive():
    x = torch.arange(2 * 4 * 3).reshape(2, 4, 3)
    y = FlattenConsecutive(2)(x)
    assert y.shape == (2, 2, 6)
    assert torch.equal(y[0, 1], torch.cat([x[0, 2], x[0, 3]]))
    assert FlattenConsecutive(2)(y).shape == (2, 12)  # a length-1 time axis is dropped


def test_batch_norm_over_batch_and_time():
    torch.manual_seed(0)
    x = torch.randn(32, 4, 6) * 3 + torch.arange(6.0)  # per-channel offsets
    bn = SequenceBatchNorm(6, momentum=1.0)  # momentum 1: running stats = this batch's
    y = bn(x)
    mean, var = x.mean(dim=(0, 1)), x.var(dim=(0, 1), unbiased=False)
    assert torch.allclose(y, (x - mean) / torch.sqrt(var + bn.eps), atol=1e-5)
    assert bn.running_mean.shape == (6,)
    assert torch.allclose(bn.running_mean, mean, atol=1e-5)
    # the lecture's bug took statistics over axis 0 alone: clearly different here
    buggy = (x - x.mean(0, keepdim=True)) / torch.sqrt(x.var(0, keepdim=True, unbiased=False) + bn.eps)
    assert not torch.allclose(y, buggy, atol=1e-3)
    assert torch.allclose(bn.running_var, x.var(dim=(0, 1), unbiased=True), atol=1e-4)
    bn.eval()  # eval uses the running stats (torch keeps the unbiased variance)
    expected = (x - mean) / torch.sqrt(bn.running_var + bn.eps)
    assert torch.allclose(bn(x), expected, atol=1e-5)


@pytest.mark.parametrize("p", [0.1, 0.4])
def test_compiled_dropout_draws_and_rounds_as_eager(p):
    """Compiled, ``dropout`` keeps its mask in float32 (not native_dropout's bool): the
    same draws, outputs, gradients and generator state as eager F.dropout, bit for bit."""
    torch.manual_seed(0)
    x, weight = torch.randn(64, 16, 24), torch.randn(64, 16, 24)
    results, saved = [], []
    for fn in (lambda x: torch.nn.functional.dropout(x, p),
               torch.compile(lambda x: dropout(x, p) * 1.0, fullgraph=True)):
        torch.manual_seed(1)
        x_ = x.clone().requires_grad_()
        saved.clear()
        with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t,
                                                      lambda t: t):
            y = fn(x_)
        (y * weight).sum().backward()
        results.append((y.detach(), x_.grad, torch.rand(4)))
    for eager, compiled in zip(*results):
        assert torch.equal(eager, compiled)
    # what the compiled backward keeps: the mask, in float32
    assert saved and all(t.dtype == torch.float32 for t in saved)
    assert 0.5 * p < (results[0][0] == 0).float().mean() < 1.5 * p


def gelu_and_derivative(gelu, x):
    """gelu(x) and d gelu / dx, forward and backward compiled together (as the functional
    step compiles them) and through autograd (as the autograd step does), each as one
    graph: a graph break would run the op eagerly instead."""
    weight = torch.linspace(-1, 1, x.numel()).reshape(x.shape).to(x.dtype)
    functional = torch.compile(torch.func.grad_and_value(lambda x: (gelu(x) * weight).sum()),
                               fullgraph=True)
    grad, _ = functional(x)
    x_ = x.clone().requires_grad_()
    y = torch.compile(gelu, fullgraph=True)(x_)
    (y * weight).sum().backward()
    return y.detach(), grad, x_.grad


def test_compiled_gelu_is_exact_gelu_to_float32_rounding():
    """Compiled in float32, ``GELU`` computes erf itself and keeps its exp for the
    backward: nn.GELU's function and derivative to float32 rounding, both ways of
    compiling a step, over the whole range. In bfloat16 it is the op, bit for bit."""
    torch.compiler.reset()
    x = torch.cat([torch.linspace(-12, 12, 4801), torch.randn(4000) * 3, torch.zeros(3)])
    y, grad, grad_ = gelu_and_derivative(GELU(), x)
    x64 = x.double()
    exact = x64 * torch.special.ndtr(x64)  # x * Phi(x), in float64
    slope = torch.special.ndtr(x64) + x64 * torch.exp(-x64 ** 2 / 2) / math.sqrt(2 * math.pi)
    weight = torch.linspace(-1, 1, x.numel()).double()
    op = F.gelu(x)
    assert (y.double() - exact).abs().max() <= 2 * (op.double() - exact).abs().max() + 1e-7
    assert (y - op).abs().max() < 1e-6
    for g in (grad, grad_):
        assert torch.allclose(g.double(), slope * weight, atol=2e-6, rtol=0)
    xb = x.bfloat16()
    for ours, theirs in zip(gelu_and_derivative(GELU(), xb), gelu_and_derivative(F.gelu, xb)):
        assert torch.equal(ours, theirs)


@pytest.mark.parametrize("cfg", [config("mlp", 3, 10, 200), config("mlp", 3, 10, 200, False),
                                 config("hierarchical", 8, 24, 128)])
def test_hand_derived_backward_matches_autograd(cfg):
    a, b = build_model(cfg, seed=1), build_model(cfg, seed=1)
    assert a.supports_forward_backward()
    idx, targets = torch.randint(0, 27, (32, cfg.block_size)), torch.randint(0, 27, (32,))
    _, loss = a(idx, targets)
    loss.backward()
    assert torch.allclose(b.forward_backward(idx, targets), loss, atol=1e-6)
    for (name, pa), pb in zip(a.named_parameters(), b.parameters()):
        assert torch.allclose(pa.grad, pb.grad, atol=1e-6, rtol=1e-4), name
    for (name, ba), bb in zip(a.named_buffers(), b.buffers()):
        assert torch.equal(ba, bb), name  # running statistics move the same way


# sha256 over (key, bytes) in sorted key order of build_model(cfg, seed=42).state_dict(),
# taken from the code that trained the checkpoints: rewriting how the layers are built
# must not change the random initialisation (the order of creation fixes it)
INITIALISATION_SHA256 = [
    (config("mlp", 3, 10, 200), "1471c47f76a3c6fdd1c73e10bca6e5176d7f6f01c2a737eaae5fdfd2409e173d"),
    (config("mlp", 3, 10, 200, False),
     "4b649cae1d4a56a8e7869ef046123eb170772ddd6763d771d837504cde44ea25"),
    (config("hierarchical", 8, 24, 128),
     "bec338620251e512e509d9fd7ded0cb755effea8539e57951c9cae023580408d"),
    (config("hierarchical", 8, 24, 128, False),
     "8db67f73a9323c84d309584a07ad3dcf36668f911d7f4167e9ba10bb65985d89"),
]


@pytest.mark.parametrize("cfg, sha256", INITIALISATION_SHA256)
def test_initialisation_is_unchanged(cfg, sha256):
    state = build_model(cfg, seed=42).state_dict()
    h = hashlib.sha256()
    for key in sorted(state):
        h.update(key.encode())
        h.update(state[key].numpy().tobytes())
    assert h.hexdigest() == sha256
