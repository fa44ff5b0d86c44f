"""Exact node2vec: the step after t -> v split by where it goes, each part drawn exactly.

No table of size sum(deg^2) is ever built. The target is

    pi(x | t, v)  ~  w(v, x) * alpha(t, x),
    alpha = 1/p if x == t;  1 if t -> x is an edge ("near");  1/q otherwise ("far")

so a step's mass splits in three: back = w(v, t) / p, near = S, far = F / q, with S and F the
weight of v's near and far out-edges. S and F depend on the graph only: they are computed
once per graph (edge_masses: one 32-byte record per directed edge t -> v with w(v, t), S, F,
and the same masses of the reverse edge v -> t). A step draws one part by its mass, then
within it:

    back   the jump to t, no proposal and no memory access (the record of the edge v -> t
           it arrives by is this one's other half);
    far    first-order proposals from v's alias table until one is neither t nor a
           neighbour of t; when v has no near out-edge (S = 0, most steps on sparse graphs)
           the first x != t is taken without asking;
    near   when S is a small share of v's weight, the shorter of v's and t's rows is
           scanned (each element looked up in the other) and a near edge read off by inverse
           CDF; otherwise proposals until one is a neighbour of t.

Each part is drawn exactly (up to the float32 rounding of S and F, as the alias thresholds
are exact to 2**-24), so their mixture is pi. The expected number of far proposals per step
is at most max(1, p/q, 1/q) and about 1 on sparse graphs: for q > 1 this replaces rejection
against the first-order draw, which needed up to max(alpha)/min(alpha) proposals.

When far is the heaviest part (1/q >= 1 and 1/q >= 1/p) that rejection is cheap (only back
and near proposals are ever refused) and is kept: accept x with alpha * q, asking "is x a
neighbour of t" only when the acceptance draw cannot decide alone and the edge's near bit
(one bit per edge: S > 0) is set. A bit, not the 32-byte record, per step: measured faster.

"Is x a neighbour of t" is asked of a blocked Bloom filter first (one cache line; a clear
bit means no), then, if needed, by binary search in the shorter of the two sorted rows.

The walks do not go through the driver's per-walk step: node2vec has its own lockstep
(_walk_chunk) that splits a proposal into passes over GROUP walk slots, so that the memory
misses of the walks overlap, and prefetches what a step to x will read as soon as x is
proposed (see there). Each walk still draws from its own random stream, so the walks do not
depend on the threads or on the slot a walk gets.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit, prange

from ..prefetch import prefetch
from ..rng import GOLDEN, mix64, next_uniform, stream
from ..sorted_search import lower_bound
from .deepwalk import _LOW24, uniform_slot
from .driver import CHUNK, Rule, chunk_count

# Walk slots in lockstep. More than the driver's 16: a prefetch must be issued a few hundred
# cycles before its line is read, and a pass over 64 slots gives it that time
# (a scratch A/B of node2vec_ratio.py's timing during development: 64 slots a little faster
# than 32, 128 no better).
GROUP = 64


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


# The edge record of the edge t -> v, at its position in t's row, 32 bytes (half a line):
#   [w(v, t), S, F, position of t in v's row (-1: no v -> t),
#    w(t, v), and S and F of the reverse edge v -> t (0 if none), 0]
# float32 fields, the position read through an int32 view. The reverse edge's masses make a
# jump back self-contained: its record is this one with the halves swapped, no memory access.
_BACK, _NEAR, _FAR, _REVERSE, _OWN, _NEAR_REV, _FAR_REV = 0, 1, 2, 3, 4, 5, 6
RECORD = 8


@njit(cache=True, inline="always")
def _weight(graph, e):
    return graph.weights[e] if graph.weights.shape[0] else 1.0


@njit(cache=True, inline="always")
def _scan_near(graph, bits, shift, line, t, v, t_lo, t_hi, v_lo, v_hi, target):
    """v's near edges (to neighbours of t other than t) in a fixed order: the shorter of the
    two rows is scanned and each element looked up in the other, the edge filter first.
    Stops at the first whose cumulative weight exceeds target. Returns its position in v's
    row (else the last near edge's, -1 if none), the weight summed and the edges counted."""
    indices = graph.indices
    acc, count, last = 0.0, 0, -1
    if v_hi - v_lo <= t_hi - t_lo:
        for a in range(v_lo, v_hi):
            x = indices[a]
            if x == t or not maybe_edge(bits, shift, line, _edge_hash(t, x)):
                continue
            if _find(indices, t_lo, t_hi, x) >= 0:
                acc += _weight(graph, a)
                count += 1
                last = a
                if acc > target:
                    break
    else:
        for b in range(t_lo, t_hi):
            x = indices[b]
            if x == t or not maybe_edge(bits, shift, line, _edge_hash(v, x)):
                continue
            a = _find(indices, v_lo, v_hi, x)
            if a >= 0:
                acc += _weight(graph, a)
                count += 1
                last = a
                if acc > target:
                    break
    return last, acc, count


@njit(cache=True, parallel=True)
def build_edge_masses(graph, bits, shift):
    """The edge records (see above) of every edge, in one pass over the rows.

    S comes from _scan_near, so the work is about the sum over edges of min(deg t, deg v)
    filter lines (most elements are not in the other row), not deg(t) * deg(v)."""
    indptr, indices = graph.indptr, graph.indices
    line = np.uint64(min(bits.shape[0], 64) - 1)
    masses = np.zeros((indices.shape[0], RECORD), dtype=np.float32)
    reverse = masses.view(np.int32)
    for t in prange(indptr.shape[0] - 1):
        t_lo, t_hi = indptr[t], indptr[t + 1]
        for e in range(t_lo, t_hi):
            v = indices[e]
            v_lo, v_hi = indptr[v], indptr[v + 1]
            back = _find(indices, v_lo, v_hi, t)
            _, near, n_near = _scan_near(graph, bits, shift, line, t, v, t_lo, t_hi, v_lo, v_hi,
                                         np.inf)
            w_back = _weight(graph, back) if back >= 0 else 0.0
            n_far = (v_hi - v_lo) - n_near - (1 if back >= 0 else 0)
            # F by difference, but exactly 0 when there is no far edge (the far part is then
            # never drawn) and never 0 when there is one (its proposals would never end)
            far = max(graph.row_sums[v] - near - w_back, 1e-30) if n_far > 0 else 0.0
            masses[e, _BACK] = w_back
            masses[e, _NEAR] = near
            masses[e, _FAR] = far
            reverse[e, _REVERSE] = back
            masses[e, _OWN] = _weight(graph, e)
    for e in prange(indices.shape[0]):
        back = reverse[e, _REVERSE]
        if back >= 0:
            masses[e, _NEAR_REV] = masses[back, _NEAR]
            masses[e, _FAR_REV] = masses[back, _FAR]
    return masses


@njit(cache=True, parallel=True)
def build_has_near(graph, bits, shift):
    """Per edge t -> v: has v a near out-edge (S > 0 in its record)? The scan stops at the
    first near edge, and no record is built (node2vec by rejection needs only this)."""
    indptr, indices = graph.indptr, graph.indices
    line = np.uint64(min(bits.shape[0], 64) - 1)
    has_near = np.zeros(indices.shape[0], dtype=np.bool_)
    for t in prange(indptr.shape[0] - 1):
        t_lo, t_hi = indptr[t], indptr[t + 1]
        for e in range(t_lo, t_hi):
            v = indices[e]
            _, _, count = _scan_near(graph, bits, shift, line, t, v, t_lo, t_hi, indptr[v],
                                     indptr[v + 1], -1.0)
            has_near[e] = count > 0
    return has_near


@njit(cache=True)
def rows_sorted_unique(indptr, indices):
    for v in range(indptr.shape[0] - 1):
        for e in range(indptr[v] + 1, indptr[v + 1]):
            if indices[e] <= indices[e - 1]:
                return False
    return True


# The parameters of one (p, q): the edge filter and records, 1/p, 1/q, and
# near_scan: scan the rows for a near step when min(deg t, deg v) * S <= near_scan * w(v)
# (a scan costs about one lookup per element, a proposal about one: expected w(v) / S of them).
# first_order: p = q = 1, every step is a first-order draw.
# by_rejection: 1/q >= 1, 1/p (far is the heaviest part): rejection against the first-order
# draw, with acceptance alpha * q: accept_return = q/p, accept_near = q, far always; near_bits
# (one bit per edge: does the edge's record have S > 0?) spare the question when v has no
# near out-edge. A bit per step (the bits fit in cache) instead of a 32-byte record: on these
# p, q (few rejections) faster than the three-part draw (node2vec_ratio.py, one run during
# development: the three-part draw reached 36% / 48% of DeepWalk at (2, 0.5) / (4, 0.25)).
Node2vec = namedtuple("Node2vec", "edge_bits edge_shift edge_line masses inv_p inv_q "
                                  "near_scan first_order by_rejection accept_return "
                                  "accept_near near_bits")
NEAR_SCAN = 2.0
_BYTE_OF_BIT, _BIT_IN_BYTE = np.int64(3), np.int64(7)


def prepare(sampler, p, q):
    first_order = p == 1.0 and q == 1.0
    by_rejection = not first_order and 1.0 / q >= max(1.0, 1.0 / p)
    # each way reads only its own per-edge arrays; the others are one-element stand-ins
    bits, shift = np.full(1, 0xFF, np.uint8), np.uint64(63)
    masses, near_bits = np.zeros((1, RECORD), np.float32), np.zeros(1, np.uint8)
    if not first_order:
        bits, shift = sampler.edge_filter()
    if by_rejection:
        near_bits = sampler.near_bits()
    elif not first_order:
        masses = sampler.edge_masses()
    return Node2vec(bits, shift, np.uint64(min(len(bits), 64) - 1), masses,
                    1.0 / p, 1.0 / q, NEAR_SCAN, first_order,
                    by_rejection, q / p, min(q, 1.0), near_bits)


@njit(cache=True, inline="always")
def _has_near(near_bits, e):
    return (near_bits[e >> _BYTE_OF_BIT] >> (e & _BIT_IN_BYTE)) & 1 != 0


@njit(cache=True)
def _near_scan(graph, rule, t, v, t_lo, t_hi, v_lo, v_hi, target):
    """The position in v's row of the near edge whose cumulative weight first exceeds
    target (< S); the last near edge if rounding leaves none."""
    e, _, _ = _scan_near(graph, rule.edge_bits, rule.edge_shift, rule.edge_line, t, v,
                         t_lo, t_hi, v_lo, v_hi, target)
    return e


# The lockstep. A step is a chain of dependent memory misses (the proposal's table record,
# the filter line, the search; then x's row bounds and edge record), and a far or near step
# may need several proposals; GROUP walk slots are advanced together, one proposal each per
# round, and each round is a series of passes over the slots, so that a pass issues the
# misses of all slots before any is needed. x's row bounds and edge record are prefetched
# in the pass that reads the proposal, three passes before they are used. Back jumps and
# scanned near steps are taken on arrival, without a proposal. A slot whose walk ends takes
# the chunk's next walk.
_ACCEPT, _REJECT, _ASK = 0, 1, 2
_LINEAR = 16          # a search ends by counting in at most this many elements (one line)
# what a slot's proposals must be: anything (first-order), anything but t (far, no near
# edge), neither t nor a neighbour of t (far), a neighbour of t (near)
_FIRST, _NOT_T, _FAR_ONLY, _NEAR_ONLY, _REJECTION = 0, 1, 2, 3, 4


@njit(cache=True)
def _walk_chunk(chunk, graph, rule, starts, first_walk_id, seed, out):
    num_walks, walk_length = out.shape
    next_walk = chunk * CHUNK
    c_hi = min(next_walk + CHUNK, num_walks)
    indptr, indices, table = graph.indptr, graph.indices, graph.table
    uniform_weights, bits, shift = graph.uniform_weights, rule.edge_bits, rule.edge_shift
    line_mask, masses = rule.edge_line, rule.masses
    # per slot: its walk (-1: none), next position, stream, node, previous node, rows, the
    # record of the edge it came by (e_in: its position, read on arrival when load is set),
    # what its proposals must be
    walk = np.full(GROUP, -1, dtype=np.int64)
    at = np.empty(GROUP, dtype=np.int64)
    states = np.empty(GROUP, dtype=np.uint64)
    cur = np.empty(GROUP, dtype=np.int64)
    prv = np.empty(GROUP, dtype=np.int64)
    lo = np.empty(GROUP, dtype=np.int64)
    hi = np.empty(GROUP, dtype=np.int64)
    t_lo = np.empty(GROUP, dtype=np.int64)
    t_hi = np.empty(GROUP, dtype=np.int64)
    m_back = np.empty(GROUP, dtype=np.float64)
    m_near = np.empty(GROUP, dtype=np.float64)
    m_far = np.empty(GROUP, dtype=np.float64)
    m_own = np.empty(GROUP, dtype=np.float64)
    m_near_rev = np.empty(GROUP, dtype=np.float64)
    m_far_rev = np.empty(GROUP, dtype=np.float64)
    e_in = np.empty(GROUP, dtype=np.int64)          # the edge's position, record unread
    load = np.zeros(GROUP, dtype=np.bool_)
    near_edge = np.zeros(GROUP, dtype=np.bool_)     # by_rejection: the edge's near bit
    mode = np.empty(GROUP, dtype=np.int64)
    fresh = np.zeros(GROUP, dtype=np.bool_)
    # per proposal of a round (index i; slot[i] is its slot)
    slot = np.empty(GROUP, dtype=np.int64)
    pos = np.empty(GROUP, dtype=np.int64)
    z64 = np.empty(GROUP, dtype=np.uint64)
    r = np.empty(GROUP, dtype=np.float64)
    rec = np.empty((GROUP, 4), dtype=np.uint32)
    node = np.empty(GROUP, dtype=np.int64)
    verdict = np.empty(GROUP, dtype=np.int64)
    asked = np.empty(GROUP, dtype=np.int64)
    probe = np.empty(GROUP, dtype=np.uint64)
    s_base = np.empty(GROUP, dtype=np.int64)
    s_len = np.empty(GROUP, dtype=np.int64)
    s_key = np.empty(GROUP, dtype=np.int64)
    x_lo = np.empty(GROUP, dtype=np.int64)
    x_hi = np.empty(GROUP, dtype=np.int64)
    for k in range(GROUP):
        fresh[k] = True
    while True:
        # 1. arrivals (row bounds loaded, edge record prefetched): the part of the step is
        #    drawn, back jumps and scanned near steps taken at once; ended walks hand their
        #    slot on
        for k in range(GROUP):
            while fresh[k]:
                if walk[k] >= 0:
                    if at[k] < walk_length and hi[k] > lo[k]:
                        t, v = prv[k], cur[k]
                        if t < 0 or rule.first_order:
                            mode[k] = _FIRST
                            fresh[k] = False
                            break
                        if rule.by_rejection:
                            mode[k] = _REJECTION
                            fresh[k] = False
                            break
                        if load[k]:
                            e = e_in[k]
                            m_back[k], m_near[k] = masses[e, _BACK], masses[e, _NEAR]
                            m_far[k], m_own[k] = masses[e, _FAR], masses[e, _OWN]
                            m_near_rev[k], m_far_rev[k] = masses[e, _NEAR_REV], \
                                masses[e, _FAR_REV]
                            load[k] = False
                        w_back, near, w_far = m_back[k], m_near[k], m_far[k]
                        back, far = w_back * rule.inv_p, w_far * rule.inv_q
                        state, u = next_uniform(states[k])
                        states[k] = state
                        z = u * (back + near + far)
                        a, b = lo[k], hi[k]
                        # (the tests on zero masses keep a rounded-up z out of an empty part)
                        if z < back or near + far == 0.0:
                            # the reverse edge's record is this one, halves swapped
                            x = t
                            lo[k], hi[k] = t_lo[k], t_hi[k]
                            m_back[k], m_own[k] = m_own[k], w_back
                            m_near[k], m_near_rev[k] = m_near_rev[k], near
                            m_far[k], m_far_rev[k] = m_far_rev[k], w_far
                        elif near > 0.0 and (z < back + near or far == 0.0):
                            weight = w_back + near + w_far
                            if min(b - a, t_hi[k] - t_lo[k]) * near > rule.near_scan * weight:
                                mode[k] = _NEAR_ONLY
                                fresh[k] = False
                                break
                            e = _near_scan(graph, rule, t, v, t_lo[k], t_hi[k], a, b, z - back)
                            x = np.int64(indices[e])
                            lo[k], hi[k] = indptr[x], indptr[x + 1]
                            e_in[k], load[k] = e, True
                        else:
                            mode[k] = _FAR_ONLY if near > 0.0 else _NOT_T
                            fresh[k] = False
                            break
                        out[walk[k], at[k]] = x
                        at[k] += 1
                        t_lo[k], t_hi[k] = a, b
                        prv[k], cur[k] = v, x
                        continue
                    for rest in range(at[k], walk_length):
                        out[walk[k], rest] = -1
                if next_walk == c_hi:
                    walk[k] = -1
                    fresh[k] = False
                    break
                walk[k] = next_walk
                states[k] = stream(seed, first_walk_id + next_walk)
                x = starts[next_walk]
                cur[k] = x
                lo[k], hi[k] = indptr[x], indptr[x + 1]
                out[next_walk, 0] = x
                prv[k] = -1
                at[k] = 1
                next_walk += 1
        n = 0
        for k in range(GROUP):
            if walk[k] >= 0:
                slot[n] = k
                n += 1
        if n == 0:
            break
        # 2. random bits of one proposal per slot: the table slot (and acceptance draw)
        for i in range(n):
            k = slot[i]
            state = states[k] + GOLDEN
            z = mix64(state)
            z64[i] = z
            pos[i] = lo[k] + uniform_slot(z, hi[k] - lo[k])
            if mode[k] == _REJECTION:
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
        # 4. decide what the slot's mode decides alone; the rest ask "x ~ t?". Written
        #    with selects, not branches: the outcomes are random, and a mispredicted branch
        #    costs more than computing both sides. Every proposal is written to the list
        #    of questions; only those that ask advance it.
        n_ask = 0
        for i in range(n):
            k = slot[i]
            t = prv[k]
            md = mode[k]
            keep = uniform_weights or (z64[i] & _LOW24) < rec[i, 3]
            x = np.int64(rec[i, 0]) if keep else np.int64(rec[i, 1])
            pos[i] = pos[i] if keep else lo[k] + np.int64(rec[i, 2])
            node[i] = x
            is_t = x == t
            # what the step to x will read on arrival, asked for three passes ahead
            prefetch(indptr, x)
            if not rule.first_order and not rule.by_rejection:
                prefetch(masses, pos[i])
            if rule.by_rejection:
                # t: accepted with q/p; else near and far alike accepted below accept_near,
                # or when v has no near edge; otherwise accepted iff far: ask
                at_t = _ACCEPT if r[i] < rule.accept_return else _REJECT
                sure = (r[i] < rule.accept_near) | (not near_edge[k])
                v = at_t if is_t else (_ACCEPT if sure else _ASK)
                v = _ACCEPT if md == _FIRST else v
            else:
                v = _REJECT if is_t else (_ACCEPT if md == _NOT_T else _ASK)
                v = _ACCEPT if md == _FIRST else v
            verdict[i] = v
            asked[n_ask] = i
            if v == _ASK:                   # its filter line, read in the next pass
                h = _edge_hash(t, x)
                probe[n_ask] = h
                # (the _K bits are in one line: the first bit's byte names it)
                byte, _ = _filter_bit(h, shift, line_mask, 0)
                prefetch(bits, byte)
            n_ask += v == _ASK
        # 5. a clear filter bit answers "no", a set one needs a search
        n_search = 0
        for j in range(n_ask):
            i = asked[j]
            if maybe_edge(bits, shift, line_mask, probe[j]):
                x = node[i]
                asked[n_search] = i
                x_lo[n_search] = indptr[x]
                x_hi[n_search] = indptr[x + 1]
                n_search += 1
            else:
                verdict[i] = _REJECT if mode[slot[i]] == _NEAR_ONLY else _ACCEPT
        # 6. searches in lockstep: x in t's row, or t in x's if shorter (symmetric graph)
        rounds = 0
        for j in range(n_search):
            i = asked[j]
            k = slot[i]
            if graph.symmetric and x_hi[j] - x_lo[j] < t_hi[k] - t_lo[k]:
                s_base[j], s_len[j], s_key[j] = x_lo[j], x_hi[j] - x_lo[j], prv[k]
            else:
                s_base[j], s_len[j], s_key[j] = t_lo[k], t_hi[k] - t_lo[k], node[i]
            rounds = max(rounds, s_len[j])
        # 9-way: 8 independent probes per round cut a range to a ninth, so a search of a
        # hub's row of 10,000 costs 4 dependent misses, not the 14 of halving
        while rounds > _LINEAR:
            for j in range(n_search):
                n_j = s_len[j]
                if n_j > _LINEAR:
                    b, key = s_base[j], s_key[j]
                    c = 0
                    for cut in range(1, 9):
                        c += indices[b + n_j * cut // 9] <= key
                    s_base[j] = b + n_j * c // 9
                    s_len[j] = b + n_j * (c + 1) // 9 - s_base[j]
            rounds = (rounds + 8) // 9
        for j in range(n_search):
            i = asked[j]
            b, key = s_base[j], s_key[j]
            c = 0
            for a in range(b, b + s_len[j]):
                c += indices[a] <= key
            near = c > 0 and indices[b + c - 1] == key
            verdict[i] = _ACCEPT if near == (mode[slot[i]] == _NEAR_ONLY) else _REJECT
        # 7. accepted proposals are steps: x's row bounds (prefetched in 4) are read, its
        #    edge record's position noted for the arrival
        for i in range(n):
            k = slot[i]
            if verdict[i] != _ACCEPT:
                continue
            x, e = node[i], pos[i]
            out[walk[k], at[k]] = x
            at[k] += 1
            t_lo[k], t_hi[k] = lo[k], hi[k]
            lo[k], hi[k] = indptr[x], indptr[x + 1]
            prv[k], cur[k] = cur[k], x
            if rule.by_rejection:
                near_edge[k] = _has_near(rule.near_bits, e)
            elif not rule.first_order:
                e_in[k], load[k] = e, True     # the record is read on arrival
            fresh[k] = True


@njit(cache=True, parallel=True)
def walk_batch(graph, rule, starts, first_walk_id, seed, out):
    """Fill out[k, :] with the node2vec walk from starts[k]; -1 after a dead end."""
    for chunk in prange(chunk_count(out)):
        _walk_chunk(chunk, graph, rule, starts, first_walk_id, seed, out)


RULE = Rule(prepare, walk_batch)
