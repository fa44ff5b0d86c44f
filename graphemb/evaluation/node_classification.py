"""Node classification (DeepWalk/node2vec protocol): one-vs-rest logistic regression on the
vectors, Micro/Macro-F1 per train ratio, averaged over random splits."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..errors import GraphembError
from ..options import NODE_CLASSIFICATION, checked
from ..ingest.edges import graph_from_adjacency, read_mat
from ..io.ids import id_positions
from ..vectors import ItemVectors
from .common import (current_options, format_table, quiet_sklearn, sklearn_module,
                     temporary_workspace, walk_train, write_graph)
from .metrics import f1_scores, top_k_predictions
from .plots import check_plot, with_plot

DEFAULT_RATIOS = tuple(float(r) for r in NODE_CLASSIFICATION.defaults.ratios.split(","))
REPEATS = NODE_CLASSIFICATION.defaults.repeats


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


def classify(vectors: np.ndarray, y: np.ndarray, ratios=DEFAULT_RATIOS, repeats: int = REPEATS,
             seed: int = 0, C: float = 1.0) -> list[dict]:
    """One-vs-rest logistic regression; each test node gets its top-k labels, k = its true
    label count; Micro/Macro-F1 averaged over ``repeats`` random splits per train ratio."""
    verb = "evaluate node-classification"
    LogisticRegression = sklearn_module("linear_model", verb).LogisticRegression
    OneVsRestClassifier = sklearn_module("multiclass", verb).OneVsRestClassifier

    quiet_sklearn()
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


@checked(NODE_CLASSIFICATION)
def node_classification(labels, *, workdir=None, ratios=DEFAULT_RATIOS, repeats: int = REPEATS,
                        seed: int = 0, walk_options=None, train_options=None,
                        quiet: bool = True, plot=None) -> dict:
    """Node classification on the workspace vectors (node,label file), or, for a .mat file
    with `network` and `group`, on vectors trained from that network in a temporary workspace
    with the options in force. ``plot``: also draw F1 against the train ratio into this PNG
    (checked before anything runs)."""
    sklearn_module("linear_model", "evaluate node-classification")
    if plot is not None:
        check_plot(plot, "node-classification")

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
            write_graph(tmp, graph, {"undirected": True, "edges": str(labels),
                                      "session_gap_seconds": None, "min_item_count": 1,
                                      "max_user_events": None, "weight_col": None,
                                      "event_col": None, "event_weights": None},
                         {"nodes": graph.num_nodes, "edges": graph.num_edges,
                          "items_without_edges": isolated})
            trained, timings = walk_train(tmp, options, quiet)
        nodes = np.flatnonzero(trained.has_vector)
        y = group[np.asarray(trained.ids[nodes], dtype=np.int64)]
        unknown = int(group.shape[0] - len(nodes))
        names = [str(i) for i in range(group.shape[1])]
        params.update(walk=options["walk"], train=options["train"])
    else:
        trained = ItemVectors.load(workdir)
        nodes, y, names, unknown = read_labels(labels, trained.ids)
        without = ~trained.has_vector[nodes]
        unknown += int(without.sum())
        nodes, y = nodes[~without], y[~without]
        params["model"] = trained.manifest["params"]
    if len(nodes) < 4:
        raise GraphembError(f"{labels}: only {len(nodes)} labelled nodes have vectors; need more.")
    has_label = y.any(1)
    nodes, y = nodes[has_label], y[has_label]
    x = np.asarray(trained.vectors, dtype=np.float64)[nodes]
    t1 = time.perf_counter()
    rows = classify(x, y, ratios, repeats, seed)
    timings.update(classify_seconds=time.perf_counter() - t1,
                   total_seconds=time.perf_counter() - t0)
    result = {"task": "node-classification", "results": rows,
              "counts": {"labelled_nodes": int(len(nodes)), "labels": len(names),
                         "label_assignments": int(y.sum()),
                         "labelled_nodes_left_out": unknown},
              "params": params, "timings": timings}
    return with_plot(plot, result)


def node_classification_table(result: dict) -> str:
    rows = [(f"{r['train_ratio']:.0%}", r["micro_f1"], r["macro_f1"]) for r in result["results"]]
    return format_table(["train ratio", "Micro-F1", "Macro-F1"], rows)

