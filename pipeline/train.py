"""Stage 4: a model-agnostic training loop.

The trainer knows only the contract ``model(idx, targets) -> (logits, loss)``,
plus, where a model offers it, ``forward_backward(idx, targets) -> loss``, which
sets the same gradients without autograd (faster at batch 32). With
``train.compile`` that function is compiled by torch.compile (inductor, C++
wrapper) into one native call per step: at these sizes Python and per-op dispatch
cost more than the arithmetic. A model without it that says compiling pays
(``compiled_training``: the transformer, the gated WaveNet) has its forward and
backward compiled instead (the fused AdamW step stays outside): as one torch.func graph
over flat parameters where the model has no buffers (pipeline/functional_step.py),
else through autograd. Its sequence batches are padded to a few widths so that only a
handful of shapes compile (and, for a model that reads them, packed two names to a row:
``packed_rows``). Minibatches are
drawn uniformly with replacement from the training windows by a seeded generator,
so the same params give the same weights, step for step.
"""

import ctypes
import functools
import math
import sys
import time
from collections.abc import Callable

import torch
from tqdm import tqdm

from pipeline.device import resolve_device
from pipeline.functional_step import FlatParameters, gradients_function, steps_functionally
from pipeline.params import TrainParams

# Minibatches are drawn this many steps at a time.
INDEX_CHUNK = 1000
# train.ema: the batch-norm statistics of the averaged weights are those of this many
# training batches (or of all training rows at once, where they are fewer than this many
# batches' worth): see WeightAverage.
STATISTICS_BATCHES = 200


def learning_rate(step: int, p: TrainParams) -> float:
    """A linear warm-up over ``warmup_steps`` (if any), then the lecture's step
    schedule (lr, then lr_final from decay_at of the run), or a cosine or linear
    decay from lr to lr_final over the remaining steps."""
    if step < p.warmup_steps:
        return p.lr * (step + 1) / p.warmup_steps
    if p.schedule == "step":
        return p.lr if step < p.decay_at * p.steps else p.lr_final
    progress = (step - p.warmup_steps) / (p.steps - p.warmup_steps)  # 0 -> 1
    if p.schedule == "cosine":
        return p.lr_final + 0.5 * (p.lr - p.lr_final) * (1 + math.cos(math.pi * progress))
    return p.lr_final + (p.lr - p.lr_final) * (1 - progress)


class PlainSGD:
    """The lecture's update, ``p.data += -lr * p.grad``, for all params in one call.

    torch.optim.SGD computes the same thing, but its Python bookkeeping costs more
    than the update itself at these sizes. Same ``param_groups``/``step`` surface.
    """

    def __init__(self, params, lr: float):
        self.params = list(params)
        self.param_groups = [{"lr": lr}]

    @torch.no_grad()
    def step(self):
        torch._foreach_add_(self.params, [p.grad for p in self.params],
                            alpha=-self.param_groups[0]["lr"])

    def zero_grad(self, set_to_none=True):
        for p in self.params:
            p.grad = None


def make_optimizer(model: torch.nn.Module, p: TrainParams, groups: list[dict] | None = None):
    """The optimizer of ``train.optimizer`` over ``groups`` (by default
    ``param_groups(model)``)."""
    groups = groups or param_groups(model, p.weight_decay)
    if p.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=p.lr, fused=True)
    if p.weight_decay:
        return torch.optim.SGD(groups, lr=p.lr)
    return PlainSGD([q for group in groups for q in group["params"]], lr=p.lr)


def param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay for the weight matrices of the Linear and recurrent layers only;
    embeddings, batch-norm gains and shifts, biases and start states are left alone
    (decaying them too cost the fast recipe ~0.007 of val loss, as measured for
    bench/fast_recipe.yaml)."""
    decayed = [m.weight for m in model.modules() if isinstance(m, torch.nn.Linear)]
    decayed += [w for m in model.modules() if isinstance(m, torch.nn.RNNBase)
                for name, w in m.named_parameters() if name.startswith("weight_")]
    ids = {id(w) for w in decayed}
    rest = [q for q in model.parameters() if id(q) not in ids]
    return [{"params": decayed, "weight_decay": weight_decay},
            {"params": rest, "weight_decay": 0.0}]


def minibatches(X: torch.Tensor, Y: torch.Tensor, p: TrainParams, bucketed: bool = False,
                packed: bool = False):
    """Yield (X (B, T), Y (B,)) per step: drawn uniformly with replacement (the
    lecture's way), or with ``sampling: epochs`` in the order of one shuffle of all
    windows after another, so every window is seen once per epoch.

    Indices and rows are gathered ``INDEX_CHUNK`` steps at a time: two large
    gathers instead of two small ones per step. Sequences (Y (N, T), -1 after a
    name's end) are cut to the longest name of each batch: the columns after it
    hold no event, and a model's events do not depend on them. ``bucketed``: cut
    at ``bucket_width`` of it instead, so a compiled step sees a few widths only.
    ``packed`` (bucketed too): the batch's names two to a row where they fit
    (``packed_rows``), for a model that reads each '.' as the start of a name.
    """
    generator = torch.Generator().manual_seed(p.seed)
    shuffled = torch.empty(0, dtype=torch.long)  # what is left of the current epoch
    for start in range(0, p.steps, INDEX_CHUNK):
        chunk = min(INDEX_CHUNK, p.steps - start)
        if p.sampling == "epochs":
            needed = chunk * p.batch_size
            while len(shuffled) < needed:
                shuffled = torch.cat([shuffled, torch.randperm(len(X), generator=generator)])
            ix, shuffled = shuffled[:needed].view(chunk, p.batch_size), shuffled[needed:]
        else:
            ix = torch.randint(0, len(X), (chunk, p.batch_size), generator=generator)
        ix = ix.to(X.device)  # drawn on the CPU, so a GPU run sees the same minibatches
        xs, ys = X[ix].long(), Y[ix].long()  # stored in the smallest type; models read int64
        if Y.ndim == 1:
            yield from zip(xs, ys)
            continue
        if packed:
            yield from packed_batches(xs, ys)
            continue
        widths = (ys >= 0).sum(-1).amax(-1).tolist()  # (chunk,) longest name + 1
        if bucketed:
            widths = [bucket_width(w, X.shape[1]) for w in widths]
        yield from ((xb[:, :w], yb[:, :w]) for xb, yb, w in zip(xs, ys, widths))


def packed_rows(xb: torch.Tensor, yb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of names (B, T), each a prefix of its row, laid two to a row: the longest
    with the shortest, the second longest with the second shortest, ..., a pair that does
    not fit in T columns in two rows. Each name keeps its own positions (its '.' input
    first, then its letters; its targets); the rows are cut to the longest and then to
    ``bucket_width`` columns, and filled up to a multiple of 4 rows with rows of padding
    (input '.', target -1), so a compiled step sees a few shapes only. The step then
    computes fewer padding positions (bench/sequence_speed.py, docs/performance.md)."""
    return next(packed_batches(xb[None], yb[None]))


def packed_batches(xs: torch.Tensor, ys: torch.Tensor):
    """``packed_rows`` of each batch of a chunk xs, ys (C, B, T), computed for the whole
    chunk at once: a few dozen operations a chunk rather than a batch."""
    C, B, T = xs.shape
    length = (ys >= 0).sum(2)  # (C, B) positions each name takes
    order = torch.sort(length, dim=1, stable=True).indices  # shortest first
    pairs = B // 2
    long, short = order.flip(1)[:, :B - pairs], order[:, :pairs]
    fits = length.gather(1, long[:, :pairs]) + length.gather(1, short) <= T  # (C, pairs)
    # each row's first name: the long ones (the middle one of an odd batch among them),
    # then the short ones that fit beside none, in order; count (C,) of them are rows
    alone_first = torch.sort(fits.to(torch.uint8), dim=1, stable=True).indices
    first = torch.cat([long, short.gather(1, alone_first)], 1)  # (C, B)
    count = (B - pairs) + (~fits).sum(1)
    first = torch.where(torch.arange(B, device=xs.device) < count[:, None], first, -1)
    second = torch.cat([torch.where(fits, short, -1), order.new_full((C, B - pairs), -1)], 1)
    first_length = torch.where(first >= 0, length.gather(1, first.clamp(min=0)), 0)
    total = first_length + torch.where(second >= 0, length.gather(1, second.clamp(min=0)), 0)
    column = torch.arange(T, device=xs.device)
    in_first = column < first_length[..., None]  # (C, B, T)
    in_second = ~in_first & (column < total[..., None])
    name = torch.where(in_first, first[..., None], torch.where(in_second, second[..., None], -1))
    position = torch.where(in_first, column, column - first_length[..., None]).clamp(0, T - 1)
    real = name >= 0
    batch = torch.arange(C, device=xs.device)[:, None, None]
    at = (batch * B + name.clamp(min=0)) * T + position  # each position's flat index
    x = torch.where(real, xs.reshape(-1)[at], 0)
    y = torch.where(real, ys.reshape(-1)[at], -1)
    for c, (width, rows) in enumerate(zip(total.amax(1).tolist(), count.tolist())):
        width = bucket_width(width, T)
        rows = min(B, -(-rows // 4) * 4)  # a multiple of 4: a few counts a batch size
        yield x[c, :rows, :width].contiguous(), y[c, :rows, :width].contiguous()


def bucket_width(width: int, limit: int) -> int:
    """``width`` rounded up to a multiple of 4 up to 32, then of 8 up to 64, of 16 up
    to 128, ... (at most 3 columns more up to 32, under 25% more beyond; 4 widths a
    doubling), and at most ``limit``. The added columns are padding (input '.', target
    -1): the sequence models are causal and the loss skips -1, so they change no
    event's loss (tested)."""
    step = max(4, 1 << max(0, width.bit_length() - 3))
    return min(limit, -(-width // step) * step)


def train(model: torch.nn.Module, X: torch.Tensor, Y: torch.Tensor, p: TrainParams,
          progress: bool = True, timings: dict | None = None,
          lr_at: Callable[[int], float] | None = None,
          look: Callable[[int, float], float] | None = None) -> list[tuple[int, float]]:
    """Train ``model`` in place on windows X (N, T), Y (N,), or sequences X, Y (N, T),
    on ``train.device`` (the model is left there; the checkpoint is saved from the CPU).

    Returns the loss curve: (last step of the block, mean log10 loss over the
    block) for every ``log_every`` steps, as the lecture plots it. ``timings``, if
    given, receives the wall time of the first step (which compiles) and of the
    run, and the steps/s after the first step. ``lr_at(step)``, if given, replaces
    the schedule of ``p`` (the learning-rate finder's sweep). ``look(steps done, mean
    training loss since the last look)``, if given, is called every ``eval_every``
    steps and after the last (only then where ``eval_every`` is 0). With ``train.ema``
    each look sees, and the model ends with, the moving average of the weights
    (``WeightAverage``).
    """
    lr_at = lr_at or functools.partial(learning_rate, p=p)
    # A fixed thread count: results then do not depend on the machine's core count,
    # and at batch 32 one thread beats two (the ops are too small to split).
    torch.set_num_threads(p.threads)
    device = resolve_device(p.device)
    model.to(device).train()
    X, Y = X.to(device), Y.to(device)
    flat = (FlatParameters(model, param_groups(model, p.weight_decay))
            if _compiles_functional_step(model, p) else None)
    try:
        return _train(model, X, Y, p, progress, timings, lr_at, look, flat)
    finally:
        if flat:
            flat.restore()


def _train(model, X, Y, p, progress, timings, lr_at, look, flat) -> list[tuple[int, float]]:
    device = X.device
    optimizer = make_optimizer(model, p, flat.groups if flat else None)
    step_fn = _step_function(model, p, progress, flat)
    # outside the step function, so every step function (compiled or not) is unchanged
    average = WeightAverage(model, X, Y, p) if p.ema else None
    bucketed, packed = batch_layout(model, p)
    # Every step's loss, turned into numbers once, at the end. One buffer, not a tensor
    # per step: 0-d tensors kept from each step pin the heap between that step's
    # (batch, vocab) buffers, so glibc can reuse none of it; with a 4,135-letter
    # vocabulary 20,000 steps of the MLP peaked at 11 GB that way (docs/data.md).
    losses = torch.empty(p.steps, device=device)
    bar = tqdm(total=p.steps, disable=not progress, unit="step", mininterval=1.0,
               dynamic_ncols=True)
    started, lr = time.perf_counter(), None
    last_look, looking = 0, 0.0  # the step of the last look, the seconds spent looking
    for step, (xb, yb) in enumerate(minibatches(X, Y, p, bucketed, packed)):
        if (new_lr := lr_at(step)) != lr:
            lr = new_lr
            for group in optimizer.param_groups:
                group["lr"] = lr
        losses[step] = step_fn(optimizer, xb, yb)
        if average:
            average.update()
        if step == 0:
            first_step = time.perf_counter()
        if (step + 1) % p.log_every == 0 or step + 1 == p.steps:
            bar.update(step + 1 - bar.n)
            bar.set_postfix(loss=f"{losses[step].item():.4f}", lr=f"{lr:g}", refresh=False)
        if look and ((step + 1) % (p.eval_every or p.steps) == 0 or step + 1 == p.steps):
            looked = time.perf_counter()
            if average:  # the look scores (and keep: best keeps) the averaged weights
                average.swap_in()
            val_loss = look(step + 1, losses[last_look:step + 1].mean().item())
            if average and step + 1 < p.steps:  # after the last look they stay
                average.swap_out()
            bar.set_postfix(loss=f"{losses[step].item():.4f}", val=f"{val_loss:.4f}", lr=f"{lr:g}")
            last_look, looking = step + 1, looking + time.perf_counter() - looked
    if average and not average.swapped_in:
        average.swap_in()  # the model ends holding the averaged weights
    bar.close()
    finished = time.perf_counter()
    rate = (p.steps - 1) / (finished - first_step) if p.steps > 1 else float("nan")
    if timings is not None:
        timings.update(seconds=finished - started, first_step_seconds=first_step - started,
                       steps_per_second=rate)
    if progress:
        print(f"trained {p.steps} steps in {finished - started:.1f}s "
              f"(first step {first_step - started:.1f}s, then {rate:.0f} steps/s)"
              + (f"; scoring val took {looking:.1f}s" if look else ""))
    return loss_curve(losses.log10(), p.log_every)


class WeightAverage:
    """``train.ema``: an exponential moving average of the parameters, updated after each
    optimizer step, shadow = decay * shadow + (1 - decay) * param, in float32, starting
    from the initial weights. Buffers other than batch-norm statistics are not averaged:
    the averaged model uses the model's own.

    ``swap_in`` puts the averaged weights into the model and recomputes its batch-norm
    statistics for them; ``swap_out`` puts back the raw weights and statistics exactly, so
    training goes on as it would have without the average. The update draws no random
    numbers, and the recomputing pass gives back any it draws (dropout), so the raw
    weights are those of the same run without ``ema``.
    """

    def __init__(self, model: torch.nn.Module, X: torch.Tensor, Y: torch.Tensor,
                 p: TrainParams):
        self.model, self.weight = model, 1.0 - p.ema
        self.params = list(model.parameters())
        with torch.no_grad():
            self.shadow = [q.detach().float().clone() for q in self.params]
        self.norms = [m for m in model.modules()
                      if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
        self.loss_of = functools.partial(_autograd_loss, model,
                                         getattr(torch, p.matmul_precision))
        self.batches = _statistics_batches(X, Y, p) if self.norms else []
        self.saved = None  # the raw weights and statistics while the average is in

    @property
    def swapped_in(self) -> bool:
        return self.saved is not None

    @torch.no_grad()
    def update(self):
        torch._foreach_lerp_(self.shadow, self.params, self.weight)

    @torch.no_grad()
    def swap_in(self):
        self.saved = [t.detach().clone() for t in self.params + self._statistics()]
        for param, average in zip(self.params, self.shadow):
            param.copy_(average)
        if self.norms:
            self._recompute_statistics()

    @torch.no_grad()
    def swap_out(self):
        for tensor, raw in zip(self.params + self._statistics(), self.saved):
            tensor.copy_(raw)
        self.saved = None

    def _statistics(self) -> list[torch.Tensor]:
        return [t for m in self.norms
                for t in (m.running_mean, m.running_var, m.num_batches_tracked)]

    @torch.no_grad()
    def _recompute_statistics(self):
        """Batch-norm running statistics for the averaged weights: those of the raw
        weights belong to other weights. The averaged model runs forward in training mode
        over ``self.batches`` (see ``_statistics_batches``), each batch norm keeping the
        cumulative average of their batch statistics (momentum None, from reset stats):
        an estimate of the statistics that training takes per batch, as the running
        average estimates them for the raw weights. Training mode keeps dropout on, as
        training saw it when those statistics were taken; its random draws are given
        back (fork_rng), so the training after the pass draws what it would have."""
        was_training = self.model.training
        momenta = [m.momentum for m in self.norms]
        for m in self.norms:
            m.reset_running_stats()
            m.momentum = None
        device = self.params[0].device
        self.model.train()
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            for xb, yb in self.batches:
                self.loss_of(xb, yb)
        self.model.train(was_training)
        for m, momentum in zip(self.norms, momenta):
            m.momentum = momentum


def _statistics_batches(X: torch.Tensor, Y: torch.Tensor, p: TrainParams) -> list[tuple]:
    """The training batches that batch-norm statistics are recomputed on: all training rows
    as one batch where they are at most ``STATISTICS_BATCHES`` batches' worth (the exact
    statistics of the training data), else ``STATISTICS_BATCHES`` batches of
    ``batch_size`` rows drawn uniformly as the trainer draws them (its generator, seeded
    with ``train.seed``): the same batches at every look, so a run repeats byte for byte.
    Sequences keep their full width: padding (target -1) moves no statistic."""
    if len(X) <= STATISTICS_BATCHES * p.batch_size:
        return [(X.long(), Y.long())]
    generator = torch.Generator().manual_seed(p.seed)
    ix = torch.randint(0, len(X), (STATISTICS_BATCHES, p.batch_size), generator=generator)
    ix = ix.to(X.device)
    return list(zip(X[ix].long(), Y[ix].long()))


def fit_by_counting(model: torch.nn.Module, X: torch.Tensor, Y: torch.Tensor,
                    progress: bool = True):
    """Fit a counted model (``fit(X, Y)``: bigram, ngram) on the CPU: one pass of
    counting over every training event, no gradient steps and no learning rate."""
    started = time.perf_counter()
    _map_large_buffers()
    model.cpu().fit(X.cpu(), Y.cpu())  # in the stored index type: fit widens what it uses
    if progress:
        print(f"counted {int((Y >= 0).sum()):,} events in {time.perf_counter() - started:.2f}s")


def _map_large_buffers():
    """glibc serves buffers below its mmap threshold from the heap, and raises that
    threshold (up to 32 MB) each time a mapped buffer is freed, so that the counting's
    many freed temporaries of a few MB to 32 MB stay resident (0.5 GB of a fit at 2M
    names in 5,000 letters, min_count 4). A fixed 1 MB threshold maps each of them and
    returns it when freed. Elsewhere than glibc, nothing to set."""
    try:
        ctypes.CDLL("libc.so.6").mallopt(-3, 1 << 20)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        pass


def _has_hand_backward(model) -> bool:
    """Models may offer ``forward_backward``: the same gradients without autograd."""
    return getattr(model, "supports_forward_backward", lambda: False)()


def _step_function(model, p: TrainParams, progress: bool, flat: FlatParameters | None = None):
    """``step(optimizer, xb, yb) -> loss``: one optimisation step; with ``flat``, the
    compiled functional step over those flat parameters (pipeline/functional_step.py)."""
    matmul_dtype = getattr(torch, p.matmul_precision)
    if flat:
        gradients = gradients_function(model, flat, matmul_dtype)
        compiled = _compiled(gradients, _compiled_autograd_part(gradients, progress))
        return functools.partial(_functional_step, compiled, flat)
    if not _has_hand_backward(model):
        loss_of = functools.partial(_autograd_loss, model, matmul_dtype)
        forward_backward = functools.partial(_autograd_forward_backward, loss_of)
        if _compiles_autograd_step(model, p):
            forward_backward = _compiled(forward_backward, functools.partial(
                _autograd_forward_backward, _compiled_autograd_part(loss_of, progress)))
        return functools.partial(_autograd_step, forward_backward)
    for param in model.parameters():  # every .grad exists before the first (traced) step
        param.grad = torch.zeros_like(param)
    forward_backward = model.forward_backward
    if matmul_dtype != torch.float32:
        forward_backward = functools.partial(forward_backward, matmul_dtype=matmul_dtype)
    if p.compile:
        if progress:
            print("compiling the training step on its first call (train.compile: false skips it)")
        forward_backward = _compiled(forward_backward)
    return functools.partial(_hand_derived_step, forward_backward)


def _compiled_autograd_part(fn, progress: bool):
    """``fn`` (the autograd models' loss, or their functional step's gradients) compiled,
    one graph a batch shape as it first comes."""
    if progress:
        print("compiling the training step for each batch width as it first comes "
              "(train.compile: false skips it)")
    # dropout masks drawn as in eager mode, by torch's generator: faster here than
    # inductor's own random numbers (bench/sequence_speed.py, docs/performance.md)
    return _guards_checked_once_a_shape(torch.compile(
        fn, dynamic=False, options={"cpp_wrapper": True, "fallback_random": True}))


def _guards_checked_once_a_shape(compiled):
    """``compiled(..., xb, yb)`` with all of dynamo's guards checked on the first call at
    each batch shape, and after that only those that tell its graphs apart (the shape,
    and the model where one process trains several). One training changes nothing else
    they guard between steps: the model, its mode and dropout, the precision and the
    grad mode are the run's. Checking them all at every call costs a few percent of
    the transformer's step (docs/performance.md).

    A shape's first call compiles its graphs, with views recomputed in the backward
    rather than saved: a graph that saves a view of a ReLU's output saves the ReLU's
    bool mask too, which compiled C++ for AVX2 stores and loads one lane at a time."""
    seen = set()

    def call(*args):
        shape = tuple(args[-1].shape)
        if shape in seen:
            with torch.compiler.set_stance("default", skip_guard_eval_unsafe=True):
                return compiled(*args)
        with torch._functorch.config.patch(recompute_views=True):
            result = compiled(*args)
        seen.add(shape)
        return result
    return call


def batch_layout(model, p: TrainParams) -> tuple[bool, bool]:
    """(bucketed, packed): how ``minibatches`` lays out this model's batches. A compiled
    autograd step sees bucketed widths, and packed rows where the model reads them."""
    bucketed = _compiles_autograd_step(model, p)
    return bucketed, bucketed and getattr(model, "reads_packed_names", False)


def _compiles_autograd_step(model, p: TrainParams) -> bool:
    """Whether ``train.compile`` compiles this model's autograd step: for the models that
    say it pays (``compiled_training``; measured by bench/sequence_speed.py)."""
    return (p.compile and not _has_hand_backward(model)
            and getattr(model, "compiled_training", False))


def _compiles_functional_step(model, p: TrainParams) -> bool:
    """Whether that compiled step is the functional one (pipeline/functional_step.py)."""
    return _compiles_autograd_step(model, p) and steps_functionally(model)


def _compiled(fn, compiled=None):
    """``compiled`` (by default ``fn`` compiled by torch.compile) from its first call
    on; if this machine cannot compile (no C++ compiler, say), say so and run ``fn`` as
    it is: the same training, slower, and different from a compiled run only by float
    rounding."""
    if compiled is None:
        compiled = torch.compile(fn, dynamic=False, options={"cpp_wrapper": True})
    current = None

    def call(*args):
        nonlocal current
        if current is None:
            try:
                loss = compiled(*args)  # compilation fails before the step runs
                current = compiled
            except torch._dynamo.exc.BackendCompilerFailed as e:
                print(f"warning: torch.compile failed ({str(e).splitlines()[0][:200]}); "
                      "training without it (slower; equal up to float rounding); set train.compile: "
                      "false to skip the attempt", file=sys.stderr)
                current = fn
                loss = fn(*args)
            return loss
        return current(*args)
    return call


def _autograd_loss(model, matmul_dtype, xb, yb) -> torch.Tensor:
    # autocast rounds the matmul inputs as forward_backward(matmul_dtype=...) does
    with torch.autocast(xb.device.type, dtype=matmul_dtype,
                        enabled=matmul_dtype != torch.float32):
        return model(xb, yb)[1]


def _autograd_forward_backward(loss_of, xb, yb) -> torch.Tensor:
    loss = loss_of(xb, yb)
    loss.backward()  # a compiled loss_of runs its compiled backward here
    return loss.detach()


def _autograd_step(forward_backward, optimizer, xb, yb) -> torch.Tensor:
    optimizer.zero_grad(set_to_none=True)
    loss = forward_backward(xb, yb)  # sets every .grad afresh
    optimizer.step()
    return loss


def _functional_step(gradients, flat: FlatParameters, optimizer, xb, yb) -> torch.Tensor:
    loss, grads = gradients(flat.tensors, xb, yb)
    flat.set_grads(grads)
    optimizer.step()
    return loss


def _hand_derived_step(forward_backward, optimizer, xb, yb) -> torch.Tensor:
    loss = forward_backward(xb, yb)  # sets every .grad afresh
    optimizer.step()
    return loss


def loss_curve(log10_losses: torch.Tensor, block: int) -> list[tuple[int, float]]:
    """Mean of each ``block`` consecutive values, keyed by the block's last step."""
    curve = []
    for start in range(0, len(log10_losses), block):
        values = log10_losses[start:start + block]
        curve.append((start + len(values), round(values.double().mean().item(), 6)))
    return curve
