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
    from graphemb.models.word2vec import train_word2vec
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.process_time()
        vectors, has, _ = train_word2vec([walks], n, Path(tmp), dim=dim, window=window,
                                         epochs=epochs, negative=negative, sample=sample,
                                         workers=workers, seed=seed)
        return vectors, time.process_time() - t0


def embed_numba(walks, n, *, dim, window, epochs, seed, negative=5, sample=1e-3):
    from graphemb.models import sgns
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


def load_log_graph(log, tmp: Path, name: str, **options):
    import graphemb
    from graphemb.pipeline import load_graph
    ws = tmp / f"ws-{name}"
    graphemb.build_graph(log, workdir=ws, undirected=True, quiet=True, **options)
    graph, _ = load_graph(ws, mmap=False)
    return graph


def auc(pos, neg):
    from sklearn.metrics import roc_auc_score
    return float(roc_auc_score(np.r_[np.ones(len(pos)), np.zeros(len(neg))], np.r_[pos, neg]))


def node_categories(side_path, cat_col, node_ids):
    import pandas as pd
    side = pd.read_csv(side_path, dtype=str, keep_default_na=False)
    lookup = dict(zip(side.iloc[:, 0], side[cat_col]))
    return np.array([lookup.get(str(i), "") for i in node_ids], dtype=object)


def eges_models(walks, node_ids, side_path, *, dim, window, epochs, seed, side_update,
                attention_lr=0.1, models=("DeepWalk", "GES", "EGES")):
    from graphemb.models import sgns
    from graphemb.models.eges import read_side_info, train_eges
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


def lp_pairs(n, keys, held_out, residual_keys, cats, negatives, rng):
    """Test pairs (held-out edges, then as many non-edges) and the baselines' scores on
    them: (a, b, number of positives, {baseline: scores}). Ties broken by popularity."""
    from graphemb import evaluate as ev
    tu, tv = held_out
    weights = ev.negative_weights(negatives, n, keys, tu, tv)
    na, nb = ev.sample_non_edges(n, len(tu), keys, rng, weights)
    a, b = np.r_[tu, na], np.r_[tv, nb]
    base = ev.baseline_scores(n, residual_keys, a, b)
    pop = base["popularity"]
    return a, b, len(tu), {"popularity (deg·deg)": pop,
                           "common neighbours": base["common_neighbours"] + 1e-9 * pop,
                           "same category": (cats[a] == cats[b]).astype(float) + 1e-9 * pop}


def eges_protocol(datasets, seeds, *, dim=160, window=5, epochs=3, side_update="mean",
                  num_walks=20, walk_length=10, tmp=None, attention_lr=0.1,
                  models=("DeepWalk", "GES", "EGES")):
    rows = []
    for name, make in datasets:
        log, side_path, cat_col = make(tmp)
        graph = load_log_graph(log, tmp, name)
        cats = node_categories(side_path, cat_col, graph.node_ids)
        per = {}
        for seed in seeds:
            from graphemb import evaluate as ev
            rng = np.random.default_rng(100 + seed)
            n = graph.num_nodes
            # The link-prediction protocol of `graphemb evaluate link-prediction`.
            residual, (tu, tv), keys, _ = ev.split_edges(graph, 1 / 3, seed)
            residual_keys = ev.undirected_keys(residual)
            walks = deepwalk_walks(residual, num_walks, walk_length, seed=seed)
            models = eges_models(walks, graph.node_ids, side_path, dim=dim, window=window,
                                 epochs=epochs, seed=seed, side_update=side_update,
                                 attention_lr=attention_lr, models=models)
            for negatives in ("uniform", "degree"):
                a, b, k, scores = lp_pairs(n, keys, (tu, tv), residual_keys, cats, negatives,
                                           rng)
                for mname, res in models.items():
                    vec, has = (res, np.ones(n, bool)) if isinstance(res, np.ndarray) else \
                        (res.vectors, res.has_vector)
                    scores[mname] = ev.embedding_scores(vec, has, a, b)["centred_cosine"]
                for sname, sc in scores.items():
                    per.setdefault((negatives, sname), []).append(auc(sc[:k], sc[k:]))
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


def cold_start(datasets, seeds, *, dim=128, window=5, epochs=3, side_update="mean",
               num_walks=10, walk_length=20, tmp=None, fraction=0.1):
    """Hidden items' true neighbours (their warm neighbours in the full graph) against the
    10 best warm items of each method (HR@10), and their true neighbours against as many
    random warm non-neighbours (AUC)."""
    import pandas as pd
    from graphemb.models import eges as eges_mod
    rows = []
    for name, make in datasets:
        log, side_path, cat_col = make(tmp)
        full = load_log_graph(log, tmp, name + "-full")
        side = pd.read_csv(side_path, dtype=str, keep_default_na=False)
        events = pd.read_csv(log, dtype=str, keep_default_na=False)
        item_col = side.columns[0]
        cat_of = dict(zip(side[item_col], side[cat_col]))
        info = eges_mod.read_side_info(side_path)
        per = {}
        for seed in seeds:
            rng = np.random.default_rng(200 + seed)
            full_ids = np.asarray(full.node_ids).astype(str)
            hidden = set(rng.choice(full_ids, int(fraction * len(full_ids)), replace=False))
            events[~events[item_col].isin(hidden)].to_csv(tmp / f"{name}-warm.csv", index=False)
            warm = load_log_graph(tmp / f"{name}-warm.csv", tmp, f"{name}-warm-{seed}")
            walks = deepwalk_walks(warm, num_walks, walk_length, seed=seed)
            warm_ids = np.asarray(warm.node_ids).astype(str)
            warm_pos = {x: i for i, x in enumerate(warm_ids)}
            n_warm = len(warm_ids)
            counts = np.asarray(warm.node_counts, dtype=np.float64)
            warm_cat = np.array([cat_of.get(x, "") for x in warm_ids], dtype=object)
            fpos = {x: i for i, x in enumerate(full_ids)}
            queries, truth = [], []
            for h in sorted(hidden):
                i = fpos[h]
                nb = [warm_pos[x] for x in full_ids[full.indices[full.indptr[i]:full.indptr[i + 1]]]
                      if x in warm_pos]
                if nb:
                    queries.append(h)
                    truth.append(np.unique(nb))
            q_cat = np.array([cat_of.get(h, "") for h in queries], dtype=object)
            # one negative warm item per true neighbour, not a neighbour
            negs = []
            for t in truth:
                cand = rng.integers(0, n_warm, 2 * len(t) + 8)
                negs.append(cand[~np.isin(cand, t)][:len(t)])
            methods = {
                "most popular": lambda sl: np.broadcast_to(np.log1p(counts), (sl.stop - sl.start, n_warm)),
                "same-category popularity": lambda sl: (q_cat[sl, None] == warm_cat[None, :]) * 1e3
                + np.log1p(counts)[None, :],
            }
            for fusion in ("ges", "eges"):
                res = eges_mod.train_eges(walks, warm.node_ids, info, fusion=fusion, dim=dim,
                                          window=window, epochs=epochs, seed=seed,
                                          side_update=side_update)
                mean = res.vectors[res.has_vector].mean(0)
                unit = res.vectors - mean
                unit /= np.maximum(np.linalg.norm(unit, axis=1, keepdims=True), 1e-12)
                cold_pos = np.array([{str(x): i for i, x in enumerate(res.cold_ids)}[h]
                                     for h in queries])
                variants = eges_mod.cold_start_variants(res)
                cent = variants["centroid"][cold_pos] - mean
                cent /= np.maximum(np.linalg.norm(cent, axis=1, keepdims=True), 1e-12)
                raw = variants["side embeddings"][cold_pos]
                codes = res.cold_codes[cold_pos]
                methods[f"{fusion.upper()}: cosine to the side-value centroid"] = \
                    lambda sl, c=cent, u=unit: c[sl] @ u.T
                methods[f"{fusion.upper()}: cosine to the side embeddings"] = \
                    lambda sl, c=raw - mean, u=unit: c[sl] @ u.T
                for gamma in (0.0, eges_mod.COLD_GAMMA):
                    methods[f"{fusion.upper()}: H·Z + log-count prior + γ={gamma:g} per shared value"] = \
                        lambda sl, r=res, h=raw, c=codes, g=gamma: eges_mod.cold_scores(
                            h[sl], c[sl], r.Z, r.token_counts, r.node_codes, g,
                            missing=r.missing_codes)
                methods[f"{fusion.upper()}: H·Z + log-count prior + value log-odds "
                        "(graphemb similar COLD_ID)"] = \
                    lambda sl, r=res, h=raw, c=codes: eges_mod.cold_scores(
                        h[sl], c[sl], r.Z, r.token_counts, r.node_codes, bonus=r.cold_bonus,
                        missing=r.missing_codes)
                print(f"{name} seed {seed} {fusion} value log-odds "
                      f"{np.round(res.cold_bonus, 3).tolist()}", flush=True)
            for mname, fn in methods.items():
                hr, pos, neg = [], [], []
                for s0 in range(0, len(queries), 512):
                    sl = slice(s0, min(s0 + 512, len(queries)))
                    sc = np.nan_to_num(np.asarray(fn(sl), dtype=np.float64), neginf=-1e30)
                    top = np.argpartition(-sc, 10, axis=1)[:, :10]
                    for r, qi in enumerate(range(sl.start, sl.stop)):
                        hr.append(bool(np.isin(top[r], truth[qi]).any()))
                        pos.append(sc[r, truth[qi]])
                        neg.append(sc[r, negs[qi]])
                d = per.setdefault(mname, {"hr": [], "auc": []})
                d["hr"].append(float(np.mean(hr)))
                d["auc"].append(auc(np.concatenate(pos), np.concatenate(neg)))
        for method, d in per.items():
            rows.append([name, method, len(queries),
                         f"{np.mean(d['hr']):.4f} ± {np.std(d['hr']):.4f}",
                         f"{np.mean(d['auc']):.4f} ± {np.std(d['auc']):.4f}"])
            print(" | ".join(map(str, rows[-1])), flush=True)
    return table(["log", "method", "cold items", "HR@10 (mean ± sd over seeds)",
                  "AUC (mean ± sd)"], rows)


def speed_child(trainer, walks_path, window, dim, epochs, threads):
    """Run in a child process: print CPU and wall seconds of one training (compile excluded)."""
    import numba
    walks = np.load(walks_path)
    n = int(walks.max()) + 1
    numba.set_num_threads(threads)
    opts = dict(dim=dim, window=window, epochs=epochs, seed=0)
    if trainer == "numba":
        embed_numba(walks[:64], n, **{**opts, "epochs": 1})          # compile / load cache
        t0, c0 = time.perf_counter(), time.process_time()
        embed_numba(walks, n, **opts)
    else:
        t0, c0 = time.perf_counter(), time.process_time()
        embed_gensim(walks, n, workers=threads, **opts)
    print(f"{time.process_time() - c0:.4f} {time.perf_counter() - t0:.4f} {walks.size}")


def speed(rounds=3, windows=(5, 10), dim=128, epochs=1, tmp=None):
    """gensim vs numba on the same PPI walks: CPU s pinned to one core (1 thread), and wall
    s with 2 threads; contestants interleaved A B A B; median and spread of the ratio."""
    import subprocess
    graph, _ = ppi()
    walks = deepwalk_walks(graph, seed=0)
    path = tmp / "walks.npy"
    np.save(path, walks)
    words = int((walks >= 0).sum()) * epochs
    rows = []
    for window in windows:
        for threads, pin in ((1, ["taskset", "-c", "0"]), (2, [])):
            got = {"gensim": [], "numba": []}
            for _ in range(rounds):
                for trainer in ("gensim", "numba"):
                    out = subprocess.run(pin + [sys.executable, __file__, "--speed-child", trainer,
                                                str(path), str(window), str(dim), str(epochs),
                                                str(threads)],
                                         capture_output=True, text=True, check=True).stdout
                    cpu, wall, _ = map(float, out.split()[-3:])
                    got[trainer].append(cpu if threads == 1 else wall)
            g, nb = np.array(got["gensim"]), np.array(got["numba"])
            ratio = g / nb
            what = "CPU s, 1 thread pinned" if threads == 1 else "wall s, 2 threads"
            rows.append([window, dim, epochs, what, f"{np.median(g):.2f}", f"{np.median(nb):.2f}",
                         f"{words / np.median(g) / 1e3:.0f}k", f"{words / np.median(nb) / 1e3:.0f}k",
                         f"{np.median(ratio):.2f}× ({ratio.min():.2f}–{ratio.max():.2f})"])
            print(" | ".join(map(str, rows[-1])), flush=True)
    return table(["window", "dim", "epochs", "measure", "gensim", "numba", "gensim words/s",
                  "numba words/s", "numba speed-up, median (range)"], rows)


def table(headers, rows) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--speed-child":
        trainer, path, window, dim, epochs, threads = sys.argv[2:8]
        speed_child(trainer, path, int(window), int(dim), int(epochs), int(threads))
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=["parity", "speed", "eges", "cold"])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--side-update", default="mean", choices=["mean", "sqrt", "sum"])
    ap.add_argument("--attention-lr", type=float, default=0.1)
    ap.add_argument("--models", default="DeepWalk,GES,EGES")
    ap.add_argument("--graphs", default="PPI,Cora,SBM", help="parity: which graphs")
    args = ap.parse_args()
    sections = []
    if args.only in (None, "parity"):
        data = [(name, make) for name, make in (("PPI", ppi), ("Cora", cora), ("SBM", sbm))
                if name in args.graphs.split(",")]
        windows, epochs = ([10], [1]) if args.quick else ([5, 10], [1, 5])
        sections.append("## Trainer parity\n\n" +
                        parity(data, windows, epochs, list(range(args.seeds))))
    if args.only in (None, "speed"):
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            sections.append("## Trainer speed (same PPI walks, 10 × 80, skip-gram, 5 negatives)"
                            "\n\n" + speed(rounds=2 if args.quick else 3, tmp=Path(tmp)))
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
    write_sections(sections, " ".join(["python benchmarks/quality.py", *sys.argv[1:]]))


def write_sections(sections, command):
    """Replace (or add) each printed section in benchmarks/results/quality.md."""
    RESULTS.parent.mkdir(exist_ok=True)
    old = RESULTS.read_text() if RESULTS.exists() else "# Vector quality\n"
    parts = old.split("\n## ")
    head, kept = parts[0], {p.split("\n", 1)[0]: p for p in parts[1:]}
    for section in sections:
        title = section[3:].split("\n", 1)[0]
        kept[title] = section[3:] + f"\n\n(`{command}`, {time.strftime('%Y-%m-%d')})\n"
    RESULTS.write_text(head.rstrip() + "\n\n" + "\n## ".join([""] + list(kept.values()))
                       .lstrip("\n") + "\n")


if __name__ == "__main__":
    main()
