"""The ensemble: a mixture of trained models of any architecture, read as sequences,
its weights fitted on val; params, checkpoint and stage."""

import dataclasses

import pytest
import torch
import yaml
from click.testing import CliRunner

from pipeline.checkpoint import Checkpoint, checkpoint_path, load_checkpoint, save_checkpoint
from pipeline.errors import PipelineError
from pipeline.evaluate import split_loss
from pipeline.models import build_model, make_config
from pipeline.params import EnsembleParams, load_params
from pipeline.sample import sample_names
from pipeline.windows import context_windows
from test_architectures import NAMES, VOCAB, moved, sequences
from conftest import ROOT

MLP = make_config("mlp", vocab_size=27, block_size=3, n_embd=4, hidden=16)
TRANSFORMER = make_config("transformer", vocab_size=27, block_size=16, n_embd=8, n_layer=1,
                          n_head=2)
NGRAM = make_config("ngram", vocab_size=27, block_size=8, n_embd=1, order=4)


def trained(config, seed=0):
    model = build_model(config, seed=seed)
    if config.arch == "ngram":
        return model.fit(*sequences()).eval()
    if model.reads == "windows":  # batch-norm statistics and params off their start
        X, _ = (torch.from_numpy(a).long() for a in context_windows(NAMES, VOCAB, 3))
        model.train()(X)
        for p in model.parameters():
            p.data.add_(torch.randn_like(p) * 0.3)
        return model.eval()
    return moved(model)


def mixture(*members, weights=None, mix="linear"):
    config = make_config("ensemble", vocab_size=27, block_size=0, n_embd=0, mix=mix,
                         names=tuple(f"m{i}" for i in range(len(members))),
                         members=tuple(m.config.to_json() for m in members))
    net = build_model(config)
    for slot, member in zip(net.members, members):
        slot.load_state_dict(member.state_dict())
    if weights is not None:
        net.weights.copy_(torch.tensor(weights, dtype=torch.float64))
    return net.eval()


def test_each_member_sees_what_it_sees_alone():
    """All weight on one member: the ensemble's loss over the names' sequences is the
    member's own, a window model's over its windows included."""
    mlp, tf, ngram = trained(MLP), trained(TRANSFORMER), trained(NGRAM)
    X, Y = sequences()
    Xw, Yw = (torch.from_numpy(a).long() for a in context_windows(NAMES, VOCAB, 3))
    for i, (member, alone) in enumerate([(mlp, split_loss(mlp, Xw, Yw)),
                                         (tf, split_loss(tf, X, Y)),
                                         (ngram, split_loss(ngram, X, Y))]):
        weights = [1.0 if j == i else 0.0 for j in range(3)]
        assert split_loss(mixture(mlp, tf, ngram, weights=weights), X, Y) == \
            pytest.approx(alone, abs=1e-5)


@pytest.mark.parametrize("mix", ["linear", "loglinear"])
def test_fitted_weights_beat_equal_ones_and_each_member(mix):
    mlp, tf, ngram = trained(MLP), trained(TRANSFORMER), trained(NGRAM)
    X, Y = sequences()
    net = mixture(mlp, tf, ngram, mix=mix)
    equal = split_loss(net, X, Y)
    steps = net.fit_weights(X, Y, rows=4)  # several passes: the chunks join up
    assert 1 <= steps <= 1000
    if mix == "linear":  # a distribution over the members
        assert float(net.weights.sum()) == pytest.approx(1.0)
        assert (net.weights >= 0).all()
    fitted = split_loss(net, X, Y)
    assert fitted <= equal + 1e-6
    for i in range(3):  # either mix holds each member alone: never worse than the best
        one = mixture(mlp, tf, ngram, weights=[float(i == j) for j in range(3)], mix=mix)
        assert fitted <= split_loss(one, X, Y) + 1e-6


@pytest.mark.parametrize("mix", ["linear", "loglinear"])
def test_a_checkpoint_rebuilds_it_from_the_file_alone(tmp_path, mix):
    net = mixture(trained(MLP), trained(TRANSFORMER), trained(NGRAM), weights=[0.2, 0.3, 0.5],
                  mix=mix)
    path = tmp_path / "mix.safetensors"
    save_checkpoint(path, Checkpoint(net, net.config, VOCAB, step=0, train={"fitted_on": "val"}))
    loaded = load_checkpoint(path)
    X, _ = sequences()
    with torch.no_grad():
        assert torch.equal(loaded.model(X)[0], net(X)[0])
    assert loaded.config.names == ["m0", "m1", "m2"]


def test_samples_past_a_members_positions():
    """Sampling grows names past the transformer's 16 positions: it then sees the last 16
    characters, as it does sampled alone, and the ensemble keeps drawing."""
    tf = build_model(dataclasses.replace(TRANSFORMER, block_size=4), seed=0).eval()
    net = mixture(trained(MLP), tf, weights=[0.0, 1.0])
    names = sample_names(net, VOCAB, count=20, seed=0, max_length=12)
    alone = sample_names(tf, VOCAB, count=20, seed=0, max_length=12)
    assert names == alone and max(map(len, names)) > 4


def project_params(tmp_path, ensembles):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["ensembles"] = ensembles
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return load_params(path)


@pytest.mark.parametrize("entry, message", [
    ({"mix": {"members": ["mlp", "nope"]}}, "ensembles.mix.members names 'nope', not a model"),
    ({"mix": {"members": ["mlp"]}}, "ensembles.mix.members must be a list of at least two"),
    ({"mix": {"members": ["mlp", "mlp"]}}, "ensembles.mix.members names a model twice"),
    ({"mix": {"members": ["mlp", "ngram"], "mix": "geometric"}}, "ensembles.mix.mix must be one of linear, loglinear"),
    ({"mix": {"members": ["mlp", "ngram"], "weights": 1}}, "unknown key ensembles.mix.weights"),
    ({"mlp": {"members": ["wavenet", "ngram"]}}, "ensembles.mlp has the name of a model"),
    ({"Mix": {"members": ["wavenet", "ngram"]}}, "ensembles.Mix must be named with lower-case"),
])
def test_a_bad_entry_is_one_line_naming_its_key(tmp_path, entry, message):
    params = project_params(tmp_path, entry)
    with pytest.raises(PipelineError, match=message.replace(".", r"\.")):
        EnsembleParams.load(params, next(iter(entry)))


def test_its_checkpoint_lives_outside_models(tmp_path):
    params = project_params(tmp_path, {"mix": {"members": ["mlp", "ngram"]}})
    assert checkpoint_path(params, "mix") == "ensembles/mix.safetensors"
    assert checkpoint_path(params, "mlp") == "models/mlp.safetensors"


def test_the_stage_fits_saves_and_records_its_members_time(tmp_path, monkeypatch):
    from pipeline import train_time
    from pipeline.sequences import name_sequences, save_sequences
    from stages.ensemble import ensemble

    monkeypatch.chdir(tmp_path)
    save_sequences("data/tensors/sequences.safetensors",
                   {split: name_sequences(NAMES, VOCAB, 16) for split in ("train", "val", "test")},
                   VOCAB)
    for name, model in (("mlp", trained(MLP)), ("ngram", trained(NGRAM))):
        path = f"models/{name}.safetensors"
        save_checkpoint(path, Checkpoint(model, model.config, VOCAB, step=0, train={}))
        train_time.record(path, 10.0, 100)
    project_params(tmp_path, {"mix": {"members": ["mlp", "ngram"]}})
    result = CliRunner().invoke(ensemble, ["mix"])
    assert result.exit_code == 0, result.output
    assert "weights mlp" in result.output
    net = load_checkpoint("ensembles/mix.safetensors").model
    assert float(net.weights.sum()) == pytest.approx(1.0)
    time = train_time.recorded(train_time.file_md5("ensembles/mix.safetensors"))
    assert time["seconds"] >= 20.0 and time["steps"] == 200


def test_a_loglinear_fit_too_large_for_memory_is_one_line(tmp_path, monkeypatch):
    from pipeline.models import ensemble as module
    from pipeline.sequences import name_sequences, save_sequences
    from stages.ensemble import ensemble

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(module, "LOGLINEAR_VALUES", 100)
    save_sequences("data/tensors/sequences.safetensors",
                   {split: name_sequences(NAMES, VOCAB, 16) for split in ("train", "val", "test")},
                   VOCAB)
    for name, model in (("mlp", trained(MLP)), ("ngram", trained(NGRAM))):
        save_checkpoint(f"models/{name}.safetensors",
                        Checkpoint(model, model.config, VOCAB, step=0, train={}))
    project_params(tmp_path, {"mix": {"members": ["mlp", "ngram"], "mix": "loglinear"}})
    result = CliRunner().invoke(ensemble, ["mix"])
    assert result.exit_code == 1
    assert result.output.startswith("error: params.yaml: ensembles.mix.mix must be linear "
                                    "for a split this large")
    assert not (tmp_path / "ensembles/mix.safetensors").exists()
