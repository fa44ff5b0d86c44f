"""The CSR item graph: built from transitions or an edge list, saved as memory-mappable .npy."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numba import njit, prange
import pyarrow as pa
import pyarrow.parquet as pq

from .errors import GraphembError
from .workspace import load_npy, save_npy


@dataclass
class Graph:
    """A weighted directed graph in CSR form; an undirected graph stores both directions.

    indptr[v]:indptr[v+1] slices ``indices`` (sorted ascending, so membership is a binary
    search) and ``weights`` for the out-edges of node v.
    """

    indptr: np.ndarray     # int64 [n+1]
    indices: np.ndarray    # int32 [E]
    weights: np.ndarray    # float32 [E]
    node_ids: np.ndarray   # original item ids, int64 or object (str) [n]
    node_counts: np.ndarray  # events per item [n] (edge endpoints for --from-edges)
    directed: bool = True

    @property
    def num_nodes(self) -> int:
        return len(self.indptr) - 1

    @property
    def num_edges(self) -> int:
        return len(self.indices)

    def to_networkx(self):
        """A networkx DiGraph (or Graph, if undirected) with the item ids as nodes and a
        "weight" attribute on each edge. For inspection and small graphs: networkx holds
        every edge as a Python dict."""
        import networkx as nx
        import scipy.sparse as sp

        n = self.num_nodes
        adj = sp.csr_array((np.asarray(self.weights, dtype=np.float64),
                            np.asarray(self.indices), np.asarray(self.indptr)), shape=(n, n))
        out = nx.from_scipy_sparse_array(adj, create_using=nx.DiGraph if self.directed
                                         else nx.Graph, edge_attribute="weight")
        if self.node_ids is not None:
            out = nx.relabel_nodes(out, dict(enumerate(self.node_ids.tolist())))
        return out

    def save(self, folder: Path, sessions: tuple | None = None) -> None:
        """The CSR arrays, the node table and, if given, the log's sessions as node
        indices (``sessions_items.npy`` int32, ``sessions_offsets.npy`` int64)."""
        save_npy(folder, "indptr", self.indptr)
        save_npy(folder, "indices", self.indices)
        save_npy(folder, "weights", self.weights)
        write_node_table(folder / "nodes.parquet", self.node_ids, self.node_counts)
        if sessions is not None:
            save_npy(folder, "sessions_items", sessions[0].astype(np.int32))
            save_npy(folder, "sessions_offsets", sessions[1].astype(np.int64))

    @classmethod
    def load(cls, folder: Path, directed: bool = True, mmap: bool = True,
             nodes: bool = True) -> "Graph":
        """``nodes=False`` skips the node table (ids and counts are then None): walking
        needs only the CSR arrays."""
        node_ids = node_counts = None
        if nodes:
            node_ids, node_counts = read_node_table(Path(folder) / "nodes.parquet")
        return cls(load_npy(folder, "indptr", mmap), load_npy(folder, "indices", mmap),
                   load_npy(folder, "weights", mmap), node_ids, node_counts, directed)


def write_node_table(path: Path, node_ids: np.ndarray, counts: np.ndarray) -> None:
    ids = pa.array(node_ids, type=pa.int64() if node_ids.dtype.kind in "iu" else pa.string())
    table = pa.table({"node": pa.array(np.arange(len(node_ids), dtype=np.int32)),
                      "item_id": ids, "count": pa.array(np.asarray(counts, dtype=np.int64))})
    pq.write_table(table, path)


def read_node_table(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as exc:
        raise GraphembError(f"{path}: unreadable node table ({exc}); rerun "
                            "`graphemb build-graph`.") from None
    ids = table.column("item_id")
    if pa.types.is_integer(ids.type):
        node_ids = ids.to_numpy()
    else:
        node_ids = np.asarray(ids.to_numpy(zero_copy_only=False), dtype=object)
    return node_ids, table.column("count").to_numpy()


def csr_from_edges(src: np.ndarray, dst: np.ndarray, weight: np.ndarray, num_nodes: int,
                   undirected: bool, relabel: np.ndarray | None = None,
                   report: dict | None = None,
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sum duplicate edges and lay them out as CSR with each row's targets sorted.

    ``undirected`` follows one rule (see ``undirected_rule``): if the listing is already
    symmetric (after summing duplicate lines, every u->v has its v->u with the same weight),
    it is taken as listed; otherwise w(u,v) = w(v,u) = the sum of the lines u v and v u.
    A self-loop is its own reverse, so it keeps its listed weight in both cases. ``report``
    (a dict, optional) receives ``symmetric_input`` (bool) when ``undirected``.

    ``relabel`` (optional) maps the codes in src/dst to node indices on the fly, so callers
    need no relabelled copies of the edge arrays. A counting sort by source (O(E), stable),
    then a sort of each row by target, in Numba: no global sort of 64-bit keys and no
    full-size temporaries beyond the output. Weights are summed in float64, kept as float32.
    """
    src = np.asarray(src)
    dst = np.asarray(dst)
    if src.dtype not in (np.int32, np.int64):
        src = src.astype(np.int64)
    if dst.dtype != src.dtype:
        dst = dst.astype(src.dtype)
    weight = np.asarray(weight)
    if weight.dtype not in (np.float32, np.float64):
        weight = weight.astype(np.float64)
    if relabel is None:
        relabel = np.arange(0, dtype=np.int64)     # empty: identity
    relabel = np.asarray(relabel, dtype=np.int64)
    indptr, cols, vals, reverse = _csr_scatter(src, dst, weight, relabel, np.int64(num_nodes),
                                               bool(undirected))
    kept = np.empty(num_nodes, dtype=np.int64)
    # Undirected: for each merged entry v->x (v != x) the rows compare the summed weight of
    # the lines v x with that of the lines x v; they agree everywhere iff the listing is
    # symmetric, and then every such entry (forward + reverse) is halved back to its listed
    # weight. No per-edge temporaries beyond one flag byte per entry.
    mismatched = np.zeros(num_nodes if undirected else 0, dtype=np.int64)
    _csr_sort_rows(indptr, cols, vals, reverse, mismatched, kept, bool(undirected))
    del reverse
    if undirected:
        symmetric = not mismatched.any()
        if symmetric:
            _halve_non_loops(indptr, cols, vals, kept)
        if report is not None:
            report["symmetric_input"] = bool(symmetric)
    return _csr_compact(indptr, cols, vals, kept)


def undirected_rule(symmetric: bool) -> str:
    """How --undirected read the listing, in words (for summaries and manifests)."""
    return ("symmetric listing (every u v has v u with the same weight): weights kept as "
            "listed" if symmetric else "one-way listing: w(u,v) = w(v,u) = sum of the lines "
            "u v and v u")


@njit(cache=True)
def _csr_scatter(src, dst, weight, relabel, num_nodes, undirected):
    remap = relabel.shape[0] > 0
    counts = np.zeros(num_nodes + 1, dtype=np.int64)
    for i in range(src.shape[0]):
        a = relabel[src[i]] if remap else np.int64(src[i])
        b = relabel[dst[i]] if remap else np.int64(dst[i])
        counts[a + 1] += 1
        if undirected and a != b:  # a self-loop is its own reverse: one entry, not two
            counts[b + 1] += 1
    indptr = np.cumsum(counts)
    fill = indptr[:-1].copy()
    total = indptr[-1]
    cols = np.empty(total, dtype=np.int32)
    vals = np.empty(total, dtype=np.float32)
    # reverse[k]: entry k was added as the reverse of a line (undirected only)
    reverse = np.zeros(total if undirected else 0, dtype=np.bool_)
    for i in range(src.shape[0]):
        a = relabel[src[i]] if remap else np.int64(src[i])
        b = relabel[dst[i]] if remap else np.int64(dst[i])
        k = fill[a]
        cols[k] = b
        vals[k] = weight[i]
        fill[a] = k + 1
        if undirected and a != b:
            k = fill[b]
            cols[k] = a
            vals[k] = weight[i]
            reverse[k] = True
            fill[b] = k + 1
    return indptr, cols, vals, reverse


@njit(cache=True, parallel=True)
def _csr_sort_rows(indptr, cols, vals, reverse, mismatched, kept, undirected):
    """Sort each row by target, sum duplicates in place; kept[v] = row length. Undirected:
    mismatched[v] = entries v->x (x != v) whose lines v x and x v sum to different weights."""
    n = indptr.shape[0] - 1
    for v in prange(n):
        start, end = indptr[v], indptr[v + 1]
        if end - start > 1:
            order = np.argsort(cols[start:end], kind="mergesort")
            c = cols[start:end][order]
            w = vals[start:end][order]
            cols[start:end] = c
            vals[start:end] = w
            if undirected:
                r = reverse[start:end][order]
                reverse[start:end] = r
        out = start
        e = start
        bad = 0
        while e < end:
            x = cols[e]
            acc = 0.0
            fw = 0.0
            bw = 0.0
            while e < end and cols[e] == x:
                acc += vals[e]
                if undirected:
                    if reverse[e]:
                        bw += vals[e]
                    else:
                        fw += vals[e]
                e += 1
            if undirected and x != v and abs(fw - bw) > 1e-6 * max(abs(fw), abs(bw)):
                bad += 1
            if acc > 0:
                cols[out] = x
                vals[out] = acc
                out += 1
        kept[v] = out - start
        if undirected:
            mismatched[v] = bad


@njit(cache=True, parallel=True)
def _halve_non_loops(indptr, cols, vals, kept):
    n = indptr.shape[0] - 1
    for v in prange(n):
        start = indptr[v]
        for e in range(start, start + kept[v]):
            if cols[e] != v:
                vals[e] = vals[e] * np.float32(0.5)


@njit(cache=True)
def _csr_compact(indptr, cols, vals, kept):
    n = indptr.shape[0] - 1
    new_indptr = np.zeros(n + 1, dtype=np.int64)
    for v in range(n):
        new_indptr[v + 1] = new_indptr[v] + kept[v]
    total = new_indptr[n]
    if total == cols.shape[0]:
        return new_indptr, cols, vals
    # Shift the rows down in place (each row moves to an earlier or equal position).
    for v in range(n):
        a = indptr[v]
        b = new_indptr[v]
        for i in range(kept[v]):
            cols[b + i] = cols[a + i]
            vals[b + i] = vals[a + i]
    return new_indptr, cols[:total].copy(), vals[:total].copy()


def graph_from_coded_edges(src: np.ndarray, dst: np.ndarray, weight: np.ndarray,
                           item_ids: np.ndarray, item_counts: np.ndarray,
                           undirected: bool, report: dict | None = None) -> tuple[Graph, int]:
    """Keep items that touch an edge, number them by descending count, build the CSR.

    With ``undirected`` a symmetric listing keeps its weights and a one-way listing has its
    two directions summed (see csr_from_edges); ``report`` receives ``symmetric_input``.
    Returns the graph and how many items were left out because no edge touched them.
    """
    n_items = len(item_ids)
    touched = np.zeros(n_items, dtype=bool)
    touched[src] = True
    touched[dst] = True
    kept = np.flatnonzero(touched)
    # Most frequent first; ties keep the order of first appearance (a stable sort).
    kept = kept[np.argsort(-item_counts[kept], kind="stable")]
    new_index = np.full(n_items, -1, dtype=np.int64)
    new_index[kept] = np.arange(len(kept))
    if report is not None:
        report["node_of_item"] = new_index
    if len(kept) >= 2**31 - 1:
        raise GraphembError("more than 2^31 items: graphemb's int32 node indices cannot hold them.")
    indptr, indices, weights = csr_from_edges(src, dst, weight, len(kept), undirected,
                                              relabel=new_index, report=report)
    graph = Graph(indptr, indices, weights, item_ids[kept], item_counts[kept],
                  directed=not undirected)
    return graph, int(n_items - len(kept))


def merge_graphs(old: Graph, new: Graph, decay: float = 1.0, old_sessions=None,
                 new_sessions=None) -> tuple[Graph, np.ndarray, tuple | None]:
    """A day's graph added to the graph so far: the union of their items (matched by id as
    text), old edge weights times ``decay`` plus the new ones, event counts summed (not
    decayed), nodes renumbered by count as build-graph numbers them.

    Both graphs' CSR rows are taken as they are (an undirected graph already holds both
    directions), so summing entries keeps each one's meaning. Returns (merged graph, the
    previous node index of every merged node (-1 for an item new today), the sessions of
    both in merged node indices, or None unless both have sessions).
    """
    import pandas as pd

    old_text = pd.Index(np.asarray(old.node_ids).astype(str))
    new_text = pd.Index(np.asarray(new.node_ids).astype(str))
    pos = old_text.get_indexer(new_text)              # new node -> old node, -1 if new
    fresh = np.flatnonzero(pos < 0)
    code_of_new = pos.copy()
    code_of_new[fresh] = old.num_nodes + np.arange(len(fresh))
    old_ids, new_ids = np.asarray(old.node_ids), np.asarray(new.node_ids)
    if old_ids.dtype.kind in "iu" and new_ids.dtype.kind in "iu":
        ids = np.concatenate([old_ids.astype(np.int64), new_ids[fresh].astype(np.int64)])
    else:
        ids = np.concatenate([old_ids.astype(str), new_ids[fresh].astype(str)]).astype(object)
    counts = np.concatenate([np.asarray(old.node_counts, dtype=np.int64),
                             np.zeros(len(fresh), dtype=np.int64)])
    np.add.at(counts, code_of_new, np.asarray(new.node_counts, dtype=np.int64))

    def edges(g, code):
        src = code[np.repeat(np.arange(g.num_nodes), np.diff(g.indptr))]
        return src, code[np.asarray(g.indices)]

    o_src, o_dst = edges(old, np.arange(old.num_nodes))
    n_src, n_dst = edges(new, code_of_new)
    weight = np.concatenate([np.asarray(old.weights, np.float64) * decay,
                             np.asarray(new.weights, np.float64)])
    report = {}
    merged, _ = graph_from_coded_edges(np.concatenate([o_src, n_src]),
                                       np.concatenate([o_dst, n_dst]), weight, ids, counts,
                                       undirected=False, report=report)
    merged.directed = old.directed
    node_of_code = report["node_of_item"]
    previous = np.full(merged.num_nodes, -1, dtype=np.int64)
    had = node_of_code[:old.num_nodes]
    previous[had[had >= 0]] = np.flatnonzero(had >= 0)
    sessions = None
    if old_sessions is not None and new_sessions is not None:
        tokens = np.concatenate([node_of_code[np.asarray(old_sessions[0])],
                                 node_of_code[code_of_new[np.asarray(new_sessions[0])]]])
        offsets = np.concatenate([np.asarray(old_sessions[1], np.int64),
                                  np.asarray(new_sessions[1][1:], np.int64) +
                                  int(old_sessions[1][-1])])
        sessions = (tokens.astype(np.int32), offsets)
    return merged, previous, sessions


def sessions_as_nodes(sessions: tuple, node_of_item: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sessions in item codes -> in node indices; items without an edge (not nodes) leave
    their session, and sessions left with fewer than two items are dropped."""
    items, offsets = sessions
    nodes = node_of_item[items]
    session = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    kept = nodes >= 0
    length = np.bincount(session[kept], minlength=len(offsets) - 1)
    keep = kept & (length[session] >= 2)
    return nodes[keep], np.r_[0, np.cumsum(length[length >= 2])].astype(np.int64)


def load_sessions(folder: Path, mmap: bool = True):
    """The graph's sessions (graphemb.models.sgns.Sentences) or None if it has none."""
    from .models.sgns import Sentences

    if not (Path(folder) / "sessions_items.npy").exists():
        return None
    return Sentences(load_npy(folder, "sessions_items", mmap),
                     load_npy(folder, "sessions_offsets", mmap))
