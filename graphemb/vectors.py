"""Item vectors as one object (ItemVectors), the space similarities are taken in, and the
`similar` verb.

ItemVectors holds the ids, the vectors, which items have a vector, which are cold-start items
(EGES/GES: side information, no event) and each item's event count; it loads a workspace
once, answers ``most_similar`` through any search back-end (``index=``, as gensim
KeyedVectors' ``indexer=``), and converts to a gensim KeyedVectors.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .errors import GraphembError
from .options import SIMILAR, checked
from .io import tables
from .io.ids import id_positions
from .search import RowsIndex, exact_search, index_options, make_index, normalize

PARQUET_META_KEY = b"graphemb"       # schema metadata of the Parquet files graphemb reads back
SIDE_INFO_METHODS = ("eges", "ges")
NO_COLD_START = ("--cold needs a model trained with side information (`graphemb train "
                 "--side-info ITEMS`); this one has no cold-start items.")

S = SIMILAR.defaults      # graphemb.options: --min-count's default is measured there


def item_space(vectors: np.ndarray, has_vector: np.ndarray | None = None,
               center: bool = True, mean_over: np.ndarray | None = None) -> np.ndarray:
    """The item vectors that similarities are computed in: unit length, and with ``center``
    first minus the mean item vector (rows without a vector stay zero). The mean is taken
    over the ``mean_over`` rows (default: those with a vector).

    Word2vec vectors of graph nodes share a common direction tied to node frequency (rare
    items point along it), which makes rare items look alike under raw cosine and pulls any
    average of item vectors towards them. Removing the mean (as in "all-but-the-top",
    Mu & Viswanath 2018) takes that direction out.
    """
    v = np.asarray(vectors, dtype=np.float32)
    has = np.ones(len(v), dtype=bool) if has_vector is None else np.asarray(has_vector, bool)
    mean_over = has if mean_over is None else np.asarray(mean_over, bool)
    out = np.zeros_like(v)
    if center and mean_over.any():
        out[has] = v[has] - v[mean_over].mean(0)
    else:
        out[has] = v[has]
    return normalize(out)


def write_parquet(path, table: pa.Table, meta: dict) -> None:
    """``table`` with ``meta`` in its schema metadata, written to a temporary name and renamed."""
    from .workspace import atomic_file

    table = table.replace_schema_metadata({PARQUET_META_KEY: json.dumps(meta).encode()})
    with atomic_file(Path(path)) as tmp:
        pq.write_table(table, tmp)


def parquet_meta(table: pa.Table) -> dict:
    """What write_parquet put in the schema metadata ({} if nothing)."""
    return json.loads((table.schema.metadata or {}).get(PARQUET_META_KEY, b"{}"))


def vector_matrix(column: pa.ChunkedArray) -> np.ndarray:
    """A fixed-size-list column of a table as a [rows, dim] array."""
    array = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
    return np.asarray(array.flatten()).reshape(-1, column.type.list_size)


# ---------------------------------------------------------------------------------------------
# Looking items up


def match_ids(ids, items: list[str]) -> np.ndarray:
    """Position of each id among ``ids``, -1 if absent: the id as given first (ids may hold
    spaces), else with surrounding white space stripped."""
    return id_positions(ids, items, retry=str.strip)


def lookup_items(node_ids, items, where: str = "the model") -> np.ndarray:
    """Node index of each requested item id (given as text); unknown ids raise GraphembError."""
    items = [str(x) for x in items]
    pos = match_ids(node_ids, items)
    missing = np.flatnonzero(pos < 0)
    if len(missing):
        bad = items[missing[0]].strip()
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise GraphembError(f"item {bad!r} is not in {where}{more}; check the id, or that it "
                            "has at least one transition in the log (see `graphemb build-graph`).")
    return pos.astype(np.int64)


def read_items_file(path) -> list[str]:
    path = Path(path)
    if not path.exists():
        raise GraphembError(f"{path}: no such file; give one item id per line.")
    items = [line.split(",")[0].strip() for line in path.read_text().splitlines()]
    items = [x for x in items if x]
    if items and items[0] in (*tables.ITEM_COLUMNS, "id", "ID"):
        items = items[1:]                       # a header line such as item_id
    if not items:
        raise GraphembError(f"{path}: holds no item ids; give one item id per line.")
    return items


def read_names(path, id_col: str | None = None, name_col: str | None = None,
               delimiter: str | None = None) -> tuple[dict, str]:
    """{item id as text: name} from a table such as MovieLens movies.csv, and the name
    column. The id column is guessed like a log's item column (or "id"), the name column is
    ``name_col`` or the first text column after it."""
    source = tables.open_table(path, delimiter, what="name table")
    path, header = source.path, source.header
    id_col = id_col or next((c for c in (*tables.ITEM_COLUMNS, "id", "ID") if c in header), None)
    id_col = tables.pick_column(path, header, id_col, tables.ITEM_COLUMNS, "names-id-col")
    table = source.read(list(dict.fromkeys([id_col, *header])), string_columns=[id_col])
    if name_col is None:
        text = [c for c in header if c != id_col and
                (pa.types.is_string(table.column(c).type) or
                 pa.types.is_large_string(table.column(c).type))]
        if not text:
            raise GraphembError(f"{path}: no text column to take names from; name it with "
                                "--name-col.")
        name_col = text[0]
    elif name_col not in header:
        raise GraphembError(f"{path}: no column {name_col!r} (columns are: "
                            f"{', '.join(header[:12])}).")
    keys = pc.utf8_trim_whitespace(table.column(id_col).cast(pa.string())).to_pylist()
    values = table.column(name_col).cast(pa.string()).to_pylist()
    return {k: v for k, v in zip(keys, values) if k is not None and v is not None}, name_col


def check_search_options(k: int, min_count: int = 1) -> None:
    SIMILAR.check(k=k, min_count=min_count)


# ---------------------------------------------------------------------------------------------
# ItemVectors


@dataclass
class Neighbours:
    """What ItemVectors.neighbours found, one entry per query in the order asked."""

    queries: list                 # the query ids
    items: list[list]             # neighbour ids, best first
    scores: list[list[float]]     # cosines; for a cold-start query the model's logits
    cold_query: list[bool]        # the query is a cold-start item
    cold_neighbour: list[list[bool]]
    info: dict                    # candidates, timings; an approximate index's recall


@dataclass(eq=False, repr=False)
class ItemVectors:
    """The vectors of a model's items, row by row.

    Graph items come first, in node order (so a row is a node index), then any cold-start
    items. ``has_vector`` is False for an item no walk reached (its vector is zeros);
    ``counts`` (events per item, the node table's count) is what ``min_count`` filters on.
    Derived arrays (the centred unit vectors, fitted search indexes, the cold-start rows) are
    computed once per object.
    """

    ids: np.ndarray                        # int64, or text (object)
    vectors: np.ndarray                    # float32 [rows, dim]
    has_vector: np.ndarray | None = None   # bool [rows]; default all True
    cold_start: np.ndarray | None = None   # bool [rows]; default all False
    counts: np.ndarray | None = None       # events per item; None: unknown
    manifest: dict | None = None           # the model stage's manifest
    folder: Path | None = None             # the model folder (its cold-start data)
    _cache: dict = field(default_factory=dict, init=False)

    def __post_init__(self):
        self.ids = np.asarray(self.ids)
        if self.ids.dtype.kind == "U":
            self.ids = self.ids.astype(object)
        self.vectors = np.asarray(self.vectors, dtype=np.float32)
        n = len(self.ids)
        self.has_vector = (np.ones(n, bool) if self.has_vector is None
                           else np.asarray(self.has_vector, bool))
        self.cold_start = (np.zeros(n, bool) if self.cold_start is None
                           else np.asarray(self.cold_start, bool))
        if self.counts is not None:
            self.counts = np.asarray(self.counts)
        lengths = {len(a) for a in (self.vectors, self.has_vector, self.cold_start,
                                    *([self.counts] if self.counts is not None else []))}
        if self.vectors.ndim != 2 or lengths != {n}:
            raise ValueError(f"ItemVectors: {n} ids, but vectors of shape {self.vectors.shape} "
                             f"and masks of lengths {sorted(lengths)}.")
        if np.any(np.diff(self.cold_start.astype(np.int8)) < 0):
            raise ValueError("ItemVectors: cold-start rows must come after the graph items.")

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        return (f"<ItemVectors: {len(self):,} items, dim {self.dim}, "
                f"{int(self.has_vector.sum()):,} with a vector, "
                f"{int(self.cold_start.sum()):,} cold-start>")

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    @property
    def side_info(self) -> bool:
        """Whether the model was trained with side information (EGES/GES)."""
        return (self.manifest or {}).get("params", {}).get("method") in SIDE_INFO_METHODS

    # --- in and out ---------------------------------------------------------------------

    @classmethod
    def load(cls, path=None) -> "ItemVectors":
        """The trained vectors of a workspace (a folder; default the current one), checked
        for staleness like every stage's inputs; or a Parquet file written by ``save`` or
        `graphemb export` (item_id, vector[, has_vector, cold_start, count])."""
        if path is not None and Path(path).is_file():
            return cls._read(Path(path))
        from .pipeline import load_graph
        from .workspace import Workspace, check_fresh, load_npy, read_manifest

        ws = Workspace(path)
        manifest = read_manifest(ws.model, "model")
        graph, _ = load_graph(path)
        check_fresh(manifest, ws.model, "model", "graph", ws.graph)
        for name, record in manifest["inputs"].items():
            # Walks may be deleted once trained on (they are large); if present they must match.
            if not name.startswith("walks"):
                continue
            folder = ws.root / Path(record["path"]).name
            folder = folder if folder.exists() else Path(record["path"])
            if (folder / "manifest.json").exists():
                check_fresh(manifest, ws.model, "model", name, folder)
        return cls(graph.node_ids, load_npy(ws.model, "vectors", mmap=False),
                   load_npy(ws.model, "has_vector", mmap=False), counts=graph.node_counts,
                   manifest=manifest, folder=ws.model)

    @classmethod
    def _read(cls, path: Path) -> "ItemVectors":
        try:
            table = pq.read_table(path)
            ids = table.column("item_id")
            vectors = vector_matrix(table.column("vector"))
        except (OSError, pa.ArrowInvalid, KeyError, AttributeError) as exc:
            raise GraphembError(f"{path}: not a file of item vectors ({exc}); write one with "
                                "ItemVectors.save or `graphemb export FILE.parquet`.") from None
        ids = (ids.to_numpy() if pa.types.is_integer(ids.type)
               else np.asarray(ids.to_numpy(zero_copy_only=False), dtype=object))

        def column(name):
            return (np.asarray(table.column(name).to_numpy(zero_copy_only=False))
                    if name in table.column_names else None)
        return cls(ids, vectors, column("has_vector"), column("cold_start"), column("count"),
                   manifest=parquet_meta(table).get("manifest"))

    def save(self, path) -> Path:
        """Write to a Parquet file (item_id, vector, has_vector, cold_start[, count]; the
        manifest in the schema metadata) that ``ItemVectors.load(path)`` reads back."""
        from .io.writers import vectors_table

        extra = {"has_vector": self.has_vector, "cold_start": self.cold_start}
        if self.counts is not None:
            extra["count"] = np.asarray(self.counts, dtype=np.int64)
        write_parquet(path, vectors_table(self.ids, self.vectors, extra),
                      {"manifest": self.manifest})
        return Path(path)

    def to_keyed_vectors(self):
        """A gensim KeyedVectors of the items that have a vector, keyed by their ids as text
        (as in an exported word2vec file); cold-start items too if added. Its most_similar is
        gensim's: raw cosine, no centring, no --min-count."""
        from gensim.models import KeyedVectors

        rows = self.has_vector
        kv = KeyedVectors(vector_size=self.dim)
        kv.add_vectors([str(i) for i in self.ids[rows]], self.vectors[rows])
        return kv

    def subset(self, rows) -> "ItemVectors":
        """The items at ``rows`` (a mask or positions), e.g. ``v.subset(v.has_vector)``. Its
        rows no longer line up with the graph's nodes, so it has no model folder."""
        return ItemVectors(self.ids[rows], self.vectors[rows], self.has_vector[rows],
                           self.cold_start[rows],
                           None if self.counts is None else self.counts[rows], self.manifest)

    def with_cold_start(self) -> "ItemVectors":
        """These items followed by the model's cold-start items (their exported vectors,
        flagged in ``cold_start``); itself if it already holds them. Ids become text when
        either kind is text (as in `graphemb export`)."""
        if self.cold_start.any():
            return self
        if "with_cold_start" not in self._cache:
            if not self.side_info:
                raise GraphembError(NO_COLD_START)
            if self.folder is None:
                raise GraphembError("these vectors were not loaded from a workspace, so their "
                                    "model's cold-start items are not at hand.")
            from .models.eges import with_cold_start

            ids, vectors, extra = with_cold_start(self.folder, self.ids, self.vectors)
            added = len(ids) - len(self)
            out = replace(self, ids=ids, vectors=vectors,
                          has_vector=np.r_[self.has_vector, np.ones(added, bool)],
                          cold_start=extra["cold_start"],
                          counts=None if self.counts is None
                          else np.r_[self.counts, np.zeros(added, self.counts.dtype)])
            out._cache["cold_start_model"] = self._cache.get("cold_start_model")
            self._cache["with_cold_start"] = out
        return self._cache["with_cold_start"]

    def cold_start_model(self):
        """What the EGES/GES model knows of its cold-start items (graphemb.models.eges.ColdStart),
        loaded once; None without a model with side information."""
        if self._cache.get("cold_start_model") is None and self.side_info and self.folder:
            from .models.eges import ColdStart
            self._cache["cold_start_model"] = ColdStart.load(self.folder)
        return self._cache.get("cold_start_model")

    # --- similarity ---------------------------------------------------------------------

    @property
    def n_graph(self) -> int:
        """Rows that are graph items (the first ones)."""
        return len(self) - int(self.cold_start.sum())

    def unit(self, center: bool = True) -> np.ndarray:
        """The rows in item_space (unit length; with ``center`` minus the graph items' mean
        vector, which cold-start rows are centred by too)."""
        key = ("unit", bool(center))
        if key not in self._cache:
            self._cache[key] = item_space(self.vectors, self.has_vector, center,
                                          mean_over=self.has_vector & ~self.cold_start)
        return self._cache[key]

    def eligible(self, min_count: int = 1, cold: bool = False) -> np.ndarray:
        """Rows that may be neighbours: graph items with a vector and at least ``min_count``
        events; with ``cold`` also the cold-start rows."""
        ok = self.has_vector & ~self.cold_start
        if min_count > 1:
            if self.counts is None:
                raise GraphembError(f"--min-count {min_count} needs the items' event counts, "
                                    "and these vectors have none; use --min-count 1.")
            ok &= np.asarray(self.counts) >= min_count
            if not ok.any():
                raise GraphembError(f"no item has {min_count} or more events (the node table's "
                                    "count); lower --min-count.")
        return ok | (self.cold_start & self.has_vector) if cold else ok

    def query_rows(self, items) -> tuple[np.ndarray, np.ndarray]:
        """(graph row or -1, cold-start item or -1) of each item id; unknown ids raise. The
        model's cold-start items are read only when an id is not a graph item."""
        text = [str(x) for x in items]
        if "id_text" not in self._cache:
            import pandas as pd
            self._cache["id_text"] = pd.Index(self.ids[:self.n_graph].astype(str))
        graph_ids = self._cache["id_text"]
        node = match_ids(graph_ids, text)
        cold = np.full(len(text), -1, dtype=np.int64)
        if (node < 0).any() and self.cold_start_model() is not None:
            cold = match_ids(self.cold_start_model().ids, text)
            cold[node >= 0] = -1
        if ((node < 0) & (cold < 0)).any():
            lookup_items(graph_ids, [t for t, n, c in zip(text, node, cold) if n < 0 and c < 0])
        return node.astype(np.int64), cold.astype(np.int64)

    def fitted_index(self, index, *, center: bool = True, min_count: int = 1,
                     cold: bool = False, **options) -> RowsIndex:
        """``index`` (a back-end name with its ``options``, or an Index object) fitted on the
        rows eligible as neighbours; fitted once per object and settings."""
        name = (index, tuple(sorted(options.items()))) if isinstance(index, str) else index
        key = ("index", name, bool(center), min_count, bool(cold))
        if key not in self._cache:
            backend = make_index(index, **options) if isinstance(index, str) else index
            self._cache[key] = RowsIndex(backend, self.unit(center),
                                         np.flatnonzero(self.eligible(min_count, cold)))
        return self._cache[key]

    def neighbours(self, items, k: int = 10, *, index="exact", center: bool = True,
                   min_count: int = 1, cold: bool = False, recall: bool = False,
                   **options) -> Neighbours:
        """The k nearest items of each id in ``items``, by cosine in ``unit(center)``, among
        the items with at least ``min_count`` events; never the query itself.

        ``index``: "exact" (blocked matrix products), another back-end's name (with its
        ``options``, e.g. tables=16 for "lsh"), or an Index object (graphemb.search); fitted
        once per object and settings. With ``recall`` an approximate index is also measured
        against exact search (recall_at_k, speedup). A cold-start query (EGES/GES) gets the
        graph items the model expects beside it (graphemb.models.eges cold_scores; the score is that
        logit). ``cold`` also returns cold-start items as neighbours (exact search only).
        """
        check_search_options(k, min_count)
        exact = isinstance(index, str) and index == "exact"
        if cold and not self.side_info:
            raise GraphembError(NO_COLD_START)
        if cold and not exact:
            raise GraphembError("--cold works with --index exact only.")
        query_node, query_cold = self.query_rows(items)
        space = self.with_cold_start() if cold else self
        nodes = query_node[query_node >= 0]
        no_vec = nodes[~self.has_vector[nodes]]
        if len(no_vec):
            raise GraphembError(f"item {self.ids[no_vec[0]]!r} has no vector (it never occurred "
                                "in a walk); retrain with more walks or --min-count 1.")
        base = space.unit(center)
        eligible = space.eligible(min_count, cold)
        info = {"candidates": int(eligible.sum())}
        truth = None
        if exact or recall:
            t0 = time.perf_counter()
            idx, val = exact_search(base[nodes], base, k, exclude=nodes, valid=eligible)
            info["exact_seconds"] = time.perf_counter() - t0
            truth = (idx, val, info["exact_seconds"])
        if not exact:
            fitted = space.fitted_index(index, center=center, min_count=min_count, cold=cold,
                                        **options)
            idx, val, stats = fitted.query(nodes, k, truth=truth if recall else None)
            info.update(stats)
        graph_rows = iter(zip(idx, val))
        cold_rows = query_cold[query_cold >= 0]
        cold_model = self.cold_start_model() if len(cold_rows) else None
        cold_answers = iter(zip(*cold_model.neighbours(cold_rows, k, eligible[:self.n_graph]))
                            if len(cold_rows) else ())
        found = Neighbours([], [], [], [bool(c >= 0) for c in query_cold], [], info)
        for n, c in zip(query_node, query_cold):
            row, score = next(graph_rows) if n >= 0 else next(cold_answers)
            keep = row >= 0
            found.queries.append(self.ids[n] if n >= 0 else cold_model.ids[c])
            found.items.append([space.ids[j] for j in row[keep]])
            found.scores.append([float(s) for s in score[keep]])
            found.cold_neighbour.append([bool(f) for f in space.cold_start[row[keep]]])
        return found

    def most_similar(self, items, k: int = 10, **options) -> list:
        """gensim-style: [(id, score), ...] best first for one id, or one such list per id
        for a list of ids; ``options`` as for ``neighbours`` (index=, center=, min_count=,
        cold=), e.g. ``most_similar("260", 5, index="lsh", tables=8)``."""
        one = isinstance(items, (str, bytes, int, np.integer))
        found = self.neighbours([items] if one else items, k, **options)
        lists = [list(zip(ids, scores)) for ids, scores in zip(found.items, found.scores)]
        return lists[0] if one else lists


# ---------------------------------------------------------------------------------------------
# The verb


@checked(SIMILAR)
def similar(items, *, workdir=None, vectors: ItemVectors | None = None, k: int = S.k,
            index: str = S.index, tables: int = S.tables, bits: int = S.bits,
            probes: int = S.probes, seed: int = 0, center: bool = S.center,
            min_count: int = S.min_count, cold: bool = S.cold) -> dict:
    """Top-k most similar items (cosine, after centring unless ``center`` is False; see
    item_space) for each item id in ``items``, from the workspace's vectors, or from
    ``vectors`` (an ItemVectors, loaded once for many calls; its fitted indexes are kept).

    Only items with at least ``min_count`` events (the graph's node table ``count``; edge
    endpoints for --from-edges graphs) are returned as neighbours: a rare item's vector rests
    on a handful of walks and lands near whatever it was seen with. Any item can be a query.

    With an EGES/GES model, a cold-start item (side information, no event) can be a query:
    its neighbours are the graph items the model expects beside it (graphemb.models.eges
    cold_scores; the score is that logit, not a cosine). ``cold=True`` also returns cold-start
    items as neighbours (by cosine to their exported vectors; exact search only).

    Returns {"items", "neighbors" (list of lists of ids), "scores", "cold_query" and
    "cold_neighbor" flags, "index", "candidates" (items eligible as neighbours), and for
    LSH and hnsw "recall_at_k" against exact search, "speedup", timings}.
    """
    options = {"tables": tables, "bits": bits, "probes": probes} if index == "lsh" else {}
    options.update({"seed": seed} if "seed" in index_options(index) else {})
    make_index(index, **options)         # a bad name or option is refused before any reading
    vectors = ItemVectors.load(workdir) if vectors is None else vectors
    found = vectors.neighbours(items, k, index=index, center=center, min_count=min_count,
                               cold=cold, recall=True, **options)
    result = {"index": index, "k": k, "items": found.queries, "center": center,
              "min_count": min_count, **found.info}
    if index == "lsh":
        result.update({"tables": tables, "bits": bits, "probes": probes})
    result.update({"neighbors": found.items, "scores": found.scores,
                   "cold_query": found.cold_query, "cold_neighbor": found.cold_neighbour})
    return result
