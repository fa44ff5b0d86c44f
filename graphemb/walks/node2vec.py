"""Exact node2vec by rejection against the first-order (alias table) proposal.

No table of size sum(deg^2) is ever built:

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
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit, prange

from ..rng import GOLDEN, mix64, next_uniform
from ..sorted_search import lower_bound
from .deepwalk import draw
from .driver import Rule, chunk_count, walk_chunk


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
    return mix64(np.uint64(t) * GOLDEN + np.uint64(x)) >> shift


@njit(cache=True)
def build_edge_filter(indptr, indices, log2_bits):
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


# The acceptance thresholds of one (p, q), with the edge filter (see the module docstring).
# boost_return: 1/p dominates, the return to t is a direct jump of weight w(v, t) * boost;
# sure_accept / sure_reject: below / at or above them no neighbour test is needed;
# keep_weight: the driver must carry w(t, v) (the jump's weight on a symmetric graph);
# first_weight: the weight of every edge when all are equal.
Node2vec = namedtuple("Node2vec", "edge_bits edge_shift boost_return boost accept_return "
                                  "sure_accept sure_reject accept_near accept_far keep_weight "
                                  "first_weight")


def prepare(sampler, p, q):
    inv_p, inv_q = 1.0 / p, 1.0 / q
    m_rest = max(1.0, inv_q)
    boost_return = inv_p > m_rest
    envelope = m_rest if boost_return else max(m_rest, inv_p)
    bits, shift = sampler.edge_filter()
    return Node2vec(
        bits, shift, boost_return, inv_p / m_rest - 1.0,
        1.0 if boost_return else inv_p / envelope, min(1.0, inv_q) / envelope,
        max(1.0, inv_q) / envelope, 1.0 / envelope, inv_q / envelope,
        boost_return and sampler.symmetric,
        float(sampler.weights[0]) if len(sampler.weights) else 1.0)


@njit(cache=True, inline="always")
def step(graph, rule, state, t, v, start, deg, w_tv):
    uniform_weights, symmetric = graph.uniform_weights, graph.symmetric
    if t < 0:
        state, nxt, e = draw(graph.table, start, deg, uniform_weights, state)
        extra = 0.0
    else:
        extra = 0.0
        if rule.boost_return:
            if symmetric:
                extra = w_tv * rule.boost
            else:
                back = _find(graph.indices, start, start + deg, t)
                if back >= 0:
                    extra = (rule.first_weight if uniform_weights else graph.weights[back]) \
                        * rule.boost
        p_jump = extra / (graph.row_sums[v] + extra)
        t_start = graph.indptr[t]
        t_end = graph.indptr[t + 1]
        while True:
            if extra > 0.0:
                state, u = next_uniform(state)
                if u < p_jump:
                    nxt = t
                    e = -1
                    break
            state, x, e = draw(graph.table, start, deg, uniform_weights, state)
            state, r = next_uniform(state)
            if x == t:
                if r < rule.accept_return:
                    nxt = x
                    break
                continue
            if r < rule.sure_accept:
                nxt = x
                break
            if r >= rule.sure_reject:
                continue
            if not _maybe_edge(rule.edge_bits, rule.edge_shift, t, x):
                near = False
            elif symmetric and graph.indptr[x + 1] - graph.indptr[x] < t_end - t_start:
                # x ~ t iff t ~ x: search the shorter row (x is often next).
                near = _find(graph.indices, graph.indptr[x], graph.indptr[x + 1], t) >= 0
            else:
                near = _find(graph.indices, t_start, t_end, x) >= 0
            if near:
                accepted = r < rule.accept_near
            else:
                accepted = r < rule.accept_far
            if accepted:
                nxt = x
                break
    w_vx = 0.0
    if rule.keep_weight:
        # Weight of the edge just taken (= of its reverse: symmetric graph).
        if e < 0:
            w_vx = extra / rule.boost
        elif uniform_weights:
            w_vx = rule.first_weight
        else:
            w_vx = graph.weights[e]
    return state, nxt, w_vx


@njit(cache=True, parallel=True)
def walk_batch(graph, rule, starts, first_walk_id, seed, out):
    """Fill out[k, :] with the node2vec walk from starts[k]; -1 after a dead end."""
    for chunk in prange(chunk_count(out)):
        walk_chunk(chunk, graph, rule, step, starts, first_walk_id, seed, out)


RULE = Rule(prepare, walk_batch)
