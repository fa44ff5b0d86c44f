"""The Index protocol, the registry of back-ends, and what every back-end shares: being
fitted on some rows of a matrix (the items eligible as neighbours), answering in that
matrix's numbering, timed, and measured against exact search."""
from __future__ import annotations

import inspect
import time

import numpy as np

from ..errors import GraphembError

INDEXES: dict[str, type] = {}     # name -> back-end class, in the order they are defined


class Index:
    """A nearest-neighbour back-end over unit vectors.

    ``fit(vectors)`` indexes the rows; ``query(queries, k, exclude)`` returns (positions,
    scores, stats): the k best rows by dot product, best first, -1 where fewer qualify, never
    the row ``exclude`` names for a query (-1: none). A subclass with a ``name`` is registered
    in INDEXES (and so offered by `graphemb similar --index`); its constructor's keywords are
    its options.
    """

    name: str | None = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.name:
            INDEXES[cls.name] = cls

    def fit(self, vectors: np.ndarray) -> "Index":
        raise NotImplementedError

    def query(self, queries: np.ndarray, k: int, exclude: np.ndarray | None = None):
        raise NotImplementedError


def index_options(name: str) -> set[str]:
    """The options (constructor keywords) of the back-end ``name``; none for an unknown name."""
    return set(inspect.signature(INDEXES[name]).parameters) if name in INDEXES else set()


def make_index(name: str, **options) -> Index:
    """An index by name; an option the back-end does not take is an error (it would do
    nothing)."""
    if name not in INDEXES:
        raise GraphembError(f"unknown index {name!r}; choose {', '.join(INDEXES)}.")
    cls = INDEXES[name]
    accepted = index_options(name)
    idle = sorted(k for k in options if k not in accepted)
    if idle:
        raise GraphembError(f"{', '.join('--' + k for k in idle)} do(es) nothing with --index "
                            f"{name}; drop it or choose an index that takes it.")
    return cls(**options)


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean fraction of each row of ``truth`` (ignoring -1) that appears in the row of ``found``."""
    truth = np.asarray(truth)
    found = np.asarray(found)
    real = truth >= 0
    # Membership per row without a Python loop over rows: sort both and compare by key.
    rows = np.arange(len(truth))[:, None]
    n = max(int(truth.max(initial=0)), int(found.max(initial=0))) + 1
    key_t = (rows * n + truth)[real]
    key_f = (rows * n + found)[found >= 0]
    hits = int(np.isin(key_t, key_f).sum())
    total = int(real.sum())
    return hits / total if total else float("nan")


class RowsIndex:
    """``index`` fitted on the ``rows`` of ``base`` only; queried by row of ``base``, it
    answers in ``base``'s numbering. Fit once, query many times."""

    def __init__(self, index: Index, base: np.ndarray, rows: np.ndarray):
        t0 = time.perf_counter()
        self.index, self.base, self.rows = index, base, rows
        index.fit(base[rows])
        self.build_seconds = time.perf_counter() - t0

    def query(self, queries: np.ndarray, k: int,
              truth: tuple[np.ndarray, np.ndarray, float] | None = None):
        """Top-k of each row ``queries`` of ``base``, never the query row itself. ``truth`` =
        (indices, scores, seconds) of exact search, to report recall and speed-up against.
        Returns (indices, scores, info)."""
        rows = self.rows
        at = np.searchsorted(rows, queries)
        at = np.where(rows[np.clip(at, 0, len(rows) - 1)] == queries, at, -1)  # not indexed
        self.index.query(self.base[queries[:1]], k, exclude=at[:1])  # load compiled code first
        t0 = time.perf_counter()
        idx, val, stats = self.index.query(self.base[queries], k, exclude=at)
        t_query = time.perf_counter() - t0
        idx = np.where(idx >= 0, rows[np.clip(idx, 0, None)], -1)
        info = {"build_seconds": self.build_seconds, "query_seconds": t_query,
                "items_in_index": len(rows)}
        if "candidates" in stats:
            info["mean_candidates"] = float(np.mean(stats["candidates"]))
        if truth is not None:
            info.update({"recall_at_k": recall_at_k(idx, truth[0]),
                         "speedup": truth[2] / max(t_query, 1e-9)})
        return idx, val, info


def search_eligible(index: Index, base: np.ndarray, eligible: np.ndarray, queries: np.ndarray,
                    k: int, truth: tuple[np.ndarray, np.ndarray, float] | None = None):
    """Top-k of each row ``queries`` (rows of ``base``) among the ``eligible`` rows, by
    ``index`` (fitted here); the query row itself is never returned. Returns (indices,
    scores, info); see RowsIndex.query."""
    return RowsIndex(index, base, np.flatnonzero(eligible)).query(queries, k, truth)
