"""Synthetic weighted power-law graphs with hubs, generated vectorised (no loop over edges).

Chung-Lu style: node i gets the expected degree ``w_i = C * (i + 1) ** -a`` (a Zipf sequence),
both ends of every edge are drawn with probability proportional to ``w``, so degrees follow a
power law and a few hubs carry thousands of edges. ``a`` is solved (bisection) so that the
largest expected degree is ``max_degree``. Self-loops are dropped and, for undirected graphs,
each pair is kept once (duplicates removed, oversampling so exactly ``num_edges`` remain).
Weights are lognormal(0, 1), rounded to 4 decimals so every loader parses the same value.

Usable alone: ``python benchmarks/graphgen.py 100000 1000000 out.tsv``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np


def _zipf_exponent(num_nodes: int, num_edges: int, max_degree: float) -> float:
    """a such that 2E * 1 / sum_i (i+1)^-a == max_degree (the top expected degree)."""
    ranks = np.arange(1, num_nodes + 1, dtype=np.float64)
    lo, hi = 0.0, 3.0
    for _ in range(60):
        a = (lo + hi) / 2
        top = 2.0 * num_edges / np.sum(ranks ** -a)
        if top < max_degree:
            lo = a
        else:
            hi = a
    return (lo + hi) / 2


def power_law_graph(num_nodes: int, num_edges: int, max_degree: float | None = None,
                    directed: bool = False, seed: int = 0):
    """(src int64, dst int64, weight float64) with exactly num_edges distinct pairs."""
    rng = np.random.default_rng(seed)
    if max_degree is None:
        max_degree = 10_000 * (num_nodes / 100_000) ** 0.5
    a = _zipf_exponent(num_nodes, num_edges, max_degree)
    w = np.arange(1, num_nodes + 1, dtype=np.float64) ** -a
    cdf = np.cumsum(w)
    cdf /= cdf[-1]
    # Node ids are shuffled so that the hubs are not simply nodes 0, 1, 2, ...
    label = rng.permutation(num_nodes).astype(np.int64)
    keys = np.empty(0, dtype=np.int64)
    factor = 1.15
    while True:
        m = int(num_edges * factor) + 1000
        src = np.searchsorted(cdf, rng.random(m), side="right")
        dst = np.searchsorted(cdf, rng.random(m), side="right")
        np.minimum(src, num_nodes - 1, out=src)
        np.minimum(dst, num_nodes - 1, out=dst)
        keep = src != dst
        src, dst = label[src[keep]], label[dst[keep]]
        if not directed:
            src, dst = np.minimum(src, dst), np.maximum(src, dst)
        keys = np.unique(np.concatenate([keys, src * num_nodes + dst]))
        if len(keys) >= num_edges:
            break
        factor *= 1.5
    keys = keys[np.sort(rng.choice(len(keys), num_edges, replace=False))]
    # Shuffle the edge order (a sorted edge list would flatter some loaders).
    keys = keys[rng.permutation(num_edges)]
    src, dst = keys // num_nodes, keys % num_nodes
    weight = np.round(rng.lognormal(0.0, 1.0, num_edges), 4)
    np.maximum(weight, 1e-4, out=weight)
    return src, dst, weight


def write_edge_list(path: Path, src, dst, weight) -> None:
    """Tab-separated ``src dst weight`` lines, no header (every peer reads this)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    table = pa.table({"src": pa.array(src), "dst": pa.array(dst), "weight": pa.array(weight)})
    pacsv.write_csv(table, str(path), pacsv.WriteOptions(include_header=False, delimiter="\t"))


def csr(src, dst, weight, num_nodes: int, directed: bool = False):
    """Reference CSR (rows sorted) of the generated graph, both directions when undirected."""
    if not directed:
        src, dst, weight = (np.concatenate([src, dst]), np.concatenate([dst, src]),
                            np.concatenate([weight, weight]))
    order = np.argsort(src * num_nodes + dst, kind="stable")
    indptr = np.zeros(num_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=num_nodes), out=indptr[1:])
    return indptr, dst[order].astype(np.int32), weight[order].astype(np.float64)


if __name__ == "__main__":
    n, e, out = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    s, d, wt = power_law_graph(n, e)
    write_edge_list(out, s, d, wt)
    deg = np.bincount(np.concatenate([s, d]), minlength=n)
    print(f"{out}: {n} nodes, {e} edges, max degree {deg.max()}, "
          f"sum deg^2 {int((deg.astype(np.float64) ** 2).sum()):.3e}")
