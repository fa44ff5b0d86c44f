"""SplitMix64 counter-based random numbers for the Numba kernels (walks and SGNS).

A stream is a 64-bit state advanced by a constant; every walk (or training chunk) derives
its own state from (seed, its number), so results never depend on which thread ran it.
"""
import numpy as np
from numba import njit

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
MIX1 = np.uint64(0xBF58476D1CE4E5B9)
MIX2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53


@njit(cache=True, inline="always")
def mix64(z):
    z = (z ^ (z >> _S30)) * MIX1
    z = (z ^ (z >> _S27)) * MIX2
    return z ^ (z >> _S31)


@njit(cache=True, inline="always")
def next64(state):
    """The advanced state and 64 random bits."""
    state = state + GOLDEN
    return state, mix64(state)


@njit(cache=True, inline="always")
def next_uniform(state):
    """The advanced state and a float in [0, 1)."""
    state = state + GOLDEN
    return state, (mix64(state) >> S11) * TO_UNIT


@njit(cache=True, inline="always")
def stream(seed, number):
    """The starting state of stream ``number`` under ``seed``."""
    return mix64(np.uint64(seed) * GOLDEN + mix64(np.uint64(number) + GOLDEN))
