"""Link prediction, the node2vec paper's protocol, with three baselines that need no
embedding (popularity, common neighbours, Adamic-Adar).

Hold out a share of the edges chosen at random among those that are not in a random spanning
forest (so the residual graph has the same connected components), train the embedding on the
residual graph only, and tell the held-out edges from as many non-edges of the full graph.
The held-out pairs are split in two: the Hadamard + logistic-regression classifier is fitted
on one half, and every scorer (the embedding ones and the baselines on the residual graph) is
measured on the other half, the same pairs for all.
"""
from __future__ import annotations

import time

import numpy as np
from numba import njit

from ..errors import GraphembError
from ..options import LINK_PREDICTION, checked
from ..vectors import item_space
from ..workspace import Workspace
from .common import (current_options, format_table, quiet_sklearn, sklearn_module,
                     needs_walks, temporary_workspace, walk_train, write_graph)
from .metrics import auc
from .plots import check_plot, with_plot

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


def cut_sessions(tokens: np.ndarray, offsets: np.ndarray, n: int, held_out_keys: np.ndarray):
    """Sessions (node indices, CSR) split wherever two consecutive items form a held-out
    edge, so item2vec sees exactly the transitions the residual graph keeps; pieces of
    fewer than two items are dropped. Returns (tokens, offsets)."""
    tokens = np.asarray(tokens, dtype=np.int64)
    offsets = np.asarray(offsets, dtype=np.int64)
    if len(tokens) < 2:
        return tokens[:0].astype(np.int32), np.zeros(1, dtype=np.int64)
    a, b = tokens[:-1], tokens[1:]
    same_session = np.ones(len(a), dtype=bool)
    same_session[offsets[1:-1] - 1] = False      # the last item of a session and the next
    held = same_session & np.isin(np.minimum(a, b) * n + np.maximum(a, b), held_out_keys)
    cuts = np.union1d(offsets, np.flatnonzero(held) + 1)
    length = np.diff(cuts)
    piece = np.repeat(np.arange(len(length)), length)
    keep = length[piece] >= 2
    kept_lengths = length[length >= 2]
    return tokens[keep].astype(np.int32), np.r_[0, np.cumsum(kept_lengths)].astype(np.int64)


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
    from ..graph import Graph

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
    LINK_PREDICTION.negatives.check(kind)           # "degree", or refused as the CLI does
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
    raw = np.where(has_vector[:, None], vectors, 0).astype(np.float64)
    unit = np.asarray(item_space(vectors, has_vector, center=True), dtype=np.float64)
    return {"centred_cosine": (unit[a] * unit[b]).sum(1), "dot": (raw[a] * raw[b]).sum(1)}


def hadamard_logreg_scores(vectors, has_vector, train_pairs, train_y, a, b) -> np.ndarray:
    """Logistic regression on Hadamard products u * v, fitted on ``train_pairs`` (a, b)."""
    verb = "evaluate link-prediction"
    LogisticRegression = sklearn_module("linear_model", verb).LogisticRegression

    raw = np.where(has_vector[:, None], vectors, 0).astype(np.float64)
    quiet_sklearn()
    clf = LogisticRegression(max_iter=2000)
    clf.fit(raw[train_pairs[0]] * raw[train_pairs[1]], train_y)
    return clf.decision_function(raw[a] * raw[b])


def half_split(n_items: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """A random split of range(n_items) into two halves (the first gets the odd one out)."""
    perm = rng.permutation(n_items)
    return perm[:(n_items + 1) // 2], perm[(n_items + 1) // 2:]


@checked(LINK_PREDICTION)
def link_prediction(*, workdir=None, test_fraction: float = LINK_PREDICTION.defaults.test_fraction,
                    negatives: str = LINK_PREDICTION.defaults.negatives, seed: int = 0, walk_options=None, train_options=None, quiet: bool = True,
                    keep_workdir: bool = False, plot=None) -> dict:
    """node2vec-paper link prediction on the workspace graph (see the notes above): AUC of
    every scorer on the same held-out pairs. With ``keep_workdir`` the temporary workspace
    (residual graph, walks, model, and pairs.npz with the held-out edges, the non-edges and
    the classifier-train and test pairs) is kept and named in the result as
    ``kept_workdir``. ``plot``: also draw the AUCs as bars into this PNG (checked before
    anything runs)."""
    from ..pipeline import load_graph

    sklearn_module("linear_model", "evaluate link-prediction")     # before any retraining
    if plot is not None:
        check_plot(plot, "link-prediction")

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
        sessions = None
        if not needs_walks(options["train"]) and options["train"].get("on") == "sessions":
            from ..graph import load_sessions
            kept = load_sessions(Workspace(workdir).graph, mmap=False)
            if kept is not None:     # else train refuses, naming the missing sessions
                sessions = cut_sessions(kept.tokens, kept.offsets, n, pos_u * n + pos_v)
        write_graph(tmp, residual, params, {"nodes": residual.num_nodes,
                                             "edges": residual.num_edges}, sessions)
        np.savez(tmp / "pairs.npz", held_out_u=pos_u, held_out_v=pos_v, non_edge_u=neg_u,
                 non_edge_v=neg_v, classifier_a=tr_a, classifier_b=tr_b, classifier_y=tr_y,
                 test_a=a, test_b=b, test_y=y)
        trained, timings = walk_train(tmp, options, quiet)
    vectors, has_vector = trained.vectors, trained.has_vector
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
    return with_plot(plot, out)


def link_prediction_table(result: dict) -> str:
    rows = [(SCORERS[name][1] if name in SCORERS else name, kind, result["auc"][name])
            for name, kind in result.get("scorers", {k: "" for k in result["auc"]}).items()]
    return format_table(["scorer", "kind", "AUC"], rows)

