"""hnswlib's HNSW graph index (optional: graphemb[ann])."""
from __future__ import annotations

import numpy as np

from ..errors import require
from .index import Index


class HNSWIndex(Index):
    """hnswlib's HNSW graph (inner product on unit vectors = cosine)."""

    name = "hnsw"

    def __init__(self, seed: int = 0, ef_construction: int = 200, M: int = 16):
        self.seed, self.ef_construction, self.M = seed, ef_construction, M

    def fit(self, vectors: np.ndarray) -> "HNSWIndex":
        hnswlib = require("hnswlib", "ann", "--index hnsw (or use --index lsh)")
        self.size = len(vectors)
        self.index = hnswlib.Index(space="ip", dim=vectors.shape[1])
        self.index.init_index(max_elements=self.size, ef_construction=self.ef_construction,
                              M=self.M, random_seed=self.seed)
        self.index.add_items(vectors, np.arange(self.size))
        return self

    def query(self, queries: np.ndarray, k: int, exclude: np.ndarray | None = None):
        self.index.set_ef(max(64, 2 * k))
        labels, dist = self.index.knn_query(queries, k=min(k + 1, self.size))  # +1: the query
        labels = labels.astype(np.int64)
        val = (1 - dist).astype(np.float32)
        if exclude is not None:
            val[labels == np.asarray(exclude)[:, None]] = -np.inf
        order = np.argsort(-val, axis=1, kind="stable")[:, :k]
        idx = np.take_along_axis(labels, order, 1)
        val = np.take_along_axis(val, order, 1)
        idx[np.isneginf(val)] = -1
        return idx, val, {}
