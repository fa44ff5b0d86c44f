"""Evaluation of the vectors: link prediction, node classification and next-item recall.

Each task returns a plain dict of results (also written as JSON under ``workdir/eval/``).
Link prediction and next-item re-run the pipeline (walk, train; and build-graph for next-item)
on a reduced input in a temporary workspace, so they measure the whole pipeline with the
options in force. The metric functions at the top are small pure functions over arrays.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from numba import njit

from .errors import GraphembError, require
from .ingest.edges import graph_from_adjacency, read_mat  # noqa: F401 (graphemb.evaluate.*)
from .io.ids import id_positions
from .neighbors import (block_rows, decay_weights, item_space, mean_history_vectors, normalize,
                        read_events)
from .workspace import Workspace, read_manifest, write_manifest

KS = (10, 20, 50)
DEFAULT_RATIOS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)

# ---------------------------------------------------------------------------------------------
# Metrics (pure functions)


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney); tied scores count one half."""
    from scipy.stats import rankdata

    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores, dtype=np.float64)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(scores)  # average ranks for ties
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def top_k_predictions(scores: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Binary matrix with the k[i] highest-scoring labels of row i set (ties by label order)."""
    scores = np.asarray(scores, dtype=np.float64)
    order = np.argsort(-scores, axis=1, kind="stable")
    position = np.empty_like(order)
    np.put_along_axis(position, order, np.arange(scores.shape[1])[None, :].repeat(len(scores), 0),
                      axis=1)
    return position < np.asarray(k)[:, None]


def f1_scores(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[float, float]:
    """(Micro-F1, Macro-F1) of binary indicator matrices; a label with no true and no
    predicted positive scores 0 in the macro average (scikit-learn's zero_division=0)."""
    t = np.asarray(y_true).astype(bool)
    p = np.asarray(y_pred).astype(bool)
    tp = (t & p).sum(0).astype(np.float64)
    fp = (~t & p).sum(0).astype(np.float64)
    fn = (t & ~p).sum(0).astype(np.float64)
    denom = 2 * tp + fp + fn
    per_label = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    micro_denom = 2 * tp.sum() + fp.sum() + fn.sum()
    micro = 2 * tp.sum() / micro_denom if micro_denom > 0 else 0.0
    return float(micro), float(per_label.mean())


def target_ranks(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """1-based position of each target in its row's full ranking (best = 1).

    scores (B, C); targets (B, H) column indices, -1 for a target that cannot be ranked (not
    in the catalogue). Ties are broken by column order. Unrankable targets and targets scored
    -inf (excluded, or without a vector) get rank inf.
    """
    scores = np.asarray(scores)
    targets = np.asarray(targets).reshape(len(scores), -1)
    idx = np.clip(targets, 0, None)
    ts = np.take_along_axis(scores, idx, 1)
    cols = np.arange(scores.shape[1])[None, :]
    ranks = np.empty(targets.shape, dtype=np.float64)
    for h in range(targets.shape[1]):  # a loop over held-out positions (usually one)
        t = ts[:, h:h + 1]
        ahead = (scores > t) | ((scores == t) & (cols < idx[:, h:h + 1]))
        ranks[:, h] = ahead.sum(1) + 1
    ranks[(targets < 0) | ~np.isfinite(ts)] = np.inf
    return ranks


def ranking_metrics(ranks: np.ndarray, ks=KS) -> dict:
    """HitRate@K (any held-out item in the top K), Recall@K (share of held-out items in the top
    K) and MRR (reciprocal rank of the best-placed held-out item, full ranking), averaged over
    users. ranks: (users, held-out) 1-based, inf = not found, nan = no such held-out item."""
    ranks = np.asarray(ranks, dtype=np.float64).reshape(len(ranks), -1)
    present = ~np.isnan(ranks)
    r = np.where(present, ranks, np.inf)
    n_rel = present.sum(1)
    users = n_rel > 0
    out = {}
    for k in ks:
        inside = r <= k
        out[f"hit@{k}"] = float(inside.any(1)[users].mean()) if users.any() else float("nan")
        recall = inside.sum(1)[users] / n_rel[users]
        out[f"recall@{k}"] = float(recall.mean()) if users.any() else float("nan")
    best = r.min(1)[users]
    out["mrr"] = float((1.0 / best).mean()) if users.any() else float("nan")
    return out


# ---------------------------------------------------------------------------------------------
# Shared plumbing


def format_table(headers, rows) -> str:
    """A plain aligned text table; floats with 4 decimals."""
    cells = [[_cell(x) for x in row] for row in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    line = "  ".join(f"{h:>{w}}" if i else f"{h:<{w}}" for i, (h, w) in
                     enumerate(zip(headers, widths)))
    out = [line, "  ".join("-" * w for w in widths)]
    for r in cells:
        out.append("  ".join(f"{c:>{w}}" if i else f"{c:<{w}}" for i, (c, w) in
                             enumerate(zip(r, widths))))
    return "\n".join(out)


def _cell(x) -> str:
    if isinstance(x, (float, np.floating)):
        return "nan" if np.isnan(x) else f"{x:.4f}"
    return str(x)


WALK_KEYS = ("num_walks", "walk_length", "p", "q", "seed", "workers")
TRAIN_KEYS = ("dim", "window", "epochs", "negative", "sg", "hs", "ns_exponent", "sample",
              "min_count", "alpha", "workers", "seed", "trainer")
GRAPH_KEYS = ("session_gap", "undirected", "min_item_count", "max_user_events", "weight_col",
              "event_col", "event_weights", "user_col", "item_col", "time_col", "delimiter")


def current_options(workdir=None, walk=None, train=None, graph=None) -> dict:
    """The options in force: those given, else those recorded in the workspace's manifests
    (graph/, walks/, model/, including the trainer, gensim or numba), else the pipeline
    defaults (by leaving them out)."""
    ws = Workspace(workdir)
    recorded = {}
    for stage, folder in (("graph", ws.graph), ("walks", ws.walks), ("model", ws.model)):
        try:
            recorded[stage] = read_manifest(folder, stage)["params"]
        except GraphembError:
            recorded[stage] = {}
    g = {k: v for k, v in recorded["graph"].items() if k in GRAPH_KEYS}
    if "session_gap_seconds" in recorded["graph"]:
        g["session_gap"] = recorded["graph"]["session_gap_seconds"]
    w = {k: v for k, v in recorded["walks"].items() if k in WALK_KEYS}
    t = {k: v for k, v in recorded["model"].items() if k in TRAIN_KEYS}
    method = recorded["model"].get("method", "word2vec")
    if method == "word2vec":      # gensim
        t["trainer"] = "gensim"
    elif method == "skipgram":    # plain skip-gram with the Numba trainer
        t["trainer"] = "numba"
    else:                         # EGES/GES: evaluation retrains plain skip-gram with defaults
        t = {}
    if t and t.get("trainer") == "numba":
        t.pop("min_count", None)
    g.update({k: v for k, v in (graph or {}).items() if v is not None})
    w.update({k: v for k, v in (walk or {}).items() if v is not None})
    t.update({k: v for k, v in (train or {}).items() if v is not None})
    return {"graph": g, "walk": w, "train": t}


@contextmanager
def temporary_workspace(workdir, task: str, keep: bool = False):
    root = Workspace(workdir).root / "eval"
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{task}-{os.getpid()}-", dir=root))  # pid: orphans
    try:
        yield tmp
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)


def _write_graph(tmp_ws: Path, graph, params: dict, counts: dict) -> None:
    ws = Workspace(tmp_ws)
    with ws.writing("graph") as folder:
        graph.save(folder)
        write_manifest(folder, "graph", params, {}, counts, {})


def _walk_train(tmp_ws, options, quiet):
    from . import pipeline

    t0 = time.perf_counter()
    pipeline.walk(workdir=tmp_ws, quiet=quiet, **options["walk"])
    t1 = time.perf_counter()
    pipeline.train(workdir=tmp_ws, quiet=quiet, **options["train"])
    t2 = time.perf_counter()
    ids, vectors, has_vector, _ = pipeline.load_vectors(tmp_ws)
    return ids, vectors, has_vector, {"walk_seconds": t1 - t0, "train_seconds": t2 - t1}


def _sklearn(module: str, verb: str):
    return require("sklearn." + module, "eval", f"`graphemb {verb}` (scikit-learn)")


def _suppress_sklearn_noise():
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    try:
        from sklearn.exceptions import ConvergenceWarning, UndefinedMetricWarning
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        warnings.filterwarnings("ignore", category=UndefinedMetricWarning)
    except ImportError:  # pragma: no cover
        pass


# ---------------------------------------------------------------------------------------------
# Link prediction
#
# The node2vec paper's protocol: hold out a share of the edges chosen at random among those
# that are not in a random spanning forest (so the residual graph has the same connected
# components), train the embedding on the residual graph only, and tell the held-out edges
# from as many non-edges of the full graph. The held-out pairs are split in two: the
# Hadamard + logistic-regression classifier is fitted on one half, and every scorer (the
# embedding ones and the non-embedding baselines on the residual graph) is measured on the
# other half, the same pairs for all.

NEGATIVES = ("uniform", "degree")
SCORERS = {  # name in the results -> (kind, label in the table)
    "centred_cosine": ("embedding", "cosine, centred"),
    "dot": ("embedding", "dot product"),
    "hadamard_logreg": ("embedding", "Hadamard + logistic regression"),
    "popularity": ("baseline", "popularity deg(u)*deg(v)"),
    "common_neighbours": ("baseline", "common neighbours"),
    "adamic_adar": ("baseline", "Adamic-Adar"),
}


def undirected_keys(graph) -> np.ndarray:
    """Sorted distinct keys u * n + v (u < v) of the graph's edges taken as undirected;
    self-loops left out."""
    n = graph.num_nodes
    src = np.repeat(np.arange(n, dtype=np.int64), np.diff(graph.indptr))
    dst = np.asarray(graph.indices, dtype=np.int64)
    ok = src != dst
    return np.unique(np.minimum(src, dst)[ok] * n + np.maximum(src, dst)[ok])


def spanning_forest(n: int, u: np.ndarray, v: np.ndarray, rng) -> np.ndarray:
    """Mask of the undirected edges (u[i], v[i]) (distinct, u < v) that form a random
    spanning forest: one spanning tree per connected component, the minimum spanning tree
    under random weights."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import minimum_spanning_tree

    if len(u) == 0:
        return np.zeros(0, dtype=bool)
    w = rng.uniform(1.0, 2.0, len(u))                 # never 0: 0 would mean "no edge"
    tree = minimum_spanning_tree(coo_matrix((w, (u, v)), shape=(n, n)).tocsr()).tocoo()
    lo, hi = np.minimum(tree.row, tree.col), np.maximum(tree.row, tree.col)
    return np.isin(np.asarray(u, np.int64) * n + v, lo.astype(np.int64) * n + hi)


def components(n: int, keys: np.ndarray) -> np.ndarray:
    """Connected-component label per node of the undirected graph given by edge keys."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    adj = coo_matrix((np.ones(len(keys)), (keys // n, keys % n)), shape=(n, n))
    return connected_components(adj, directed=False)[1]


def split_edges(graph, test_fraction: float, seed: int = 0):
    """Hold out ``test_fraction`` of the undirected edges, never one of a random spanning
    forest, so the residual graph keeps the connected components of the full graph (and no
    node loses its last edge). When fewer edges lie outside the forest, all of them go.

    Returns (residual graph in the same node numbering (both directions of a held-out pair
    removed), held-out pairs (u, v) with u < v, all undirected edge keys, forest mask over
    those keys).
    """
    from .graph import Graph

    n = graph.num_nodes
    keys = undirected_keys(graph)
    u, v = keys // n, keys % n
    rng = np.random.default_rng(seed)
    forest = spanning_forest(n, u, v, rng)
    candidates = np.flatnonzero(~forest)
    want = min(int(round(test_fraction * len(keys))), len(candidates))
    removed = np.zeros(len(keys), dtype=bool)
    removed[rng.choice(candidates, want, replace=False)] = True
    src = np.repeat(np.arange(n, dtype=np.int64), np.diff(graph.indptr))
    dst = np.asarray(graph.indices, dtype=np.int64)
    keep = ~np.isin(np.minimum(src, dst) * n + np.maximum(src, dst), keys[removed])
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src[keep], minlength=n), out=indptr[1:])
    residual = Graph(indptr, np.ascontiguousarray(np.asarray(graph.indices)[keep]),
                     np.ascontiguousarray(np.asarray(graph.weights)[keep]), graph.node_ids,
                     graph.node_counts, graph.directed)
    return residual, (u[removed], v[removed]), keys, forest


def sample_non_edges(n_nodes: int, count: int, forbidden_keys: np.ndarray, rng,
                     weights: np.ndarray | None = None) -> tuple:
    """``count`` distinct node pairs u < v, not in ``forbidden_keys`` (u * n + v), no self
    pairs. Each endpoint is drawn uniformly, or with probability proportional to ``weights``
    (nodes of weight 0 never drawn)."""
    if weights is None:
        weights = np.ones(n_nodes)
    weights = np.asarray(weights, dtype=np.float64)
    live = weights > 0
    k = int(live.sum())
    forbidden = np.sort(np.asarray(forbidden_keys, dtype=np.int64))
    both_live = live[forbidden // max(n_nodes, 1)] & live[forbidden % max(n_nodes, 1)]
    possible = k * (k - 1) // 2 - int(both_live.sum())
    if count > possible:
        raise GraphembError(f"the graph has only {possible} usable non-edges, {count} are "
                            "needed; use a smaller --test-fraction.")
    if count == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    p = weights / weights.sum()
    keys = np.zeros(0, dtype=np.int64)
    for _ in range(1000):  # rounds of vectorised oversampling
        need = count - len(keys)
        if need <= 0:
            break
        a = rng.choice(n_nodes, 2 * need + 16, p=p)
        b = rng.choice(n_nodes, 2 * need + 16, p=p)
        ok = a != b
        cand = np.minimum(a, b)[ok].astype(np.int64) * n_nodes + np.maximum(a, b)[ok]
        if len(forbidden):
            pos = np.searchsorted(forbidden, cand).clip(0, len(forbidden) - 1)
            cand = cand[forbidden[pos] != cand]
        _, first = np.unique(cand, return_index=True)
        cand = cand[np.sort(first)]
        keys = np.concatenate([keys, cand[~np.isin(cand, keys)]])[:count]
    if len(keys) < count:
        raise GraphembError(f"found only {len(keys)} of the {count} non-edges needed; the "
                            "graph is too dense for these negatives, use a smaller "
                            "--test-fraction.")
    return keys // n_nodes, keys % n_nodes


def negative_weights(kind: str, n: int, keys: np.ndarray, pos_u, pos_v,
                     iterations: int = 50) -> np.ndarray:
    """Endpoint weights of the negatives (for ``sample_non_edges``).

    ``uniform``: every node with an edge alike. ``degree``: each endpoint in proportion to
    its degree among the held-out edges, so that the negatives' endpoints have the degree
    distribution of the positives' and popularity alone cannot tell them apart. Because
    pairs that are edges (more often between high-degree nodes) are rejected, plain degree
    weights would give negatives of lower degree; the weights are therefore rescaled
    (iterative proportional fitting, one sparse product per round) until the expected
    endpoint distribution of the accepted pairs equals the positives'.
    """
    if kind == "uniform":
        return (np.bincount(keys // n, minlength=n) + np.bincount(keys % n, minlength=n) > 0
                ).astype(np.float64)
    if kind != "degree":
        raise GraphembError(f"--negatives must be one of {', '.join(NEGATIVES)} "
                            f"(got {kind!r}).")
    target = (np.bincount(pos_u, minlength=n) + np.bincount(pos_v, minlength=n)
              ).astype(np.float64)
    if target.sum() == 0:
        return target
    target /= target.sum()
    adj = adjacency(n, keys)
    w = target.copy()
    for _ in range(iterations):
        # P(endpoint a) of an accepted pair ~ w(a) * (mass of a's non-neighbours but itself)
        partner = np.maximum(1.0 - w - adj @ w, 1e-12)
        marginal = w * partner
        marginal /= marginal.sum()
        if np.abs(marginal - target).sum() < 1e-9:
            break
        w = np.where(target > 0, target / partner, 0.0)
        w /= w.sum()
    return w


def adjacency(n: int, keys: np.ndarray):
    """Binary symmetric CSR adjacency (sorted rows) of the undirected edges ``keys``."""
    import scipy.sparse as sp

    u, v = keys // n, keys % n
    adj = sp.csr_matrix((np.ones(2 * len(keys), dtype=np.float32),
                         (np.r_[u, v], np.r_[v, u])), shape=(n, n))
    adj.sum_duplicates()
    adj.sort_indices()
    return adj


@njit(cache=True)
def _shared_neighbour_sums(indptr, indices, a, b, node_weight):
    """For each pair (a[i], b[i]): the sum of node_weight over their common neighbours
    (merge of the two sorted neighbour lists)."""
    out = np.zeros(a.shape[0], dtype=np.float64)
    for i in range(a.shape[0]):
        p, pe = indptr[a[i]], indptr[a[i] + 1]
        q, qe = indptr[b[i]], indptr[b[i] + 1]
        s = 0.0
        while p < pe and q < qe:
            x, y = indices[p], indices[q]
            if x == y:
                s += node_weight[x]
                p += 1
                q += 1
            elif x < y:
                p += 1
            else:
                q += 1
        out[i] = s
    return out


def baseline_scores(n: int, residual_keys: np.ndarray, a: np.ndarray, b: np.ndarray) -> dict:
    """Non-embedding link scores on the residual graph (edges as undirected, unweighted):
    popularity deg(u) * deg(v), common neighbours, and Adamic-Adar (sum of 1 / log deg(w)
    over common neighbours w)."""
    adj = adjacency(n, residual_keys)
    deg = np.diff(adj.indptr).astype(np.float64)
    indptr, indices = adj.indptr.astype(np.int64), adj.indices.astype(np.int64)
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    inv_log = np.zeros(n)
    inv_log[deg > 1] = 1.0 / np.log(deg[deg > 1])   # a common neighbour has degree >= 2
    return {"popularity": deg[a] * deg[b],
            "common_neighbours": _shared_neighbour_sums(indptr, indices, a, b, np.ones(n)),
            "adamic_adar": _shared_neighbour_sums(indptr, indices, a, b, inv_log)}


def embedding_scores(vectors: np.ndarray, has_vector: np.ndarray, a, b) -> dict:
    """Unsupervised embedding link scores: cosine after subtracting the mean vector of the
    nodes that have one (as `similar` does), and the raw dot product. A node without a
    vector scores 0."""
    from .neighbors import item_space

    raw = np.where(has_vector[:, None], vectors, 0).astype(np.float64)
    unit = np.asarray(item_space(vectors, has_vector, center=True), dtype=np.float64)
    return {"centred_cosine": (unit[a] * unit[b]).sum(1), "dot": (raw[a] * raw[b]).sum(1)}


def hadamard_logreg_scores(vectors, has_vector, train_pairs, train_y, a, b) -> np.ndarray:
    """Logistic regression on Hadamard products u * v, fitted on ``train_pairs`` (a, b)."""
    LogisticRegression = _sklearn("linear_model", "evaluate link-prediction").LogisticRegression

    raw = np.where(has_vector[:, None], vectors, 0).astype(np.float64)
    _suppress_sklearn_noise()
    clf = LogisticRegression(max_iter=2000)
    clf.fit(raw[train_pairs[0]] * raw[train_pairs[1]], train_y)
    return clf.decision_function(raw[a] * raw[b])


def half_split(n_items: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """A random split of range(n_items) into two halves (the first gets the odd one out)."""
    perm = rng.permutation(n_items)
    return perm[:(n_items + 1) // 2], perm[(n_items + 1) // 2:]


def link_prediction(*, workdir=None, test_fraction: float = 1 / 3, negatives: str = "uniform",
                    seed: int = 0, walk_options=None, train_options=None, quiet: bool = True,
                    keep_workdir: bool = False) -> dict:
    """node2vec-paper link prediction on the workspace graph (see the notes above): AUC of
    every scorer on the same held-out pairs. With ``keep_workdir`` the temporary workspace
    (residual graph, walks, model, and pairs.npz with the held-out edges, the non-edges and
    the classifier-train and test pairs) is kept and named in the result as
    ``kept_workdir``."""
    from .pipeline import load_graph

    _sklearn("linear_model", "evaluate link-prediction")     # before any retraining

    if not 0 < test_fraction < 1:
        raise GraphembError(f"--test-fraction must be between 0 and 1 (got {test_fraction}).")
    if negatives not in NEGATIVES:
        raise GraphembError(f"--negatives must be one of {', '.join(NEGATIVES)} "
                            f"(got {negatives!r}).")
    t0 = time.perf_counter()
    graph, gmanifest = load_graph(workdir, mmap=False)
    options = current_options(workdir, walk_options, train_options)
    n = graph.num_nodes
    residual, (pos_u, pos_v), keys, forest = split_edges(graph, test_fraction, seed)
    n_pos = len(pos_u)
    if n_pos < 2:
        raise GraphembError(f"only {n_pos} edge(s) lie outside a spanning forest of the graph; "
                            "it is too sparse for link prediction.")
    rng = np.random.default_rng(seed + 1)
    weights = negative_weights(negatives, n, keys, pos_u, pos_v)
    neg_u, neg_v = sample_non_edges(n, n_pos, keys, rng, weights)
    # classifier-train / test halves, each with half the positives and half the negatives
    pos_tr, pos_te = half_split(n_pos, rng)
    neg_tr, neg_te = half_split(n_pos, rng)
    tr_a = np.r_[pos_u[pos_tr], neg_u[neg_tr]]
    tr_b = np.r_[pos_v[pos_tr], neg_v[neg_tr]]
    tr_y = np.r_[np.ones(len(pos_tr)), np.zeros(len(neg_tr))]
    a = np.r_[pos_u[pos_te], neg_u[neg_te]]
    b = np.r_[pos_v[pos_te], neg_v[neg_te]]
    y = np.r_[np.ones(len(pos_te)), np.zeros(len(neg_te))]
    residual_keys = keys[~np.isin(keys, pos_u * n + pos_v)]
    t_split = time.perf_counter()
    with temporary_workspace(workdir, "link-prediction", keep_workdir) as tmp:
        params = dict(gmanifest["params"], derived_from=str(Workspace(workdir).graph),
                      held_out_edges=n_pos)
        _write_graph(tmp, residual, params, {"nodes": residual.num_nodes,
                                             "edges": residual.num_edges})
        np.savez(tmp / "pairs.npz", held_out_u=pos_u, held_out_v=pos_v, non_edge_u=neg_u,
                 non_edge_v=neg_v, classifier_a=tr_a, classifier_b=tr_b, classifier_y=tr_y,
                 test_a=a, test_b=b, test_y=y)
        _, vectors, has_vector, timings = _walk_train(tmp, options, quiet)
    t_score = time.perf_counter()
    scores = embedding_scores(vectors, has_vector, a, b)
    scores["hadamard_logreg"] = hadamard_logreg_scores(vectors, has_vector, (tr_a, tr_b), tr_y,
                                                       a, b)
    scores.update(baseline_scores(n, residual_keys, a, b))
    results = {name: auc(y, scores[name]) for name in SCORERS}
    deg = np.bincount(keys // n, minlength=n) + np.bincount(keys % n, minlength=n)
    out = {"task": "link-prediction", "auc": results,
           "scorers": {name: kind for name, (kind, _) in SCORERS.items()},
           "counts": {"nodes": n, "nodes_with_edges": int((deg > 0).sum()),
                      "undirected_edges": int(len(keys)),
                      "spanning_forest_edges": int(forest.sum()),
                      "held_out_edges": n_pos,
                      "held_out_requested": int(round(test_fraction * len(keys))),
                      "residual_edges": int(len(residual_keys)),
                      "classifier_train_pairs": int(len(tr_y)),
                      "test_edges": int(len(pos_te)), "test_non_edges": int(len(neg_te)),
                      "nodes_without_vector": int((~has_vector[deg > 0]).sum())},
           "params": {"test_fraction": test_fraction, "negatives": negatives, "seed": seed,
                      "graph": gmanifest["params"], "walk": options["walk"],
                      "train": options["train"]},
           "timings": {"split_seconds": t_split - t0, **timings,
                       "score_seconds": time.perf_counter() - t_score,
                       "total_seconds": time.perf_counter() - t0}}
    if keep_workdir:
        out["kept_workdir"] = str(tmp)
    return out


def link_prediction_table(result: dict) -> str:
    rows = [(SCORERS[name][1] if name in SCORERS else name, kind, result["auc"][name])
            for name, kind in result.get("scorers", {k: "" for k in result["auc"]}).items()]
    return format_table(["scorer", "kind", "AUC"], rows)


# ---------------------------------------------------------------------------------------------
# Node classification


def sniff_label_delimiter(path) -> str | None:
    """The delimiter of a node/label file from its first non-empty line: a comma, a tab, or
    None for runs of spaces (as in the node2vec/Cora label files)."""
    import gzip

    opener = gzip.open if str(path).lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.strip():
                    break
            else:
                return ","
    except OSError as exc:
        raise GraphembError(f"{path}: cannot read the label file ({exc}).") from None
    for sep in ("\t", ","):
        if sep in line:
            return sep
    return None


def read_labels(path, node_ids: np.ndarray):
    """node,label rows (header optional, several rows per node allowed; comma-, tab- or
    space-separated, sniffed from the first line) -> (node indices, binary label matrix,
    label names, rows skipped because the node has no vector)."""
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise GraphembError(f"{path}: no such file; give node,label rows.")
    sep = sniff_label_delimiter(path)
    try:
        table = pd.read_csv(path, sep=r"\s+" if sep is None else sep, header=None,
                            names=["node", "label"], usecols=[0, 1], dtype=str,
                            keep_default_na=False, skip_blank_lines=True,
                            engine="python" if sep is None else "c")
    except (ValueError, OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise GraphembError(f"{path}: cannot read node,label rows "
                            f"({str(exc).strip().splitlines()[0]}).") from None
    nodes = table["node"].fillna("").str.strip().to_numpy(dtype=str)
    labels = table["label"].fillna("").str.strip().to_numpy(dtype=str)
    ok = (nodes != "") & (labels != "")
    nodes, labels = nodes[ok], labels[ok]
    pos = id_positions(node_ids, np.char.strip(nodes.astype(str)))
    if len(pos) and pos[0] < 0 and nodes[0].strip().lower() in ("node", "item", "item_id", "id",
                                                                "node_id", "item"):
        pos, labels = pos[1:], labels[1:]          # a header line
    if not (pos >= 0).any():
        raise GraphembError(f"{path}: none of the nodes is in the model; the first column must "
                            "hold item ids as in the log.")
    unknown = int((pos < 0).sum())
    pos, labels = pos[pos >= 0], labels[pos >= 0]
    names, lab_codes = np.unique(labels, return_inverse=True)
    nodes_u, row = np.unique(pos, return_inverse=True)
    y = np.zeros((len(nodes_u), len(names)), dtype=bool)
    y[row, lab_codes] = True
    return nodes_u, y, [str(x) for x in names], unknown


def classify(vectors: np.ndarray, y: np.ndarray, ratios=DEFAULT_RATIOS, repeats: int = 10,
             seed: int = 0, C: float = 1.0) -> list[dict]:
    """One-vs-rest logistic regression; each test node gets its top-k labels, k = its true
    label count; Micro/Macro-F1 averaged over ``repeats`` random splits per train ratio."""
    LogisticRegression = _sklearn("linear_model", "evaluate node-classification").LogisticRegression
    OneVsRestClassifier = _sklearn("multiclass", "evaluate node-classification").OneVsRestClassifier

    _suppress_sklearn_noise()
    rng = np.random.default_rng(seed)
    n = len(vectors)
    rows = []
    for ratio in ratios:
        micro, macro = [], []
        for _ in range(repeats):
            perm = rng.permutation(n)
            n_train = int(round(ratio * n))
            tr, te = perm[:n_train], perm[n_train:]
            if len(te) == 0 or n_train == 0:
                raise GraphembError(f"train ratio {ratio} leaves no training or test nodes.")
            ytr = y[tr]
            usable = ytr.any(0) & ~ytr.all(0)      # labels with both classes in training
            scores = np.full((len(te), y.shape[1]), -np.inf)
            scores[:, ytr.all(0)] = np.inf
            if usable.any():
                clf = OneVsRestClassifier(LogisticRegression(solver="liblinear", C=C))
                clf.fit(vectors[tr], ytr[:, usable].astype(int))
                scores[:, usable] = clf.predict_proba(vectors[te]).reshape(len(te), -1)
            pred = top_k_predictions(scores, y[te].sum(1))
            mi, ma = f1_scores(y[te], pred)
            micro.append(mi)
            macro.append(ma)
        rows.append({"train_ratio": ratio, "micro_f1": float(np.mean(micro)),
                     "macro_f1": float(np.mean(macro)), "micro_f1_std": float(np.std(micro)),
                     "macro_f1_std": float(np.std(macro)), "repeats": repeats})
    return rows


def node_classification(labels, *, workdir=None, ratios=DEFAULT_RATIOS, repeats: int = 10,
                        seed: int = 0, walk_options=None, train_options=None,
                        quiet: bool = True) -> dict:
    """Node classification on the workspace vectors (node,label file), or, for a .mat file
    with `network` and `group`, on vectors trained from that network in a temporary workspace
    with the options in force."""
    from .pipeline import load_vectors

    _sklearn("linear_model", "evaluate node-classification")

    t0 = time.perf_counter()
    labels = Path(labels)
    params = {"labels": str(labels), "ratios": list(ratios), "repeats": repeats, "seed": seed}
    timings = {}
    if labels.name.lower().endswith(".mat"):
        if not labels.exists():
            raise GraphembError(f"{labels}: no such file.")
        adj, group = read_mat(labels)
        graph, isolated = graph_from_adjacency(adj)
        options = current_options(workdir, walk_options, train_options)
        with temporary_workspace(workdir, "node-classification") as tmp:
            _write_graph(tmp, graph, {"undirected": True, "edges": str(labels),
                                      "session_gap_seconds": None, "min_item_count": 1,
                                      "max_user_events": None, "weight_col": None,
                                      "event_col": None, "event_weights": None},
                         {"nodes": graph.num_nodes, "edges": graph.num_edges,
                          "items_without_edges": isolated})
            ids, vectors, has_vector, timings = _walk_train(tmp, options, quiet)
        nodes = np.flatnonzero(has_vector)
        y = group[np.asarray(ids[nodes], dtype=np.int64)]
        unknown = int(group.shape[0] - len(nodes))
        names = [str(i) for i in range(group.shape[1])]
        params.update(walk=options["walk"], train=options["train"])
    else:
        ids, vectors, has_vector, manifest = load_vectors(workdir)
        nodes, y, names, unknown = read_labels(labels, ids)
        without = ~has_vector[nodes]
        unknown += int(without.sum())
        nodes, y = nodes[~without], y[~without]
        params["model"] = manifest["params"]
    if len(nodes) < 4:
        raise GraphembError(f"{labels}: only {len(nodes)} labelled nodes have vectors; need more.")
    has_label = y.any(1)
    nodes, y = nodes[has_label], y[has_label]
    x = np.asarray(vectors, dtype=np.float64)[nodes]
    t1 = time.perf_counter()
    rows = classify(x, y, ratios, repeats, seed)
    timings.update(classify_seconds=time.perf_counter() - t1,
                   total_seconds=time.perf_counter() - t0)
    return {"task": "node-classification", "results": rows,
            "counts": {"labelled_nodes": int(len(nodes)), "labels": len(names),
                       "label_assignments": int(y.sum()),
                       "labelled_nodes_left_out": unknown},
            "params": params, "timings": timings}


def node_classification_table(result: dict) -> str:
    rows = [(f"{r['train_ratio']:.0%}", r["micro_f1"], r["macro_f1"]) for r in result["results"]]
    return format_table(["train ratio", "Micro-F1", "Macro-F1"], rows)


# ---------------------------------------------------------------------------------------------
# Next-item recall


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


def next_item(logs=None, *, workdir=None, holdout: int = 1, ks=KS, exclude_history=False,
              center: bool = True, half_life=None, graph_options=None, walk_options=None,
              train_options=None, quiet: bool = True, keep_workdir: bool = False) -> dict:
    """Hold out each user's last event(s), build graph/walk/train on the rest, and rank the
    whole catalogue for each user by (a) cosine to the previous item, (b) cosine to the
    user's vector (mean of history item vectors, optionally time-decayed), (c) popularity.
    Similarities are cosines in neighbors.item_space (centred unless ``center`` is False),
    as in `similar` and `recommend`."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    import scipy.sparse as sp

    from . import pipeline
    from .ingest.times import parse_duration
    from .io.ids import factorize

    t0 = time.perf_counter()
    if holdout < 1:
        raise GraphembError("--holdout must be at least 1.")
    hl = None if half_life in (None, "") else parse_duration(half_life)
    if hl is not None and hl <= 0:
        raise GraphembError("--half-life must be > 0, e.g. 7d.")
    options = current_options(workdir, walk_options, train_options, graph_options)
    g = dict(options["graph"])
    logs = logs or _recorded_logs(workdir)
    ev = read_events(logs, user_col=g.pop("user_col", None), item_col=g.pop("item_col", None),
                     time_col=g.pop("time_col", None), delimiter=g.get("delimiter"),
                     extra_columns=(g.get("weight_col"), g.get("event_col")))
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
        ids, vectors, has_vector, timings = _walk_train(tmp, options, quiet)
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
    node_of_code = id_positions(ids, np.asarray(item_values.to_numpy(zero_copy_only=False),
                                                dtype=object))
    node_of_cat = node_of_code[catalogue]
    cat_has_vec = node_of_cat >= 0
    cat_has_vec[cat_has_vec] = has_vector[node_of_cat[cat_has_vec]]
    unit = item_space(vectors, has_vector, center)
    cat_vecs = np.zeros((C, vectors.shape[1]), dtype=np.float32)
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
    timings["total_seconds"] = time.perf_counter() - t0
    return {"task": "next-item", "metrics": metrics,
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
