"""The CSR item graph: built from transitions or an edge list, saved as memory-mappable .npy."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
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

    def out_degree(self) -> np.ndarray:
        return np.diff(self.indptr)

    def save(self, folder: Path) -> None:
        save_npy(folder, "indptr", self.indptr)
        save_npy(folder, "indices", self.indices)
        save_npy(folder, "weights", self.weights)
        write_node_table(folder / "nodes.parquet", self.node_ids, self.node_counts)

    @classmethod
    def load(cls, folder: Path, directed: bool = True, mmap: bool = True) -> "Graph":
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
                   undirected: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sum duplicate edges and lay them out as CSR with each row's targets sorted."""
    src = np.asarray(src, dtype=np.int64)
    dst = np.asarray(dst, dtype=np.int64)
    weight = np.asarray(weight, dtype=np.float64)
    if undirected:
        # A self-loop is one edge, not two.
        loop = src == dst
        src, dst, weight = (np.concatenate([src, dst[~loop]]), np.concatenate([dst, src[~loop]]),
                            np.concatenate([weight, weight[~loop]]))
    key = src * num_nodes + dst
    uniq, inverse = np.unique(key, return_inverse=True)
    summed = np.bincount(inverse, weights=weight, minlength=len(uniq))
    positive = summed > 0
    uniq, summed = uniq[positive], summed[positive]
    rows = uniq // num_nodes
    indices = (uniq % num_nodes).astype(np.int32)
    indptr = np.zeros(num_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=num_nodes), out=indptr[1:])
    return indptr, indices, summed.astype(np.float32)


def graph_from_coded_edges(src: np.ndarray, dst: np.ndarray, weight: np.ndarray,
                           item_ids: np.ndarray, item_counts: np.ndarray,
                           undirected: bool) -> tuple[Graph, int]:
    """Keep items that touch an edge, number them by descending count, build the CSR.

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
    if len(kept) >= 2**31 - 1:
        raise GraphembError("more than 2^31 items: graphemb's int32 node indices cannot hold them.")
    indptr, indices, weights = csr_from_edges(new_index[src], new_index[dst], weight, len(kept),
                                              undirected)
    graph = Graph(indptr, indices, weights, item_ids[kept], item_counts[kept],
                  directed=not undirected)
    return graph, int(n_items - len(kept))
