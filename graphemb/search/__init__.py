"""Nearest-neighbour search over unit vectors, behind one small protocol (search.index.Index).

An index has ``fit(vectors)`` (unit rows) and ``query(queries, k, exclude)`` returning
(positions, scores, stats): the k best rows by dot product, best first, -1 where fewer
qualify, never the row ``exclude`` names for a query. Back-ends:

    exact   blocked matrix product and a partial sort (search.exact)
    lsh     random-projection hashing, candidates re-ranked in a Numba kernel (search.lsh)
    hnsw    hnswlib's graph index, optional: graphemb[ann] (search.hnsw)

Adding a back-end is one class: a subclass of Index with a ``name``, in a module imported
here. RowsIndex (and search_eligible) do the shared bookkeeping: index only the eligible
rows, map positions back, time the query, and measure recall against exact search.
"""
# Imported in this order: INDEXES, and so `graphemb similar --index`, lists them so.
from .index import (INDEXES, Index, RowsIndex, index_options, make_index, recall_at_k,
                    search_eligible)
from .exact import ExactIndex, block_rows, exact_search, normalize, top_k_rows
from .lsh import LSHIndex
from .hnsw import HNSWIndex

__all__ = ["INDEXES", "Index", "RowsIndex", "index_options", "make_index", "recall_at_k",
           "search_eligible", "ExactIndex", "block_rows", "exact_search", "normalize",
           "top_k_rows", "LSHIndex", "HNSWIndex"]
