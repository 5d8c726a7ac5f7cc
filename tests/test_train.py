import contextlib
import dataclasses
import functools

import torch

import pipeline.train as train_module
from pipeline.functional_step import FlatParameters, steps_functionally
from pipeline.models import build_model, make_config
from pipeline.params import TrainParams
from pipeline.sequences import name_sequences
from pipeline.train import (bucket_width, learning_rate, loss_curve, minibatches,
                            packed_batches, packed_rows, param_groups, train)
from pipeline.vocab import Vocabulary

LECTURE = TrainParams(steps=200_000, batch_size=32, lr=0.1, lr_final=0.01, decay_at=0.75,
                      optimizer="sgd", schedule="step", weight_decay=0.0, seed=42,
                      log_every=1000, compile=False)


def _sequences(names, width):
    vocab = Vocabulary(tuple(".abcdefghijklmnopqrstuvwxyz"))
    return tuple(torch.from_numpy(a).long() for a in name_sequences(names, vocab, width))


def test_lecture_schedule_drops_at_150k():
    assert learning_rate(0, LECTURE) == 0.1
    assert learning_rate(149_999, LECTURE) == 0.1
    assert learning_rate(150_000, LECTURE) == 0.01


def test_cosine_schedule_ends_at_lr_final():
    p = dataclasses.replace(LECTURE, schedule="cosine", steps=100)
    assert learning_rate(0, p) == 0.1
    assert abs(learning_rate(100, p) - 0.01) < 1e-12
    assert learning_rate(50, p) < 0.1


def test_warmup_then_linear_decay():
    p = dataclasses.replace(LECTURE, schedule="linear", steps=110, warmup_steps=10)
    assert [learning_rate(s, p) for s in (0, 4, 9)] == [0.01, 0.05, 0.1]
    assert learning_rate(10, p) == 0.1  # the decay starts after the warm-up
    assert abs(learning_rate(60, p) - 0.055) < 1e-12
    assert abs(learning_rate(110, p) - 0.01) < 1e-12


def test_epoch_sampling_sees_every_window_once_per_epoch():
    X = torch.arange(50)[:, None]  # each window holds its own index
    p = dataclasses.replace(LECTURE, steps=25, batch_size=6, sampling="epochs")
    seen = torch.cat([xb[:, 0] for xb, _ in minibatches(X, X[:, 0], p)])  # 150: 3 epochs
    for epoch in seen.view(3, 50):
        assert sorted(epoch.tolist()) == list(range(50))
    assert not torch.equal(seen[:50], seen[50:100])  # a fresh shuffle each epoch
    p_random = dataclasses.replace(p, sampling="replacement")
    drawn = torch.cat([xb[:, 0] for xb, _ in minibatches(X, X[:, 0], p_random)])
    assert len(drawn.unique()) < 50 or sorted(drawn[:50].tolist()) != list(range(50))


def test_bucketed_sequence_batches_pad_the_longest_name_to_a_few_widths():
    assert [bucket_width(w, 100) for w in (1, 4, 5, 9, 16, 17, 32, 33, 41, 64, 65)] == [
        4, 4, 8, 12, 16, 20, 32, 40, 48, 64, 80]
    assert bucket_width(15, 14) == 14  # never wider than the data
    X, Y = _sequences(["ava", "emma", "olivia", "charlotte", "mia", "christopherjohn"], 16)
    p = dataclasses.replace(LECTURE, steps=40, batch_size=2)
    widths = set()
    for (xa, ya), (xb, yb) in zip(minibatches(X, Y, p), minibatches(X, Y, p, bucketed=True)):
        cut = ya.shape[1]
        assert cut == int((ya >= 0).sum(1).max()) and yb.shape[1] == bucket_width(cut, 16)
        assert torch.equal(xb[:, :cut], xa) and torch.equal(yb[:, :cut], ya)
        assert (xb[:, cut:] == 0).all() and (yb[:, cut:] == -1).all()  # '.' in, no event
        widths.add(yb.shape[1])
    assert widths == {4, 8, 12, 16}


def _names_in_rows(X, Y):
    """Each name a row holds, as (inputs, targets): a name starts at each '.' input."""
    names = []
    for x, y in zip(X.tolist(), Y.tolist()):
        starts = [i for i, c in enumerate(x) if c == 0] + [len(x)]
        names += [(x[a:b], y[a:b]) for a, b in zip(starts, starts[1:]) if y[a] != -1]
    return sorted((x[:y.index(-1)] if -1 in y else x, [t for t in y if t != -1])
                  for x, y in names)


def test_packed_rows_hold_each_name_of_the_batch_once():
    X, Y = _sequences(["ava", "emma", "olivia", "charlotte", "mia", "christopherjohn", "q",
                       "isabella", "sophia"], 16)
    p = dataclasses.replace(LECTURE, steps=60, batch_size=7)
    shapes = set()
    for (xa, ya), (xb, yb) in zip(minibatches(X, Y, p),
                                  minibatches(X, Y, p, bucketed=True, packed=True)):
        assert _names_in_rows(xb, yb) == _names_in_rows(xa, ya)  # every event, once
        rows = len(ya) - int(((ya >= 0).sum(1).sort().values[:3]
                              + (ya >= 0).sum(1).sort(descending=True).values[:3] <= 16).sum())
        assert len(yb) == min(7, -(-rows // 4) * 4)  # the pairs that fit share a row
        assert (xb[rows:] == 0).all() and (yb[rows:] == -1).all()  # rows of padding
        shapes.add(tuple(yb.shape))
    assert len(shapes) <= 4 and all(w in (4, 8, 12, 16) for _, w in shapes)
    # a chunk of batches packs as each batch alone would
    ix = torch.randint(0, len(X), (30, 7), generator=torch.Generator().manual_seed(0))
    for c, (xb, yb) in enumerate(packed_batches(X[ix], Y[ix])):
        alone = packed_rows(X[ix[c]], Y[ix[c]])
        assert torch.equal(xb, alone[0]) and torch.equal(yb, alone[1])


def test_weight_decay_reaches_only_linear_weights():
    cfg = make_config("hierarchical", vocab_size=5, block_size=4, n_embd=4, hidden=16)
    model = build_model(cfg, seed=0)
    decayed, rest = param_groups(model, 0.1)
    names = {id(q): n for n, q in model.named_parameters()}
    assert decayed["weight_decay"] == 0.1 and rest["weight_decay"] == 0.0
    assert sorted(names[id(q)] for q in decayed["params"]) == [
        "net.1.weight", "net.5.weight", "net.8.weight"]
    assert len(decayed["params"]) + len(rest["params"]) == len(names)


def test_weight_decay_reaches_recurrent_weight_matrices():
    cfg = make_config("lstm", vocab_size=5, block_size=4, n_embd=4, hidden=6, n_layer=2)
    model = build_model(cfg, seed=0)
    decayed, rest = param_groups(model, 0.1)
    names = {id(q): n for n, q in model.named_parameters()}
    assert sorted(names[id(q)] for q in decayed["params"]) == [
        "head.weight", "recurrent.weight_hh_l0", "recurrent.weight_hh_l1",
        "recurrent.weight_ih_l0", "recurrent.weight_ih_l1"]
    assert len(decayed["params"]) + len(rest["params"]) == len(names)


def test_loss_curve_means_blocks():
    curve = loss_curve(torch.tensor([1.0, 3.0, 2.0, 4.0, 5.0]), 2)
    assert curve == [(2, 2.0), (4, 3.0), (5, 5.0)]


def _tiny_data():
    torch.manual_seed(0)
    X = torch.randint(0, 5, (200, 4))
    return X, (X.sum(1) % 5)  # learnable


TINY = make_config("hierarchical", vocab_size=5, block_size=4, n_embd=4, hidden=16)


def _tiny_run(seed, hand_backward=True, compile=False, look=None, model=None, **train_params):
    X, Y = _tiny_data()
    model = model or build_model(TINY, seed=seed)
    if not hand_backward:  # leaves the trainer only autograd
        model.supports_forward_backward = lambda: False
    p = dataclasses.replace(LECTURE, steps=300, log_every=100, seed=seed, compile=compile,
                            **train_params)
    return model, train(model, X, Y, p, progress=False, look=look)


def test_training_lowers_the_loss_and_is_repeatable():
    model_a, curve_a = _tiny_run(seed=3)
    model_b, curve_b = _tiny_run(seed=3)
    assert [s for s, _ in curve_a] == [100, 200, 300]
    assert curve_a[-1][1] < curve_a[0][1]
    assert curve_a == curve_b
    a, b = model_a.state_dict(), model_b.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    _, curve_c = _tiny_run(seed=4)
    assert curve_c != curve_a


def _assert_same_training(run_a, run_b, atol=1e-4):
    """Same loss curve and weights up to float noise (``atol``)."""
    (model_a, curve_a), (model_b, curve_b) = run_a, run_b
    assert [s for s, _ in curve_a] == [s for s, _ in curve_b]
    assert all(abs(a - b) < atol for (_, a), (_, b) in zip(curve_a, curve_b))
    a, b = model_a.state_dict(), model_b.state_dict()
    assert all(torch.allclose(a[k].double(), b[k].double(), atol=atol) for k in a)


def test_autograd_path_trains_the_same_way():
    _assert_same_training(_tiny_run(seed=3), _tiny_run(seed=3, hand_backward=False))


def test_compiled_step_trains_like_the_eager_one():
    # inductor fuses the elementwise work, so the bits may differ, not the training
    _assert_same_training(_tiny_run(seed=3), _tiny_run(seed=3, compile=True))


# names of 4 to 7 letters: every batch pads to one width (8), so one shape compiles
TINY_NAMES = _sequences(["emma", "olivia", "sophia", "amelia", "harper", "evelyn", "abigail",
                         "ella", "luna", "camila"], 8)


def _tiny_transformer_run(compile, dropout=0.0, **train_params):
    X, Y = TINY_NAMES
    cfg = make_config("transformer", vocab_size=27, block_size=8, n_embd=8, n_layer=1,
                      n_head=2, dropout=dropout)
    model = build_model(cfg, seed=3)
    p = dataclasses.replace(LECTURE, **{**dict(steps=150, batch_size=4, log_every=50,
                                                optimizer="adamw", lr=0.01, seed=3,
                                                compile=compile), **train_params})
    return model, train(model, X, Y, p, progress=False)


def _assert_same_function(run_a, run_b, atol=1e-4):
    """Same loss curve and logits up to float noise. (Not the same weights: the keys'
    bias moves no attention weight, so its gradient is rounding noise alone, which AdamW
    scales up to full steps.)"""
    (model_a, curve_a), (model_b, curve_b) = run_a, run_b
    assert [s for s, _ in curve_a] == [s for s, _ in curve_b]
    assert all(abs(a - b) < atol for (_, a), (_, b) in zip(curve_a, curve_b))
    with torch.no_grad():
        logits_a, logits_b = model_a.eval()(TINY_NAMES[0])[0], model_b.eval()(TINY_NAMES[0])[0]
    torch.testing.assert_close(logits_a, logits_b, atol=atol, rtol=0.0)


def test_compiled_autograd_step_trains_like_the_eager_one():
    """train.compile compiles the transformer's forward and backward (one graph of each
    per batch width): the same training up to float rounding, repeatable exactly."""
    graphs = torch._dynamo.utils.counters["stats"]["unique_graphs"]
    compiled = _tiny_transformer_run(compile=True)
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] > graphs  # it did compile
    eager = _tiny_transformer_run(compile=False)
    _assert_same_function(eager, compiled)
    assert compiled[1][-1][1] < compiled[1][0][1]
    again = _tiny_transformer_run(compile=True)
    assert again[1] == compiled[1]
    a, b = compiled[0].state_dict(), again[0].state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_functional_step_trains_as_the_autograd_step(monkeypatch):
    """A model without buffers trains compiled through one torch.func graph over flat
    parameters (pipeline/functional_step.py). In bfloat16 it gives the very bits of the
    step compiled through autograd; in float32 inductor fuses the two differently, so the
    same training up to rounding. The model ends with parameters of their own."""
    made = []
    monkeypatch.setattr(train_module, "FlatParameters",
                        lambda *a: made.append(FlatParameters(*a)) or made[-1])
    for precision in ("bfloat16", "float32"):
        functional = _tiny_transformer_run(compile=True, matmul_precision=precision)
        assert made, "the functional step was not used"
        made.clear()
        with monkeypatch.context() as m:
            m.setattr(train_module, "steps_functionally", lambda model: False)
            autograd = _tiny_transformer_run(compile=True, matmul_precision=precision)
        assert not made
        if precision == "bfloat16":
            assert functional[1] == autograd[1]
            _assert_same_state(_state(functional[0]), _state(autograd[0]))
        else:
            _assert_same_function(functional, autograd)
        storages = {q.untyped_storage().data_ptr() for q in functional[0].parameters()}
        assert len(storages) == len(list(functional[0].parameters()))


def test_functional_step_draws_the_autograd_steps_dropout_masks(monkeypatch):
    """With dropout the two compiled steps round differently, but they drop the same
    units: the first step's loss is the same number. (Under bfloat16 autocast a torch.func
    trace of F.dropout would draw other masks.)"""
    first = functools.partial(_tiny_transformer_run, compile=True, dropout=0.3, steps=1,
                              log_every=1, matmul_precision="bfloat16")
    functional = first()
    monkeypatch.setattr(train_module, "steps_functionally", lambda model: False)
    assert functional[1] == first()[1]
    assert functional[1] != first(dropout=0.0)[1]


def test_compiled_steps_check_every_guard_once_a_batch_shape(monkeypatch):
    """The compiled step checks all of dynamo's guards at a batch shape's first call and,
    after that, only those that tell its graphs apart."""
    stances = []
    monkeypatch.setattr(torch.compiler, "set_stance",
                        lambda *a, **k: stances.append(k) or contextlib.nullcontext())
    step = train_module._guards_checked_once_a_shape(lambda xb, yb: xb.sum())
    for rows in (4, 4, 8, 4, 8, 12):
        step(torch.ones(rows, 3), torch.ones(rows, 3))
    assert stances == [{"skip_guard_eval_unsafe": True}] * 3


def test_models_trained_one_after_another_keep_their_own_compiled_graphs():
    """A model with dropout trained between two trainings of one without (the same
    parameter shapes, the same batch shapes, another graph): the second training gives
    the first's bits, so the guards skipped after each shape's first call never let one
    model's graph run another's step."""
    run = functools.partial(_tiny_transformer_run, compile=True, steps=60,
                            matmul_precision="bfloat16")
    first = run()
    between = run(dropout=0.3)
    again = run()
    assert again[1] == first[1] != between[1]
    _assert_same_state(_state(first[0]), _state(again[0]))


def test_flat_parameters_are_views_in_group_order():
    model = build_model(make_config("transformer", vocab_size=27, block_size=8, n_embd=8,
                                    n_layer=1, n_head=2), seed=3)
    before = _state(model)
    groups = param_groups(model, 0.1)
    flat = FlatParameters(model, groups)
    assert [g["weight_decay"] for g in flat.groups] == [0.1, 0.0]
    for group, (tensor,) in zip(groups, (g["params"] for g in flat.groups)):
        assert tensor.numel() == sum(q.numel() for q in group["params"])
        assert all(q.untyped_storage().data_ptr() == tensor.untyped_storage().data_ptr()
                   for q in group["params"])
    _assert_same_state(_state(model), before)
    views = flat.views(flat.tensors)
    assert all(torch.equal(views[name], q) for name, q in model.named_parameters())
    grads = {name: torch.full_like(q, i) for i, (name, q) in enumerate(views.items())}
    flat.set_grads(flat.concatenated(grads))
    laid_out = flat.views([g["params"][0].grad for g in flat.groups])
    assert all(torch.equal(laid_out[name], grads[name]) for name in grads)
    flat.restore()
    _assert_same_state(_state(model), before)
    assert len({q.untyped_storage().data_ptr() for q in model.parameters()}) == len(before)


def test_only_models_without_buffers_step_functionally():
    tiny = dict(vocab_size=27, block_size=8, n_embd=8)
    assert steps_functionally(build_model(make_config("transformer", n_layer=1, n_head=2,
                                                      **tiny)))
    assert not steps_functionally(build_model(make_config("gated", **tiny)))


def test_compiled_gated_step_saves_no_bool_masks_of_its_activations():
    """The gated model's compiled step (through autograd) recomputes its ReLU masks in the
    backward from the activations it saves anyway, and keeps dropout's masks in float32:
    the only bool it saves is batch norm's (batch, time) mask of the events."""
    X, Y = TINY_NAMES
    model = build_model(make_config("gated", vocab_size=27, block_size=4, n_embd=8,
                                    residual=8, skip=8, dropout=0.2), seed=3)
    p = dataclasses.replace(LECTURE, steps=1, batch_size=4, optimizer="adamw", lr=0.01,
                            compile=True)
    step = train_module._step_function(model, p, progress=False)
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        step(train_module.make_optimizer(model, p), X[:4], Y[:4])
    assert saved and [t.shape for t in saved if t.dtype == torch.bool] == [(4, X.shape[1])]


def test_bfloat16_matmuls_train_like_float32_ones():
    bf16 = _tiny_run(seed=3, matmul_precision="bfloat16")
    _assert_same_training(_tiny_run(seed=3), bf16, atol=0.05)  # bfloat16 keeps ~3 digits
    assert bf16[1] != _tiny_run(seed=3)[1]  # it did round
    # the hand-derived step rounds the same products as autograd under autocast
    _assert_same_training(bf16, _tiny_run(seed=3, hand_backward=False,
                                          matmul_precision="bfloat16"), atol=0.02)


def test_adamw_recipe_options_train_repeatably():
    recipe = dict(optimizer="adamw", lr=0.01, weight_decay=0.1, schedule="linear",
                  warmup_steps=20, sampling="epochs", lr_final=1e-4)
    model_a, curve_a = _tiny_run(seed=3, **recipe)
    model_b, curve_b = _tiny_run(seed=3, **recipe)
    assert curve_a == curve_b and curve_a[-1][1] < curve_a[0][1]
    a, b = model_a.state_dict(), model_b.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_failed_compile_falls_back_to_eager(monkeypatch, capsys):
    def broken_compile(fn, **kwargs):
        def call(*args):
            raise torch._dynamo.exc.BackendCompilerFailed(
                None, RuntimeError("no C++ compiler"), None)
        return call
    monkeypatch.setattr(torch, "compile", broken_compile)
    _, eager = _tiny_run(seed=3)
    _, fallen_back = _tiny_run(seed=3, compile=True)
    assert fallen_back == eager  # the very same run, without compilation
    assert "torch.compile failed (" in capsys.readouterr().err
    # a model whose autograd step compiles: its eager step, on batches padded all the same
    _assert_same_function(_tiny_transformer_run(compile=False),
                          _tiny_transformer_run(compile=True))
    assert "torch.compile failed (" in capsys.readouterr().err


def _state(model) -> dict:
    return {k: v.clone() for k, v in model.state_dict().items()}


def _assert_same_state(a: dict, b: dict):
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_ema_0_trains_as_without_the_key():
    off = dataclasses.replace(LECTURE, ema=0.0)
    assert LECTURE.ema == 0.0 and "ema" not in off.record()  # nor in the checkpoint's record
    assert dataclasses.replace(LECTURE, ema=0.9).record()["ema"] == 0.9
    without, curve = _tiny_run(seed=3)
    with_key, curve_0 = _tiny_run(seed=3, ema=0.0)
    assert curve_0 == curve
    _assert_same_state(_state(with_key), _state(without))


def _batch_norms(model):
    return [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm1d)]


def test_ema_scores_and_ends_with_the_average_of_every_steps_weights():
    decay = 0.99
    raw = [dict(build_model(TINY, seed=3).named_parameters())]  # the initial weights

    plain = build_model(TINY, seed=3)

    def every_step(step, loss):
        raw.append({k: v.detach().clone() for k, v in plain.named_parameters()})
        return 0.0
    _, plain_curve = _tiny_run(seed=3, eval_every=1, look=every_step, model=plain)
    average = {k: v.detach().clone() for k, v in raw[0].items()}  # by hand, step by step
    averages = [average]
    for weights in raw[1:]:
        average = {k: average[k] + (1 - decay) * (weights[k] - average[k]) for k in average}
        averages.append(average)

    looked, averaged = {}, build_model(TINY, seed=3)

    def look(step, loss):
        assert averaged.training
        looked[step] = _state(averaged)
        return 0.0
    _, curve = _tiny_run(seed=3, ema=decay, eval_every=100, look=look, model=averaged)
    assert curve == plain_curve  # the raw steps are the same: looks swap the average back out
    final = dict(averaged.named_parameters())
    for step in (100, 200, 300):
        for key, value in averages[step].items():
            torch.testing.assert_close(looked[step][key], value, atol=1e-6, rtol=0.0)
    _assert_same_state(looked[300], _state(averaged))  # it ends with the last look's weights
    assert any(not torch.allclose(final[k], raw[-1][k], atol=1e-3) for k in final)

    # the batch-norm statistics are those of the averaged weights on the training data: one
    # training-mode pass over all 200 windows (fewer than STATISTICS_BATCHES batches' worth)
    reference = build_model(TINY, seed=0)
    reference.load_state_dict(averaged.state_dict())
    for norm in _batch_norms(reference):
        norm.reset_running_stats()
        norm.momentum = None
    with torch.no_grad():
        reference.train()(*_tiny_data())
    norms, raw_norms = _batch_norms(averaged), _batch_norms(plain)
    assert norms and all(n.momentum == 0.1 for n in norms)  # momentum back as it was
    for norm, ref, raw_norm in zip(norms, _batch_norms(reference), raw_norms):
        for name in ("running_mean", "running_var"):
            value = getattr(norm, name)
            assert torch.isfinite(value).all()
            torch.testing.assert_close(value, getattr(ref, name), atol=1e-6, rtol=1e-5)
            assert not torch.allclose(value, getattr(raw_norm, name), atol=1e-3)


def test_ema_runs_repeat_byte_for_byte_with_or_without_looks():
    from safetensors.torch import save
    first, curve = _tiny_run(seed=3, ema=0.99)
    again, curve_again = _tiny_run(seed=3, ema=0.99)
    looked, curve_looked = _tiny_run(seed=3, ema=0.99, eval_every=70, look=lambda s, l: 0.0)
    assert curve == curve_again == curve_looked
    assert save(_state(first)) == save(_state(again)) == save(_state(looked))
    autograd, _ = _tiny_run(seed=3, ema=0.99, hand_backward=False)
    _assert_same_training((first, curve), (autograd, curve))


def test_ema_with_dropout_and_masked_batch_norm_draws_what_training_would():
    """The gated WaveNet (batch norm over the events only, dropout): the recomputing pass
    runs in training mode, and gives its dropout draws back, so the steps are unchanged."""
    X, Y = TINY_NAMES
    cfg = make_config("gated", vocab_size=27, block_size=4, n_embd=8, residual=8, skip=8,
                      dropout=0.2)

    def run(**train_params):
        model = build_model(cfg, seed=3)
        p = dataclasses.replace(LECTURE, steps=60, batch_size=4, log_every=20, optimizer="adamw",
                                lr=0.01, seed=3, eval_every=20, **train_params)
        return model, train(model, X, Y, p, progress=False, look=lambda s, l: 0.0)
    plain, curve = run()
    averaged, curve_averaged = run(ema=0.9)
    assert curve_averaged == curve
    for norm, raw_norm in zip(_batch_norms(averaged), _batch_norms(plain)):
        assert torch.isfinite(norm.running_var).all() and norm.running_var.min() > 0
        assert not torch.allclose(norm.running_mean, raw_norm.running_mean, atol=1e-4)


def test_ema_leaves_the_compiled_hand_derived_step_as_it_is():
    """The average is kept outside the step function: the compiled step trains with it as
    the eager one does, and swapping weights in and out at the looks compiles nothing new."""
    torch._dynamo.reset()  # a fresh cache: each model compiles its step once
    graphs = torch._dynamo.utils.counters["stats"]["unique_graphs"]
    compiled = _tiny_run(seed=3, compile=True, ema=0.99, eval_every=100, look=lambda s, l: 0.0)
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] == graphs + 1
    _assert_same_training(_tiny_run(seed=3, ema=0.99), compiled)
