"""graphemb's skip-gram trainer against the arithmetic it must do, and against gensim.

    python benchmarks/trainer_bound.py [--runs 3]

Probe: a Numba loop doing exactly one skip-gram example's arithmetic per pair (k+1 dot
products of d=128, sigma from a table, the k+1 output-row updates and the input-row update)
on rows drawn (a) from 256 rows that stay in cache and (b) uniformly from 20,000 rows, as the
trainer's are. Trainer: `train_skipgram` on 40,000 Zipf-distributed walks of 40 over 20,000
nodes (window 5 and 10, 1 epoch, 5 negatives, no down-sampling), pairs per CPU-second from
its own count. gensim: Word2Vec (sg, same settings, 1 worker) on the same walks, words per
CPU-second, beside graphemb's words per CPU-second. EGES: graphemb's fused trainer (learned
attention over the id and two side columns, 50 and 300 values) on the same walks at window
5, words per CPU-second (no bound: it does more arithmetic per pair). Every contestant runs
in its own process pinned to core 0, interleaved, runs times; medians and ranges of CPU
time.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import publish  # noqa: E402
N_NODES, N_WALKS, LENGTH, DIM, NEG = 20000, 40000, 40, 128, 5

PROBE = r'''
import time, numpy as np
from numba import njit

@njit(fastmath=True)   # code run with -c has no file to cache next to
def probe(E, Z, n_pairs, rows, neg, table):
    state = np.uint64(88172645463325252)
    dim = E.shape[1]
    dh = np.empty(dim, np.float32)
    loss = 0.0
    for p in range(n_pairs):
        state ^= state << np.uint64(13); state ^= state >> np.uint64(7); state ^= state << np.uint64(17)
        ex = E[np.int64(state % np.uint64(rows))]
        for d in range(dim):
            dh[d] = 0.0
        for k in range(neg + 1):
            state ^= state << np.uint64(13); state ^= state >> np.uint64(7); state ^= state << np.uint64(17)
            zt = Z[np.int64(state % np.uint64(rows))]
            s = np.float32(0.0)
            for d in range(dim):
                s += ex[d] * zt[d]
            i = min(max(np.int64((s + 6.0) * 83.0), 0), 999)
            g = np.float32(0.025) * ((np.float32(1.0) if k == 0 else np.float32(0.0)) - table[i])
            loss += g
            for d in range(dim):
                z = zt[d]
                dh[d] += g * z
                zt[d] = z + g * ex[d]
        for d in range(dim):
            ex[d] += dh[d]
    return loss

rows = int(ROWS)
rng = np.random.default_rng(0)
E = (rng.random((20000, 128), dtype=np.float32) - 0.5) / 128
Z = np.zeros((20000, 128), np.float32)
table = (1 / (1 + np.exp(-np.linspace(-6, 6, 1000)))).astype(np.float32)
probe(E, Z, 1000, rows, 5, table)
c0 = time.process_time()
probe(E, Z, PAIRS, rows, 5, table)
print(PAIRS / (time.process_time() - c0))
'''

TRAINER = r'''
import time, numpy as np
from graphemb.models import sgns
w = np.load("WALKS", mmap_mode="r")
sgns.train_skipgram(w[:200], 20000, dim=128, window=WINDOW, epochs=1, sample=0, seed=0)
c0 = time.process_time()
v, h, st = sgns.train_skipgram(w, 20000, dim=128, window=WINDOW, epochs=1, sample=0, seed=0)
t = time.process_time() - c0
print(st["examples"] / t, st["words_trained"] / t)
'''

EGES = r'''
import time, numpy as np
from graphemb.models import sgns
w = np.load("WALKS", mmap_mode="r")
ids = np.arange(20000)
feat = np.stack([ids, 20000 + ids % 50, 20050 + ids % 300], axis=1).astype(np.int32)
kw = dict(dim=128, window=WINDOW, epochs=1, sample=0, seed=0, learn_attention=True)
sgns.train(w[:200], feat, 20350, **kw)
c0 = time.process_time()
sgns.train(w, feat, 20350, **kw)
print(0.0, w.size / (time.process_time() - c0))
'''

GENSIM = r'''
import time, numpy as np
from gensim.models import Word2Vec
w = np.load("WALKS")
sentences = [[str(x) for x in row] for row in w]
c0 = time.process_time()
Word2Vec(sentences, vector_size=128, window=WINDOW, min_count=0, sg=1, negative=5, sample=0,
         epochs=1, workers=1, seed=0)
t = time.process_time() - c0
print(0.0, w.size / t)
'''


def run(code: str) -> list[float]:
    env = dict(os.environ, NUMBA_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    out = subprocess.run(["taskset", "-c", "0", sys.executable, "-c", code], env=env,
                         capture_output=True, text=True, check=True).stdout.split()
    return [float(x) for x in out]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/trainer_bound.md"))
    a = ap.parse_args()
    import numpy as np
    tmp = Path(tempfile.mkdtemp(prefix="trainer-bound-"))
    walks = tmp / "walks.npy"
    rng = np.random.default_rng(0)
    p = 1 / np.arange(1, N_NODES + 1) ** 0.8
    np.save(walks, rng.choice(N_NODES, size=(N_WALKS, LENGTH), p=p / p.sum()).astype(np.int32))
    res: dict[str, list] = {}
    for _ in range(a.runs):
        for rows, label in ((256, "probe, rows in cache"), (N_NODES, "probe, random rows")):
            res.setdefault(label, []).append(
                run(PROBE.replace("ROWS", str(rows)).replace("PAIRS", "3000000"))[0])
        for window in (5, 10):
            for name, code in (("graphemb", TRAINER), ("gensim", GENSIM)) + \
                    ((("EGES", EGES),) if window == 5 else ()):
                res.setdefault((name, window), []).append(
                    run(code.replace("WALKS", str(walks)).replace("WINDOW", str(window))))
    med = statistics.median
    cache = med(res["probe, rows in cache"])
    rand = med(res["probe, random rows"])
    lines = [f"`python benchmarks/trainer_bound.py --runs {a.runs}`: d={DIM}, {NEG} negatives, "
             f"1 thread on core 0, {N_WALKS:,} walks x {LENGTH} over {N_NODES:,} nodes, 1 epoch, "
             f"no down-sampling; median (min-max) of {a.runs} interleaved runs.", "",
             "| contestant | M pairs/CPU-s | share of in-cache bound | share of random-row "
             "bound | M words/CPU-s | graphemb / gensim words |", "|---|---:|---:|---:|---:|---:|"]

    def rng_(xs):
        return f"{med(xs) / 1e6:.2f} ({min(xs) / 1e6:.2f}-{max(xs) / 1e6:.2f})"
    lines.append(f"| probe, rows in cache | {rng_(res['probe, rows in cache'])} | 100% | – | – | – |")
    lines.append(f"| probe, random rows | {rng_(res['probe, random rows'])} | "
                 f"{rand / cache:.0%} | 100% | – | – |")
    for window in (5, 10):
        g = res[("graphemb", window)]
        n = res[("gensim", window)]
        pairs = [x[0] for x in g]
        gw, nw = med([x[1] for x in g]), med([x[1] for x in n])
        lines.append(f"| graphemb trainer, window {window} | {rng_(pairs)} | "
                     f"{med(pairs) / cache:.0%} | {med(pairs) / rand:.0%} | {gw / 1e6:.3f} | "
                     f"{gw / nw:.2f}x |")
        lines.append(f"| gensim, window {window} | – | – | – | {nw / 1e6:.3f} | – |")
        if ("EGES", window) in res:
            ew = [x[1] for x in res[("EGES", window)]]
            lines.append(f"| graphemb EGES (id + 2 side columns), window {window} | – | – | "
                         f"– | {med(ew) / 1e6:.3f} ({min(ew) / 1e6:.3f}-"
                         f"{max(ew) / 1e6:.3f}) | – |")
    publish(lines, a.out)


if __name__ == "__main__":
    main()
