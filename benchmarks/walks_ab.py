"""Walks of two checkouts side by side: the same walks (hash) and CPU seconds per rule.

    python benchmarks/walks_ab.py OLD_ROOT NEW_ROOT            # e.g. a worktree of main
    python benchmarks/walks_ab.py /tmp/old . --repeats 5 --walks 2

For a refactor of the walk code: both checkouts walk the same generated graph (100k nodes,
1M undirected edges, ``graphgen.py``), DeepWalk and node2vec (p, q) = (.5, 2), (2, .5), each
process pinned to core 0 with one Numba thread, the two sides interleaved (A B A B ...).
Printed per rule: median CPU seconds of the walk calls (min–max), steps per CPU-second, and
whether the two sides' walks hash the same (they must: same seed, same walks).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RULES = [(1.0, 1.0), (0.5, 2.0), (2.0, 0.5)]


def worker(graph: str, walks: int, length: int) -> None:
    from graphemb.walks import WalkSampler, set_workers, start_nodes
    set_workers(1)
    d = np.load(graph)
    sampler = WalkSampler(d["indptr"], d["indices"], d["weights"])
    for p, q in RULES:          # compile (or load the cache) outside the timing
        sampler.walks(np.arange(10, dtype=np.int32), 0, 5, p, q, seed=1)
    out = {}
    for p, q in RULES:
        digest, cpu, steps = hashlib.sha1(), 0.0, 0
        for r, starts in start_nodes(sampler.indptr, walks, 0):
            t = time.process_time()
            w = sampler.walks(starts, r * len(starts), length, p, q, seed=7)
            cpu += time.process_time() - t
            digest.update(w.tobytes())
            steps += int((w[:, 1:] >= 0).sum())
        out[f"{p},{q}"] = {"cpu": cpu, "steps": steps, "hash": digest.hexdigest()[:12]}
    print(json.dumps(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--walks", type=int, default=2, help="walks per node")
    ap.add_argument("--length", type=int, default=80)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        return worker(a.worker, a.walks, a.length)
    sys.path.insert(0, str(HERE))
    import graphgen
    with tempfile.TemporaryDirectory() as tmp:
        graph = Path(tmp) / "graph.npz"
        src, dst, w = graphgen.power_law_graph(100_000, 1_000_000, seed=0)
        indptr, indices, weights = graphgen.csr(src, dst, w, 100_000)
        np.savez(graph, indptr=indptr, indices=indices, weights=weights)
        runs = {"old": [], "new": []}
        for _ in range(a.repeats):
            for side in ("old", "new"):
                root = str(Path(getattr(a, side)).resolve())
                env = {**os.environ, "PYTHONPATH": root, "NUMBA_NUM_THREADS": "1"}
                cmd = ["taskset", "-c", "0", sys.executable, __file__, "x", "x",
                       "--worker", str(graph), "--walks", str(a.walks),
                       "--length", str(a.length)]
                res = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
                runs[side].append(json.loads(res.stdout.strip().splitlines()[-1]))
    print(f"100k nodes / 1M edges, {a.walks} walks x {a.length} per node, 1 thread, "
          f"core 0, {a.repeats} interleaved runs per side; CPU s median (min-max)")
    print("| p, q | old CPU s | new CPU s | new/old | old Msteps/CPU-s | new Msteps/CPU-s "
          "| same walks |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for p, q in RULES:
        key = f"{p},{q}"
        cells = []
        med = {}
        for side in ("old", "new"):
            cpu = [r[key]["cpu"] for r in runs[side]]
            med[side] = float(np.median(cpu))
            cells.append(f"{med[side]:.2f} ({min(cpu):.2f}-{max(cpu):.2f})")
        steps = runs["old"][0][key]["steps"]
        hashes = {r[key]["hash"] for side in runs for r in runs[side]}
        print(f"| {p:g}, {q:g} | {cells[0]} | {cells[1]} | {med['new'] / med['old']:.2f} | "
              f"{steps / med['old'] / 1e6:.2f} | {steps / med['new'] / 1e6:.2f} | "
              f"{'yes' if len(hashes) == 1 else 'NO'} |")


if __name__ == "__main__":
    main()
