"""How long a user waits for Numba on the first run: CPU seconds of the default pipeline's
commands with an empty compile cache, with a warm one, and after `make install` primed it.

    python benchmarks/compile.py [--events 20000] [--out benchmarks/results/compile.md]

Every command is its own process (`python -m graphemb ...`) with NUMBA_CACHE_DIR pointing
at a fresh folder, so "cold" is a fresh install. Compile time of a command = its CPU time
cold (or primed) minus its CPU time warm, on the same small generated log, so the work
itself cancels out. "primed" first runs `python -m graphemb.precompile` (what `make install`
runs after pip) and then the same commands. Each scenario is run --repeats times,
interleaved; the table shows medians and the spread.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loggen import write_log  # noqa: E402
from measure import publish  # noqa: E402

PIPELINE = [
    ("build-graph", ["build-graph", "{log}"]),
    ("walk (DeepWalk)", ["walk", "--num-walks", "2", "--walk-length", "10"]),
    ("walk --p 0.5 --q 2", ["walk", "--num-walks", "2", "--walk-length", "10", "--p", "0.5",
                            "--q", "2"]),
    ("train", ["train", "--epochs", "1", "--dim", "16"]),
    ("train --trainer numba", ["train", "--epochs", "1", "--dim", "16", "--trainer", "numba"]),
    ("export", ["export", "{work}/vectors.parquet"]),
    ("similar", ["similar", "{item}", "-k", "3"]),
]


def cpu_of(args: list[str], env: dict) -> float:
    """CPU seconds (user + system) of one child process."""
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {proc.stderr.read().decode()[-1500:]}")
    return usage.ru_utime + usage.ru_stime


def run_pipeline(log: Path, work: Path, cache: Path, item: str) -> list[float]:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache), GRAPHEMB_WORKDIR=str(work),
               NUMBA_NUM_THREADS="1")
    out = []
    for _, args in PIPELINE:
        args = [a.format(log=log, work=work, item=item) for a in args]
        out.append(cpu_of([sys.executable, "-m", "graphemb", "--quiet", *args], env))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default="benchmarks/results/compile.md")
    a = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="graphemb-compile-"))
    try:
        log = write_log(base / "log.csv", a.events, seed=0)
        item = log.read_text().splitlines()[1].split(",")[1]
        runs = {"cold": [], "warm": [], "primed": [], "precompile": []}
        for rep in range(a.repeats):
            cache = base / f"cache-{rep}"
            runs["cold"].append(run_pipeline(log, base / f"w-cold-{rep}", cache, item))
            runs["warm"].append(run_pipeline(log, base / f"w-warm-{rep}", cache, item))
            primed = base / f"cache-primed-{rep}"
            env = dict(os.environ, NUMBA_CACHE_DIR=str(primed), NUMBA_NUM_THREADS="1")
            runs["precompile"].append(cpu_of([sys.executable, "-m", "graphemb.precompile"], env))
            runs["primed"].append(run_pipeline(log, base / f"w-primed-{rep}", primed, item))
    finally:
        shutil.rmtree(base, ignore_errors=True)

    def med(xs):
        return f"{statistics.median(xs):.1f} ({min(xs):.1f}-{max(xs):.1f})"

    lines = [f"First run of the default pipeline, {a.events:,}-event generated log, one thread, "
             f"CPU s (median, min-max of {a.repeats}); compile = first run - warm run:", "",
             "| command | cold (fresh install) | warm cache | compile cold | "
             "compile after `make install` |", "|---|---:|---:|---:|---:|"]
    totals = {k: [sum(r) for r in v] for k, v in runs.items() if k != "precompile"}
    for k, (name, _) in enumerate(PIPELINE):
        cold = [r[k] for r in runs["cold"]]
        warm = [r[k] for r in runs["warm"]]
        primed = [r[k] for r in runs["primed"]]
        lines.append(f"| {name} | {med(cold)} | {med(warm)} | "
                     f"{med([c - w for c, w in zip(cold, warm)])} | "
                     f"{med([p - w for p, w in zip(primed, warm)])} |")
    lines.append(f"| **all** | {med(totals['cold'])} | {med(totals['warm'])} | "
                 f"{med([c - w for c, w in zip(totals['cold'], totals['warm'])])} | "
                 f"{med([p - w for p, w in zip(totals['primed'], totals['warm'])])} |")
    lines += ["", f"`python -m graphemb.precompile` (run by `make install`): "
              f"{med(runs['precompile'])} CPU s."]
    publish(lines, a.out)


if __name__ == "__main__":
    main()
