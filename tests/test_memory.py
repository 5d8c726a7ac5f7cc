"""The data stages hold memory in proportion to the characters of the list, not to
names x longest name x vocabulary: a 200,000-name list spelled in 3,000 characters
goes through split, windows and sequences well under the bound below. (Peak resident
memory is steady from run to run; time is not, and bench/scale.py measures it.)"""

import os
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
NAMES, VOCAB = 200_000, 3000
PEAK_BOUND_GB = 0.75  # they measure 0.22-0.38 GB (`pytest -s tests/test_memory.py` prints them)
STAGES = [["split", "--names", "names.txt"], ["windows", "3"], ["windows", "8"], ["sequences"]]


def peak_gb(argv, cwd) -> float:
    """Run ``python -m stages.<argv>`` in ``cwd``; its own peak resident memory, measured
    as bench/scale.py measures it."""
    sys.path.insert(0, str(ROOT / "bench"))
    from scale import run_stage

    return run_stage([f"stages.{argv[0]}", *argv[1:]], cwd,
                     {**os.environ, "PYTHONPATH": str(ROOT)})[1]


@pytest.fixture(scope="module")
def big_list(tmp_path_factory):
    """200,000 names of 1 to 64 characters drawn from 2,999 CJK letters."""
    rng = np.random.default_rng(0)
    letters = np.array([chr(0x4E00 + i) for i in range(VOCAB - 1)])
    lengths = rng.integers(1, 65, size=NAMES)
    chars = rng.choice(letters, size=int(lengths.sum()))
    ends = np.cumsum(lengths)
    names = ["".join(chars[end - n:end]) for n, end in zip(lengths, ends)]
    project = tmp_path_factory.mktemp("big")
    (project / "names.txt").write_text("\n".join(names) + "\n", encoding="utf-8")
    (project / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    return project


def test_data_stages_stay_under_the_memory_bound(big_list):
    peaks = {" ".join(argv): peak_gb(argv, big_list) for argv in STAGES}
    print(peaks)
    assert all(peak < PEAK_BOUND_GB for peak in peaks.values()), peaks
    tensors = sum(p.stat().st_size for p in (big_list / "data/tensors").iterdir())
    assert tensors < 50 * (big_list / "names.txt").stat().st_size  # int16 indices here


# Trains the MLP on a 5,000-letter vocabulary for 100 steps, then 3,000 more on a fresh
# model, and prints how far the peak rose above what the short run left resident.
TRAINING_GROWTH = """import dataclasses, torch
from pipeline.models import build_model, make_config
from pipeline.params import TrainParams
from pipeline.train import train
def status(key):
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith(key))
V = 5000
X, Y = torch.randint(0, V, (20_000, 3), dtype=torch.int16), torch.randint(0, V, (20_000,))
p = TrainParams(steps=100, batch_size=32, lr=0.1, optimizer="sgd", schedule="step",
                seed=0, log_every=100, compile=False)
def run(steps):
    model = build_model(make_config("mlp", vocab_size=V, block_size=3, n_embd=10, hidden=200),
                        seed=0)
    train(model, X, Y, dataclasses.replace(p, steps=steps, log_every=steps), progress=False)
run(100)
resident = status("VmRSS")
run(3000)
print((status("VmHWM") - resident) / 1024)
"""


def test_training_memory_does_not_grow_with_its_steps():
    """A tensor kept per step once pinned each step's (batch, vocab) buffers on the heap:
    3,000 steps at this vocabulary grew by 1.8 GB."""
    import subprocess

    grew_mb = float(subprocess.run([sys.executable, "-c", TRAINING_GROWTH], cwd=ROOT,
                                   env={**os.environ, "PYTHONPATH": str(ROOT)},
                                   capture_output=True, text=True, check=True).stdout)
    assert grew_mb < 100, grew_mb


# Scores each name of 600,000 windows at a 5,000-letter vocabulary and prints how much
# more stays resident afterwards than before. A first, smaller call loads the code and
# kernels the passes touch, so the difference is what the passes leave on the heap:
# 10-41 MB measured, 211-324 MB with per-pass tensors kept in a list.
NAME_LOSSES_LEFT = """import torch
from pipeline.evaluate import name_losses
from pipeline.models import build_model, make_config
torch.set_num_threads(1)
def status(key):
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith(key))
V, N = 5000, 600_000
model = build_model(make_config("mlp", vocab_size=V, block_size=3, n_embd=10, hidden=200),
                    seed=0).eval()
X = torch.randint(1, V, (N, 3), dtype=torch.int16)
X[::18] = 0  # a name's first window every 18 events
Y = torch.randint(0, V, (N,), dtype=torch.int16)
name_losses(model, X[:40_000], Y[:40_000])
resident = status("VmRSS")
name_losses(model, X, Y)
print((status("VmRSS") - resident) / 1024)
"""


def test_scoring_each_name_leaves_no_memory_behind():
    """Per-pass loss tensors kept in a list once pinned each pass's (rows, vocab) buffers
    on the heap: 1.5M events at this vocabulary left 0.9 GB resident, 3.5 GB at 2M names
    in the evaluate stage."""
    import subprocess

    left_mb = float(subprocess.run([sys.executable, "-c", NAME_LOSSES_LEFT], cwd=ROOT,
                                   env={**os.environ, "PYTHONPATH": str(ROOT)},
                                   capture_output=True, text=True, check=True).stdout)
    assert left_mb < 100, left_mb


# Fits the n-gram (order 6, min_count 2) on 150,000 random names in 3,000 letters, whose
# contexts of two characters or more are nearly all distinct, counting in parts of 2^18
# keys as it would on a list 16 times larger; prints its peak above what was resident
# before, in bytes per training event.
NGRAM_COUNTING = """import numpy as np, torch
import pipeline.models.ngram as ngram
from pipeline.models import build_model, make_config
from pipeline.sequences import name_sequences
from pipeline.vocab import Vocabulary
torch.set_num_threads(1)
def status(key):
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith(key))
ngram.PART = 2**18
V, N = 3000, 150_000
rng = np.random.default_rng(0)
letters = np.array([chr(0x4E00 + i) for i in range(V - 1)])
lengths = rng.integers(1, 41, size=N)
chars = rng.choice(letters, size=int(lengths.sum()))
names = ["".join(chars[end - n:end]) for n, end in zip(lengths, np.cumsum(lengths))]
X, Y = map(torch.from_numpy, name_sequences(names, Vocabulary.from_names(names), 41))
del names, chars
resident = status("VmRSS")
config = make_config("ngram", vocab_size=V, block_size=8, n_embd=1, order=6, min_count=2)
build_model(config).fit(X, Y)
print((status("VmHWM") - resident) * 1024 / int((Y >= 0).sum()))
"""


def test_pruned_ngram_counting_holds_little_per_event():
    """The counting holds each event's context at one length at a time, drops the events
    of contexts left out, and sorts in bounded parts: 59-66 bytes an event at its peak,
    the tables' 22 included (84 with every key of a length sorted at once)."""
    import subprocess

    per_event = float(subprocess.run([sys.executable, "-c", NGRAM_COUNTING], cwd=ROOT,
                                     env={**os.environ, "PYTHONPATH": str(ROOT)},
                                     capture_output=True, text=True, check=True).stdout)
    assert per_event < 100, per_event
