"""User vectors and recommendations: a user's vector is the (time-decayed) mean of the item
vectors of their history; `recommend` ranks the items they have not seen by cosine to it."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .errors import GraphembError
from .options import RECOMMEND, USER_VECTORS, checked
from .io import tables
from .io.ids import codes_and_ids, factorize, id_positions
from .search import exact_search, normalize
from .vectors import ItemVectors, parquet_meta, vector_matrix, write_parquet
from .workspace import Workspace, file_hash

USER_VECTORS_FILE = "user_vectors.parquet"


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


def half_life_seconds(half_life) -> float | None:
    """--half-life as seconds (None: no decay); it must be positive."""
    from .ingest.times import parse_duration

    hl = None if half_life in (None, "") else parse_duration(half_life)
    if hl is not None and hl <= 0:
        raise GraphembError("--half-life must be > 0, e.g. 7d.")
    return hl


@checked(USER_VECTORS)
def user_vectors(logs, output=None, *, workdir=None, half_life=None, user_col=None,
                 item_col=None, time_col=None, delimiter=None,
                 center: bool = USER_VECTORS.defaults.center) -> dict:
    """One vector per user: the (time-decayed) mean of the item vectors of their history,
    taken in item_space (unit length, centred unless ``center`` is False) so that every event
    counts the same whatever its item's vector norm.

    Written as Parquet (user_id, vector fixed-size list<float32>, events) to ``output``
    (default ``workdir/user_vectors.parquet``); the file remembers the log and the model so
    that `recommend` can exclude seen items and refuse a stale file.
    """
    from .io.writers import vectors_table

    ws = Workspace(workdir)
    items = ItemVectors.load(workdir)
    hl = half_life_seconds(half_life)
    ev = read_events(logs, user_col=user_col, item_col=item_col, time_col=time_col,
                     delimiter=delimiter)
    nodes = item_nodes(ev["items"], items.ids)
    n_users = len(ev["user_ids"])
    weights = None if hl is None else decay_weights(ev["user_codes"], ev["times"], hl)
    uvec, has = mean_history_vectors(ev["user_codes"], nodes, items.unit(center),
                                     items.has_vector, n_users, weights)
    known = (nodes >= 0)
    known[known] = items.has_vector[nodes[known]]
    events = np.bincount(ev["user_codes"][known], minlength=n_users)
    output = Path(output) if output else ws.root / USER_VECTORS_FILE
    if not output.parent.exists():
        raise GraphembError(f"{output.parent}: folder does not exist; create it or choose "
                            "another output path.")
    table = vectors_table(ev["user_ids"][has], uvec[has],
                          {"events": events[has].astype(np.int64)}, key="user_id")
    meta = {"logs": str(Path(logs).resolve()), "user_col": ev["user_col"],
            "item_col": ev["item_col"], "time_col": ev["time_col"], "delimiter": delimiter,
            "half_life_seconds": hl, "center": center, "workdir": str(ws.root.resolve()),
            "model_manifest_sha": file_hash(ws.model / "manifest.json")}
    write_parquet(output, table, meta)
    return {"output": str(output), "users": int(has.sum()),
            "users_without_vector": int((~has).sum()), "events_used": int(known.sum()),
            "events_without_vector": int((~known).sum()), "half_life_seconds": hl,
            "dim": int(uvec.shape[1]), "center": center}


@checked(RECOMMEND)
def recommend(user, *, workdir=None, k: int = RECOMMEND.defaults.k, user_vectors_path=None,
              logs=None, keep_seen: bool = False, cold: bool = False) -> dict:
    """Top-k items for one user by cosine to the user's vector, leaving out items seen;
    ``cold`` also ranks the cold-start items of an EGES/GES model (flagged)."""
    ws = Workspace(workdir)
    path = Path(user_vectors_path) if user_vectors_path else ws.root / USER_VECTORS_FILE
    if not path.exists():
        raise GraphembError(f"{path}: not found; run `graphemb user-vectors LOGS` first.")
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as exc:
        raise GraphembError(f"{path}: unreadable ({exc}); rerun `graphemb user-vectors LOGS`.") \
            from None
    meta = parquet_meta(table)
    items = ItemVectors.load(workdir)
    if meta.get("model_manifest_sha") not in (None, file_hash(ws.model / "manifest.json")):
        raise GraphembError(f"{path}: stale, the model was retrained after it was written; "
                            "rerun `graphemb user-vectors LOGS`.")
    users = np.asarray(pc.cast(table.column("user_id"), pa.string()).to_numpy(
        zero_copy_only=False), dtype=object)
    row = np.flatnonzero(users == str(user).strip())
    if not len(row):
        raise GraphembError(f"user {user!r} is not in {path}; check the id (users whose items "
                            "all lack vectors are left out).")
    uvec = vector_matrix(table.column("vector"))[row[0]]
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
            nodes = item_nodes(ev["items"].filter(pa.array(mine)), items.ids)
            seen = np.unique(nodes[nodes >= 0])
    if cold:
        items = items.with_cold_start()
    masked = (np.array([0, len(seen)]), seen)
    idx, val = exact_search(normalize(uvec[None, :]), items.unit(meta.get("center", True)), k,
                            masked=masked, valid=items.has_vector)
    found = idx[0][idx[0] >= 0]
    return {"user": str(user), "k": k, "items": [items.ids[j] for j in found],
            "scores": [float(s) for s in val[0][idx[0] >= 0]], "seen_excluded": int(len(seen)),
            "cold_start": [bool(f) for f in items.cold_start[found]]}
