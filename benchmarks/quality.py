"""Vector quality: trainer parity with gensim, EGES/GES/DeepWalk with baselines, cold start.

Three tables (issue 10), each printed as Markdown and written to benchmarks/results/quality.md:

1. Trainer parity. The same walks (DeepWalk, 10 walks x 80 per node) are embedded by gensim's
   skip-gram (one worker) and by graphemb's Numba trainer (one thread); Macro-F1 of
   one-vs-rest logistic regression with 50% of the nodes labelled (5 random splits) on PPI,
   Cora and a generated stochastic block model with planted communities, at window 5 and 10,
   1 and 5 epochs, over several seeds (walks and trainer seeded alike). Parity = the mean
   difference is within one split standard deviation. Then speed: CPU seconds of each on
   the same corpus, pinned to one core, interleaved.
2. EGES protocol (Wang et al. 2018, 4.1) on MovieLens (genres, decade) and the Taobao sample
   (category): 1/3 of the undirected edges held out, the graph kept connected by a random
   spanning forest; as many non-edges, uniform or degree-matched; walks 20 x 10 on the rest,
   d=160, window 5. AUC of DeepWalk, GES, EGES by centred cosine, and of the baselines
   popularity (deg*deg), common neighbours and same category.
3. Cold start: 10% of the items are removed from the log; they get vectors from side
   information only. HR@10 of their true neighbours (items they were co-visited with in the
   full log) among their 10 nearest warm items, and AUC of held-out edges against non-edges
   from the same items; baseline: most popular items of the same category.

    python benchmarks/quality.py                 # everything (~30 min on 2 cores)
    python benchmarks/quality.py --only parity --quick
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"
RESULTS = Path(__file__).parent / "results" / "quality.md"


# ------------------------------------------------------------------------- data sets

def ppi():
    from graphemb.evaluate import graph_from_adjacency, read_mat
    adj, labels = read_mat(DATA / "ppi" / "Homo_sapiens.mat")
    graph, _ = graph_from_adjacency(adj)
    return graph, labels[np.asarray(graph.node_ids, dtype=np.int64)]


def cora():
    from graphemb.evaluate import graph_from_adjacency
    import scipy.sparse as sp
    edges = np.loadtxt(DATA / "cora" / "cora_edgelist.txt", dtype=np.int64)
    lab = np.loadtxt(DATA / "cora" / "cora_labels.txt", dtype=np.int64)
    n = int(max(edges.max(), lab[:, 0].max())) + 1
    adj = sp.coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    adj = ((adj + adj.T) > 0).astype(np.float64)
    graph, _ = graph_from_adjacency(sp.triu(adj))
    y = np.zeros((n, lab[:, 1].max() + 1), dtype=bool)
    y[lab[:, 0], lab[:, 1]] = True
    return graph, y[np.asarray(graph.node_ids, dtype=np.int64)]


def sbm(n=3000, k=30, degree=10, inside=0.3, seed=0):
    """Planted communities: each node has ``degree`` edges on average, a share ``inside`` of
    them within its own community (equal sizes); labels = community."""
    from graphemb.evaluate import graph_from_adjacency
    import scipy.sparse as sp
    rng = np.random.default_rng(seed)
    block = np.arange(n) % k
    m = n * degree // 2
    u = rng.integers(0, n, m)
    same = rng.random(m) < inside
    v_in = (rng.integers(0, n // k, m) * k + block[u])
    v_out = rng.integers(0, n, m)
    v = np.where(same, v_in, v_out)
    keep = u != v
    adj = sp.coo_matrix((np.ones(keep.sum()), (np.minimum(u, v)[keep], np.maximum(u, v)[keep])),
                        shape=(n, n)).tocsr()
    adj.data[:] = 1.0
    graph, _ = graph_from_adjacency(adj)
    y = np.zeros((n, k), dtype=bool)
    y[np.arange(n), block] = True
    return graph, y[np.asarray(graph.node_ids, dtype=np.int64)]


# ------------------------------------------------------------------------ embedding

def deepwalk_walks(graph, num_walks=10, walk_length=80, p=1.0, q=1.0, seed=0):
    from graphemb.walks import WalkSampler, start_nodes
    sampler = WalkSampler(graph.indptr, graph.indices, graph.weights)
    parts, first = [], 0
    for _, starts in start_nodes(np.asarray(graph.indptr), num_walks, seed):
        parts.append(sampler.walks(starts, first, walk_length, p, q, seed))
        first += len(starts)
    return np.concatenate(parts)


def embed_gensim(walks, n, *, dim, window, epochs, seed, workers=1, negative=5,
                 sample=1e-3):
    import tempfile
    from graphemb.word2vec import train_word2vec
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.process_time()
        vectors, has, _ = train_word2vec([walks], n, Path(tmp), dim=dim, window=window,
                                         epochs=epochs, negative=negative, sample=sample,
                                         workers=workers, seed=seed)
        return vectors, time.process_time() - t0


def embed_numba(walks, n, *, dim, window, epochs, seed, negative=5, sample=1e-3):
    from graphemb import sgns
    t0 = time.process_time()
    vectors, has, _ = sgns.train_skipgram(walks, n, dim=dim, window=window, epochs=epochs,
                                          negative=negative, sample=sample, seed=seed)
    return vectors, time.process_time() - t0


def macro_f1(vectors, y, repeats=5, seed=0):
    from graphemb.evaluate import classify
    row = classify(vectors, y, ratios=[0.5], repeats=repeats, seed=seed)[0]
    return row["macro_f1"], row["macro_f1_std"]


# --------------------------------------------------------------------------- parity

def parity(datasets, windows, epoch_list, seeds, dim=128):
    import numba
    numba.set_num_threads(1)
    rows = []
    for name, make in datasets:
        graph, y = make()
        for window in windows:
            for epochs in epoch_list:
                f_g, f_n, sd = [], [], []
                for seed in seeds:
                    walks = deepwalk_walks(graph, seed=seed)
                    vg, _ = embed_gensim(walks, graph.num_nodes, dim=dim, window=window,
                                         epochs=epochs, seed=seed)
                    vn, _ = embed_numba(walks, graph.num_nodes, dim=dim, window=window,
                                        epochs=epochs, seed=seed)
                    g, gs = macro_f1(vg, y, seed=seed)
                    nb, ns = macro_f1(vn, y, seed=seed)
                    f_g.append(g)
                    f_n.append(nb)
                    sd.append((gs + ns) / 2)
                diff = np.mean(f_n) - np.mean(f_g)
                split_sd = float(np.mean(sd))
                rows.append([name, window, epochs, f"{np.mean(f_g):.4f} ± {np.std(f_g):.4f}",
                             f"{np.mean(f_n):.4f} ± {np.std(f_n):.4f}", f"{diff:+.4f}",
                             f"{split_sd:.4f}", "yes" if abs(diff) <= split_sd else "NO"])
                print(" | ".join(map(str, rows[-1])), flush=True)
    return table(["graph", "window", "epochs", "gensim Macro-F1", "numba Macro-F1",
                  "numba − gensim", "split sd", "within 1 sd"], rows)


# ------------------------------------------------------------------ logs with side info

def movielens(tmp: Path):
    """(log, side table, category column) for MovieLens: genres (the set), first genre, decade."""
    import pandas as pd
    movies = pd.read_csv(DATA / "movielens-latest-small" / "movies.csv")
    year = movies.title.str.extract(r"\((\d{4})\)\s*$")[0].astype(float)
    side = pd.DataFrame({
        "movieId": movies.movieId,
        "genre": movies.genres.str.split("|").str[0],
        "genres": movies.genres,
        "decade": (year // 10 * 10).astype("Int64").astype(str).replace("<NA>", ""),
    })
    side.to_csv(tmp / "movies_side.csv", index=False)
    return DATA / "movielens-latest-small" / "ratings.csv", tmp / "movies_side.csv", "genres"


def taobao(tmp: Path):
    """(log, side table, category column) for the Taobao sample (no header in the file)."""
    import pandas as pd
    log = pd.read_csv(DATA / "taobao-userbehavior" / "UserBehavior_head.csv", header=None,
                      names=["user_id", "item_id", "category_id", "behavior", "timestamp"])
    log.to_csv(tmp / "taobao.csv", index=False)
    side = log.drop_duplicates("item_id")[["item_id", "category_id"]]
    side.to_csv(tmp / "taobao_side.csv", index=False)
    return tmp / "taobao.csv", tmp / "taobao_side.csv", "category_id"


class Arrays:
    """A CSR graph made here (what WalkSampler and the scorers read)."""

    def __init__(self, indptr, indices, weights, node_ids):
        self.indptr, self.indices, self.weights = indptr, indices, weights
        self.node_ids = node_ids

    @property
    def num_nodes(self):
        return len(self.indptr) - 1


def load_log_graph(log, tmp: Path, name: str, **options):
    import graphemb
    from graphemb.pipeline import load_graph
    ws = tmp / f"ws-{name}"
    graphemb.build_graph(log, workdir=ws, undirected=True, quiet=True, **options)
    graph, _ = load_graph(ws, mmap=False)
    return graph


def upper_edges(graph):
    src = np.repeat(np.arange(graph.num_nodes), np.diff(graph.indptr))
    dst = np.asarray(graph.indices)
    keep = src < dst
    return src[keep], dst[keep].astype(np.int64), np.asarray(graph.weights)[keep]


def hold_out(graph, fraction, seed):
    """(residual graph, test u, test v): a random spanning forest is never removed."""
    import scipy.sparse as sp
    from scipy.sparse.csgraph import minimum_spanning_tree
    rng = np.random.default_rng(seed)
    u, v, w = upper_edges(graph)
    n = graph.num_nodes
    rand = sp.coo_matrix((rng.random(len(u)) + 1e-9, (u, v)), shape=(n, n)).tocsr()
    forest = minimum_spanning_tree(rand).tocoo()
    in_forest = np.zeros(len(u), dtype=bool)
    key = u * n + v
    order = np.argsort(key)
    fk = np.minimum(forest.row, forest.col).astype(np.int64) * n + \
        np.maximum(forest.row, forest.col)
    in_forest[order[np.searchsorted(key[order], fk)]] = True
    candidates = np.flatnonzero(~in_forest)
    want = min(int(round(fraction * len(u))), len(candidates))
    test = rng.choice(candidates, want, replace=False)
    keep = np.ones(len(u), dtype=bool)
    keep[test] = False
    ru, rv, rw = u[keep], v[keep], w[keep]
    adj = sp.coo_matrix((np.r_[rw, rw], (np.r_[ru, rv], np.r_[rv, ru])), shape=(n, n)).tocsr()
    adj.sort_indices()
    residual = Arrays(adj.indptr.astype(np.int64), adj.indices.astype(np.int32),
                      adj.data.astype(np.float32), graph.node_ids)
    return residual, u[test], v[test], set(key.tolist())


def non_edges(n_pairs, n, edge_keys, rng, degree=None):
    """Node pairs that are no edge of the full graph; endpoints uniform or ∝ degree."""
    p = None if degree is None else degree / degree.sum()
    a_all, b_all = [], []
    have = 0
    while have < n_pairs:
        a = rng.choice(n, n_pairs, p=p)
        b = rng.choice(n, n_pairs, p=p)
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        ok = (a != b) & ~np.isin(lo * n + hi, np.fromiter(edge_keys, np.int64)
                                 if not isinstance(edge_keys, np.ndarray) else edge_keys)
        a_all.append(lo[ok])
        b_all.append(hi[ok])
        have += int(ok.sum())
    return np.concatenate(a_all)[:n_pairs], np.concatenate(b_all)[:n_pairs]


def centred_unit(vectors):
    v = vectors - vectors.mean(axis=0)
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


def auc(pos, neg):
    from sklearn.metrics import roc_auc_score
    return float(roc_auc_score(np.r_[np.ones(len(pos)), np.zeros(len(neg))], np.r_[pos, neg]))


def common_neighbours(graph, a, b):
    import scipy.sparse as sp
    n = graph.num_nodes
    adj = sp.csr_matrix((np.ones(len(graph.indices)), graph.indices, graph.indptr), shape=(n, n))
    return np.asarray(adj[a].multiply(adj[b]).sum(axis=1)).ravel()


def node_categories(side_path, cat_col, node_ids):
    import pandas as pd
    side = pd.read_csv(side_path, dtype=str, keep_default_na=False)
    lookup = dict(zip(side.iloc[:, 0], side[cat_col]))
    return np.array([lookup.get(str(i), "") for i in node_ids], dtype=object)


def eges_models(walks, node_ids, side_path, *, dim, window, epochs, seed, side_update,
                attention_lr=1.0, models=("DeepWalk", "GES", "EGES")):
    from graphemb import sgns
    from graphemb.eges import read_side_info, train_eges
    side = read_side_info(side_path)
    common = dict(dim=dim, window=window, epochs=epochs, seed=seed)
    out = {}
    for name in models:
        if name == "DeepWalk":
            out[name] = sgns.train_skipgram(walks, len(node_ids), **common)[0]
        else:
            res = train_eges(walks, node_ids, side, fusion=name.lower(),
                             side_update=side_update, attention_lr=attention_lr, **common)
            out[name] = res
    return out


def eges_protocol(datasets, seeds, *, dim=160, window=5, epochs=3, side_update="mean",
                  num_walks=20, walk_length=10, tmp=None, attention_lr=1.0,
                  models=("DeepWalk", "GES", "EGES")):
    rows = []
    for name, make in datasets:
        log, side_path, cat_col = make(tmp)
        graph = load_log_graph(log, tmp, name)
        cats = node_categories(side_path, cat_col, graph.node_ids)
        per = {}
        for seed in seeds:
            rng = np.random.default_rng(100 + seed)
            residual, tu, tv, keys = hold_out(graph, 1 / 3, seed)
            edge_keys = np.fromiter(keys, np.int64)
            deg = np.diff(residual.indptr).astype(np.float64)
            walks = deepwalk_walks(residual, num_walks, walk_length, seed=seed)
            models = eges_models(walks, graph.node_ids, side_path, dim=dim, window=window,
                                 epochs=epochs, seed=seed, side_update=side_update,
                                 attention_lr=attention_lr, models=models)
            for negatives in ("uniform", "degree"):
                na, nb = non_edges(len(tu), graph.num_nodes, edge_keys, rng,
                                   None if negatives == "uniform" else deg)
                a, b = np.r_[tu, na], np.r_[tv, nb]
                k = len(tu)
                pop = deg[a] * deg[b]
                scores = {
                    "popularity (deg·deg)": pop,
                    "common neighbours": common_neighbours(residual, a, b) + 1e-9 * pop,
                    "same category": (cats[a] == cats[b]).astype(float) + 1e-9 * pop,
                }
                for mname, res in models.items():
                    vec = res if isinstance(res, np.ndarray) else res.vectors
                    cu = centred_unit(vec)
                    scores[mname] = (cu[a] * cu[b]).sum(1)
                for sname, s in scores.items():
                    per.setdefault((negatives, sname), []).append(auc(s[:k], s[k:]))
            if "EGES" in models:
                att = models["EGES"].attention[:, 0]
                from scipy.stats import spearmanr
                counts = np.asarray(graph.node_counts, dtype=np.float64)
                per.setdefault(("attention", "spearman"), []).append(
                    spearmanr(counts, att).correlation)
                per.setdefault(("attention", "mean"), []).append(float(att.mean()))
        for (negatives, sname), vals in per.items():
            if negatives == "attention":
                continue
            rows.append([name, negatives, sname, f"{np.mean(vals):.4f} ± {np.std(vals):.4f}"])
        if ("attention", "spearman") in per:
            rows.append([name, "—", "EGES id weight: mean, Spearman vs item count",
                         f"{np.mean(per[('attention', 'mean')]):.3f}, "
                         f"{np.mean(per[('attention', 'spearman')]):+.3f}"])
        for r in rows[-(len(per) - 1):]:
            print(" | ".join(r), flush=True)
    return table(["log", "negatives", "scorer", "AUC (mean ± sd over seeds)"], rows)


def top_k(queries, base, k):
    """Indices of the k rows of ``base`` with the largest dot product, per query row."""
    out = np.empty((len(queries), k), dtype=np.int64)
    for s in range(0, len(queries), 1024):
        sc = queries[s:s + 1024] @ base.T
        part = np.argpartition(-sc, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(sc, part, 1), axis=1)
        out[s:s + 1024] = np.take_along_axis(part, order, 1)
    return out


def cold_start(datasets, seeds, *, dim=128, window=5, epochs=3, side_update="mean",
               num_walks=10, walk_length=20, tmp=None, fraction=0.1):
    import pandas as pd
    from graphemb import eges as eges_mod
    rows = []
    for name, make in datasets:
        log, side_path, cat_col = make(tmp)
        full = load_log_graph(log, tmp, name + "-full")
        side = pd.read_csv(side_path, dtype=str, keep_default_na=False)
        events = pd.read_csv(log, dtype=str, keep_default_na=False)
        item_col = side.columns[0]
        per = {}
        for seed in seeds:
            rng = np.random.default_rng(200 + seed)
            full_ids = np.asarray(full.node_ids).astype(str)
            hidden = set(rng.choice(full_ids, int(fraction * len(full_ids)), replace=False))
            kept = events[~events[item_col].isin(hidden)]
            kept.to_csv(tmp / f"{name}-warm.csv", index=False)
            warm = load_log_graph(tmp / f"{name}-warm.csv", tmp, f"{name}-warm-{seed}")
            walks = deepwalk_walks(warm, num_walks, walk_length, seed=seed)
            info = eges_mod.read_side_info(side_path)
            warm_ids = np.asarray(warm.node_ids).astype(str)
            warm_pos = {x: i for i, x in enumerate(warm_ids)}
            counts = np.asarray(warm.node_counts, dtype=np.float64)
            cat_of = dict(zip(side[item_col], side[cat_col]))
            warm_cat = np.array([cat_of.get(x, "") for x in warm_ids], dtype=object)
            # true neighbours of hidden items among warm items, from the full graph
            fpos = {x: i for i, x in enumerate(full_ids)}
            queries, truth = [], []
            for h in sorted(hidden):
                i = fpos[h]
                nb = full_ids[full.indices[full.indptr[i]:full.indptr[i + 1]]]
                nb = [warm_pos[x] for x in nb if x in warm_pos]
                if nb:
                    queries.append(h)
                    truth.append(set(nb))
            # baselines: most popular warm items (overall / same category)
            by_pop = np.argsort(-counts, kind="stable")
            cat_lists = {}
            for j in by_pop:
                lst = cat_lists.setdefault(warm_cat[j], [])
                if len(lst) < 10:
                    lst.append(j)
            rankings = {"most popular": [list(by_pop[:10])] * len(queries)}
            same = []
            for h in queries:
                lst = list(cat_lists.get(cat_of.get(h, ""), []))
                lst += [j for j in by_pop[:20] if j not in lst][:10 - len(lst)]
                same.append(lst)
            rankings["same-category popularity"] = same
            for fusion in ("ges", "eges"):
                res = eges_mod.train_eges(walks, warm.node_ids, info, fusion=fusion, dim=dim,
                                          window=window, epochs=epochs, seed=seed,
                                          side_update=side_update)
                mean = res.vectors[res.has_vector].mean(0)
                base = res.vectors - mean
                base /= np.maximum(np.linalg.norm(base, axis=1, keepdims=True), 1e-12)
                base[~res.has_vector] = 0
                cold_pos = {str(x): i for i, x in enumerate(res.cold_ids)}
                for how, cold_vec in eges_mod.cold_start_variants(res).items():
                    q = np.stack([cold_vec[cold_pos[h]] for h in queries]) - mean
                    q /= np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
                    rankings[f"{fusion.upper()} cold, {how}"] = top_k(q, base, 10)
                    if how == "side embeddings":
                        # skip-gram's own prediction of a context: H_c . Z_u plus the log of
                        # the noise distribution it was trained against (count^0.75)
                        raw = np.stack([cold_vec[cold_pos[h]] for h in queries])
                        bias = 0.75 * np.log(np.maximum(res.token_counts, 1))
                        bias[~res.has_vector] = -1e9
                        for scale in (1.0, float(res.E.shape[1] and len(res.side_labels) + 1)):
                            zq = np.c_[raw * scale, np.ones(len(raw))]
                            zb = np.c_[res.Z, bias]
                            rankings[f"{fusion.upper()} cold, H·Z + log prior ×{scale:g}"] = \
                                top_k(zq, zb, 10)
            for method, ranking in rankings.items():
                hits = [bool(t & set(map(int, r))) for t, r in zip(truth, ranking)]
                per.setdefault(method, []).append(float(np.mean(hits)))
        for method, vals in per.items():
            rows.append([name, method, len(queries),
                         f"{np.mean(vals):.4f} ± {np.std(vals):.4f}"])
            print(" | ".join(map(str, rows[-1])), flush=True)
    return table(["log", "method", "cold items", "HR@10 (mean ± sd over seeds)"], rows)


def table(headers, rows) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=["parity", "speed", "eges", "cold"])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--side-update", default="mean", choices=["mean", "sqrt", "sum"])
    ap.add_argument("--attention-lr", type=float, default=1.0)
    ap.add_argument("--models", default="DeepWalk,GES,EGES")
    args = ap.parse_args()
    sections = []
    if args.only in (None, "parity"):
        data = [("PPI", ppi), ("Cora", cora), ("SBM", sbm)]
        windows, epochs = ([10], [1]) if args.quick else ([5, 10], [1, 5])
        sections.append("## Trainer parity\n\n" +
                        parity(data, windows, epochs, list(range(args.seeds))))
    if args.only in (None, "eges"):
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            sections.append("## EGES protocol\n\n" + eges_protocol(
                [("MovieLens", movielens), ("Taobao", taobao)], list(range(args.seeds)),
                epochs=1 if args.quick else 3, side_update=args.side_update, tmp=Path(tmp),
                attention_lr=args.attention_lr, models=args.models.split(",")))
    if args.only in (None, "cold"):
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            sections.append("## Cold start\n\n" + cold_start(
                [("MovieLens", movielens), ("Taobao", taobao)], list(range(args.seeds)),
                epochs=1 if args.quick else 3, side_update=args.side_update, tmp=Path(tmp)))
    print("\n\n".join(sections))


if __name__ == "__main__":
    main()
