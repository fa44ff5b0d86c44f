"""Next-item recall: each user's last event(s) held out, the pipeline rebuilt on the rest, the
whole catalogue ranked by the previous item, by the user vector and by popularity."""
from __future__ import annotations

import time

import numpy as np

from ..errors import GraphembError
from ..options import NEXT_ITEM, checked
from ..io.ids import id_positions
from ..recommendation import decay_weights, half_life_seconds, mean_history_vectors, read_events
from ..search import block_rows, normalize
from ..workspace import Workspace, read_manifest
from .common import current_options, format_table, temporary_workspace, walk_train
from .metrics import KS, hit_rate_curve, ranking_metrics, target_ranks
from .plots import check_plot, with_plot


def split_last_events(user_codes: np.ndarray, times: np.ndarray, holdout: int = 1):
    """Per user, the last ``holdout`` events (by time, file order breaking ties) are test.

    Returns (order: event indices sorted by user then time, is_test mask over that order,
    is_query mask: each test user's last training event). Users with no more than
    ``holdout`` events keep all of them for training and are not tested.
    """
    order = np.lexsort((times, user_codes))
    u = user_codes[order]
    n = len(u)
    starts = np.r_[True, u[1:] != u[:-1]] if n else np.zeros(0, bool)
    first = np.maximum.accumulate(np.where(starts, np.arange(n), 0))
    ends = np.r_[u[1:] != u[:-1], True] if n else np.zeros(0, bool)
    last = np.minimum.accumulate(np.where(ends, np.arange(n), n)[::-1])[::-1]
    size = last - first + 1
    from_end = last - np.arange(n)
    testable = size > holdout
    is_test = testable & (from_end < holdout)
    is_query = testable & (from_end == holdout)
    return order, is_test, is_query


@checked(NEXT_ITEM)
def next_item(logs=None, *, workdir=None, holdout: int = NEXT_ITEM.defaults.holdout, ks=KS,
              exclude_history=False, center: bool = NEXT_ITEM.defaults.center, half_life=None, graph_options=None, walk_options=None,
              train_options=None, quiet: bool = True, keep_workdir: bool = False, plot=None) -> dict:
    """Hold out each user's last event(s), build graph/walk/train on the rest, and rank the
    whole catalogue for each user by (a) cosine to the previous item, (b) cosine to the
    user's vector (mean of history item vectors, optionally time-decayed), (c) popularity.
    Similarities are cosines in vectors.item_space (centred unless ``center`` is False),
    as in `similar` and `recommend`. ``plot``: also draw HitRate@K against K into this PNG
    (checked before anything runs)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    import scipy.sparse as sp

    from .. import pipeline
    from ..io.ids import factorize

    t0 = time.perf_counter()
    if plot is not None:
        check_plot(plot, "next-item")
    hl = half_life_seconds(half_life)
    options = current_options(workdir, walk_options, train_options, graph_options)
    g = dict(options["graph"])
    logs = logs or _recorded_logs(workdir)
    dwell_col = g.get("dwell_col")
    if g.get("min_dwell") is not None and not dwell_col:    # guessed as build-graph does
        from ..io.tables import DWELL_COLUMNS, open_table
        header = open_table(logs, g.get("delimiter")).header
        dwell_col = next((c for c in DWELL_COLUMNS if c in header), None)
    ev = read_events(logs, user_col=g.pop("user_col", None), item_col=g.pop("item_col", None),
                     time_col=g.pop("time_col", None), delimiter=g.get("delimiter"),
                     extra_columns=(g.get("weight_col"), g.get("event_col"),
                                    dwell_col))
    order, is_test, is_query = split_last_events(ev["user_codes"], ev["times"], holdout)
    n_events = len(order)
    test_rows, train_rows = order[is_test], order[~is_test]
    if len(test_rows) == 0:
        raise GraphembError(f"{logs}: no user has more than {holdout} event(s); nothing to hold "
                            "out.")
    t_read = time.perf_counter()
    with temporary_workspace(workdir, "next-item", keep_workdir) as tmp:
        train_path = tmp / "train.parquet"
        pq.write_table(ev["table"].take(pa.array(np.sort(train_rows))), train_path)
        gm = pipeline.build_graph(train_path, workdir=tmp, user_col=ev["user_col"],
                                  item_col=ev["item_col"], time_col=ev["time_col"],
                                  **{k: v for k, v in g.items() if k != "delimiter"})
        t_graph = time.perf_counter()
        trained, timings = walk_train(tmp, options, quiet)
    timings["graph_seconds"] = t_graph - t_read

    # Catalogue: every item of the training events. Codes over all events so test items map.
    item_codes, item_values = factorize(ev["items"])
    train_items = item_codes[train_rows]
    in_train = np.zeros(len(item_values), dtype=bool)
    in_train[train_items] = True
    catalogue = np.flatnonzero(in_train)
    cat_of_code = np.full(len(item_values), -1, dtype=np.int64)
    cat_of_code[catalogue] = np.arange(len(catalogue))
    C = len(catalogue)
    node_of_code = id_positions(trained.ids, np.asarray(
        item_values.to_numpy(zero_copy_only=False), dtype=object))
    node_of_cat = node_of_code[catalogue]
    cat_has_vec = node_of_cat >= 0
    cat_has_vec[cat_has_vec] = trained.has_vector[node_of_cat[cat_has_vec]]
    unit = trained.unit(center)
    cat_vecs = np.zeros((C, trained.dim), dtype=np.float32)
    cat_vecs[cat_has_vec] = unit[node_of_cat[cat_has_vec]]
    popularity = np.bincount(cat_of_code[train_items], minlength=C).astype(np.float32)

    # Test users in user order: query item, targets (holdout columns), history.
    ucodes = ev["user_codes"]
    q_rows = order[is_query]
    users = ucodes[q_rows]                              # sorted, one per test user
    query = cat_of_code[item_codes[q_rows]]
    t_users = ucodes[test_rows]
    targets = cat_of_code[item_codes[test_rows]].reshape(-1, holdout)
    assert np.array_equal(t_users.reshape(-1, holdout)[:, 0], users)
    user_row = np.full(int(ucodes.max()) + 1, -1, dtype=np.int64)
    user_row[users] = np.arange(len(users))
    tr_u = user_row[ucodes[train_rows]]
    tr_keep = tr_u >= 0
    hist_u, hist_c = tr_u[tr_keep], cat_of_code[train_items[tr_keep]]
    weights = None if hl is None else decay_weights(hist_u, ev["times"][train_rows][tr_keep], hl)
    user_vecs, user_has = mean_history_vectors(hist_u, hist_c, cat_vecs, cat_has_vec, len(users),
                                               weights)
    user_vecs = normalize(user_vecs)
    history = sp.csr_matrix((np.ones(len(hist_u)), (hist_u, hist_c)), shape=(len(users), C))
    history.sum_duplicates()

    methods = {"graphemb: previous item": lambda lo, hi: cat_vecs[query[lo:hi]] @ cat_vecs.T,
               "graphemb: user vector": lambda lo, hi: user_vecs[lo:hi] @ cat_vecs.T,
               "most popular": lambda lo, hi: np.broadcast_to(popularity, (hi - lo, C)).copy()}
    ranks = {name: np.empty(targets.shape) for name in methods}
    step = block_rows(C)
    t_rank = time.perf_counter()
    for lo in range(0, len(users), step):  # a loop over blocks of users
        hi = min(len(users), lo + step)
        rows = np.arange(hi - lo)
        for name, scorer in methods.items():
            s = scorer(lo, hi).astype(np.float32)
            if name.startswith("graphemb"):
                s[:, ~cat_has_vec] = -np.inf         # items without a vector cannot be ranked
            s[rows, query[lo:hi]] = -np.inf            # never recommend the query item itself
            if exclude_history:
                block = history[lo:hi]
                s[np.repeat(rows, np.diff(block.indptr)), block.indices] = -np.inf
            ranks[name][lo:hi] = target_ranks(s, targets[lo:hi])
    timings["rank_seconds"] = time.perf_counter() - t_rank
    metrics = {name: ranking_metrics(r, ks) for name, r in ranks.items()}
    curve_k = list(range(1, max(ks) + 1))
    hit_curve = {"k": curve_k, "methods": {name: hit_rate_curve(r, len(curve_k)).tolist()
                                           for name, r in ranks.items()}}
    timings["total_seconds"] = time.perf_counter() - t0
    result = {"task": "next-item", "metrics": metrics, "hit_curve": hit_curve,
            "counts": {"events": n_events, "test_users": int(len(users)),
                       "held_out_events": int(len(test_rows)), "catalogue": int(C),
                       "catalogue_with_vector": int(cat_has_vec.sum()),
                       "targets_not_in_catalogue": int((targets < 0).sum()),
                       "targets_without_vector": int(((targets >= 0) &
                                                      ~cat_has_vec[np.clip(targets, 0, None)])
                                                     .sum()),
                       "graph_nodes": gm["counts"]["nodes"], "graph_edges": gm["counts"]["edges"]},
            "params": {"logs": str(logs), "holdout": holdout, "ks": list(ks),
                       "exclude_history": exclude_history, "center": center,
                       "half_life_seconds": hl, "graph": options["graph"],
                       "walk": options["walk"], "train": options["train"]},
            "timings": timings}
    return with_plot(plot, result)


def _recorded_logs(workdir) -> str:
    ws = Workspace(workdir)
    try:
        params = read_manifest(ws.graph, "graph")["params"]
    except GraphembError:
        params = {}
    if not params.get("logs"):
        raise GraphembError("give the log file (graphemb evaluate next-item LOGS); the workspace "
                            "graph does not name one.")
    return params["logs"]


def next_item_table(result: dict) -> str:
    ks = result["params"]["ks"]
    headers = ["method"] + [f"{m}@{k}" for k in ks for m in ("HR", "Recall")] + ["MRR"]
    rows = []
    for name, m in result["metrics"].items():
        rows.append([name] + [m[f"{x}@{k}"] for k in ks for x in ("hit", "recall")] + [m["mrr"]])
    return format_table(headers, rows)
