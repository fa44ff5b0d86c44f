"""WalkSampler: a graph made ready for walking, and the registry of step rules.

A new rule is a module of this package (an ``@njit`` ``step``, its ``walk_batch`` and a
``RULE``; the contract is in driver.py, uniform.py is a small example) and one line in RULES.
"""
from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from ..rng import GOLDEN, mix64
from . import deepwalk, node2vec, uniform
from .driver import WalkGraph

RULES = {
    "deepwalk": deepwalk.RULE,
    "node2vec": node2vec.RULE,
    "uniform": uniform.RULE,
}


@njit(cache=True, parallel=True)
def _direction_hashes(indptr, indices, weight_bits):
    """Sums of a hash of (u, x, w) and of (x, u, w) over all edges: equal iff symmetric
    (up to a 2**-64 chance of a collision), found in one streaming pass."""
    n = indptr.shape[0] - 1
    fwd = np.uint64(0)
    bwd = np.uint64(0)
    for u in prange(n):
        uu = np.uint64(u)
        for e in range(indptr[u], indptr[u + 1]):
            x = np.uint64(indices[e])
            w = np.uint64(weight_bits[e])
            fwd += mix64(mix64(uu * GOLDEN + x) ^ w)
            bwd += mix64(mix64(x * GOLDEN + uu) ^ w)
    return fwd, bwd


@njit(cache=True)
def row_sums(indptr, weights):
    n = indptr.shape[0] - 1
    sums = np.zeros(n, dtype=np.float64)
    for v in range(n):
        for e in range(indptr[v], indptr[v + 1]):
            sums[v] += weights[e]
    return sums


class WalkSampler:
    """Precomputed per-graph state (walk table, row sums) for repeated walk batches.

    Memory: a 16-byte record per edge (node, alias node, alias slot, threshold), none when
    all weights are equal; ``indices`` is then read through. node2vec adds the edge filter
    (about one byte per edge) and either its edge records (32 bytes per edge) or, when it
    samples by rejection, its near bits (one bit per edge).
    """

    def __init__(self, indptr, indices, weights):
        self.indptr = np.ascontiguousarray(indptr, dtype=np.int64)
        self.indices = np.ascontiguousarray(indices, dtype=np.int32)
        self.weights = np.ascontiguousarray(weights, dtype=np.float32)
        if len(self.weights) and np.any(~np.isfinite(self.weights) | (self.weights <= 0)):
            raise ValueError("edge weights must be positive and finite")
        self.uniform_weights = bool(len(self.weights) == 0 or
                                    np.all(self.weights == self.weights[0]))
        fwd, bwd = _direction_hashes(self.indptr, self.indices, self.weights.view(np.uint32))
        self.symmetric = bool(fwd == bwd)
        if self.uniform_weights:
            # Equal weights: a uniform draw is exact, no tables needed.
            self.table = self.indices.view(np.uint32).reshape(-1, 1)
        else:
            max_deg = int(np.max(np.diff(self.indptr))) if len(self.indptr) > 1 else 0
            n_tasks = min(len(self.indptr) - 1, 64 * numba.get_num_threads())
            self.table = deepwalk.build_walk_table(self.indptr, self.indices, self.weights,
                                                   max(max_deg, 1), n_tasks)
        self.row_sums = row_sums(self.indptr, self.weights)
        self.graph = WalkGraph(self.indptr, self.indices, self.weights, self.table,
                               self.row_sums, self.uniform_weights, self.symmetric)
        self._edge_filter = None   # built on the first node2vec batch (DeepWalk needs none)
        self._edge_masses = None
        self._near_bits = None

    def edge_filter(self):
        """(bits, shift) of the edge filter: >= 8 bits per edge (node2vec.build_edge_filter)."""
        if self._edge_filter is None:
            log2_bits = max(6, int(np.ceil(np.log2(max(8 * len(self.indices), 1)))))
            self._edge_filter = (node2vec.build_edge_filter(self.indptr, self.indices,
                                                            log2_bits),
                                 np.uint64(64 - log2_bits))
        return self._edge_filter

    def edge_masses(self):
        """node2vec's edge records (node2vec.build_edge_masses): 32 bytes per edge."""
        if self._edge_masses is None:
            self._edge_masses = self._build_edge_masses()
        return self._edge_masses

    def _check_rows(self):
        if not node2vec.rows_sorted_unique(self.indptr, self.indices):
            raise ValueError("node2vec needs each row's targets sorted, without duplicates "
                             "(graphemb.graph.csr_from_edges lays them out so)")

    def _build_edge_masses(self):
        self._check_rows()
        return node2vec.build_edge_masses(self.graph, *self.edge_filter())

    def near_bits(self):
        """One bit per edge t -> v (little-endian within each byte): has v a near out-edge
        (a neighbour of t other than t)? Found without the edge records (node2vec by
        rejection needs only the bits: 32 bytes per edge less)."""
        if self._near_bits is None:
            if self._edge_masses is not None:
                has_near = self._edge_masses[:, 1] > 0
            else:
                self._check_rows()
                has_near = node2vec.build_has_near(self.graph, *self.edge_filter())
            self._near_bits = np.packbits(has_near, bitorder="little")
        return self._near_bits

    def walks(self, starts, first_walk_id, walk_length, p=1.0, q=1.0, seed=0, out=None,
              rule=None):
        """Walks of walk_length nodes from starts (-1 after a dead end), walk k with the
        random stream of walk number first_walk_id + k, whichever thread runs it.

        ``rule`` names one of RULES; by default weighted DeepWalk for p = q = 1, else exact
        node2vec.
        """
        if rule is None:
            rule = "deepwalk" if p == 1.0 and q == 1.0 else "node2vec"
        if rule not in RULES:
            raise ValueError(f"unknown walk rule {rule!r}; known: {', '.join(RULES)}")
        prepare, walk_batch = RULES[rule]
        params = prepare(self, p, q)
        starts = np.ascontiguousarray(starts, dtype=np.int32)
        if out is None:
            out = np.empty((len(starts), walk_length), dtype=np.int32)
        walk_batch(self.graph, params, starts, np.int64(first_walk_id), np.int64(seed), out)
        return out
