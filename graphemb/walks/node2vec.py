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
without it: first of a blocked Bloom filter (one cache line per question, a clear bit
means no), then, if needed, by binary search in the shorter of the two sorted rows.

The walks do not go through the driver's per-walk step: node2vec has its own lockstep
(_walk_chunk) that splits a proposal into passes over 16 walk slots, one memory miss per
pass, so that the misses of the 16 walks overlap (see there). Each walk still draws from its
own random stream, so the walks do not depend on the threads or on the slot a walk gets.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit, prange

from ..rng import GOLDEN, mix64, next_uniform, stream
from ..sorted_search import lower_bound
from .deepwalk import _LOW24, uniform_slot
from .driver import CHUNK, GROUP, Rule, chunk_count


@njit(cache=True, inline="always")
def _find(indices, start, end, x):
    """Position of x in the sorted slice indices[start:end], or -1."""
    lo = lower_bound(indices, start, end, x)
    if lo < end and indices[lo] == x:
        return lo
    return -1


# Edge filter: a Bloom filter over the directed edges t->x, >= 8 bits per edge, blocked in
# 64-byte lines: an edge sets _K bits of the one line its hash picks, so a question reads one
# cache line. A clear bit proves "x is not a neighbour of t"; only all _K set (every real
# edge, plus ~3% of non-edges at 8 bits per edge) needs the binary search. Exactness is kept.
# The line is the hash's top bits (as a byte index, bits[(h >> shift) >> 3], rounded down to
# the line); bit i of the _K is in the 9 bits h >> 9i. A filter shorter than a line is one
# line (line_mask = its length - 1), so a one-byte filter of 0xFF says "search" to all.
_K = 3
_U1, _U3, _U7, _U9, _U511 = (np.uint64(1), np.uint64(3), np.uint64(7), np.uint64(9),
                             np.uint64(511))


@njit(cache=True, inline="always")
def _edge_hash(t, x):
    return mix64(np.uint64(t) * GOLDEN + np.uint64(x))


@njit(cache=True, inline="always")
def _filter_bit(h, shift, line_mask, i):
    """(byte, bit) of the i-th filter bit of the edge with hash h."""
    off = (h >> (_U9 * np.uint64(i))) & _U511
    byte = (((h >> shift) >> _U3) & ~line_mask) | ((off >> _U3) & line_mask)
    return byte, off & _U7


@njit(cache=True)
def build_edge_filter(indptr, indices, log2_bits):
    bits = np.zeros(1 << (log2_bits - 3), dtype=np.uint8)
    shift = np.uint64(64 - log2_bits)
    line_mask = np.uint64(min(bits.shape[0], 64) - 1)
    for t in range(indptr.shape[0] - 1):
        for e in range(indptr[t], indptr[t + 1]):
            h = _edge_hash(t, indices[e])
            for i in range(_K):
                byte, bit = _filter_bit(h, shift, line_mask, i)
                bits[byte] |= np.uint8(1) << np.uint8(bit)
    return bits


@njit(cache=True, inline="always")
def maybe_edge(bits, shift, line_mask, h):
    """False when the filter proves the edge with hash h absent."""
    found = _U1
    for i in range(_K):
        byte, bit = _filter_bit(h, shift, line_mask, i)
        found &= np.uint64(bits[byte]) >> bit
    return found != 0


# The acceptance thresholds of one (p, q), with the edge filter (see the module docstring).
# boost_return: 1/p dominates, the return to t is a direct jump of weight w(v, t) * boost;
# sure_accept / sure_reject: below / at or above them no neighbour test is needed;
# keep_weight: the driver must carry w(t, v) (the jump's weight on a symmetric graph);
# first_weight: the weight of every edge when all are equal.
Node2vec = namedtuple("Node2vec", "edge_bits edge_shift edge_line boost_return boost accept_return "
                                  "sure_accept sure_reject accept_near accept_far keep_weight "
                                  "first_weight")


def prepare(sampler, p, q):
    inv_p, inv_q = 1.0 / p, 1.0 / q
    m_rest = max(1.0, inv_q)
    boost_return = inv_p > m_rest
    envelope = m_rest if boost_return else max(m_rest, inv_p)
    bits, shift = sampler.edge_filter()
    return Node2vec(
        bits, shift, np.uint64(min(len(bits), 64) - 1), boost_return, inv_p / m_rest - 1.0,
        1.0 if boost_return else inv_p / envelope, min(1.0, inv_q) / envelope,
        max(1.0, inv_q) / envelope, 1.0 / envelope, inv_q / envelope,
        boost_return and sampler.symmetric,
        float(sampler.weights[0]) if len(sampler.weights) else 1.0)


# The lockstep. A step is a chain of dependent memory misses (v's row bounds, the proposal's
# table record, the filter byte, x's row bounds, the search), and a walk may need several
# proposals; GROUP walk slots are advanced together, one proposal each per round, and each
# round is a series of passes over the slots, one miss each, so a pass issues the misses of
# all slots before any is needed. A slot whose walk ends takes the chunk's next walk.
_ACCEPT, _REJECT, _ASK = 0, 1, 2


@njit(cache=True)
def _walk_chunk(chunk, graph, rule, starts, first_walk_id, seed, out):
    num_walks, walk_length = out.shape
    next_walk = chunk * CHUNK
    c_hi = min(next_walk + CHUNK, num_walks)
    indptr, indices, table = graph.indptr, graph.indices, graph.table
    uniform_weights, bits, shift = graph.uniform_weights, rule.edge_bits, rule.edge_shift
    line_mask = rule.edge_line
    # per slot: its walk (-1: none), next position, stream, node, previous node, rows
    walk = np.full(GROUP, -1, dtype=np.int64)
    at = np.empty(GROUP, dtype=np.int64)
    states = np.empty(GROUP, dtype=np.uint64)
    cur = np.empty(GROUP, dtype=np.int64)
    prv = np.empty(GROUP, dtype=np.int64)
    lo = np.empty(GROUP, dtype=np.int64)
    hi = np.empty(GROUP, dtype=np.int64)
    t_lo = np.empty(GROUP, dtype=np.int64)
    t_hi = np.empty(GROUP, dtype=np.int64)
    fresh = np.zeros(GROUP, dtype=np.bool_)
    w_in = np.zeros(GROUP, dtype=np.float64)
    p_jump = np.zeros(GROUP, dtype=np.float64)
    extra = np.zeros(GROUP, dtype=np.float64)
    sure = np.zeros(GROUP, dtype=np.float64)
    # per proposal of a round (index i; slot[i] is its slot)
    slot = np.empty(GROUP, dtype=np.int64)
    pos = np.empty(GROUP, dtype=np.int64)
    z64 = np.empty(GROUP, dtype=np.uint64)
    r = np.empty(GROUP, dtype=np.float64)
    jump = np.empty(GROUP, dtype=np.bool_)
    rec = np.empty((GROUP, 4), dtype=np.uint32)
    node = np.empty(GROUP, dtype=np.int64)
    verdict = np.empty(GROUP, dtype=np.int64)
    asked = np.empty(GROUP, dtype=np.int64)
    probe = np.empty(GROUP, dtype=np.uint64)
    maybe = np.empty(GROUP, dtype=np.bool_)
    s_base = np.empty(GROUP, dtype=np.int64)
    s_len = np.empty(GROUP, dtype=np.int64)
    s_key = np.empty(GROUP, dtype=np.int64)
    x_lo = np.empty(GROUP, dtype=np.int64)
    x_hi = np.empty(GROUP, dtype=np.int64)
    for k in range(GROUP):
        fresh[k] = True
    while True:
        # 1. arrivals: row bounds of the new node; ended walks hand their slot on
        n = 0
        for k in range(GROUP):
            while fresh[k]:
                if walk[k] >= 0:
                    a, b = indptr[cur[k]], indptr[cur[k] + 1]
                    if at[k] < walk_length and b > a:
                        lo[k], hi[k] = a, b
                        fresh[k] = False
                        t = prv[k]
                        ex = 0.0
                        if t < 0:
                            sure[k] = 2.0     # the first step is first-order: always accepted
                        else:
                            sure[k] = rule.sure_accept
                            if rule.boost_return:
                                if graph.symmetric:
                                    ex = w_in[k] * rule.boost
                                else:
                                    back = _find(indices, a, b, t)
                                    if back >= 0:
                                        ex = rule.boost * (rule.first_weight if uniform_weights
                                                           else graph.weights[back])
                        extra[k] = ex
                        p_jump[k] = ex / (graph.row_sums[cur[k]] + ex)
                        break
                    for rest in range(at[k], walk_length):
                        out[walk[k], rest] = -1
                if next_walk == c_hi:
                    walk[k] = -1
                    fresh[k] = False
                    break
                walk[k] = next_walk
                states[k] = stream(seed, first_walk_id + next_walk)
                cur[k] = starts[next_walk]
                out[next_walk, 0] = starts[next_walk]
                prv[k] = -1
                at[k] = 1
                w_in[k] = 0.0
                next_walk += 1
            if walk[k] >= 0:
                slot[n] = k
                n += 1
        if n == 0:
            break
        # 2. random numbers of one proposal per slot: jump or not, table slot, acceptance
        for i in range(n):
            k = slot[i]
            state = states[k]
            u = 1.0
            if rule.boost_return:
                state, u = next_uniform(state)
            jump[i] = u < p_jump[k]
            state = state + GOLDEN
            z = mix64(state)
            z64[i] = z
            pos[i] = lo[k] + uniform_slot(z, hi[k] - lo[k])
            state, r[i] = next_uniform(state)
            states[k] = state
        # 3. the proposals' table records
        for i in range(n):
            if uniform_weights:
                rec[i, 0] = table[pos[i], 0]
            else:
                rec[i, 0] = table[pos[i], 0]
                rec[i, 1] = table[pos[i], 1]
                rec[i, 2] = table[pos[i], 2]
                rec[i, 3] = table[pos[i], 3]
        # 4. decide what the acceptance draw decides alone; the rest ask "x ~ t?"
        n_ask = 0
        for i in range(n):
            k = slot[i]
            t = prv[k]
            if uniform_weights or (z64[i] & _LOW24) < rec[i, 3]:
                x = np.int64(rec[i, 0])
            else:
                x = np.int64(rec[i, 1])
                pos[i] = lo[k] + np.int64(rec[i, 2])
            node[i] = x
            ri = r[i]
            if jump[i]:
                node[i] = t
                pos[i] = -1
                verdict[i] = _ACCEPT
            elif x == t:
                verdict[i] = _ACCEPT if ri < rule.accept_return else _REJECT
            elif ri < sure[k]:
                verdict[i] = _ACCEPT
            elif ri >= rule.sure_reject:
                verdict[i] = _REJECT
            else:
                verdict[i] = _ASK
                asked[n_ask] = i
                probe[n_ask] = _edge_hash(t, x)
                n_ask += 1
        # 5. the filter lines
        for j in range(n_ask):
            maybe[j] = maybe_edge(bits, shift, line_mask, probe[j])
        # 6. a clear bit answers "no"; a set one needs a search (row bounds of x)
        n_search = 0
        for j in range(n_ask):
            i = asked[j]
            if not maybe[j]:
                verdict[i] = _ACCEPT if r[i] < rule.accept_far else _REJECT
            else:
                asked[n_search] = i
                x = node[i]
                x_lo[n_search] = indptr[x]
                x_hi[n_search] = indptr[x + 1]
                n_search += 1
        # 7. searches in lockstep: x in t's row, or t in x's if shorter (symmetric graph)
        rounds = 0
        for j in range(n_search):
            i = asked[j]
            k = slot[i]
            if graph.symmetric and x_hi[j] - x_lo[j] < t_hi[k] - t_lo[k]:
                s_base[j], s_len[j], s_key[j] = x_lo[j], x_hi[j] - x_lo[j], prv[k]
            else:
                s_base[j], s_len[j], s_key[j] = t_lo[k], t_hi[k] - t_lo[k], node[i]
            rounds = max(rounds, s_len[j])
        while rounds > 1:
            for j in range(n_search):
                half = s_len[j] >> 1
                mid = s_base[j] + half
                s_base[j] = mid if indices[mid] <= s_key[j] else s_base[j]
                s_len[j] -= half
            rounds -= rounds >> 1
        for j in range(n_search):
            i = asked[j]
            near = s_len[j] > 0 and indices[s_base[j]] == s_key[j]
            verdict[i] = _ACCEPT if r[i] < (rule.accept_near if near else rule.accept_far) \
                else _REJECT
        # 8. accepted proposals are steps
        for i in range(n):
            if verdict[i] != _ACCEPT:
                continue
            k = slot[i]
            out[walk[k], at[k]] = node[i]
            if rule.keep_weight:
                # weight of the edge just taken (= of its reverse: symmetric graph)
                if pos[i] < 0:
                    w_in[k] = extra[k] / rule.boost
                elif uniform_weights:
                    w_in[k] = rule.first_weight
                else:
                    w_in[k] = graph.weights[pos[i]]
            at[k] += 1
            t_lo[k], t_hi[k] = lo[k], hi[k]
            prv[k] = cur[k]
            cur[k] = node[i]
            fresh[k] = True


@njit(cache=True, parallel=True)
def walk_batch(graph, rule, starts, first_walk_id, seed, out):
    """Fill out[k, :] with the node2vec walk from starts[k]; -1 after a dead end."""
    for chunk in prange(chunk_count(out)):
        _walk_chunk(chunk, graph, rule, starts, first_walk_id, seed, out)


RULE = Rule(prepare, walk_batch)
