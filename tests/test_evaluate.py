"""Evaluation: metric functions on hand-made cases, and the three tasks on tiny data."""
import json

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp
from click.testing import CliRunner

from graphemb import pipeline
from graphemb.cli import main
from graphemb.evaluate import (auc, choose_removable, f1_scores, ranking_metrics,
                               sample_non_edges, split_edges, split_last_events,
                               target_ranks, top_k_predictions)

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


def test_edge_split_never_isolates_a_node():
    from helpers import random_graph
    from graphemb.graph import Graph
    indptr, indices, weights = random_graph(200, 500, seed=3, directed=True)
    g = Graph(indptr, indices, weights, np.arange(200), np.ones(200))
    reduced, test, train, keys = split_edges(g, 0.5, seed=0)
    und = lambda gr: np.bincount(np.r_[np.repeat(np.arange(200), np.diff(gr.indptr)),
                                       gr.indices], minlength=200)
    assert ((und(g) > 0) <= (und(reduced) > 0)).all()
    assert 0 < len(test[0]) <= round(0.5 * len(keys))
    kept = set(zip(*np.nonzero(sp.csr_matrix((reduced.weights, reduced.indices,
                                              reduced.indptr), shape=(200, 200)))))
    assert not any((a, b) in kept or (b, a) in kept for a, b in zip(*test))
    u = np.array([0, 1, 2])
    v = np.array([1, 2, 3])                              # a path: only the middle may go
    removed = choose_removable(u, v, np.array([1, 2, 2, 1]), np.arange(3), 3)
    assert removed.tolist() == [False, True, False]
    neg_u, neg_v = sample_non_edges(200, 300, keys, np.random.default_rng(0))
    assert len(neg_u) == 300 and (neg_u < neg_v).all()
    assert not np.isin(neg_u * 200 + neg_v, keys).any()
    assert len(np.unique(neg_u * 200 + neg_v)) == 300


# --- the tasks, through the command line --------------------------------------------------------

def invoke(ws, *args):
    return CliRunner().invoke(main, ["--workdir", str(ws), "-q", *args])


def test_link_prediction_end_to_end(tiny):
    _, ws = tiny
    r = invoke(ws, "evaluate", "link-prediction", *FAST)
    assert r.exit_code == 0, r.output
    assert "hadamard_logreg" in r.output
    res = json.loads((ws / "eval" / "link-prediction.json").read_text())
    assert set(res["auc"]) == {"dot", "cosine", "hadamard_logreg"}
    assert all(0 <= v <= 1 for v in res["auc"].values())
    assert res["auc"]["cosine"] > 0.6                    # within-cluster edges are predictable
    assert res["params"]["walk"]["num_walks"] == 6 and res["params"]["train"]["dim"] == 16
    assert not [p for p in (ws / "eval").iterdir() if p.name.startswith(".")]


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
