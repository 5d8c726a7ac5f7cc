"""Watching a run: val scored on every event every eval_every steps, logged with DVCLive,
the best weights kept on request; the weights trained are the same either way."""

import dataclasses
import json

import pytest
import torch

from pipeline.evaluate import split_loss
from pipeline.models import build_model, make_config
from pipeline.params import TrainParams
from pipeline.sequences import name_sequences
from pipeline.train import train
from pipeline.vocab import Vocabulary
from pipeline.watch import Watch

VOCAB = Vocabulary(tuple(".abcdefghijklmnopqrstuvwxyz"))
NAMES = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "amelia", "harper", "evelyn"]
RECIPE = TrainParams(steps=60, batch_size=4, lr=0.01, optimizer="adamw", schedule="linear",
                     lr_final=0.0, compile=False, log_every=10, eval_every=20)


def data():
    X, Y = (torch.from_numpy(a).long() for a in name_sequences(NAMES, VOCAB, 9))
    return (X, Y), (X[:3], Y[:3])


def model():
    cfg = make_config("transformer", vocab_size=27, block_size=16, n_embd=8, n_layer=1,
                      n_head=2, dropout=0.1)
    return build_model(cfg, seed=0)


def test_looks_do_not_change_the_weights(tmp_path):
    (X, Y), val = data()
    quiet = model()  # seeds torch: dropout draws from there
    train(quiet, X, Y, RECIPE, progress=False)
    watched = model()
    train(watched, X, Y, RECIPE, progress=False, look=Watch(watched, val, tmp_path / "live"))
    for a, b in zip(quiet.state_dict().values(), watched.state_dict().values()):
        assert torch.equal(a, b)  # dropout's draws and the minibatches are untouched


def test_every_look_is_logged_on_all_val_events(tmp_path):
    (X, Y), val = data()
    net, looks = model(), []
    watch = Watch(net, val, tmp_path / "live")

    def look(step, train_loss):
        looks.append((step, train_loss))
        loss = watch(step, train_loss)
        assert loss == pytest.approx(split_loss(net, *val)) and net.training
        return loss
    train(net, X, Y, RECIPE, progress=False, look=look)
    watch.finish()
    assert [step for step, _ in looks] == [20, 40, 60]
    rows = (tmp_path / "live/plots/metrics/val_loss.tsv").read_text().splitlines()
    assert rows[0] == "step\tval_loss" and [r.split("\t")[0] for r in rows[1:]] == [
        "20", "40", "60"]
    summary = json.loads((tmp_path / "live/metrics.json").read_text())
    assert summary["step"] == 60 and summary["best_step"] in (20, 40, 60)
    assert "timestamp" not in (tmp_path / "live/plots/metrics/train_loss.tsv").read_text()


def test_eval_every_0_looks_once_after_the_last_step(tmp_path):
    (X, Y), val = data()
    steps = []
    train(model(), X, Y, dataclasses.replace(RECIPE, eval_every=0), progress=False,
          look=lambda step, loss: steps.append(step) or 0.0)
    assert steps == [60]


def test_keep_best_restores_the_weights_of_the_lowest_val_loss(tmp_path):
    net, val = model(), data()[1]
    watch = Watch(net, val, tmp_path / "live", keep="best")
    scores = {}
    for step in (10, 20, 30):
        with torch.no_grad():  # a different model at each look
            for p in net.parameters():
                p.add_(torch.randn_like(p) * 0.5)
        scores[step] = (watch(step, 0.0), {k: v.clone() for k, v in net.state_dict().items()})
    best = min(scores, key=lambda s: scores[s][0])
    assert watch.finish() == best
    for key, value in net.state_dict().items():
        assert torch.equal(value, scores[best][1][key])


def test_keep_last_leaves_the_weights(tmp_path):
    net, val = model(), data()[1]
    watch = Watch(net, val, tmp_path / "live")
    watch(10, 0.0)
    with torch.no_grad():
        next(net.parameters()).add_(1.0)  # worse or better, the last weights stay
    last = {k: v.clone() for k, v in net.state_dict().items()}
    assert watch.finish() is None
    for key, value in net.state_dict().items():
        assert torch.equal(value, last[key])


def test_the_logs_repeat_byte_for_byte(tmp_path):
    (X, Y), val = data()
    for run in ("a", "b"):
        net = model()
        watch = Watch(net, val, tmp_path / run)
        train(net, X, Y, RECIPE, progress=False, look=watch)
        watch.finish()
    for name in ("metrics.json", "plots/metrics/train_loss.tsv", "plots/metrics/val_loss.tsv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
