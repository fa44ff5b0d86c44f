"""First-order walks (weighted DeepWalk): alias tables and the walk table they fill.

One alias table over each node's out-edges (Vose's method), O(E) memory, gives a draw
proportional to the edge weights in O(1). node2vec uses the same draw as its proposal.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..rng import GOLDEN, S11, TO_UNIT, mix64
from .driver import Rule, chunk_count, no_parameters, walk_chunk


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


@njit(cache=True, parallel=True)
def build_walk_table(indptr, indices, weights, max_deg, n_tasks):
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


@njit(cache=True, inline="always")
def uniform_slot(z, deg):
    """A slot in 0..deg-1, uniform, from the high 40 bits of the 64 random bits z."""
    if deg < 16777216:
        return np.int64(((z >> _S24) * np.uint64(deg)) >> _S40)
    return min(np.int64((z >> S11) * TO_UNIT * deg), deg - 1)


@njit(cache=True, inline="always")
def draw(table, start, deg, uniform_weights, state):
    """One first-order draw: returns (state, next node, edge position)."""
    state = state + GOLDEN
    z = mix64(state)
    e = start + uniform_slot(z, deg)
    if uniform_weights:
        return state, np.int64(table[e, 0]), e
    keep = (z & _LOW24) < table[e, 3]
    nxt = np.int64(table[e, 0]) if keep else np.int64(table[e, 1])
    pos = e if keep else start + np.int64(table[e, 2])
    return state, nxt, pos


@njit(cache=True, inline="always")
def step(graph, rule, state, t, v, start, deg, w_tv):
    state, x, _ = draw(graph.table, start, deg, graph.uniform_weights, state)
    return state, x, 0.0


@njit(cache=True, parallel=True)
def walk_batch(graph, rule, starts, first_walk_id, seed, out):
    """Fill out[k, :] with the DeepWalk walk from starts[k]; -1 after a dead end."""
    for chunk in prange(chunk_count(out)):
        walk_chunk(chunk, graph, rule, step, starts, first_walk_id, seed, out)


RULE = Rule(no_parameters("deepwalk"), walk_batch)   # node2vec with p = q = 1
