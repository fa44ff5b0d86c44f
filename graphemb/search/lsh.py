"""Random-projection LSH (SimHash) over unit vectors: ``tables`` hash tables (OR) of ``bits``
sign bits each (AND), optional multi-probing of the buckets one bit away; candidates re-ranked
by exact cosine in a Numba kernel."""
from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit, prange

from ..errors import GraphembError
from ..options import SIMILAR
from ..sorted_search import lower_bound
from .exact import normalize
from .index import Index


# The fitted hash tables: per table the row order by code, and where each bucket starts
# (dense: offsets has 2**bits + 1 columns) or the sorted codes to search (sparse).
HashTables = namedtuple("HashTables", "sorted_codes offsets orders")


@njit(cache=True, inline="always")
def _bucket(tables, qcodes, qflips, qi, t, pr):
    """[lo, hi) in table ``t`` of query ``qi``'s bucket (pr = 0) or of its probe ``pr``, the
    bucket with bit qflips[qi, t, pr - 1] flipped: a direct lookup when the table is dense,
    else a binary search of the sorted codes."""
    c = qcodes[qi, t]
    if pr > 0:
        c = c ^ (np.int64(1) << qflips[qi, t, pr - 1])
    if tables.offsets.shape[1] > 1:
        return tables.offsets[t, c], tables.offsets[t, c + 1]
    codes = tables.sorted_codes[t]
    n = codes.shape[0]
    return lower_bound(codes, 0, n, c), lower_bound(codes, 0, n, c + 1)


@njit(cache=True, parallel=True)
def _lsh_query(tables, qcodes, qflips, base, queries, k, exclude, max_candidates):
    """For each query: gather the buckets of every table (and probed neighbours), dedupe,
    re-rank by dot product, keep the k best. Returns (indices, scores, candidates per query)."""
    nq = queries.shape[0]
    n_tables = tables.orders.shape[0]
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
                lo, hi = _bucket(tables, qcodes, qflips, qi, t, pr)
                total += hi - lo
        if total > max_candidates:
            total = max_candidates
        cand = np.empty(total, dtype=np.int64)
        pos = 0
        for t in range(n_tables):
            for pr in range(n_probe + 1):
                if pos >= total:
                    break
                lo, hi = _bucket(tables, qcodes, qflips, qi, t, pr)
                for j in range(lo, hi):
                    if pos >= total:
                        break
                    cand[pos] = tables.orders[t, j]
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
    """(..., bits) projections -> int64 codes: bit j set where projection j > 0."""
    bits = projections.shape[-1]
    weights = np.left_shift(np.int64(1), np.arange(bits, dtype=np.int64))
    return (projections > 0).astype(np.int64) @ weights


class LSHIndex(Index):
    """Random-projection LSH over unit vectors (cosine similarity).

    ``tables`` independent hash tables, each keyed by ``bits`` random hyperplane signs: more bits
    make buckets smaller and purer (AND), more tables find more true neighbours (OR).
    ``probes`` > 0 also visits, in every table, the buckets that differ from the query's in one
    of its ``probes`` least certain bits (multi-probe), trading tables for probes.
    """

    name = "lsh"

    def __init__(self, tables: int = SIMILAR.defaults.tables, bits: int = SIMILAR.defaults.bits,
                 probes: int = SIMILAR.defaults.probes, seed: int = 0,
                 max_candidates: int = 1 << 20):
        tables, bits, probes = SIMILAR.check(tables=tables, bits=bits, probes=probes).values()
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
        qcodes = _pack_bits(proj)                                   # (nq, tables)
        if self.probes:
            qflips = np.argsort(np.abs(proj), axis=2)[:, :, :self.probes].astype(np.int64)
        else:
            qflips = np.zeros((nq, self.tables, 0), dtype=np.int64)
        if exclude is None:
            exclude = np.full(nq, -1, dtype=np.int64)
        idx, val, candidates = _lsh_query(
            HashTables(self.sorted_codes, self.offsets, self.orders), qcodes,
            np.ascontiguousarray(qflips), self.base, q, int(min(k, len(self.base))),
            np.asarray(exclude, dtype=np.int64), int(self.max_candidates))
        return idx, val, {"candidates": candidates}
