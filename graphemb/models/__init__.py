"""The trainers: gensim word2vec, graphemb's Numba skip-gram, and EGES/GES on top of it.

Each trainer is a function of arrays (walks, node count or ids, options) that returns a
``Trained``; the train stage (graphemb.pipeline.train) writes what they all share.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Trained:
    """What a trainer hands the train stage: vectors in node order and manifest entries."""

    vectors: np.ndarray               # float32 [num_nodes, dim]
    has_vector: np.ndarray            # bool [num_nodes]
    params: dict                      # the method's own manifest parameters
    counts: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    arrays: dict = field(default_factory=dict)   # more .npy files for model/ (name -> array)
