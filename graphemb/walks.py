"""Numba kernels for random walks: alias tables, DeepWalk and exact node2vec.

Memory is O(E): one alias table over each node's out-edges (first-order, by weight) serves
both walk kinds. node2vec's second-order bias is applied by rejection sampling against that
first-order proposal, so no table of size sum(deg^2) is ever built:

    target   pi(x | t, v)  ~  w(v, x) * alpha(t, x)
    alpha    1/p if x == t;  1 if t -> x is an edge;  1/q otherwise
    proposal w(v, x) / sum_x w(v, x)  (the alias table), accepted with alpha / M

with M = max(1, 1/q) (and 1/p when it is not the largest). When 1/p dominates, the return to
t would make most proposals fail, so the proposal is mixed with a direct jump back to t that
carries exactly the missing mass; t is then always accepted and M stays max(1, 1/q). Either
way the expected number of proposals per step is bounded by M / min(alpha), independent of
degree, and "is x a neighbour of t" is a binary search in t's sorted adjacency, done only
when the acceptance draw cannot decide without it.

Every walk owns a random stream derived from (seed, walk number), so the walks are the
same for any number of threads.
"""
from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53


@njit(cache=True, inline="always")
def _mix64(z):
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


@njit(cache=True, inline="always")
def _next_uniform(state):
    """SplitMix64: returns the advanced state and a float in [0, 1)."""
    state = state + _GOLDEN
    return state, (_mix64(state) >> _S11) * _TO_UNIT


@njit(cache=True, inline="always")
def _walk_state(seed, walk_id):
    return _mix64(np.uint64(seed) * _GOLDEN + _mix64(np.uint64(walk_id) + _GOLDEN))


@njit(cache=True, parallel=True)
def build_alias_tables(indptr, weights):
    """Vose alias tables over each node's out-edges; O(E) memory, rows built in parallel.

    Returns (prob float32[E], alias int32[E]) where alias holds row-local positions.
    """
    num_edges = weights.shape[0]
    prob = np.ones(num_edges, dtype=np.float32)
    alias = np.zeros(num_edges, dtype=np.int32)
    scaled = np.empty(num_edges, dtype=np.float64)
    stack = np.empty(num_edges, dtype=np.int32)  # small items grow up, large items grow down
    n = indptr.shape[0] - 1
    for v in prange(n):
        start, end = indptr[v], indptr[v + 1]
        deg = end - start
        if deg == 0:
            continue
        total = 0.0
        for e in range(start, end):
            total += weights[e]
        n_small = 0
        n_large = 0
        for i in range(deg):
            alias[start + i] = i
            s = weights[start + i] * deg / total
            scaled[start + i] = s
            if s < 1.0:
                stack[start + n_small] = i
                n_small += 1
            else:
                stack[end - 1 - n_large] = i
                n_large += 1
        while n_small > 0 and n_large > 0:
            n_small -= 1
            small = stack[start + n_small]
            n_large -= 1
            large = stack[end - 1 - n_large]
            prob[start + small] = scaled[start + small]
            alias[start + small] = large
            scaled[start + large] = scaled[start + large] - (1.0 - scaled[start + small])
            if scaled[start + large] < 1.0:
                stack[start + n_small] = large
                n_small += 1
            else:
                stack[end - 1 - n_large] = large
                n_large += 1
        # Leftovers are 1 up to rounding.
        for k in range(n_small):
            prob[start + stack[start + k]] = 1.0
        for k in range(n_large):
            prob[start + stack[end - 1 - k]] = 1.0
    return prob, alias


@njit(cache=True, inline="always")
def _draw_neighbour(start, deg, prob, alias, uniform_weights, state):
    """One first-order draw: returns (state, edge position)."""
    state, u = _next_uniform(state)
    k = int(u * deg)
    if k >= deg:
        k = deg - 1
    if uniform_weights:
        return state, start + k
    state, u2 = _next_uniform(state)
    if u2 < prob[start + k]:
        return state, start + k
    return state, start + alias[start + k]


@njit(cache=True, inline="always")
def _find(indices, start, end, x):
    """Position of x in the sorted slice indices[start:end], or -1."""
    lo, hi = start, end
    while lo < hi:
        mid = (lo + hi) >> 1
        if indices[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    if lo < end and indices[lo] == x:
        return lo
    return -1


@njit(cache=True, parallel=True)
def walk_batch(indptr, indices, weights, prob, alias, row_sums, uniform_weights, starts,
               first_walk_id, seed, inv_p, inv_q, out):
    """Fill out[k, :] with the walk from starts[k]; -1 after a dead end.

    Walk k uses the random stream of walk number first_walk_id + k. With inv_p == inv_q == 1
    this is weighted DeepWalk; otherwise exact node2vec.
    """
    num_walks, walk_length = out.shape
    first_order = inv_p == 1.0 and inv_q == 1.0
    # Envelope for the rejection step; a dominant 1/p is handled by the direct return jump.
    m_rest = max(1.0, inv_q)
    boost_return = inv_p > m_rest
    envelope = m_rest if boost_return else max(m_rest, inv_p)
    accept_return = 1.0 if boost_return else inv_p / envelope
    sure_accept = min(1.0, inv_q) / envelope   # below this, no neighbour test is needed
    sure_reject = max(1.0, inv_q) / envelope
    for k in prange(num_walks):
        state = _walk_state(seed, first_walk_id + k)
        v = starts[k]
        out[k, 0] = v
        prev = -1
        step = 1
        while step < walk_length:
            start = indptr[v]
            deg = indptr[v + 1] - start
            if deg == 0:
                break
            if first_order or prev < 0:
                state, e = _draw_neighbour(start, deg, prob, alias, uniform_weights, state)
                nxt = indices[e]
            else:
                extra = 0.0
                if boost_return:
                    back = _find(indices, start, start + deg, prev)
                    if back >= 0:
                        extra = weights[back] * (inv_p / m_rest - 1.0)
                p_jump = extra / (row_sums[v] + extra)
                t_start = indptr[prev]
                t_end = indptr[prev + 1]
                while True:
                    if extra > 0.0:
                        state, u = _next_uniform(state)
                        if u < p_jump:
                            nxt = prev
                            break
                    state, e = _draw_neighbour(start, deg, prob, alias, uniform_weights, state)
                    x = indices[e]
                    state, r = _next_uniform(state)
                    if x == prev:
                        if r < accept_return:
                            nxt = x
                            break
                        continue
                    if r < sure_accept:
                        nxt = x
                        break
                    if r >= sure_reject:
                        continue
                    if _find(indices, t_start, t_end, x) >= 0:
                        accepted = r < 1.0 / envelope
                    else:
                        accepted = r < inv_q / envelope
                    if accepted:
                        nxt = x
                        break
            out[k, step] = nxt
            prev = v
            v = nxt
            step += 1
        while step < walk_length:
            out[k, step] = -1
            step += 1


@njit(cache=True)
def row_sums(indptr, weights):
    n = indptr.shape[0] - 1
    sums = np.zeros(n, dtype=np.float64)
    for v in range(n):
        for e in range(indptr[v], indptr[v + 1]):
            sums[v] += weights[e]
    return sums


class WalkSampler:
    """Precomputed per-graph state (alias tables, row sums) for repeated walk batches."""

    def __init__(self, indptr, indices, weights):
        self.indptr = np.ascontiguousarray(indptr, dtype=np.int64)
        self.indices = np.ascontiguousarray(indices, dtype=np.int32)
        self.weights = np.ascontiguousarray(weights, dtype=np.float32)
        if len(self.weights) and np.any(~np.isfinite(self.weights) | (self.weights <= 0)):
            raise ValueError("edge weights must be positive and finite")
        self.uniform_weights = bool(len(self.weights) == 0 or
                                    np.all(self.weights == self.weights[0]))
        if self.uniform_weights:
            # Equal weights: a uniform draw is exact, no tables needed.
            self.prob = np.ones(1, dtype=np.float32)
            self.alias = np.zeros(1, dtype=np.int32)
        else:
            self.prob, self.alias = build_alias_tables(self.indptr, self.weights)
        self.row_sums = row_sums(self.indptr, self.weights)

    def walks(self, starts, first_walk_id, walk_length, p=1.0, q=1.0, seed=0, out=None):
        starts = np.ascontiguousarray(starts, dtype=np.int32)
        if out is None:
            out = np.empty((len(starts), walk_length), dtype=np.int32)
        walk_batch(self.indptr, self.indices, self.weights, self.prob, self.alias,
                   self.row_sums, self.uniform_weights, starts, np.int64(first_walk_id),
                   np.int64(seed), 1.0 / p, 1.0 / q, out)
        return out


def start_nodes(indptr: np.ndarray, num_walks: int, seed: int):
    """Yield (repetition, starts): every node with an out-edge, in a fresh order each time.

    The order is shuffled per repetition (as DeepWalk does) so that word2vec's decaying
    learning rate does not see the most popular items first.
    """
    has_out = np.flatnonzero(np.diff(indptr) > 0).astype(np.int32)
    for r in range(num_walks):
        rng = np.random.default_rng([seed, r])
        yield r, has_out[rng.permutation(len(has_out))]


def set_workers(workers: int | None) -> int:
    available = numba.config.NUMBA_NUM_THREADS
    workers = available if not workers or workers < 1 else min(workers, available)
    numba.set_num_threads(workers)
    return workers
