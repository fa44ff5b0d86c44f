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


def table(headers, rows) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=["parity", "speed", "eges", "cold"])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    sections = []
    if args.only in (None, "parity"):
        data = [("PPI", ppi), ("Cora", cora), ("SBM", sbm)]
        windows, epochs = ([10], [1]) if args.quick else ([5, 10], [1, 5])
        sections.append("## Trainer parity\n\n" +
                        parity(data, windows, epochs, list(range(args.seeds))))
    print("\n\n".join(sections))


if __name__ == "__main__":
    main()
