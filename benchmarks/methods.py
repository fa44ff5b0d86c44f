"""Every embedding graphemb trains, on the same two logs and two tasks, beside baselines.

    python benchmarks/methods.py                  # MovieLens and Taobao, 3 seeds (~25 min)
    python benchmarks/methods.py --seeds 1 --only movielens
    python benchmarks/methods.py --only taobao --seeds 1 --epochs 1 --num-walks 10  # ~15 min

Methods: item2vec (skip-gram on the log's sessions, whole-session window), DeepWalk
(walks p = q = 1), node2vec (p = 0.5, q = 2, the README's headline walk), LINE-1, LINE-2
(1000 edge samples per node), GES and EGES (side information: MovieLens genres and decade,
Taobao category). Walks 20 x 10 per node, d = 128, window 5, 3 epochs, 5 negatives; every
skip-gram is graphemb's Numba trainer with one thread (its vectors score as gensim's: the
parity table of benchmarks/quality.py), so each seed is deterministic.

Link prediction (the EGES paper's protocol, as benchmarks/quality.py): the log's graph taken
as undirected, 1/3 of its edges held out outside a random spanning forest, as many
non-edges, uniform or degree-matched; AUC of the centred cosine. item2vec trains on the
sessions cut wherever two consecutive items form a held-out edge (so it sees exactly the
transitions the residual graph keeps). Baselines: popularity (deg * deg), common neighbours,
same category.

Next item: each user's last event (by time) held out, the graph (build-graph defaults) and
every model rebuilt from the rest; the whole catalogue ranked for each user by cosine to the
user's previous item (the query itself excluded). HR@10 and MRR; a target missing from the
training log counts as a miss for every method. Baselines: most popular; most popular of the
previous item's category; co-visits (items that followed the previous item in the training
log, by edge weight, ties by popularity); co-visits either way (items that followed or
preceded it: edge weights both ways); common neighbours of the previous item in the
undirected training graph (ties by popularity).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))
RESULTS = Path(__file__).parent / "results" / "methods.md"

import quality  # noqa: E402  (the data sets, the LP protocol's pieces)
from measure import publish  # noqa: E402

METHODS = ("item2vec", "DeepWalk", "node2vec", "LINE-1", "LINE-2", "GES", "EGES")
DIM, WINDOW, EPOCHS, NUM_WALKS, WALK_LENGTH = 128, 5, 3, 20, 10


def embed(method, graph, sessions, side, seed):
    """(vectors, has_vector) of one method on a Graph (and its sessions)."""
    from graphemb.models import line, sgns
    from graphemb.models.eges import train_eges

    n = graph.num_nodes
    common = dict(dim=DIM, window=WINDOW, epochs=EPOCHS, seed=seed)
    if method == "item2vec":
        vec, has, _ = sgns.train_skipgram(sessions, n, **{**common, "window": None})
        return vec, has
    if method.startswith("LINE"):
        out = line.train_line(graph.indptr, graph.indices, graph.weights,
                              order=int(method[-1]), dim=DIM, samples=1000 * n, seed=seed)
        return out["U"], out["has_vector"]
    p, q = (0.5, 2.0) if method == "node2vec" else (1.0, 1.0)
    walks = quality.deepwalk_walks(graph, NUM_WALKS, WALK_LENGTH, p=p, q=q, seed=seed)
    if method in ("DeepWalk", "node2vec"):
        vec, has, _ = sgns.train_skipgram(walks, n, **common)
        return vec, has
    res = train_eges(walks, graph.node_ids, side, fusion=method.lower(), **common)
    return res.vectors, res.has_vector


def unit_centred(vectors, has):
    from graphemb.vectors import item_space
    return item_space(vectors, has, True)


# ------------------------------------------------------------------------- link prediction

def link_prediction(name, log, side_path, cat_col, seeds, tmp, methods):
    from graphemb import evaluate as ev
    from graphemb.evaluation.link_prediction import cut_sessions
    from graphemb.graph import load_sessions
    from graphemb.models.eges import read_side_info
    from graphemb.models.sgns import Sentences

    graph = quality.load_log_graph(log, tmp, f"lp-{name}")
    kept = load_sessions(tmp / f"ws-lp-{name}" / "graph", mmap=False)
    side = read_side_info(side_path)
    cats = quality.node_categories(side_path, cat_col, graph.node_ids)
    n = graph.num_nodes
    per = {}
    for seed in seeds:
        rng = np.random.default_rng(100 + seed)
        residual, (tu, tv), keys, _ = ev.split_edges(graph, 1 / 3, seed)
        residual_keys = ev.undirected_keys(residual)
        sessions = Sentences(*cut_sessions(kept.tokens, kept.offsets, n, tu * n + tv))
        vectors = {}
        for m in methods:
            t0 = time.process_time()
            vectors[m] = embed(m, residual, sessions, side, seed)
            per.setdefault(("cpu", m), []).append(time.process_time() - t0)
        for negatives in ("uniform", "degree"):
            a, b, k, scores = quality.lp_pairs(n, keys, (tu, tv), residual_keys, cats,
                                               negatives, rng)
            for m, (vec, has) in vectors.items():
                scores[m] = ev.embedding_scores(vec, has, a, b)["centred_cosine"]
            for s, sc in scores.items():
                per.setdefault((negatives, s), []).append(quality.auc(sc[:k], sc[k:]))
        print(f"  {name} LP seed {seed} done", file=sys.stderr, flush=True)
    return per


# ------------------------------------------------------------------------- next item

def read_log(log):
    import pandas as pd
    cols = pd.read_csv(log, nrows=0).columns
    d = pd.read_csv(log, dtype={cols[0]: str, cols[1]: str})
    user, item, t = d.columns[0], d.columns[1], [c for c in d.columns if "time" in c.lower()][0]
    return d, user, item, t


def next_item(name, log, side_path, cat_col, seeds, tmp, methods):
    import scipy.sparse as sp

    import graphemb
    from graphemb.evaluation.metrics import target_ranks
    from graphemb.evaluation.next_item import split_last_events
    from graphemb.graph import load_sessions
    from graphemb.models.eges import read_side_info
    from graphemb.pipeline import load_graph

    d, ucol, icol, tcol = read_log(log)
    users = d[ucol].astype("category").cat.codes.to_numpy()
    order, is_test, is_query = split_last_events(users, d[tcol].to_numpy())
    train_rows = np.sort(order[~is_test])
    train = tmp / f"next-{name}.csv"
    d.iloc[train_rows].to_csv(train, index=False)
    ws = tmp / f"ws-next-{name}"
    graphemb.build_graph(train, workdir=ws, quiet=True)
    graph, _ = load_graph(ws, mmap=False)
    sessions = load_sessions(ws / "graph", mmap=False)
    side = read_side_info(side_path)
    n = graph.num_nodes
    node_of = {str(x): i for i, x in enumerate(graph.node_ids)}
    query = np.array([node_of.get(x, -1) for x in d[icol].to_numpy()[order[is_query]]])
    target = np.array([node_of.get(x, -1) for x in d[icol].to_numpy()[order[is_test]]])
    ok = query >= 0
    query, target = query[ok], target[ok]
    pop = np.asarray(graph.node_counts, dtype=np.float64)
    tie = pop / (pop.max() + 1.0)                    # < 1: breaks ties only
    cats = quality.node_categories(side_path, cat_col, graph.node_ids)
    src = np.repeat(np.arange(n), np.diff(graph.indptr))
    A = sp.csr_matrix((np.asarray(graph.weights, np.float64), (src, graph.indices)), (n, n))
    AT = A.T.tocsr()
    U = ((A + AT) > 0).astype(np.float64).tocsr()

    def ranks(score_rows):
        """Rank (1 = best) of each user's target among all nodes but the query, ties by node
        order (graphemb's evaluate does the same): a tie must not favour the target, or a
        query without a vector (every score 0) would rank every target first."""
        out = np.empty(len(query))
        for lo in range(0, len(query), 256):
            hi = min(lo + 256, len(query))
            s = np.array(score_rows(query[lo:hi]), dtype=np.float64)
            s[np.arange(hi - lo), query[lo:hi]] = -np.inf
            out[lo:hi] = target_ranks(s, target[lo:hi])[:, 0]
        return out

    baselines = {
        "most popular": lambda q: np.broadcast_to(pop, (len(q), n)),
        "same-category popularity": lambda q: (cats[q][:, None] == cats[None, :]) + tie,
        "co-visits (edge weight)": lambda q: A[q].toarray() + tie,
        "co-visits either way": lambda q: (A[q] + AT[q]).toarray() + tie,
        "common neighbours": lambda q: (U[q] @ U.T).toarray() + tie,
    }
    per = {}

    def record(label, r):
        per.setdefault(("HR@10", label), []).append(float(np.mean(r <= 10)))
        per.setdefault(("MRR", label), []).append(float(np.mean(1.0 / r)))

    for label, fn in baselines.items():
        record(label, ranks(fn))
    for seed in seeds:
        for m in methods:
            vec, has = embed(m, graph, sessions, side, seed)
            unit = unit_centred(vec, has)
            bad = ~has

            def cosine(q, unit=unit, bad=bad):
                s = unit[q] @ unit.T
                s[:, bad] = -np.inf
                return s
            record(m, ranks(cosine))
        print(f"  {name} next-item seed {seed} done", file=sys.stderr, flush=True)
    counts = {"test users": int(len(query)), "targets not in training graph":
              int((target < 0).sum()), "nodes": n}
    return per, counts


# ------------------------------------------------------------------------- table

def fmt(vals):
    return f"{np.mean(vals):.4f} ± {np.std(vals, ddof=1) if len(vals) > 1 else 0:.4f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--only", default="movielens,taobao")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--epochs", type=int, default=EPOCHS)
    ap.add_argument("--num-walks", type=int, default=NUM_WALKS)
    ap.add_argument("--tasks", default="lp,next", help="lp (link prediction), next (next item)")
    ap.add_argument("--out", default=str(RESULTS))
    a = ap.parse_args()
    globals().update(EPOCHS=a.epochs, NUM_WALKS=a.num_walks)
    from graphemb.walks import set_workers
    set_workers(1)
    seeds = list(range(a.seeds))
    methods = a.methods.split(",")
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:      # an unknown name would fall through to train_eges and fail mid-run
        raise SystemExit(f"--methods: unknown {', '.join(unknown)}; known: {', '.join(METHODS)}")
    sets = {"movielens": quality.movielens, "taobao": quality.taobao}
    t_start = time.perf_counter()
    lines = [f"`python {' '.join(sys.argv)}`: d={DIM}, window {WINDOW}, "
             f"{EPOCHS} epochs, walks {NUM_WALKS} x {WALK_LENGTH}, LINE 1000 samples per node, "
             f"one thread; mean ± sd over seeds {seeds} (baselines of next item have no "
             "seed).", ""]
    lines += ["| log | method | LP AUC uniform | LP AUC degree | next-item HR@10 | "
              "next-item MRR | LP train CPU s |", "|---|---|---:|---:|---:|---:|---:|"]
    notes = []
    with tempfile.TemporaryDirectory(prefix="methods-") as tmp:
        for name in a.only.split(","):
            log, side_path, cat_col = sets[name](Path(tmp))
            tasks = a.tasks.split(",")
            lp = link_prediction(name, log, side_path, cat_col, seeds, Path(tmp), methods) \
                if "lp" in tasks else {}
            ni, counts = next_item(name, log, side_path, cat_col, seeds, Path(tmp), methods) \
                if "next" in tasks else ({}, None)
            if counts:
                notes.append(f"{name}: next item over {counts['test users']} users, "
                             f"{counts['targets not in training graph']} targets absent from "
                             f"the training log (a miss for all), {counts['nodes']} items.")
            rows = ["popularity (deg·deg)", "common neighbours", "same category",
                    "most popular", "same-category popularity", "co-visits (edge weight)",
                    "co-visits either way", *methods]
            for label in rows:
                lp_label = {"most popular": None, "same-category popularity": None,
                            "co-visits (edge weight)": None,
                            "co-visits either way": None}.get(label, label)
                ni_label = {"popularity (deg·deg)": None, "same category": None}.get(label,
                                                                                   label)
                cells = [name, label]
                for neg in ("uniform", "degree"):
                    v = lp.get((neg, lp_label)) if lp_label else None
                    cells.append(fmt(v) if v else "–")
                for metric in ("HR@10", "MRR"):
                    v = ni.get((metric, ni_label)) if ni_label else None
                    cells.append(fmt(v) if v else "–")
                cpu = lp.get(("cpu", label))
                cells.append(f"{np.median(cpu):.1f}" if cpu else "–")
                lines.append("| " + " | ".join(cells) + " |")
    lines += [""] + notes + [f"{time.perf_counter() - t_start:.0f} s in all."]
    publish(lines, a.out)


if __name__ == "__main__":
    main()
