"""Using the vectors: top-k similar items, user vectors, recommendations.

The search itself (exact, LSH, hnsw behind one Index protocol) is graphemb.search.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .errors import GraphembError
from .io import tables
from .io.ids import codes_and_ids, factorize, id_positions
from .search import (block_rows, exact_search, make_index, normalize,  # noqa: F401
                     search_eligible, top_k_rows)
from .workspace import Workspace, atomic_file, file_hash

USER_VECTORS_FILE = "user_vectors.parquet"
_META_KEY = b"graphemb"


# ---------------------------------------------------------------------------------------------
# Small pure helpers


def item_space(vectors: np.ndarray, has_vector: np.ndarray | None = None,
               center: bool = True) -> np.ndarray:
    """The item vectors that similarities are computed in: unit length, and with ``center``
    first minus the mean item vector (rows without a vector stay zero).

    Word2vec vectors of graph nodes share a common direction tied to node frequency (rare
    items point along it), which makes rare items look alike under raw cosine and pulls any
    average of item vectors towards them. Removing the mean (as in "all-but-the-top",
    Mu & Viswanath 2018) takes that direction out.
    """
    v = np.asarray(vectors, dtype=np.float32)
    has = np.ones(len(v), dtype=bool) if has_vector is None else np.asarray(has_vector, bool)
    out = np.zeros_like(v)
    if center and has.any():
        out[has] = v[has] - v[has].mean(0)
    else:
        out[has] = v[has]
    return normalize(out)


# ---------------------------------------------------------------------------------------------
# Items of the model


def match_ids(ids: np.ndarray, items: list[str]) -> np.ndarray:
    """Position of each id among ``ids``, -1 if absent: the id as given first (ids may hold
    spaces), else with surrounding white space stripped."""
    return id_positions(ids, items, retry=str.strip)


def lookup_items(node_ids: np.ndarray, items, where: str = "the model") -> np.ndarray:
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


# Neighbours need this many events (node table `count`) by default. Measured on MovieLens
# (450 films with >= 50 ratings, their 50 nearest neighbours, README "similar"): neighbours
# with 1 rating share genres with the query barely more than random films do (Jaccard 0.168
# vs 0.144) yet make up 28% of the lists; agreement rises with the count (2: 0.189, 3-4:
# 0.230, 5-9: 0.262) and levels off from 10 on (10-19: 0.298, 20-49: 0.307).
DEFAULT_MIN_COUNT = 10


def with_cold_rows(base, eligible, vectors, has_vector, cold_vectors, center: bool):
    """The searched rows and their mask with the cold-start items appended after the graph
    items, centred by the same mean (see item_space)."""
    mean = vectors[has_vector].mean(axis=0) if center and has_vector.any() else 0.0
    extra = normalize(np.asarray(cold_vectors, dtype=np.float32) - mean)
    return (np.concatenate([base, extra]).astype(np.float32),
            np.concatenate([eligible, np.ones(len(extra), dtype=bool)]))


def _split_queries(ids: np.ndarray, items, cold_ids=None) -> tuple[np.ndarray, np.ndarray]:
    """(graph node or -1, cold-start row or -1) of each query; unknown ids raise.
    ``cold_ids()`` gives the cold-start ids, asked only when a query is not in the graph."""
    text = [str(x) for x in items]
    node = match_ids(ids, text)
    cold = np.full(len(text), -1, dtype=np.int64)
    if cold_ids is not None and (node < 0).any():
        cold = match_ids(cold_ids(), text)
        cold[node >= 0] = -1
    if ((node < 0) & (cold < 0)).any():
        lookup_items(ids, [t for t, n, c in zip(text, node, cold) if n < 0 and c < 0])
    return node.astype(np.int64), cold.astype(np.int64)


def similar(items, *, workdir=None, k: int = 10, index: str = "exact", tables: int = 16,
            bits: int = 12, probes: int = 0, seed: int = 0, center: bool = True,
            min_count: int = DEFAULT_MIN_COUNT, cold: bool = False) -> dict:
    """Top-k most similar items (cosine, after centring unless ``center`` is False; see
    item_space) for each item id in ``items``.

    Only items with at least ``min_count`` events (the graph's node table ``count``; edge
    endpoints for --from-edges graphs) are returned as neighbours: a rare item's vector rests
    on a handful of walks and lands near whatever it was seen with. Any item can be a query.

    With an EGES/GES model, a cold-start item (side information, no event) can be a query:
    its neighbours are the graph items the model expects beside it (graphemb.eges
    cold_scores; the score is that logit, not a cosine). ``cold=True`` also returns cold-start
    items as neighbours (by cosine to their exported vectors; exact search only).

    Returns {"items", "neighbors" (list of lists of ids), "scores", "cold_query" and
    "cold_neighbor" flags, "index", "candidates" (items eligible as neighbours), and for
    LSH "recall_at_k" against exact search, "speedup", timings}.
    """
    from .pipeline import load_graph, load_vectors
    from .workspace import Workspace

    if k < 1:
        raise GraphembError(f"-k must be at least 1 (got {k}).")
    if min_count < 1:
        raise GraphembError(f"--min-count must be at least 1 (got {min_count}).")
    options = {"tables": tables, "bits": bits, "probes": probes} if index == "lsh" else {}
    backend = make_index(index, **options, **({"seed": seed} if index != "exact" else {}))
    ids, vectors, has_vector, manifest = load_vectors(workdir)
    with_side_info = manifest["params"].get("method") in ("eges", "ges")
    if cold and not with_side_info:
        raise GraphembError("--cold needs a model trained with side information (`graphemb "
                            "train --side-info ITEMS`); this one has no cold-start items.")
    if cold and index != "exact":
        raise GraphembError("--cold works with --index exact only.")
    cold_model = None

    def cold_start():         # loaded only when a query or --cold needs it
        nonlocal cold_model
        if cold_model is None:
            from .eges import ColdStart
            cold_model = ColdStart.load(Workspace(workdir).model)
        return cold_model

    query_node, query_cold = _split_queries(ids, items, (lambda: cold_start().ids)
                                            if with_side_info else None)
    if cold:
        cold_start()
    nodes = query_node[query_node >= 0]
    no_vec = nodes[~has_vector[nodes]]
    if len(no_vec):
        raise GraphembError(f"item {ids[no_vec[0]]!r} has no vector (it never occurred in a "
                            "walk); retrain with more walks or --min-count 1.")
    base = item_space(vectors, has_vector, center)
    eligible = has_vector
    if min_count > 1:
        graph, _ = load_graph(workdir, mmap=True)
        eligible = has_vector & (np.asarray(graph.node_counts) >= min_count)
        if not eligible.any():
            raise GraphembError(f"no item has {min_count} or more events (the node table's "
                                "count); lower --min-count.")
    n_graph = len(ids)
    if cold:
        base, eligible = with_cold_rows(base, eligible, vectors, has_vector, cold_model.vectors,
                                        center)
    t0 = time.perf_counter()
    exact_idx, exact_val = exact_search(base[nodes], base, k, exclude=nodes, valid=eligible)
    t_exact = time.perf_counter() - t0
    result = {"index": index, "k": k, "items": [ids[n] for n in nodes], "center": center,
              "min_count": min_count, "candidates": int(eligible.sum()),
              "exact_seconds": t_exact}
    if index == "exact":
        idx, val = exact_idx, exact_val
    else:
        idx, val, info = search_eligible(backend, base, eligible, nodes, k,
                                         truth=(exact_idx, exact_val, t_exact))
        result.update(info)
        if index == "lsh":
            result.update({"tables": tables, "bits": bits, "probes": probes})

    def item(j):
        return ids[j] if j < n_graph else cold_model.ids[j - n_graph]

    graph_rows = iter(zip(idx, val))
    cold_rows = query_cold[query_cold >= 0]
    if len(cold_rows):
        c_idx, c_val = cold_model.neighbours(cold_rows, k, eligible[:n_graph])
    cold_iter = iter(zip(c_idx, c_val)) if len(cold_rows) else iter(())
    neighbors, scores, flags, queries = [], [], [], []
    for n, c in zip(query_node, query_cold):
        row, vrow = next(graph_rows) if n >= 0 else next(cold_iter)
        queries.append(ids[n] if n >= 0 else cold_model.ids[c])
        neighbors.append([item(j) for j in row if j >= 0])
        scores.append([float(v) for v, j in zip(vrow, row) if j >= 0])
        flags.append([bool(j >= n_graph) for j in row if j >= 0])
    result.update({"items": queries, "neighbors": neighbors, "scores": scores,
                   "cold_query": [bool(c >= 0) for c in query_cold], "cold_neighbor": flags})
    return result


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


# ---------------------------------------------------------------------------------------------
# Logs -> per-user item histories


def read_events(path, *, user_col=None, item_col=None, time_col=None, delimiter=None,
                extra_columns=()):
    """Read a log: dict with the table (rows with missing user/item/time dropped), the chosen
    column names, user codes and distinct user ids, item strings and epoch-second times."""
    from .ingest.times import times_to_seconds

    source = tables.open_table(path, delimiter)
    path = source.path
    user_col, item_col, time_col = tables.log_columns(source, user_col, item_col, time_col)
    columns = list(dict.fromkeys([user_col, item_col, time_col, *[c for c in extra_columns if c]]))
    # Ids as text, as build-graph reads them: "007" must stay "007" to match its node.
    table = source.read(columns, string_columns=[user_col, item_col])
    missing = tables.missing_rows(table, (user_col, item_col, time_col))
    if missing.any():
        table = table.filter(pa.array(~missing))
    if table.num_rows == 0:
        raise GraphembError(f"{path}: no row has a user, an item and a time.")
    times = times_to_seconds(path, time_col, table.column(time_col))
    bad = np.flatnonzero(~np.isfinite(times))
    if len(bad):
        raise GraphembError(f"{path}: column {time_col!r}: timestamp of row {bad[0] + 1} is not a "
                            "number; use epoch seconds or ISO-8601 throughout.")
    user_codes, user_ids = codes_and_ids(table.column(user_col))
    items = table.column(item_col).cast(pa.string())
    return {"path": path, "table": table, "user_col": user_col, "item_col": item_col,
            "time_col": time_col, "user_codes": user_codes, "user_ids": user_ids,
            "items": items, "times": times, "dropped_missing": int(missing.sum())}


def item_nodes(items: pa.ChunkedArray, node_ids: np.ndarray) -> np.ndarray:
    """Node index of every event's item (-1 for items not in the graph), vectorised."""
    codes, values = factorize(items)
    per_value = id_positions(node_ids, np.asarray(values.to_numpy(zero_copy_only=False),
                                                  dtype=object))
    return per_value[codes].astype(np.int64)


def mean_history_vectors(user_codes: np.ndarray, nodes: np.ndarray, vectors: np.ndarray,
                         has_vector: np.ndarray, n_users: int,
                         weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean of the vectors of each user's events (a sparse matrix product).

    Events whose item has no vector are skipped. Returns (user vectors float32, has_vector).
    """
    import scipy.sparse as sp

    ok = nodes >= 0
    ok[ok] = has_vector[nodes[ok]]
    w = np.ones(len(nodes)) if weights is None else np.asarray(weights, dtype=np.float64)
    m = sp.csr_matrix((w[ok], (user_codes[ok], nodes[ok])), shape=(n_users, len(vectors)))
    total = np.asarray(m.sum(axis=1)).ravel()
    sums = np.asarray(m @ vectors.astype(np.float64))
    out = np.zeros((n_users, vectors.shape[1]), dtype=np.float32)
    has = total > 0
    out[has] = (sums[has] / total[has, None]).astype(np.float32)
    return out, has


def decay_weights(user_codes: np.ndarray, times: np.ndarray, half_life: float) -> np.ndarray:
    """0.5 ** (age / half_life), age measured from each user's latest event."""
    n_users = int(user_codes.max()) + 1 if len(user_codes) else 0
    latest = np.full(n_users, -np.inf)
    np.maximum.at(latest, user_codes, times)
    return np.power(0.5, (latest[user_codes] - times) / half_life)


def user_vectors(logs, output=None, *, workdir=None, half_life=None, user_col=None,
                 item_col=None, time_col=None, delimiter=None, center: bool = True) -> dict:
    """One vector per user: the (time-decayed) mean of the item vectors of their history,
    taken in item_space (unit length, centred unless ``center`` is False) so that every event
    counts the same whatever its item's vector norm.

    Written as Parquet (user_id, vector fixed-size list<float32>, events) to ``output``
    (default ``workdir/user_vectors.parquet``); the file remembers the log and the model so
    that `recommend` can exclude seen items and refuse a stale file.
    """
    from .ingest.times import parse_duration
    from .io.writers import ids_to_arrow
    from .pipeline import load_vectors

    ws = Workspace(workdir)
    ids, vectors, has_vector, _ = load_vectors(workdir)
    hl = None if half_life in (None, "") else parse_duration(half_life)
    if hl is not None and hl <= 0:
        raise GraphembError("--half-life must be > 0, e.g. 7d.")
    ev = read_events(logs, user_col=user_col, item_col=item_col, time_col=time_col,
                     delimiter=delimiter)
    nodes = item_nodes(ev["items"], ids)
    n_users = len(ev["user_ids"])
    weights = None if hl is None else decay_weights(ev["user_codes"], ev["times"], hl)
    uvec, has = mean_history_vectors(ev["user_codes"], nodes,
                                     item_space(vectors, has_vector, center), has_vector,
                                     n_users, weights)
    known = (nodes >= 0)
    known[known] = has_vector[nodes[known]]
    events = np.bincount(ev["user_codes"][known], minlength=n_users)
    output = Path(output) if output else ws.root / USER_VECTORS_FILE
    if not output.parent.exists():
        raise GraphembError(f"{output.parent}: folder does not exist; create it or choose "
                            "another output path.")
    flat = pa.array(uvec[has].reshape(-1))
    table = pa.table({"user_id": ids_to_arrow(ev["user_ids"][has]),
                      "vector": pa.FixedSizeListArray.from_arrays(flat, uvec.shape[1]),
                      "events": pa.array(events[has].astype(np.int64))})
    meta = {"logs": str(Path(logs).resolve()), "user_col": ev["user_col"],
            "item_col": ev["item_col"], "time_col": ev["time_col"], "delimiter": delimiter,
            "half_life_seconds": hl, "center": center, "workdir": str(ws.root.resolve()),
            "model_manifest_sha": file_hash(ws.model / "manifest.json")}
    table = table.replace_schema_metadata({_META_KEY: json.dumps(meta).encode()})
    with atomic_file(output) as tmp:
        pq.write_table(table, tmp)
    return {"output": str(output), "users": int(has.sum()),
            "users_without_vector": int((~has).sum()), "events_used": int(known.sum()),
            "events_without_vector": int((~known).sum()), "half_life_seconds": hl,
            "dim": int(uvec.shape[1]), "center": center}


def recommend(user, *, workdir=None, k: int = 10, user_vectors_path=None, logs=None,
              keep_seen: bool = False, cold: bool = False) -> dict:
    """Top-k items for one user by cosine to the user's vector, leaving out items seen;
    ``cold`` also ranks the cold-start items of an EGES/GES model (flagged)."""
    from .pipeline import load_vectors

    if k < 1:
        raise GraphembError(f"-k must be at least 1 (got {k}).")
    ws = Workspace(workdir)
    path = Path(user_vectors_path) if user_vectors_path else ws.root / USER_VECTORS_FILE
    if not path.exists():
        raise GraphembError(f"{path}: not found; run `graphemb user-vectors LOGS` first.")
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as exc:
        raise GraphembError(f"{path}: unreadable ({exc}); rerun `graphemb user-vectors LOGS`.") \
            from None
    meta = json.loads((table.schema.metadata or {}).get(_META_KEY, b"{}"))
    ids, vectors, has_vector, _ = load_vectors(workdir)
    if meta.get("model_manifest_sha") not in (None, file_hash(ws.model / "manifest.json")):
        raise GraphembError(f"{path}: stale, the model was retrained after it was written; "
                            "rerun `graphemb user-vectors LOGS`.")
    users = np.asarray(pc.cast(table.column("user_id"), pa.string()).to_numpy(
        zero_copy_only=False), dtype=object)
    row = np.flatnonzero(users == str(user).strip())
    if not len(row):
        raise GraphembError(f"user {user!r} is not in {path}; check the id (users whose items "
                            "all lack vectors are left out).")
    vec = np.asarray(table.column("vector").chunk(0).flatten() if table.column(
        "vector").num_chunks == 1 else table.column("vector").combine_chunks().flatten())
    dim = vectors.shape[1]
    uvec = vec.reshape(-1, dim)[row[0]]
    seen = np.zeros(0, dtype=np.int64)
    if not keep_seen:
        logs = logs or meta.get("logs")
        if not logs:
            raise GraphembError("cannot tell which items the user has seen; give --logs FILE "
                                "or --keep-seen.")
        ev = read_events(logs, user_col=meta.get("user_col"), item_col=meta.get("item_col"),
                         time_col=meta.get("time_col"), delimiter=meta.get("delimiter"))
        uid = np.asarray(ev["user_ids"]).astype(str)
        code = np.flatnonzero(uid == str(user).strip())
        if len(code):
            mine = ev["user_codes"] == code[0]
            nodes = item_nodes(ev["items"].filter(pa.array(mine)), ids)
            seen = np.unique(nodes[nodes >= 0])
    base = item_space(vectors, has_vector, meta.get("center", True))
    valid, all_ids = has_vector, list(ids)
    if cold:
        from .eges import load_cold_start
        manifest = json.loads((ws.model / "manifest.json").read_text())
        if manifest["params"].get("method") not in ("eges", "ges"):
            raise GraphembError("--cold needs a model trained with side information (`graphemb "
                                "train --side-info ITEMS`); this one has no cold-start items.")
        cold_ids, cold_vectors = load_cold_start(ws.model)
        base, valid = with_cold_rows(base, has_vector, vectors, has_vector, cold_vectors,
                                     meta.get("center", True))
        all_ids += list(cold_ids)
    masked = (np.array([0, len(seen)]), seen)
    idx, val = exact_search(normalize(uvec[None, :]), base, k, masked=masked, valid=valid)
    keep = idx[0] >= 0
    return {"user": str(user), "k": k, "items": [all_ids[j] for j in idx[0][keep]],
            "scores": [float(s) for s in val[0][keep]], "seen_excluded": int(len(seen)),
            "cold_start": [bool(j >= len(ids)) for j in idx[0][keep]]}
