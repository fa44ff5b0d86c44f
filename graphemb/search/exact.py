"""Exact search: a blocked matrix product and a partial sort. Nothing loops over items or
queries in Python, only over blocks of queries."""
from __future__ import annotations

import numpy as np

from .index import Index


def normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (float32); zero rows stay zero."""
    v = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return np.divide(v, norms, out=np.zeros_like(v), where=norms > 0)


def top_k_rows(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the k largest entries of each row, best first.

    -inf entries are never returned as real hits: their index comes back as -1.
    """
    n = scores.shape[1]
    k = min(k, n)
    if k <= 0:
        return (np.empty((len(scores), 0), dtype=np.int64),
                np.empty((len(scores), 0), dtype=scores.dtype))
    if k < n:
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    else:
        part = np.broadcast_to(np.arange(n), scores.shape).copy()
    vals = np.take_along_axis(scores, part, 1)
    # Best first; equal scores in index order so the result is deterministic.
    order = np.lexsort((part, -vals), axis=1)
    idx = np.take_along_axis(part, order, 1)
    vals = np.take_along_axis(vals, order, 1)
    idx = np.where(np.isneginf(vals), -1, idx)
    return idx.astype(np.int64), vals


def block_rows(n_columns: int, budget: int = 1 << 24) -> int:
    """Rows per block so that a block of scores holds about ``budget`` floats."""
    return int(max(1, min(4096, budget // max(n_columns, 1))))


def exact_search(queries: np.ndarray, base: np.ndarray, k: int, exclude: np.ndarray | None = None,
                 masked: tuple[np.ndarray, np.ndarray] | None = None,
                 valid: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Top-k rows of ``base`` by dot product for each query, in blocks of queries.

    exclude: one base index per query to leave out (-1 for none), e.g. the query item itself.
    masked: (indptr, indices) CSR of base indices to leave out per query (e.g. items seen).
    valid: boolean mask of base rows that may be returned at all.
    Returns (indices, scores) of shape (n_queries, k); -1 where fewer than k rows qualify.
    """
    queries = np.asarray(queries, dtype=np.float32)
    base = np.asarray(base, dtype=np.float32)
    nq, n = len(queries), len(base)
    k = min(k, n)
    out_idx = np.full((nq, k), -1, dtype=np.int64)
    out_val = np.full((nq, k), -np.inf, dtype=np.float32)
    step = block_rows(n)
    for lo in range(0, nq, step):  # a loop over blocks of queries, never single queries
        hi = min(nq, lo + step)
        scores = queries[lo:hi] @ base.T
        if valid is not None:
            scores[:, ~valid] = -np.inf
        if exclude is not None:
            rows = np.flatnonzero(exclude[lo:hi] >= 0)
            scores[rows, exclude[lo:hi][rows]] = -np.inf
        if masked is not None:
            indptr, indices = masked
            a, b = indptr[lo], indptr[hi]
            rows = np.repeat(np.arange(hi - lo), np.diff(indptr[lo:hi + 1]))
            scores[rows, indices[a:b]] = -np.inf
        out_idx[lo:hi], out_val[lo:hi] = top_k_rows(scores, k)
    return out_idx, out_val


class ExactIndex(Index):
    """Exact top-k by a blocked matrix product."""

    name = "exact"

    def fit(self, vectors: np.ndarray) -> "ExactIndex":
        self.base = np.asarray(vectors, dtype=np.float32)
        return self

    def query(self, queries: np.ndarray, k: int, exclude: np.ndarray | None = None):
        idx, val = exact_search(queries, self.base, k, exclude=exclude)
        return idx, val, {}
