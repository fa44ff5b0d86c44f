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
degree, and "is x a neighbour of t" is asked only when the acceptance draw cannot decide
without it: first of a one-byte-per-edge hash filter (a clear bit means no), then, if
needed, by binary search in the shorter of the two sorted rows.

Every walk owns a random stream derived from (seed, walk number), so the walks are the
same for any number of threads.
"""
from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from .rng import GOLDEN as _GOLDEN, S11 as _S11, TO_UNIT as _TO_UNIT, mix64 as _mix64, \
    next_uniform as _next_uniform, stream as _walk_state
from .sorted_search import lower_bound


@njit(cache=True, inline="always")
def _vose_row(w, prob, alias, scaled, stack):
    """Vose's alias table for one row of weights w: prob[i] keeps slot i, else alias[i]
    (row-local). scaled and stack are scratch of len(w)."""
    deg = w.shape[0]
    total = 0.0
    for i in range(deg):
        total += w[i]
    n_small = 0
    n_large = 0   # small items grow up the stack, large items down from its end
    for i in range(deg):
        alias[i] = i
        prob[i] = 1.0
        s = w[i] * deg / total
        scaled[i] = s
        if s < 1.0:
            stack[n_small] = i
            n_small += 1
        else:
            stack[deg - 1 - n_large] = i
            n_large += 1
    while n_small > 0 and n_large > 0:
        n_small -= 1
        small = stack[n_small]
        n_large -= 1
        large = stack[deg - 1 - n_large]
        prob[small] = scaled[small]
        alias[small] = large
        scaled[large] = scaled[large] - (1.0 - scaled[small])
        if scaled[large] < 1.0:
            stack[n_small] = large
            n_small += 1
        else:
            stack[deg - 1 - n_large] = large
            n_large += 1
    # Leftovers keep prob 1 (they are 1 up to rounding).


@njit(cache=True, parallel=True)
def build_alias_tables(indptr, weights):
    """Alias tables over each node's out-edges; O(E) memory, rows built in parallel.

    Returns (prob float32[E], alias int32[E]) where alias holds row-local positions.
    """
    num_edges = weights.shape[0]
    prob = np.ones(num_edges, dtype=np.float32)
    alias = np.zeros(num_edges, dtype=np.int32)
    scaled = np.empty(num_edges, dtype=np.float64)
    stack = np.empty(num_edges, dtype=np.int32)
    for v in prange(indptr.shape[0] - 1):
        a, b = indptr[v], indptr[v + 1]
        if b > a:
            _vose_row(weights[a:b], prob[a:b], alias[a:b], scaled[a:b], stack[a:b])
    return prob, alias


# Walk table: one 16-byte record per edge, so a first-order step touches one cache line:
#   [node, alias node, alias position (row-local), threshold]
# threshold = round(prob * 2**24): the low 24 bits of a draw decide "keep or alias" while
# the high 40 bits pick the slot (a 64-bit draw split in two, exact to 2**-40 / 2**-24).
_THR_SCALE = float(1 << 24)            # thresholds are prob * 2**24
_LOW24 = np.uint64((1 << 24) - 1)
_S24, _S40 = np.uint64(24), np.uint64(40)
_GROUP = 16      # walks advanced in lockstep by one thread: their memory misses overlap
_CHUNK = 1024    # walks per parallel task


@njit(cache=True, parallel=True)
def _build_table(indptr, indices, weights, max_deg, n_tasks):
    """The walk table (see above), built row by row with per-thread scratch (O(max_deg))."""
    num_edges = indices.shape[0]
    table = np.empty((num_edges, 4), dtype=np.uint32)
    n = indptr.shape[0] - 1
    for task in prange(n_tasks):
        scaled = np.empty(max_deg, dtype=np.float64)
        stack = np.empty(max_deg, dtype=np.int32)
        prob = np.empty(max_deg, dtype=np.float64)
        alias = np.empty(max_deg, dtype=np.int32)
        for v in range(task, n, n_tasks):
            start, end = indptr[v], indptr[v + 1]
            deg = end - start
            if deg == 0:
                continue
            _vose_row(weights[start:end], prob[:deg], alias[:deg], scaled[:deg], stack[:deg])
            for i in range(deg):
                a = alias[i]
                table[start + i, 0] = indices[start + i]
                table[start + i, 1] = indices[start + a]
                table[start + i, 2] = a
                table[start + i, 3] = np.uint32(min(prob[i], 1.0) * _THR_SCALE + 0.5)
    return table


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
            fwd += _mix64(_mix64(uu * _GOLDEN + x) ^ w)
            bwd += _mix64(_mix64(x * _GOLDEN + uu) ^ w)
    return fwd, bwd


@njit(cache=True, inline="always")
def _draw(table, start, deg, uniform_weights, state):
    """One first-order draw: returns (state, next node, edge position)."""
    state = state + _GOLDEN
    z = _mix64(state)
    if deg < 16777216:
        k = np.int64(((z >> _S24) * np.uint64(deg)) >> _S40)
    else:
        k = min(np.int64((z >> _S11) * _TO_UNIT * deg), deg - 1)
    e = start + k
    if uniform_weights:
        return state, np.int64(table[e, 0]), e
    keep = (z & _LOW24) < table[e, 3]
    nxt = np.int64(table[e, 0]) if keep else np.int64(table[e, 1])
    pos = e if keep else start + np.int64(table[e, 2])
    return state, nxt, pos


@njit(cache=True, inline="always")
def _find(indices, start, end, x):
    """Position of x in the sorted slice indices[start:end], or -1."""
    lo = lower_bound(indices, start, end, x)
    if lo < end and indices[lo] == x:
        return lo
    return -1


# Edge filter: one bit per (hashed) directed edge t->x in a table of >= 8 bits per edge.
# A clear bit proves "x is not a neighbour of t" with one memory access; only a set bit
# (every real edge, plus ~12% of non-edges) needs the binary search. Exactness is kept.
_U1, _U3, _U7 = np.uint64(1), np.uint64(3), np.uint64(7)


@njit(cache=True, inline="always")
def _edge_slot(t, x, shift):
    return _mix64(np.uint64(t) * _GOLDEN + np.uint64(x)) >> shift


@njit(cache=True)
def _build_edge_filter(indptr, indices, log2_bits):
    bits = np.zeros(1 << (log2_bits - 3), dtype=np.uint8)
    shift = np.uint64(64 - log2_bits)
    for t in range(indptr.shape[0] - 1):
        for e in range(indptr[t], indptr[t + 1]):
            h = _edge_slot(t, indices[e], shift)
            bits[h >> _U3] |= np.uint8(1) << np.uint8(h & _U7)
    return bits


@njit(cache=True, inline="always")
def _maybe_edge(bits, shift, t, x):
    h = _edge_slot(t, x, shift)
    return ((np.uint64(bits[h >> _U3]) >> (h & _U7)) & _U1) != 0


@njit(cache=True)
def _walk_chunk(c_lo, c_hi, indptr, indices, table, weights, row_sums, uniform_weights, symmetric,
                edge_bits, edge_shift, starts, first_walk_id, seed, inv_p, inv_q, out):
    """Walks c_lo..c_hi of walk_batch, _GROUP at a time in lockstep."""
    num_walks, walk_length = out.shape
    first_order = inv_p == 1.0 and inv_q == 1.0
    # Envelope for the rejection step; a dominant 1/p is handled by the direct return jump.
    m_rest = max(1.0, inv_q)
    boost_return = inv_p > m_rest
    envelope = m_rest if boost_return else max(m_rest, inv_p)
    accept_return = 1.0 if boost_return else inv_p / envelope
    sure_accept = min(1.0, inv_q) / envelope   # below this, no neighbour test is needed
    sure_reject = max(1.0, inv_q) / envelope
    accept_near = 1.0 / envelope
    accept_far = inv_q / envelope
    boost = inv_p / m_rest - 1.0
    need_weight = boost_return and symmetric and not first_order
    w0 = weights[0] if weights.shape[0] > 0 else 1.0
    states = np.empty(_GROUP, dtype=np.uint64)
    cur = np.empty(_GROUP, dtype=np.int64)
    prv = np.empty(_GROUP, dtype=np.int64)
    wprev = np.empty(_GROUP, dtype=np.float64)
    alive = np.empty(_GROUP, dtype=np.bool_)
    for g_lo in range(c_lo, c_hi, _GROUP):
        m = min(_GROUP, c_hi - g_lo)
        for j in range(m):
            states[j] = _walk_state(seed, first_walk_id + g_lo + j)
            cur[j] = starts[g_lo + j]
            out[g_lo + j, 0] = starts[g_lo + j]
            prv[j] = -1
            wprev[j] = 0.0
            alive[j] = True
        for step in range(1, walk_length):
            for j in range(m):
                if not alive[j]:
                    continue
                v = cur[j]
                start = indptr[v]
                deg = indptr[v + 1] - start
                if deg == 0:
                    alive[j] = False
                    for s in range(step, walk_length):
                        out[g_lo + j, s] = -1
                    continue
                state = states[j]
                t = prv[j]
                if first_order or t < 0:
                    state, nxt, e = _draw(table, start, deg, uniform_weights, state)
                else:
                    extra = 0.0
                    if boost_return:
                        if symmetric:
                            extra = wprev[j] * boost
                        else:
                            back = _find(indices, start, start + deg, t)
                            if back >= 0:
                                extra = (w0 if uniform_weights else weights[back]) * boost
                    p_jump = extra / (row_sums[v] + extra)
                    t_start = indptr[t]
                    t_end = indptr[t + 1]
                    while True:
                        if extra > 0.0:
                            state, u = _next_uniform(state)
                            if u < p_jump:
                                nxt = t
                                e = -1
                                break
                        state, x, e = _draw(table, start, deg, uniform_weights, state)
                        state, r = _next_uniform(state)
                        if x == t:
                            if r < accept_return:
                                nxt = x
                                break
                            continue
                        if r < sure_accept:
                            nxt = x
                            break
                        if r >= sure_reject:
                            continue
                        if not _maybe_edge(edge_bits, edge_shift, t, x):
                            near = False
                        elif symmetric and indptr[x + 1] - indptr[x] < t_end - t_start:
                            # x ~ t iff t ~ x: search the shorter row (x is often next).
                            near = _find(indices, indptr[x], indptr[x + 1], t) >= 0
                        else:
                            near = _find(indices, t_start, t_end, x) >= 0
                        if near:
                            accepted = r < accept_near
                        else:
                            accepted = r < accept_far
                        if accepted:
                            nxt = x
                            break
                if need_weight:
                    # Weight of the edge just taken (= of its reverse: symmetric graph).
                    if e < 0:
                        wprev[j] = extra / boost
                    elif uniform_weights:
                        wprev[j] = w0
                    else:
                        wprev[j] = weights[e]
                states[j] = state
                out[g_lo + j, step] = nxt
                prv[j] = v
                cur[j] = nxt


@njit(cache=True, parallel=True)
def walk_batch(indptr, indices, table, weights, row_sums, uniform_weights, symmetric, edge_bits,
               edge_shift, starts, first_walk_id, seed, inv_p, inv_q, out):
    """Fill out[k, :] with the walk from starts[k]; -1 after a dead end.

    ``table`` is the walk table of WalkSampler (or, for equal weights, the node column
    alone). Walk k uses the random stream of walk number first_walk_id + k, whichever thread
    runs it. With inv_p == inv_q == 1 this is weighted DeepWalk; otherwise exact node2vec.
    Each thread advances _GROUP walks in lockstep so that their cache misses overlap.
    """
    num_walks = out.shape[0]
    n_chunks = (num_walks + _CHUNK - 1) // _CHUNK
    for c in prange(n_chunks):
        _walk_chunk(c * _CHUNK, min((c + 1) * _CHUNK, num_walks), indptr, indices, table, weights,
                    row_sums, uniform_weights, symmetric, edge_bits, edge_shift, starts,
                    first_walk_id, seed, inv_p, inv_q, out)


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
    all weights are equal; ``indices`` is then read through and ``weights`` only touched by
    node2vec with a dominant 1/p. node2vec adds the edge filter, one byte per edge.
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
            self.table = _build_table(self.indptr, self.indices, self.weights, max(max_deg, 1),
                                      n_tasks)
        self.row_sums = row_sums(self.indptr, self.weights)
        self._edge_filter = None   # built on the first node2vec batch (DeepWalk needs none)

    def edge_filter(self):
        """(bits, shift) of the edge filter: 1 byte per edge (8 bits, one hash)."""
        if self._edge_filter is None:
            log2_bits = max(6, int(np.ceil(np.log2(max(8 * len(self.indices), 1)))))
            self._edge_filter = (_build_edge_filter(self.indptr, self.indices, log2_bits),
                                 np.uint64(64 - log2_bits))
        return self._edge_filter

    def walks(self, starts, first_walk_id, walk_length, p=1.0, q=1.0, seed=0, out=None):
        starts = np.ascontiguousarray(starts, dtype=np.int32)
        if out is None:
            out = np.empty((len(starts), walk_length), dtype=np.int32)
        if p == 1.0 and q == 1.0:
            bits, shift = np.zeros(1, dtype=np.uint8), np.uint64(63)   # unused by DeepWalk
        else:
            bits, shift = self.edge_filter()
        walk_batch(self.indptr, self.indices, self.table, self.weights, self.row_sums,
                   self.uniform_weights, self.symmetric, bits, shift, starts,
                   np.int64(first_walk_id), np.int64(seed), 1.0 / p, 1.0 / q, out)
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
