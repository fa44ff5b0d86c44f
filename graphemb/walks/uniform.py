"""Uniform first-order walks: the next node is any out-neighbour with probability 1/deg,
whatever the weights (unweighted DeepWalk). Small on purpose: the example of a step rule.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from ..rng import next64
from .deepwalk import uniform_slot
from .driver import Rule, chunk_count, no_parameters, walk_chunk


@njit(cache=True, inline="always")
def step(graph, rule, state, t, v, start, deg, w_tv):
    state, z = next64(state)
    return state, np.int64(graph.indices[start + uniform_slot(z, deg)]), 0.0


@njit(cache=True, parallel=True)
def walk_batch(graph, rule, starts, first_walk_id, seed, out):
    """Fill out[k, :] with the uniform walk from starts[k]; -1 after a dead end."""
    for chunk in prange(chunk_count(out)):
        walk_chunk(chunk, graph, rule, step, starts, first_walk_id, seed, out)


RULE = Rule(no_parameters("uniform"), walk_batch)
