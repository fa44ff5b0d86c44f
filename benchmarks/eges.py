"""EGES / GES / DeepWalk on MovieLens: link prediction, cold start and trainer throughput.

Follows the EGES paper's offline protocol (Wang et al., KDD 2018, section 4.1) on the
MovieLens ratings (sessions -> undirected item graph) with side information from movies.csv:
first genre, genre set and decade (from the year in the title).

1. Link prediction: a third of the graph's edges are removed and kept as test positives;
   as many item pairs that are not edges are drawn as negatives; the remaining graph is
   walked (DeepWalk: 10 walks of 80 per node) and embedded by DeepWalk (gensim skip-gram),
   our Numba skip-gram, GES and EGES with the same dim / window / negatives / epochs.
   Pairs are scored by the dot product of the two vectors (cosine also shown); AUC.
   Items that lose every edge get no DeepWalk vector (score 0) but do get a side-information
   vector from GES/EGES, so AUC is given over all pairs and over pairs whose two items are
   still in the training graph.
2. Cold start: 10% of the items are held out with all their events; GES/EGES are trained on
   the rest, the held-out items get the average of their side-information embeddings, and
   their held-out edges (vs as many non-edge pairs from the same held-out items) are scored.
   Baselines: random vectors; popularity (the other item's degree in the training graph);
   category popularity (the other item's edge weight to training items of the held-out
   item's first genre).
3. Throughput: words/s of gensim skip-gram (corpus_file) and of our trainer (plain, GES,
   EGES) on the same walks, same dim/window/negatives, 2 workers each, sample 0.

    python benchmarks/eges.py                  # writes benchmarks/results/eges.md
    python benchmarks/eges.py --epochs 2 --quick
"""
from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

import graphemb
from graphemb import pipeline  # graphemb.train is shadowed by the graphemb.train module once imported
from graphemb import load_graph, load_walks

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "examples" / "movielens"
RESULTS = Path(__file__).parent / "results" / "eges.md"
SIDE_COLS = ["genre", "genres", "decade"]


def side_table(path: Path) -> Path:
    movies = pd.read_csv(DATA / "movies.csv")
    year = movies.title.str.extract(r"\((\d{4})\)\s*$")[0].astype(float)
    side = pd.DataFrame({
        "movieId": movies.movieId,
        "genre": movies.genres.str.split("|").str[0],
        "genres": movies.genres,
        "decade": (year // 10 * 10).astype("Int64").astype(str).replace("<NA>", ""),
    })
    side.to_csv(path, index=False)
    return path


def undirected_edges(graph) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(u, v, weight) with u < v by node index, each undirected edge once."""
    src = np.repeat(np.arange(graph.num_nodes), np.diff(graph.indptr))
    dst = np.asarray(graph.indices)
    keep = src < dst
    return src[keep], dst[keep], np.asarray(graph.weights)[keep]


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    y = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
    return float(roc_auc_score(y, np.r_[pos, neg]))


def non_edges(n_pairs, first, candidates, edge_keys, n_nodes, rng):
    """Pairs (a, b) that are not edges and not self pairs: a from ``first`` (with its
    multiplicities) or uniform over candidates, b uniform over candidates."""
    got_a, got_b, have = [], [], 0
    while have < n_pairs:
        pool = first if first is not None else candidates
        a = pool[rng.integers(0, len(pool), n_pairs)]
        b = candidates[rng.integers(0, len(candidates), n_pairs)]
        key = np.minimum(a, b) * n_nodes + np.maximum(a, b)
        ok = (a != b) & ~np.isin(key, edge_keys)
        got_a.append(a[ok])
        got_b.append(b[ok])
        have += int(ok.sum())
    return np.concatenate(got_a)[:n_pairs], np.concatenate(got_b)[:n_pairs]


def vectors_by_id(workdir, path) -> dict:
    graphemb.export(path, workdir=workdir)
    t = pq.read_table(path).to_pandas()
    vec = np.stack(t.vector.to_numpy()).astype(np.float64)
    return dict(zip(t.item_id.to_numpy(), vec))


def score(vecs: dict, a_ids, b_ids, dim, cosine=False):
    zero = np.zeros(dim)
    va = np.stack([vecs.get(i, zero) for i in a_ids])
    vb = np.stack([vecs.get(i, zero) for i in b_ids])
    if cosine:
        va = va / np.maximum(np.linalg.norm(va, axis=1, keepdims=True), 1e-12)
        vb = vb / np.maximum(np.linalg.norm(vb, axis=1, keepdims=True), 1e-12)
    return (va * vb).sum(axis=1)


def train_models(workdir, side, opts, models):
    out, timings = {}, {}
    for name in models:
        t0 = time.perf_counter()
        if name == "DeepWalk (gensim)":
            pipeline.train(workdir=workdir, **opts)
        elif name == "skip-gram (numba)":
            pipeline.train(workdir=workdir, trainer="numba", **opts)
        else:
            pipeline.train(workdir=workdir, side_info=side, side_cols=SIDE_COLS,
                           fusion=name.lower(), **opts)
        timings[name] = time.perf_counter() - t0
        out[name] = vectors_by_id(workdir, Path(workdir) / f"{name.split()[0]}.parquet")
        print(f"  trained {name} in {timings[name]:.1f}s", flush=True)
    return out, timings


def link_prediction(tmp: Path, side: Path, opts: dict, walk_opts: dict, seed: int):
    full = tmp / "full"
    graphemb.build_graph(DATA / "ratings.csv", workdir=full, undirected=True)
    graph, _ = load_graph(full)
    ids = graph.node_ids
    u, v, w = undirected_edges(graph)
    n = graph.num_nodes
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(u))
    n_test = len(u) // 3
    test, train = order[:n_test], order[n_test:]
    edge_keys = np.sort(u * n + v)
    neg_a, neg_b = non_edges(n_test, None, np.arange(n), edge_keys, n, rng)
    edges_csv = tmp / "train_edges.csv"
    pd.DataFrame({"src": ids[u[train]], "dst": ids[v[train]], "weight": w[train]}) \
        .to_csv(edges_csv, index=False)
    work = tmp / "lp"
    graphemb.build_graph(from_edges=edges_csv, workdir=work, undirected=True)
    graphemb.walk(workdir=work, **walk_opts)
    train_graph, _ = load_graph(work)
    in_train = set(train_graph.node_ids.tolist())
    pos_pairs = (ids[u[test]], ids[v[test]])
    neg_pairs = (ids[neg_a], ids[neg_b])

    def both_in(pairs):
        return np.array([a in in_train and b in in_train for a, b in zip(*pairs)])

    pos_in, neg_in = both_in(pos_pairs), both_in(neg_pairs)
    models = ["DeepWalk (gensim)", "skip-gram (numba)", "GES", "EGES"]
    vecs, timings = train_models(work, side, opts, models)
    rows = []
    for name in models:
        dim = opts["dim"]
        sp, sn = score(vecs[name], *pos_pairs, dim), score(vecs[name], *neg_pairs, dim)
        cp = score(vecs[name], *pos_pairs, dim, cosine=True)
        cn = score(vecs[name], *neg_pairs, dim, cosine=True)
        rows.append((name, auc(sp, sn), auc(sp[pos_in], sn[neg_in]), auc(cp, cn),
                     auc(cp[pos_in], cn[neg_in]), timings[name]))
    info = {"nodes": n, "edges": len(u), "test_pos": n_test, "test_neg": n_test,
            "train_nodes": train_graph.num_nodes,
            "pairs_both_in_train": f"{int(pos_in.sum())} pos / {int(neg_in.sum())} neg"}
    return rows, info, full


def cold_start(tmp: Path, side: Path, full: Path, opts: dict, walk_opts: dict, seed: int):
    graph, _ = load_graph(full)
    ids = graph.node_ids
    n = graph.num_nodes
    rng = np.random.default_rng(seed + 1)
    held = rng.choice(n, n // 10, replace=False)
    held_ids = set(ids[held].tolist())
    ratings = pd.read_csv(DATA / "ratings.csv")
    kept = ratings[~ratings.movieId.isin(held_ids)]
    ratings_csv = tmp / "ratings_warm.csv"
    kept.to_csv(ratings_csv, index=False)
    work = tmp / "cold"
    graphemb.build_graph(ratings_csv, workdir=work, undirected=True)
    graphemb.walk(workdir=work, **walk_opts)
    warm_graph, _ = load_graph(work)
    warm_index = {x: i for i, x in enumerate(warm_graph.node_ids.tolist())}

    u, v, _ = undirected_edges(graph)
    is_held = np.zeros(n, dtype=bool)
    is_held[held] = True
    touch = is_held[u] | is_held[v]
    # Orient each held-out edge as (held-out item, other item).
    a = np.where(is_held[u[touch]], u[touch], v[touch])
    b = np.where(is_held[u[touch]], v[touch], u[touch])
    edge_keys = np.sort(u * n + v)
    neg_a, neg_b = non_edges(len(a), a, np.arange(n), edge_keys, n, rng)

    vecs, timings = train_models(work, side, opts, ["GES", "EGES"])
    dim = opts["dim"]
    pos = (ids[a], ids[b])
    neg = (ids[neg_a], ids[neg_b])
    rows = []
    for name in ("GES", "EGES"):
        rows.append((f"{name} (side-information average)",
                     auc(score(vecs[name], *pos, dim), score(vecs[name], *neg, dim)),
                     auc(score(vecs[name], *pos, dim, True), score(vecs[name], *neg, dim,
                                                                     True))))
    rand = {i: r for i, r in zip(ids, np.random.default_rng(seed + 2).standard_normal((n, dim)))}
    rows.append(("random vectors", auc(score(rand, *pos, dim), score(rand, *neg, dim)), None))

    # Popularity and category popularity from the training (warm) graph.
    wdeg = np.asarray(np.add.reduceat(np.asarray(warm_graph.weights, dtype=np.float64),
                                      warm_graph.indptr[:-1]))
    wdeg[np.diff(warm_graph.indptr) == 0] = 0

    def popularity(x_ids):
        return np.array([wdeg[warm_index[x]] if x in warm_index else 0.0 for x in x_ids])

    movies = pd.read_csv(side)
    genre_of = dict(zip(movies.movieId, movies.genre))
    genres = sorted(set(genre_of.values()))
    gidx = {g: k for k, g in enumerate(genres)}
    node_genre = np.array([gidx[genre_of.get(x, genres[0])] for x in warm_graph.node_ids])
    # per warm node: edge weight to warm items of each first genre
    src = np.repeat(np.arange(warm_graph.num_nodes), np.diff(warm_graph.indptr))
    to_genre = np.zeros((warm_graph.num_nodes, len(genres)))
    np.add.at(to_genre, (src, node_genre[np.asarray(warm_graph.indices)]),
              np.asarray(warm_graph.weights, dtype=np.float64))

    def category_popularity(c_ids, x_ids):
        return np.array([to_genre[warm_index[x], gidx[genre_of[c]]] if x in warm_index else 0.0
                         for c, x in zip(c_ids, x_ids)]) + 1e-9 * popularity(x_ids)

    rows.append(("popularity of the other item", auc(popularity(pos[1]), popularity(neg[1])),
                 None))
    rows.append(("category popularity", auc(category_popularity(*pos),
                                            category_popularity(*neg)), None))
    info = {"held_out_items": len(held), "held_out_edges": len(a),
            "held_out_edges_with_warm_other": int((~is_held[b]).sum()),
            "warm_graph_nodes": warm_graph.num_nodes}
    return rows, info


def throughput(full: Path, side: Path, dim, window, negative, epochs, workers, repeat):
    """Words/s of gensim skip-gram and of our trainer on the same walks (best of repeat)."""
    from gensim.models import Word2Vec

    from graphemb import sgns
    from graphemb.corpus import write_corpus
    from graphemb.eges import read_side_info, train_eges
    from graphemb.walks import set_workers

    graph, _ = load_graph(full)
    walks, _ = load_walks(full)
    walks = np.asarray(walks)
    set_workers(workers)
    rows = []
    with tempfile.TemporaryDirectory() as t:
        corpus = Path(t) / "corpus.txt"
        counts, n_walks = write_corpus([walks], corpus, graph.num_nodes)
        tokens = int(counts.sum())
        best = np.inf
        for _ in range(repeat):
            model = Word2Vec(vector_size=dim, window=window, min_count=1, sg=1, negative=negative,
                             sample=0, workers=workers, epochs=epochs, seed=0)
            model.build_vocab_from_freq({str(i): int(c) for i, c in enumerate(counts) if c},
                                        corpus_count=n_walks)
            t0 = time.perf_counter()
            model.train(corpus_file=str(corpus), total_examples=n_walks, total_words=tokens,
                        epochs=epochs)
            best = min(best, time.perf_counter() - t0)
        rows.append(("gensim skip-gram (corpus_file)", tokens * epochs / best, best))
    common = dict(dim=dim, window=window, negative=negative, epochs=epochs, sample=0.0)
    sgns.train_skipgram(walks[:256], graph.num_nodes, **{**common, "epochs": 1})  # compile
    best = min(sgns.train_skipgram(walks, graph.num_nodes, **common)[2]["seconds"]
               for _ in range(repeat))
    rows.append(("graphemb numba skip-gram", tokens * epochs / best, best))
    info = read_side_info(side, side_cols=SIDE_COLS)
    for fusion in ("ges", "eges"):
        best = min(train_eges(walks, graph.node_ids, info, fusion=fusion, **common)
                   .stats["seconds"] for _ in range(repeat))
        rows.append((f"graphemb numba {fusion.upper()} ({len(SIDE_COLS)} side columns)",
                     tokens * epochs / best, best))
    return rows, tokens


def table(header, rows, fmt) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        lines.append("| " + " | ".join(f(x) for f, x in zip(fmt, row)) + " |")
    return "\n".join(lines)


def f3(x):
    return "–" if x is None else f"{x:.3f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--window", type=int, default=5)
    ap.add_argument("--negative", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=2, help="throughput: best of this many runs")
    ap.add_argument("--quick", action="store_true", help="fewer walks (5 of length 40)")
    ap.add_argument("--output", type=Path, default=RESULTS)
    args = ap.parse_args()
    walk_opts = {"num_walks": 5 if args.quick else 10, "walk_length": 40 if args.quick else 80,
                 "seed": args.seed, "workers": args.workers}
    opts = {"dim": args.dim, "window": args.window, "negative": args.negative,
            "epochs": args.epochs, "workers": args.workers, "seed": args.seed}
    t_start = time.perf_counter()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        side = side_table(tmp / "movies_side.csv")
        print("link prediction ...", flush=True)
        lp_rows, lp_info, full = link_prediction(tmp, side, opts, walk_opts, args.seed)
        print("cold start ...", flush=True)
        cs_rows, cs_info = cold_start(tmp, side, full, opts, walk_opts, args.seed)
        print("throughput ...", flush=True)
        graphemb.walk(workdir=full, **walk_opts)
        tp_rows, tokens = throughput(full, side, args.dim, args.window, args.negative,
                                     1, args.workers, args.repeat)
    gensim_wps = tp_rows[0][1]
    tp_rows = [(name, wps, wps / gensim_wps, sec) for name, wps, sec in tp_rows]

    def words(x):
        return f"{x / 1e3:,.0f} k"

    out = [
        "# EGES on MovieLens (ml-latest-small)",
        "",
        f"`python benchmarks/eges.py` — {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, {args.workers} workers; dim {args.dim}, window {args.window}, "
        f"{args.negative} negatives, {args.epochs} epochs; walks {walk_opts['num_walks']} x "
        f"{walk_opts['walk_length']} per node; side information: first genre, genre set, "
        f"decade. Total {time.perf_counter() - t_start:.0f}s; load average before/after "
        f"{load_before:.1f}/{os.getloadavg()[0]:.1f} (other jobs share the machine: timings "
        "are noisy, throughput is the best of several runs).",
        "",
        "## Link prediction (1/3 of edges held out, as many non-edges; AUC)",
        "",
        "Graph: " + ", ".join(f"{k.replace('_', ' ')} {v:,}" if isinstance(v, int) else
                              f"{k.replace('_', ' ')} {v}" for k, v in lp_info.items()) + ".",
        "",
        table(["model", "AUC dot, all pairs", "AUC dot, both items in train graph",
               "AUC cosine, all", "AUC cosine, both in train", "train s"], lp_rows,
              [str, f3, f3, f3, f3, lambda x: f"{x:.0f}"]),
        "",
        "## Cold start (10% of items held out with all their events; AUC of their edges)",
        "",
        "Held out: " + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in cs_info.items())
        + ".",
        "",
        table(["scorer", "AUC dot", "AUC cosine"], cs_rows, [str, f3, f3]),
        "",
        f"## Trainer throughput (same walks: {tokens:,} words, 1 epoch, sample 0, "
        f"{args.workers} workers, best of {args.repeat})",
        "",
        table(["trainer", "words/s", "vs gensim", "seconds"], tp_rows,
              [str, words, lambda x: f"{x:.2f}x", lambda x: f"{x:.1f}"]),
        "",
    ]
    text = "\n".join(out)
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
