"""The walk driver, the same for every step rule: chunks of walks spread over threads, one
random stream per walk, 16 walks advanced in lockstep, dead ends padded with -1.

A step rule decides only where a walk at node v goes next. It is an ``@njit`` function

    step(graph, rule, state, t, v, start, deg, w_tv) -> (state, x, w_vx)

graph: the WalkGraph; rule: the rule's own parameters (a tuple, from its ``prepare``);
state: the walk's random stream; t: the node before v (-1 on the first step); v's deg > 0
out-edges are indices[start:start + deg]; w_tv: what the previous step returned as w_vx
(0.0 on the first step), for a rule that needs the weight of the edge it came by; x: the
next node. A rule module pairs its step with a ``walk_batch`` that runs ``walk_chunk`` in a
``prange`` (see uniform.py), and is registered by name in sampler.RULES.

In a step, read an array where it is used (``graph.indptr[x]``): bound to a local for the
whole step, it costs a reference-count pair (atomic) per step that Numba does not remove;
measured, that made node2vec 20% slower.

Why every rule has its own three-line walk_batch: Numba's cache cannot keep code that hands
a jitted function on as a value (the value is a run-time address), so the step must be a
global of the cached entry point, and walk_chunk is inlined there (Numba then inlines the
step too, as the single-rule kernel did).
"""
from __future__ import annotations

from collections import namedtuple

import numba
import numpy as np
from numba import njit

from ..rng import stream

GROUP = 16      # walks advanced in lockstep by one thread: their memory misses overlap
CHUNK = 1024    # walks per parallel task

# What every rule may read of the graph. table: the first-order walk table (deepwalk.py);
# row_sums: sum of out-edge weights per node; symmetric: every edge has an equal reverse.
WalkGraph = namedtuple("WalkGraph", "indptr indices weights table row_sums uniform_weights "
                                    "symmetric")

# A registered rule: prepare(sampler, p, q) -> the rule's parameters (refusing p, q it does
# not use), and the rule's walk_batch(graph, rule, starts, first_walk_id, seed, out).
Rule = namedtuple("Rule", "prepare walk_batch")


def no_parameters(name):
    """The prepare of a rule that has no parameters: p and q must be left at 1."""
    def prepare(sampler, p, q):
        if p != 1.0 or q != 1.0:
            raise ValueError(f"walk rule {name!r} takes no p, q")
        return ()
    return prepare


@njit(cache=True)
def chunk_count(out):
    return (out.shape[0] + CHUNK - 1) // CHUNK


# Inlined into each rule's walk_batch, where `step` is that rule's global (see above).
@njit(inline="always")
def walk_chunk(chunk, graph, rule, step, starts, first_walk_id, seed, out):
    """Fill out[k, :] for the walks k of this chunk from starts[k], GROUP at a time in
    lockstep; walk k uses the random stream of walk number first_walk_id + k."""
    num_walks, walk_length = out.shape
    c_lo = chunk * CHUNK
    c_hi = min(c_lo + CHUNK, num_walks)
    indptr = graph.indptr
    states = np.empty(GROUP, dtype=np.uint64)
    cur = np.empty(GROUP, dtype=np.int64)
    prv = np.empty(GROUP, dtype=np.int64)
    w_in = np.empty(GROUP, dtype=np.float64)
    alive = np.empty(GROUP, dtype=np.bool_)
    for g_lo in range(c_lo, c_hi, GROUP):
        m = min(GROUP, c_hi - g_lo)
        for j in range(m):
            states[j] = stream(seed, first_walk_id + g_lo + j)
            cur[j] = starts[g_lo + j]
            out[g_lo + j, 0] = starts[g_lo + j]
            prv[j] = -1
            w_in[j] = 0.0
            alive[j] = True
        for s in range(1, walk_length):
            for j in range(m):
                if not alive[j]:
                    continue
                v = cur[j]
                start = indptr[v]
                deg = indptr[v + 1] - start
                if deg == 0:
                    alive[j] = False
                    for rest in range(s, walk_length):
                        out[g_lo + j, rest] = -1
                    continue
                state, nxt, w = step(graph, rule, states[j], prv[j], v, start, deg, w_in[j])
                states[j] = state
                w_in[j] = w
                out[g_lo + j, s] = nxt
                prv[j] = v
                cur[j] = nxt


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
