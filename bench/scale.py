"""Seconds and peak memory of every stage on names lists of 32K to 2M names.

    python bench/scale.py                       # 32K, 250K, 1M, 2M names; a-z and 5,000 letters
    python bench/scale.py --sizes 32000 --vocab 27 --steps 500
    python bench/scale.py --sizes 2000000 --vocab 5000 --ngram-min-count 4

Each list is built from the lecture list ($MAKEMORE_DATA or data/raw/names.txt): names
drawn at random (seeded) and glued by 1, 2, 3 or 6, up to 64 characters, so the
lists grow without repeating the lecture's. The ``--vocab`` variants above 27 spell
every name in that many Unicode letters (each character of a name is replaced by one
of the letters, by its position and the character), so the vocabulary reaches the
size asked for. Every stage runs as ``python -m stages.<stage>`` on the list in a
scratch project, as DVC would run it, with a short training run; peak memory is the
stage's own peak resident set (VmHWM), seconds its wall time.
"""

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
MODELS = {"mlp": "baseline", "wavenet": "model", "dilated": "dilated", "ngram": "ngram"}
STAGES = [("fetch", []), ("split", []), ("windows@3", ["windows", "3"]),
          ("windows@8", ["windows", "8"]), ("sequences", []),
          *((f"train@{m}", ["train", m, "--quiet"]) for m in MODELS),
          *((f"evaluate@{m}", ["evaluate", m]) for m in MODELS),
          ("sample@wavenet", ["sample", "wavenet", "--metrics"])]


def lecture_names() -> list[str]:
    path = Path(os.environ.get("MAKEMORE_DATA") or ROOT / "data/raw/names.txt")
    return path.read_text().split()


def letters(count: int) -> list[str]:
    """The first ``count`` Unicode letters above ASCII (category L*)."""
    found = []
    for code in range(0xC0, 0x30000):
        ch = chr(code)
        if unicodedata.category(ch).startswith("L") and ch.isprintable():
            found.append(ch)
            if len(found) == count:
                return found
    raise ValueError(f"fewer than {count} letters")


def build_list(names: list[str], size: int, vocab: int, seed: int = 0) -> list[str]:
    """``size`` names glued from 1 to 6 lecture names (at most 64 characters), spelled in
    ``vocab - 1`` characters."""
    rng = random.Random(seed)
    out = []
    while len(out) < size:
        parts = rng.choices(names, k=rng.choice((1, 2, 2, 3, 6)))
        out.append("".join(parts)[:64])
    if vocab > 27:  # each name in its own stretch of the letters: a shift of its a-z
        pool = letters(vocab - 1)
        ids = {ch: i for i, ch in enumerate(sorted(set("".join(names))))}
        out = [(lambda o: "".join(pool[(o + ids[ch]) % len(pool)] for ch in n))(
               rng.randrange(len(pool))) for n in out]
    return out


def scratch_project(dest: Path, names_file: Path, steps: int, ngram_min_count: int | None):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data"].update(url=str(names_file), sha256="")
    if ngram_min_count is not None:
        params["ngram"]["ngram"]["min_count"] = ngram_min_count
    params["models"] = dict(MODELS)
    params["dilated"] = {**params["model"], "arch": "dilated"}
    params["train"].update(steps=steps, eval_every=0, log_every=min(steps, 100))
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


class StageFailed(Exception):
    pass


# Runs a stage module as `python -m` would, then writes its own peak resident memory to
# the file named first. VmHWM counts from the exec, where a forked child's ru_maxrss also
# counts the pages of the parent it was forked from (a test runner holding torch, say).
PEAK_OF_MODULE = """import runpy, sys
out, sys.argv = sys.argv[1], sys.argv[2:]
try:
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
finally:
    status = open("/proc/self/status").read().split("\\n")
    open(out, "w").write(next(l.split()[1] for l in status if l.startswith("VmHWM")))
"""


def resident_gb(pid: int, key: str = "VmRSS") -> float:
    """The process's resident size now (VmRSS), or its peak so far (VmHWM)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return 0.0


def run_stage(argv: list[str], cwd: Path, env: dict, max_gb: float = 8.0,
              max_s: float = 900.0) -> tuple[float, float]:
    """(seconds, peak resident GB) of ``python -m <argv>`` run in ``cwd``; killed (and
    StageFailed raised) past ``max_gb`` of memory or ``max_s`` seconds."""
    started, peak_file = time.perf_counter(), cwd / "stage.peak"
    peak_file.unlink(missing_ok=True)
    with open(cwd / "stage.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-c", PEAK_OF_MODULE, str(peak_file), *argv],
                                cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        why, most = None, 0.0  # most: its peak so far, read while it runs
        while proc.poll() is None:
            most = max(most, resident_gb(proc.pid, "VmHWM"))
            if why is None and resident_gb(proc.pid) > max_gb:
                why = f"over {max_gb:g} GB"
            elif why is None and time.perf_counter() - started > max_s:
                why = f"over {max_s:g} s (peak until then {most:.2f} GB)"
            if why:
                proc.kill()
            time.sleep(0.2)
    seconds = time.perf_counter() - started
    if why or proc.returncode != 0:
        tail = (cwd / "stage.log").read_text(errors="replace")[-600:].strip().splitlines()
        peak = f", {int(peak_file.read_text()) / 1024**2:.2f} GB" if peak_file.exists() else ""
        raise StageFailed(why or f"exit {proc.returncode} after {seconds:.1f} s{peak}: "
                                 f"{tail[-1] if tail else ''}")
    return seconds, int(peak_file.read_text()) / 1024**2


def measure(size: int, vocab: int, args, names: list[str], work: Path) -> dict:
    """stage -> (seconds, peak GB) or the reason it failed; later stages of a failed
    one are skipped."""
    project = work / f"{size}-{vocab}"
    (project / "data").mkdir(parents=True)
    names_file = work / f"names-{size}-{vocab}.txt"
    names_file.write_text("\n".join(build_list(names, size, vocab)) + "\n", encoding="utf-8")
    scratch_project(project, names_file, args.steps, args.ngram_min_count)
    env = {k: v for k, v in os.environ.items() if k != "MAKEMORE_DATA"}
    env["PYTHONPATH"] = str(ROOT)
    rows, failed = {}, set()  # failed: "data" or the models whose training failed
    for stage, argv in STAGES:
        kind, _, model = stage.partition("@")
        if stage not in args.stages:
            rows[stage] = "not run"
            continue
        if "data" in failed or (kind != "train" and model in failed):
            rows[stage] = "skipped"
            continue
        module = f"stages.{argv[0] if argv else stage}"
        try:
            rows[stage] = run_stage([module, *argv[1:]], project, env, args.max_gb, args.max_s)
            shown = f"{rows[stage][0]:8.1f} s {rows[stage][1]:6.2f} GB"
        except StageFailed as e:
            rows[stage] = shown = f"failed: {e}"
            failed.add(model if kind == "train" else "data")
        print(f"  {size:>9,} names, vocab {vocab:>5}: {stage:<16} {shown}", flush=True)
    tensors = sum(f.stat().st_size for f in (project / "data/tensors").glob("*"))
    listed = names_file.stat().st_size
    print(f"  tensors on disk: {tensors / 1e6:.1f} MB for a {listed / 1e6:.1f} MB list "
          f"({tensors / listed:.0f}x)", flush=True)
    shutil.rmtree(project)
    names_file.unlink()
    return rows


def cell(row) -> str:
    return row if isinstance(row, str) else f"{row[0]:.1f} s, {row[1]:.2f} GB"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[32_000, 250_000, 1_000_000,
                                                             2_000_000])
    ap.add_argument("--vocab", type=int, nargs="+", default=[27, 5000],
                    help="vocabulary sizes (27: the lecture's a-z and '.')")
    ap.add_argument("--steps", type=int, default=1000, help="training steps per model")
    ap.add_argument("--stages", nargs="+", default=[stage for stage, _ in STAGES],
                    choices=[stage for stage, _ in STAGES], metavar="STAGE",
                    help="the stages to run (default: all; a stage needs those before it)")
    ap.add_argument("--ngram-min-count", type=int, default=None,
                    help="the n-gram's model.ngram.min_count (default: params.yaml's)")
    ap.add_argument("--max-gb", type=float, default=8.0, help="kill a stage past this memory")
    ap.add_argument("--max-s", type=float, default=900.0, help="kill a stage past this time")
    args = ap.parse_args()
    names = lecture_names()
    results = {}
    with tempfile.TemporaryDirectory(prefix="makemore-scale-") as tmp:
        for vocab in args.vocab:
            for size in args.sizes:
                results[size, vocab] = measure(size, vocab, args, names, Path(tmp))
    cols = [(s, v) for v in args.vocab for s in args.sizes]
    print("\n| stage | " + " | ".join(f"{s:,} names, vocab {v:,}" for s, v in cols)
          + " |\n|---|" + "---|" * len(cols))
    for stage, _ in STAGES:
        print(f"| {stage} | " + " | ".join(cell(results[c][stage]) for c in cols) + " |")
    small = min(args.sizes)
    for vocab in args.vocab:
        for size in sorted(args.sizes)[1:]:
            ratios = [f"{stage} x{results[size, vocab][stage][0] / results[small, vocab][stage][0]:.0f}"
                      for stage in ("split", "windows@3", "windows@8", "sequences")
                      if not isinstance(results[size, vocab][stage], str)]
            print(f"\ntime at {size:,} / at {small:,} names (x{size / small:.0f} the names), "
                  f"vocab {vocab:,}: " + ", ".join(ratios))


if __name__ == "__main__":
    main()
