"""Incremental retraining: how much vectors move when a day of log is appended.

    python benchmarks/incremental.py            # MovieLens, ~3 min

The MovieLens log sorted by time is split 90 % / 10 % ("yesterday" / "today"). Yesterday:
build-graph, walk (p = 0.5, q = 2), train with graphemb's trainer (d = 64, 5 epochs, seed 0).
Today: `build-graph today.csv --append`, walk again, then train either `--warm-start` (at
the learning rate and epochs of the row) or from scratch (seed 1). For every item of
yesterday: the cosine between its old and new vector. "Unchanged" items are those none of
whose edges (in or out) changed weight; "changed" are the other old items. A from-scratch
retrain lands in an arbitrary rotation (cosines near 0), which is what breaks downstream
indexes; a warm start should keep unchanged items close and let changed ones move more.
Also printed: the new graph against one built from the whole log at once (same edges).
"""
from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "movielens-latest-small" / "ratings.csv"
RESULTS = Path(__file__).parent / "results" / "incremental.md"
SETTINGS = [("scratch", 0.025, 5), ("warm", 0.025, 5), ("warm", 0.025, 1), ("warm", 0.01, 1)]


def unit(v):
    return v / (np.linalg.norm(v, axis=1, keepdims=True) + 1e-12)


def adjacency(g):
    import scipy.sparse as sp
    n = g.num_nodes
    src = np.repeat(np.arange(n), np.diff(g.indptr))
    return sp.csr_matrix((np.asarray(g.weights, np.float64), (src, g.indices)), (n, n))


def main():
    import pandas as pd
    import scipy.sparse as sp

    import graphemb
    from graphemb.pipeline import load_graph

    tmp = Path(tempfile.mkdtemp(prefix="incremental-"))
    r = pd.read_csv(DATA).sort_values("timestamp", kind="stable")
    cut = int(len(r) * 0.9)
    r.iloc[:cut].to_csv(tmp / "yesterday.csv", index=False)
    r.iloc[cut:].to_csv(tmp / "today.csv", index=False)
    r.to_csv(tmp / "all.csv", index=False)
    train = dict(trainer="numba", workers=1, dim=64)
    walk = dict(seed=0, workers=1, p=0.5, q=2)
    base = tmp / "base"
    graphemb.build_graph(tmp / "yesterday.csv", workdir=base)
    graphemb.walk(workdir=base, **walk)
    graphemb.train(workdir=base, seed=0, epochs=5, **train)
    old = graphemb.ItemVectors.load(base)
    old_rows = {x: i for i, x in enumerate(np.asarray(old.ids).astype(str)) if old.has_vector[i]}
    old_unit = unit(old.vectors)
    g0, _ = load_graph(base, mmap=False)
    lines = ["`python benchmarks/incremental.py`: MovieLens sorted by time, 90 % then 10 % "
             "appended; walks p=0.5 q=2 10 x 80; d=64; one thread; raw cosine of an item's old and new vector.", "",
             "| retrain | alpha | epochs | unchanged items: median cos (5th pct) | "
             "changed items: median cos (5th pct) | new items |", "|---|---:|---:|---:|---:|---:|"]
    for mode, alpha, epochs in SETTINGS:
        ws = tmp / f"ws-{mode}-{alpha}-{epochs}"
        shutil.copytree(base, ws)
        m = graphemb.build_graph(tmp / "today.csv", workdir=ws, append=True)
        graphemb.walk(workdir=ws, **walk)
        graphemb.train(workdir=ws, seed=1, epochs=epochs, alpha=alpha,
                       warm_start=mode == "warm", **train)
        g1, _ = load_graph(ws, mmap=False)
        prev = np.load(ws / "graph" / "previous_nodes.npy")
        keep = prev >= 0
        P = sp.csr_matrix((np.ones(keep.sum()), (prev[keep], np.flatnonzero(keep))),
                          (g0.num_nodes, g1.num_nodes))
        diff = abs(adjacency(g1) - (P.T @ adjacency(g0) @ P))
        touched = np.asarray((diff + diff.T).sum(1)).ravel() > 0
        new = graphemb.ItemVectors.load(ws)
        U = unit(new.vectors)
        cos = np.full(len(U), np.nan)
        for i, x in enumerate(np.asarray(new.ids).astype(str)):
            if x in old_rows:
                cos[i] = U[i] @ old_unit[old_rows[x]]
        cells = []
        for mask in (keep & ~touched, keep & touched):
            c = cos[mask & ~np.isnan(cos)]
            cells.append(f"{np.median(c):.3f} ({np.percentile(c, 5):.3f}), n={len(c):,}")
        lines.append(f"| {mode} | {alpha:g} | {epochs} | {cells[0]} | {cells[1]} | "
                     f"{m['counts']['nodes_new_today']:,} |")
    full = tmp / "full"
    graphemb.build_graph(tmp / "all.csv", workdir=full)
    gf, _ = load_graph(full, mmap=False)
    lines += ["", f"Appended graph {g1.num_nodes:,} nodes / {g1.num_edges:,} edges, weight "
              f"{float(np.sum(g1.weights)):,.0f}; built from the whole log at once "
              f"{gf.num_nodes:,} / {gf.num_edges:,}, weight {float(np.sum(gf.weights)):,.0f} "
              "(a session that spans the cut is split in two by the append)."]
    text = "\n".join(lines)
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text + "\n")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
