"""Nearest-neighbour search over unit vectors, behind one small protocol.

An index has ``fit(vectors)`` (unit rows) and ``query(queries, k, exclude)`` returning
(positions, scores, stats): the k best rows by dot product, best first, -1 where fewer
qualify, never the row ``exclude`` names for a query. Back-ends:

    exact   blocked matrix product and a partial sort; nothing loops over items or queries
            in Python, only over blocks of queries
    lsh     random-projection hashing (SimHash): ``tables`` hash tables (OR) of ``bits`` sign
            bits each (AND), optional multi-probing of the buckets one bit away; candidates
            re-ranked by exact cosine in a Numba kernel
    hnsw    hnswlib's graph index (optional: graphemb[ann])

Adding a back-end is one class registered in INDEXES. ``search_eligible`` does the shared
bookkeeping: index only the eligible rows, map positions back, time the query, and measure
recall against exact search.
"""
from __future__ import annotations

import inspect
import time

import numpy as np
from numba import njit, prange

from .errors import GraphembError, require
from .sorted_search import lower_bound


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


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean fraction of each row of ``truth`` (ignoring -1) that appears in the row of ``found``."""
    truth = np.asarray(truth)
    found = np.asarray(found)
    real = truth >= 0
    # Membership per row without a Python loop over rows: sort both and compare by key.
    rows = np.arange(len(truth))[:, None]
    n = max(int(truth.max(initial=0)), int(found.max(initial=0))) + 1
    key_t = (rows * n + truth)[real]
    key_f = (rows * n + found)[found >= 0]
    hits = int(np.isin(key_t, key_f).sum())
    total = int(real.sum())
    return hits / total if total else float("nan")


# ---------------------------------------------------------------------------------------------
# LSH: random-projection hashing


@njit(cache=True, inline="always")
def _bucket(sorted_codes, offsets, t, c):
    """[lo, hi) of bucket ``c`` in table ``t``: direct lookup when the table is dense
    (offsets has 2**bits + 1 columns), else a binary search of the sorted codes."""
    if offsets.shape[1] > 1:
        return offsets[t, c], offsets[t, c + 1]
    codes = sorted_codes[t]
    n = codes.shape[0]
    return lower_bound(codes, 0, n, c), lower_bound(codes, 0, n, c + 1)


@njit(cache=True, parallel=True)
def _lsh_query(qcodes, qflips, sorted_codes, offsets, orders, base, queries, k, exclude,
               max_candidates):
    """For each query: gather the buckets of every table (and probed neighbours), dedupe,
    re-rank by dot product, keep the k best. Returns (indices, scores, candidates per query)."""
    nq = queries.shape[0]
    n_tables = orders.shape[0]
    n_probe = qflips.shape[2]
    dim = base.shape[1]
    out_idx = np.full((nq, k), -1, dtype=np.int64)
    out_val = np.full((nq, k), -np.inf, dtype=np.float32)
    n_cand = np.zeros(nq, dtype=np.int64)
    for qi in prange(nq):
        # First pass: how many candidates (with repeats) the buckets hold.
        total = 0
        for t in range(n_tables):
            for pr in range(n_probe + 1):
                c = qcodes[qi, t]
                if pr > 0:
                    c = c ^ (np.int64(1) << qflips[qi, t, pr - 1])
                lo, hi = _bucket(sorted_codes, offsets, t, c)
                total += hi - lo
        if total > max_candidates:
            total = max_candidates
        cand = np.empty(total, dtype=np.int64)
        pos = 0
        for t in range(n_tables):
            for pr in range(n_probe + 1):
                if pos >= total:
                    break
                c = qcodes[qi, t]
                if pr > 0:
                    c = c ^ (np.int64(1) << qflips[qi, t, pr - 1])
                lo, hi = _bucket(sorted_codes, offsets, t, c)
                for j in range(lo, hi):
                    if pos >= total:
                        break
                    cand[pos] = orders[t, j]
                    pos += 1
        cand = np.sort(cand[:pos])
        # Unique candidates, scored.
        m = 0
        for j in range(pos):
            if j == 0 or cand[j] != cand[j - 1]:
                cand[m] = cand[j]
                m += 1
        n_cand[qi] = m
        # Keep the k best in a small sorted buffer (insertion; k is small).
        best_i = out_idx[qi]
        best_v = out_val[qi]
        for j in range(m):
            b = cand[j]
            if b == exclude[qi]:
                continue
            s = np.float32(0.0)
            for d in range(dim):
                s += base[b, d] * queries[qi, d]
            if s <= best_v[k - 1]:
                continue
            pos_k = k - 1
            while pos_k > 0 and best_v[pos_k - 1] < s:
                best_v[pos_k] = best_v[pos_k - 1]
                best_i[pos_k] = best_i[pos_k - 1]
                pos_k -= 1
            best_v[pos_k] = s
            best_i[pos_k] = b
    return out_idx, out_val, n_cand


def _pack_bits(projections: np.ndarray) -> np.ndarray:
    """(rows, bits) projections -> int64 codes: bit j set where projection j > 0."""
    bits = projections.shape[1]
    weights = np.left_shift(np.int64(1), np.arange(bits, dtype=np.int64))
    return (projections > 0).astype(np.int64) @ weights


class LSHIndex:
    """Random-projection LSH over unit vectors (cosine similarity).

    ``tables`` independent hash tables, each keyed by ``bits`` random hyperplane signs: more bits
    make buckets smaller and purer (AND), more tables find more true neighbours (OR).
    ``probes`` > 0 also visits, in every table, the buckets that differ from the query's in one
    of its ``probes`` least certain bits (multi-probe), trading tables for probes.
    """

    def __init__(self, tables: int = 16, bits: int = 12, probes: int = 0, seed: int = 0,
                 max_candidates: int = 1 << 20):
        if not 1 <= bits <= 62:
            raise GraphembError(f"--bits must be between 1 and 62 (got {bits}).")
        if tables < 1:
            raise GraphembError(f"--tables must be at least 1 (got {tables}).")
        if not 0 <= probes <= bits:
            raise GraphembError(f"--probes must be between 0 and --bits ({bits}) (got {probes}).")
        self.tables, self.bits, self.probes, self.seed = tables, bits, probes, seed
        self.max_candidates = max_candidates
        self.planes = None

    def fit(self, vectors: np.ndarray) -> "LSHIndex":
        base = normalize(vectors)
        rng = np.random.default_rng(self.seed)
        dim = base.shape[1]
        self.planes = rng.standard_normal((self.tables, self.bits, dim)).astype(np.float32)
        n = len(base)
        # Up to 2**20 buckets a table gets a dense offsets array (one lookup per bucket);
        # beyond that, buckets are found by binary search in the sorted codes.
        dense = self.bits <= 20
        self.sorted_codes = np.empty((self.tables, 0 if dense else n), dtype=np.int64)
        self.offsets = np.zeros((self.tables, (1 << self.bits) + 1 if dense else 1),
                                dtype=np.int64)
        self.orders = np.empty((self.tables, n), dtype=np.int32 if n < 2**31 else np.int64)
        for t in range(self.tables):  # a loop over tables
            codes = _pack_bits(base @ self.planes[t].T)
            order = np.argsort(codes, kind="stable")
            self.orders[t] = order
            if dense:
                np.cumsum(np.bincount(codes, minlength=1 << self.bits), out=self.offsets[t, 1:])
            else:
                self.sorted_codes[t] = codes[order]
        self.base = base
        return self

    def query(self, queries: np.ndarray, k: int, exclude: np.ndarray | None = None):
        """(indices, scores, {"candidates": examined per query}) for unit-normalised queries."""
        if self.planes is None:
            raise GraphembError("LSH index used before fit().")
        q = normalize(queries)
        nq = len(q)
        flat = self.planes.reshape(self.tables * self.bits, -1)
        proj = (q @ flat.T).reshape(nq, self.tables, self.bits)      # (nq, tables, bits)
        weights = np.left_shift(np.int64(1), np.arange(self.bits, dtype=np.int64))
        qcodes = (proj > 0).astype(np.int64) @ weights              # (nq, tables)
        if self.probes:
            qflips = np.argsort(np.abs(proj), axis=2)[:, :, :self.probes].astype(np.int64)
        else:
            qflips = np.zeros((nq, self.tables, 0), dtype=np.int64)
        if exclude is None:
            exclude = np.full(nq, -1, dtype=np.int64)
        idx, val, candidates = _lsh_query(
            qcodes, np.ascontiguousarray(qflips), self.sorted_codes, self.offsets, self.orders,
            self.base, q, int(min(k, len(self.base))), np.asarray(exclude, dtype=np.int64),
            int(self.max_candidates))
        return idx, val, {"candidates": candidates}


# ---------------------------------------------------------------------------------------------
# The protocol's other back-ends and the shared driver


class ExactIndex:
    """Exact top-k by a blocked matrix product."""

    def fit(self, vectors: np.ndarray) -> "ExactIndex":
        self.base = np.asarray(vectors, dtype=np.float32)
        return self

    def query(self, queries: np.ndarray, k: int, exclude: np.ndarray | None = None):
        idx, val = exact_search(queries, self.base, k, exclude=exclude)
        return idx, val, {}


class HNSWIndex:
    """hnswlib's HNSW graph (inner product on unit vectors = cosine)."""

    def __init__(self, seed: int = 0, ef_construction: int = 200, M: int = 16):
        self.seed, self.ef_construction, self.M = seed, ef_construction, M

    def fit(self, vectors: np.ndarray) -> "HNSWIndex":
        hnswlib = require("hnswlib", "ann", "--index hnsw (or use --index lsh)")
        self.size = len(vectors)
        self.index = hnswlib.Index(space="ip", dim=vectors.shape[1])
        self.index.init_index(max_elements=self.size, ef_construction=self.ef_construction,
                              M=self.M, random_seed=self.seed)
        self.index.add_items(vectors, np.arange(self.size))
        return self

    def query(self, queries: np.ndarray, k: int, exclude: np.ndarray | None = None):
        self.index.set_ef(max(64, 2 * k))
        labels, dist = self.index.knn_query(queries, k=min(k + 1, self.size))  # +1: the query
        labels = labels.astype(np.int64)
        val = (1 - dist).astype(np.float32)
        if exclude is not None:
            val[labels == np.asarray(exclude)[:, None]] = -np.inf
        order = np.argsort(-val, axis=1, kind="stable")[:, :k]
        idx = np.take_along_axis(labels, order, 1)
        val = np.take_along_axis(val, order, 1)
        idx[np.isneginf(val)] = -1
        return idx, val, {}


INDEXES = {"exact": ExactIndex, "lsh": LSHIndex, "hnsw": HNSWIndex}


def make_index(name: str, **options):
    """An index by name; an option the back-end does not take is an error (it would do
    nothing)."""
    if name not in INDEXES:
        raise GraphembError(f"unknown index {name!r}; choose {', '.join(INDEXES)}.")
    cls = INDEXES[name]
    accepted = set(inspect.signature(cls).parameters)
    idle = sorted(k for k in options if k not in accepted)
    if idle:
        raise GraphembError(f"{', '.join('--' + k for k in idle)} do(es) nothing with --index "
                            f"{name}; drop it or choose an index that takes it.")
    return cls(**options)


def search_eligible(index, base: np.ndarray, eligible: np.ndarray, queries: np.ndarray, k: int,
                    truth: tuple[np.ndarray, np.ndarray, float] | None = None):
    """Top-k of each row ``queries`` (rows of ``base``) among the ``eligible`` rows, by
    ``index``; the query row itself is never returned. ``truth`` = (indices, scores, seconds)
    of exact search, to report recall and speed-up against. Returns (indices, scores, info)."""
    t0 = time.perf_counter()
    rows = np.flatnonzero(eligible)
    index.fit(base[rows])
    t_build = time.perf_counter() - t0
    at = np.searchsorted(rows, queries)
    at = np.where(rows[np.clip(at, 0, len(rows) - 1)] == queries, at, -1)  # query not indexed
    index.query(base[queries[:1]], k, exclude=at[:1])      # load compiled code first
    t0 = time.perf_counter()
    idx, val, stats = index.query(base[queries], k, exclude=at)
    t_query = time.perf_counter() - t0
    idx = np.where(idx >= 0, rows[np.clip(idx, 0, None)], -1)
    info = {"build_seconds": t_build, "query_seconds": t_query, "items_in_index": len(rows)}
    if "candidates" in stats:
        info["mean_candidates"] = float(np.mean(stats["candidates"]))
    if truth is not None:
        info.update({"recall_at_k": recall_at_k(idx, truth[0]),
                     "speedup": truth[2] / max(t_query, 1e-9)})
    return idx, val, info
