"""Warm start: the previous model's vectors carried over to today's graph, so that items
whose neighbourhood did not change keep nearly the same vectors (downstream indexes and
caches key on them) and only what changed has to move.

Rows are matched through ``graph/previous_nodes.npy`` (written by ``build-graph --append``):
an old item keeps its input and context vectors; an item new today starts from the mean of
the input vectors of its carried-over neighbours (context zero, as word2vec starts every
context), or, with none, from word2vec's small random start.
"""
from __future__ import annotations

import numpy as np


def carried_rows(previous_nodes: np.ndarray, old_E: np.ndarray, old_Z: np.ndarray,
                 old_has: np.ndarray, indptr: np.ndarray, indices: np.ndarray, seed: int = 0):
    """(E, Z, counts) for today's nodes; counts: carried, from_neighbours, random."""
    n, dim = len(previous_nodes), old_E.shape[1]
    prev = np.asarray(previous_nodes, dtype=np.int64)
    carried = prev >= 0
    carried[carried] = np.asarray(old_has)[prev[carried]]
    rng = np.random.default_rng([seed, 1])
    E = ((rng.random((n, dim), dtype=np.float32) - 0.5) / dim).astype(np.float32)
    Z = np.zeros((n, dim), dtype=np.float32)
    E[carried] = old_E[prev[carried]]
    Z[carried] = old_Z[prev[carried]]
    # New items: the mean input vector of their carried neighbours (out-edges and in-edges).
    src = np.repeat(np.arange(n), np.diff(indptr))
    dst = np.asarray(indices, dtype=np.int64)
    u = np.concatenate([src, dst])
    v = np.concatenate([dst, src])
    use = ~carried[u] & carried[v]
    sums = np.zeros((n, dim), dtype=np.float64)
    np.add.at(sums, u[use], E[v[use]])
    k = np.bincount(u[use], minlength=n)
    from_neighbours = ~carried & (k > 0)
    E[from_neighbours] = (sums[from_neighbours] / k[from_neighbours, None]).astype(np.float32)
    return E, Z, {"carried": int(carried.sum()), "from_neighbours": int(from_neighbours.sum()),
                  "random": int((~carried & ~from_neighbours).sum())}
