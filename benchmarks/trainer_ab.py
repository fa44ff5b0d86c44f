"""A/B of graphemb's skip-gram trainer between two source trees on the same walks.

    REPS=7 python benchmarks/trainer_ab.py OLD_TREE NEW_TREE

One process per run pinned to core 0 (NUMBA_NUM_THREADS=1), the trees interleaved A B A B,
CPU seconds of train_skipgram (d=128, 5 negatives, 1 epoch) after a warm-up call, at
window 5 and 10, on 40,000 Zipf-distributed walks of 40 over 20,000 nodes. The vectors'
hash shows whether the two trees train the same vectors.
"""
import os, subprocess, sys, json, statistics
import numpy as np
trees = sys.argv[1:3]
walks_path = os.path.join(os.environ.get("TMPDIR", "/tmp"), "graphemb_trainer_ab_walks.npy")
if not os.path.exists(walks_path):
    rng = np.random.default_rng(0)
    # a Zipf-ish corpus of 20k nodes, 40k walks of 40
    p = 1 / np.arange(1, 20001) ** 0.8; p /= p.sum()
    np.save(walks_path, rng.choice(20000, size=(40000, 40), p=p).astype(np.int32))
child = r'''
import time, numpy as np, hashlib
from graphemb.models import sgns
w = np.load("%s", mmap_mode="r")
sgns.train_skipgram(w[:200], 20000, dim=128, window=%d, epochs=1, seed=0)
c0 = time.process_time()
v, h, st = sgns.train_skipgram(w, 20000, dim=128, window=%d, epochs=1, seed=0)
print(time.process_time() - c0, st["examples"], hashlib.sha1(v.tobytes()).hexdigest()[:10])
'''
res = {t: {} for t in trees}
for window in (5, 10):
    for rep in range(int(os.environ.get("REPS", 5))):
        for t in trees:
            env = dict(os.environ, PYTHONPATH=t, NUMBA_NUM_THREADS="1")
            out = subprocess.run(["taskset", "-c", "0", sys.executable, "-c",
                                  child % (walks_path, window, window)], env=env,
                                 capture_output=True, text=True, check=True).stdout.split()
            res[t].setdefault(window, []).append((float(out[0]), int(out[1]), out[2]))
print("| window | tree | CPU s median (min-max) | M pairs/CPU-s | vectors |")
print("|---|---|---:|---:|---|")
for window in (5, 10):
    for t in trees:
        xs = [r[0] for r in res[t][window]]
        print(f"| {window} | {t} | {statistics.median(xs):.2f} ({min(xs):.2f}-{max(xs):.2f}) | "
              f"{res[t][window][0][1] / statistics.median(xs) / 1e6:.2f} | {res[t][window][0][2]} |")
    a = statistics.median([r[0] for r in res[trees[1]][window]]) / statistics.median([r[0] for r in res[trees[0]][window]])
    print(f"| {window} | new/old | {a:.3f} | | |")
