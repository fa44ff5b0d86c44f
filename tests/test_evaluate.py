"""Evaluation: metric functions on hand-made cases, and the three tasks on tiny data."""
import json
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp
from click.testing import CliRunner

from graphemb import pipeline
from graphemb.cli import main
from graphemb.errors import GraphembError
from graphemb.evaluation.link_prediction import (baseline_scores, components, negative_weights,
                                                 sample_non_edges, split_edges, undirected_keys)
from graphemb.evaluation.metrics import (auc, f1_scores, ranking_metrics, target_ranks,
                                         top_k_predictions)
from graphemb.evaluation.next_item import split_last_events
from graphemb.evaluation.node_classification import read_labels
from graphemb.graph import Graph, csr_from_edges

from test_neighbors import TINY, cluster, write_clustered_log

FAST = ["--num-walks", "6", "--walk-length", "20", "--dim", "16", "--window", "3",
        "--epochs", "2", "--workers", "1"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny_eval")
    log = write_clustered_log(root / "log.csv", n_users=45, events=10)
    ws = root / "ws"
    pipeline.run(log, workdir=ws, **TINY)
    return log, ws


# --- metrics -----------------------------------------------------------------------------------

def test_auc_hand_cases():
    assert auc([1, 0, 1, 0], [0.9, 0.8, 0.3, 0.1]) == pytest.approx(0.75)
    assert auc([1, 1, 0, 0], [2, 3, 0, 1]) == 1.0
    assert auc([1, 1, 0, 0], [0, 1, 2, 3]) == 0.0
    assert auc([1, 0], [0.5, 0.5]) == 0.5                # a tie counts one half
    assert np.isnan(auc([1, 1], [0.1, 0.2]))
    from sklearn.metrics import roc_auc_score
    rng = np.random.default_rng(0)
    y, s = rng.integers(0, 2, 200), rng.integers(0, 10, 200)   # many ties
    assert auc(y, s) == pytest.approx(roc_auc_score(y, s))


def test_top_k_predictions_uses_true_label_count():
    scores = np.array([[0.1, 0.7, 0.2], [0.9, 0.8, 0.7], [0.3, 0.3, 0.1]])
    pred = top_k_predictions(scores, np.array([1, 2, 1]))
    assert pred.tolist() == [[False, True, False], [True, True, False], [True, False, False]]


def test_f1_hand_case_and_sklearn():
    t = np.array([[1, 0], [0, 1], [1, 1]])
    p = np.array([[1, 0], [1, 0], [1, 1]])
    micro, macro = f1_scores(t, p)
    assert micro == pytest.approx(0.75)                  # tp 3, fp 1, fn 1
    assert macro == pytest.approx((0.8 + 2 / 3) / 2)
    from sklearn.metrics import f1_score
    rng = np.random.default_rng(1)
    t, p = rng.random((50, 6)) < 0.3, rng.random((50, 6)) < 0.3
    t[:, 5] = p[:, 5] = False                            # a label nobody has
    assert f1_scores(t, p)[0] == pytest.approx(f1_score(t, p, average="micro", zero_division=0))
    assert f1_scores(t, p)[1] == pytest.approx(f1_score(t, p, average="macro", zero_division=0))


def test_target_ranks_and_ranking_metrics():
    scores = np.array([[0.5, 0.9, 0.1, 0.5],
                       [0.0, -np.inf, 0.3, 0.2],
                       [1.0, 0.0, 0.0, 0.0]])
    ranks = target_ranks(scores, np.array([[3], [1], [-1]]))
    # row 0: 0.9 ahead, 0.5 at column 0 ties and comes first -> rank 3; excluded -> inf
    assert ranks.ravel().tolist() == [3, np.inf, np.inf]
    m = ranking_metrics(np.array([[1.0], [3.0], [60.0], [np.inf]]), ks=(1, 10, 50))
    assert m["hit@1"] == 0.25 and m["hit@10"] == 0.5 and m["hit@50"] == 0.5
    assert m["mrr"] == pytest.approx((1 + 1 / 3 + 1 / 60) / 4)
    # two held-out items per user: recall counts each, hit rate any
    m = ranking_metrics(np.array([[1.0, 30.0], [np.inf, 5.0]]), ks=(10,))
    assert m["hit@10"] == 1.0 and m["recall@10"] == 0.5
    assert m["mrr"] == pytest.approx((1 + 1 / 5) / 2)


def test_split_last_events_by_time_per_user():
    users = np.array([0, 1, 0, 0, 1, 2])
    times = np.array([5.0, 1.0, 3.0, 9.0, 2.0, 1.0])
    order, test, query = split_last_events(users, times)
    assert set(order[test]) == {3, 4}                    # user 0 at t=9, user 1 at t=2
    assert set(order[query]) == {0, 1}                   # the events just before
    order, test, query = split_last_events(users, times, holdout=2)
    assert set(order[test]) == {0, 3}                    # only user 0 has more than 2 events


def same_partition(x, y):
    """Two component labellings describe the same partition of the nodes."""
    pairs = len(set(zip(x.tolist(), y.tolist())))
    return pairs == len(set(x.tolist())) == len(set(y.tolist()))


def skewed_graph(n=3000, m=6000, exponent=0.6, seed=0):
    """Undirected graph whose endpoints are drawn with Zipf-like weights (a few hubs)."""
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, n + 1) ** exponent
    a, b = rng.choice(n, m, p=p / p.sum()), rng.choice(n, m, p=p / p.sum())
    ok = a != b
    indptr, indices, weights = csr_from_edges(a[ok], b[ok], np.ones(ok.sum()), n,
                                              undirected=True)
    return Graph(indptr, indices, weights, np.arange(n), np.ones(n), directed=False)


@pytest.mark.parametrize("fraction", [1 / 3, 0.9])
def test_edge_split_keeps_a_spanning_forest(fraction):
    from helpers import random_graph
    n = 300
    indptr, indices, weights = random_graph(n, 420, seed=3, directed=True)   # several components
    g = Graph(indptr, indices, weights, np.arange(n), np.ones(n))
    residual, (u, v), keys, forest = split_edges(g, fraction, seed=0)
    before, after = components(n, keys), components(n, undirected_keys(residual))
    assert len(set(before.tolist())) > 1
    assert same_partition(before, after)                 # the forest is kept
    assert forest.sum() == n - len(set(before.tolist()))  # a spanning forest: n - c edges
    held = u * n + v
    assert (u < v).all() and len(np.unique(held)) == len(held)
    assert not np.isin(held, keys[forest]).any()         # never a forest edge
    assert len(held) == min(round(fraction * len(keys)), (~forest).sum())
    # the residual graph is the full graph less exactly the held-out pairs (both directions)
    assert np.array_equal(undirected_keys(residual), np.setdiff1d(keys, held))
    kept = set(zip(*np.nonzero(sp.csr_matrix((residual.weights, residual.indices,
                                              residual.indptr), shape=(n, n)))))
    assert not any((a, b) in kept or (b, a) in kept for a, b in zip(u, v))
    full = set(zip(*np.nonzero(sp.csr_matrix((weights, indices, indptr), shape=(n, n)))))
    assert kept == {e for e in full if min(e) * n + max(e) not in set(held.tolist())}


def test_non_edges_uniform_and_degree_matched():
    g = skewed_graph()
    n = g.num_nodes
    _, (u, v), keys, _ = split_edges(g, 1 / 3, seed=0)
    deg = np.bincount(keys // n, minlength=n) + np.bincount(keys % n, minlength=n)
    pos = np.r_[deg[u], deg[v]]
    means = {}
    for kind in ("uniform", "degree"):
        w = negative_weights(kind, n, keys, u, v)
        nu, nv = sample_non_edges(n, len(u), keys, np.random.default_rng(1), w)
        nkeys = nu * n + nv
        assert len(nu) == len(u) and (nu < nv).all()     # no self pairs
        assert not np.isin(nkeys, keys).any()            # non-edges of the full graph
        assert len(np.unique(nkeys)) == len(nkeys)
        assert (w[nu] > 0).all() and (w[nv] > 0).all()
        neg = np.r_[deg[nu], deg[nv]]
        se = np.sqrt(pos.var() / len(pos) + neg.var() / len(neg))
        means[kind] = (neg.mean() - pos.mean()) / se      # in standard errors
    assert abs(means["degree"]) < 4                      # matched within sampling error
    assert means["uniform"] < -10                        # uniform ones are far less popular
    neg_u, neg_v = sample_non_edges(n, 300, keys, np.random.default_rng(0))
    assert len(neg_u) == 300 and not np.isin(neg_u * n + neg_v, keys).any()
    with pytest.raises(GraphembError):
        sample_non_edges(4, 3, np.array([1, 2, 3, 6]), np.random.default_rng(0))  # 2 left


def test_degree_weights_match_the_positives_after_rejecting_edges():
    from graphemb.evaluation.link_prediction import adjacency
    g = skewed_graph(n=1500, m=6000, exponent=0.9)       # hubs: many hub pairs are edges
    n = g.num_nodes
    _, (u, v), keys, _ = split_edges(g, 1 / 3, seed=0)
    target = np.bincount(np.r_[u, v], minlength=n) / (2 * len(u))
    adj = adjacency(n, keys)

    def accepted_marginal(w):          # endpoint distribution of pairs that are not edges
        w = w / w.sum()
        m = w * (1 - w - adj @ w)
        return m / m.sum()
    assert np.abs(accepted_marginal(target) - target).sum() > 0.05    # plain weights: biased
    w = negative_weights("degree", n, keys, u, v)
    assert np.abs(accepted_marginal(w) - target).sum() < 1e-6


def test_baselines_on_a_hand_made_graph():
    #   0 - 1 - 3 - 4        edges 0-1 0-2 1-2 1-3 2-3 3-4
    #    \ | /
    #      2
    keys = np.array([(a * 5 + b) for a, b in [(0, 1), (0, 2), (1, 2), (1, 3), (2, 3), (3, 4)]])
    s = baseline_scores(5, keys, np.array([0, 0, 2, 1]), np.array([3, 4, 4, 2]))
    assert s["popularity"].tolist() == [6, 2, 3, 9]      # degrees 2 3 3 3 1
    assert s["common_neighbours"].tolist() == [2, 0, 1, 2]
    assert s["adamic_adar"] == pytest.approx([2 / np.log(3), 0, 1 / np.log(3),
                                              1 / np.log(2) + 1 / np.log(3)])


def test_label_files_with_spaces_tabs_or_commas(tmp_path):
    ids = np.array([10, 11, 12, 13])
    for name, text in [("cora.txt", "10 a\n11  b\n\n12 a\n99 b\n"),
                       ("labels.tsv", "node\tlabel\n10\ta\n11\tb\n12\ta\n99\tb\n"),
                       ("labels.csv", "10,a\n11,b\n12,a\n99,b\n")]:
        path = tmp_path / name
        path.write_text(text)
        nodes, y, names, unknown = read_labels(path, ids)
        assert nodes.tolist() == [0, 1, 2] and names == ["a", "b"], name
        assert y.tolist() == [[True, False], [False, True], [True, False]]
        assert unknown == 1


# --- the tasks, through the command line --------------------------------------------------------

def invoke(ws, *args):
    return CliRunner().invoke(main, ["--workdir", str(ws), "-q", *args])


def test_link_prediction_end_to_end(tiny):
    _, ws = tiny
    r = invoke(ws, "evaluate", "link-prediction", *FAST, "--epochs", "5")
    assert r.exit_code == 0, r.output
    assert "Hadamard + logistic regression" in r.output and "common neighbours" in r.output
    res = json.loads((ws / "eval" / "link-prediction.json").read_text())
    assert set(res["auc"]) == {"centred_cosine", "dot", "hadamard_logreg", "popularity",
                               "common_neighbours", "adamic_adar"}
    assert all(0 <= v <= 1 for v in res["auc"].values())
    assert res["auc"]["centred_cosine"] > 0.8            # within-cluster edges are predictable
    assert res["auc"]["common_neighbours"] > 0.8
    assert res["params"]["walk"]["num_walks"] == 6 and res["params"]["train"]["dim"] == 16
    assert res["params"]["negatives"] == "uniform"
    c = res["counts"]
    assert c["test_edges"] + c["test_non_edges"] + c["classifier_train_pairs"] == \
        2 * c["held_out_edges"]
    assert c["held_out_edges"] == c["held_out_requested"] == round(c["undirected_edges"] / 3)
    assert not [p for p in (ws / "eval").iterdir() if p.name.startswith(".")]


def test_link_prediction_trains_on_the_residual_graph_only(tiny):
    from graphemb.evaluate import link_prediction
    _, ws = tiny
    res = link_prediction(workdir=ws, negatives="degree", seed=3, keep_workdir=True,
                          walk_options={"num_walks": 6, "walk_length": 20, "workers": 1},
                          train_options={"dim": 16, "epochs": 1, "workers": 1})
    kept = Path(res["kept_workdir"])
    try:
        full, _ = pipeline.load_graph(ws, mmap=False)
        residual, _ = pipeline.load_graph(kept, mmap=False)
        n = full.num_nodes
        pairs = np.load(kept / "pairs.npz")
        held = pairs["held_out_u"] * n + pairs["held_out_v"]
        keys = undirected_keys(full)
        # the removed edges are exactly the held-out positives, and the forest is kept
        assert np.array_equal(undirected_keys(residual), np.setdiff1d(keys, held))
        assert same_partition(components(n, keys), components(n, undirected_keys(residual)))
        # no held-out edge is ever walked (consecutive nodes, either direction)
        walks = np.load(kept / "walks" / "walks.npy")
        a, b = walks[:, :-1].ravel().astype(np.int64), walks[:, 1:].ravel().astype(np.int64)
        ok = (a >= 0) & (b >= 0) & (a != b)
        stepped = np.unique(np.minimum(a, b)[ok] * n + np.maximum(a, b)[ok])
        assert len(stepped) > 0 and not np.isin(held, stepped).any()
        # negatives are non-edges; the AUC pairs are disjoint from the classifier's pairs
        assert not np.isin(pairs["non_edge_u"] * n + pairs["non_edge_v"], keys).any()
        test = set(zip(pairs["test_a"].tolist(), pairs["test_b"].tolist()))
        train = set(zip(pairs["classifier_a"].tolist(), pairs["classifier_b"].tolist()))
        assert test and train and not test & train
        assert len(test) + len(train) == 2 * len(held)
        assert pairs["test_y"].sum() == res["counts"]["test_edges"]
    finally:
        import shutil
        shutil.rmtree(kept)


@pytest.mark.parametrize("args", [["--test-fraction", "1"], ["--test-fraction", "0"],
                                  ["--negatives", "popular"], ["--trainer", "torch"]])
def test_link_prediction_rejects_bad_options_at_parse_time(tiny, args):
    _, ws = tiny
    r = invoke(ws, "evaluate", "link-prediction", *args)
    assert r.exit_code == 2 and "Invalid value" in r.output


def test_link_prediction_with_the_numba_trainer(tiny, tmp_path):
    _, ws = tiny
    out = tmp_path / "lp.json"
    r = invoke(ws, "evaluate", "link-prediction", *FAST, "--trainer", "numba",
               "--negatives", "degree", "-o", str(out))
    assert r.exit_code == 0, r.output
    res = json.loads(out.read_text())
    assert res["params"]["train"]["trainer"] == "numba" and res["params"]["negatives"] == "degree"
    assert all(0 <= v <= 1 for v in res["auc"].values())


def test_node_classification_with_label_file(tiny, tmp_path):
    _, ws = tiny
    labels = tmp_path / "labels.csv"
    rows = ["node,label"] + [f"{i},c{cluster(i)}" for i in range(100, 130)]
    rows += [f"{i},even" for i in range(100, 130, 2)] + ["777,c0"]   # multi-label; unknown node
    labels.write_text("\n".join(rows) + "\n")
    r = invoke(ws, "evaluate", "node-classification", "--labels", str(labels),
               "--ratios", "0.5,0.8", "--repeats", "3")
    assert r.exit_code == 0, r.output
    res = json.loads((ws / "eval" / "node-classification.json").read_text())
    assert [row["train_ratio"] for row in res["results"]] == [0.5, 0.8]
    for row in res["results"]:
        assert 0 <= row["macro_f1"] <= 1 and 0 <= row["micro_f1"] <= 1
    assert res["counts"]["labelled_nodes"] == 30 and res["counts"]["labels"] == 4
    assert res["counts"]["labelled_nodes_left_out"] == 1
    assert res["results"][0]["micro_f1"] > 0.5          # clusters are easy to tell apart


def test_node_classification_with_mat_file(tmp_path):
    rng = np.random.default_rng(0)
    n = 60
    group = np.zeros((n, 3))
    group[np.arange(n), np.arange(n) % 3] = 1
    a = rng.integers(0, n, 400)
    b = (a + 3 * rng.integers(1, 6, 400)) % n                 # edges inside a class
    adj = sp.coo_matrix((np.ones(400), (a, b)), shape=(n, n))
    adj = ((adj + adj.T) > 0).astype(float)
    mat = tmp_path / "toy.mat"
    scipy.io.savemat(mat, {"network": sp.csc_matrix(adj), "group": sp.csc_matrix(group)})
    ws = tmp_path / "ws"
    r = invoke(ws, "evaluate", "node-classification", "--labels", str(mat), "--ratios", "0.5",
               "--repeats", "2", *FAST, "--num-walks", "20", "--walk-length", "40")
    assert r.exit_code == 0, r.output
    res = json.loads((ws / "eval" / "node-classification.json").read_text())
    assert res["counts"]["labelled_nodes"] == n
    assert res["results"][0]["micro_f1"] > 0.6


def test_next_item_end_to_end(tiny):
    log, ws = tiny
    r = invoke(ws, "evaluate", "next-item", str(log), *FAST, "--undirected")
    assert r.exit_code == 0, r.output
    assert "most popular" in r.output
    res = json.loads((ws / "eval" / "next-item.json").read_text())
    assert res["counts"]["test_users"] == 45
    for name, m in res["metrics"].items():
        assert set(m) >= {"hit@10", "recall@10", "hit@20", "hit@50", "mrr"}
        assert all(0 <= v <= 1 for v in m.values())
        assert m["hit@10"] <= m["hit@20"] <= m["hit@50"]
    # 30 items, 10 per cluster: the embedding should beat popularity at 10
    assert res["metrics"]["graphemb: user vector"]["hit@10"] >= \
        res["metrics"]["most popular"]["hit@10"]


def test_next_item_rejects_edge_list(tiny):
    log, ws = tiny
    r = invoke(ws, "evaluate", "next-item", "--from-edges", str(log))
    assert r.exit_code != 0


def test_adjacency_matrix_keeps_its_weights_and_self_loops():
    """A symmetric matrix is taken as listed (no doubling), loops included; one triangle of
    the same matrix gives the same graph."""
    import scipy.sparse as sp

    from graphemb.evaluate import graph_from_adjacency

    dense = np.array([[2.0, 1.0, 0.0], [1.0, 0.0, 3.0], [0.0, 3.0, 0.0]])
    for adj in (sp.csr_matrix(dense), sp.csr_matrix(np.triu(dense))):
        graph, _ = graph_from_adjacency(adj)
        ids = np.asarray(graph.node_ids)
        got = {}
        for a in range(graph.num_nodes):
            for j in range(graph.indptr[a], graph.indptr[a + 1]):
                got[(int(ids[a]), int(ids[graph.indices[j]]))] = float(graph.weights[j])
        assert got == {(0, 0): 2.0, (0, 1): 1.0, (1, 0): 1.0, (1, 2): 3.0, (2, 1): 3.0}
