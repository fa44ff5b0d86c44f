"""LSH (random projections) against exact blocked search, and hnswlib when installed.

100k clustered Gaussian vectors; queries are 1,000 of the base vectors (the vector itself is
excluded, as in `graphemb similar`). Reports recall@10 against exact search, candidates
examined, build time, query time and speed-up over exact blocked search (both on all cores).

    python benchmarks/lsh.py                 # writes benchmarks/results/lsh.md
    python benchmarks/lsh.py --n 20000       # a quicker run
"""
from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np

from graphemb.search import LSHIndex, exact_search, normalize, recall_at_k

RESULTS = Path(__file__).parent / "results" / "lsh.md"


def clustered(n, dim, clusters, spread, seed):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    # Uneven cluster sizes, as item popularity is uneven.
    sizes = rng.dirichlet(np.full(clusters, 2.0))
    which = rng.choice(clusters, n, p=sizes)
    return centres[which] + spread * rng.standard_normal((n, dim)).astype(np.float32)


def timed(fn, repeat=3):
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--clusters", type=int, default=1000)
    ap.add_argument("--spread", type=float, default=0.6)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--configs", default="16x12x0,16x14x1,24x14x2,32x14x3,24x14x3,32x16x4",
                    help="tables x bits x probes, comma separated")
    ap.add_argument("--output", default=str(RESULTS))
    args = ap.parse_args()

    data = clustered(args.n, args.dim, args.clusters, args.spread, args.seed)
    base = normalize(data)
    rng = np.random.default_rng(args.seed + 1)
    qi = rng.choice(args.n, args.queries, replace=False)
    queries = base[qi]
    k = args.k

    exact_search(queries[:10], base, k, exclude=qi[:10])                 # warm up BLAS
    t_exact, (truth, _) = timed(lambda: exact_search(queries, base, k, exclude=qi))
    per_q_exact = t_exact / len(qi)
    print(f"exact blocked search: {per_q_exact * 1e3:.3f} ms/query")
    rows = [("exact (blocked matmul)", "-", "1.000", f"{args.n:,}", "-",
             f"{per_q_exact * 1e3:.3f}", "1.0x")]

    for spec in args.configs.split(","):
        tables, bits, probes = (int(x) for x in spec.split("x"))
        t0 = time.perf_counter()
        index = LSHIndex(tables=tables, bits=bits, probes=probes, seed=args.seed).fit(base)
        t_build = time.perf_counter() - t0
        index.query(queries[:5], k, exclude=qi[:5])                         # JIT warm-up
        t_q, (found, _, stats) = timed(lambda: index.query(queries, k, exclude=qi))
        n_cand = stats["candidates"]
        rec = recall_at_k(found, truth)
        per_q = t_q / len(qi)
        print(f"lsh {spec}: recall@{k} {rec:.3f}, {n_cand.mean():.0f} candidates, "
              f"{per_q * 1e3:.3f} ms/query, {per_q_exact / per_q:.1f}x")
        rows.append((f"LSH {tables} tables x {bits} bits, {probes} probes",
                     f"{t_build:.2f}", f"{rec:.3f}", f"{n_cand.mean():,.0f}", "-",
                     f"{per_q * 1e3:.3f}", f"{per_q_exact / per_q:.1f}x"))

    try:
        import hnswlib
    except ImportError:
        hnswlib = None
        print("hnswlib not installed: skipped")
    if hnswlib is not None:
        t0 = time.perf_counter()
        h = hnswlib.Index(space="ip", dim=args.dim)
        h.init_index(max_elements=args.n, ef_construction=200, M=16, random_seed=args.seed)
        h.add_items(base, np.arange(args.n), num_threads=os.cpu_count())
        t_build = time.perf_counter() - t0
        for ef in (32, 64, 128):
            h.set_ef(ef)
            t_q, (labels, _) = timed(lambda: h.knn_query(queries, k + 1,
                                                         num_threads=os.cpu_count()))
            labels = labels.astype(np.int64)
            # drop the query itself, keep k
            keep = labels != qi[:, None]
            found = np.array([row[m][:k] for row, m in zip(labels, keep)])
            rec = recall_at_k(found, truth)
            per_q = t_q / len(qi)
            print(f"hnswlib ef={ef}: recall@{k} {rec:.3f}, {per_q * 1e3:.3f} ms/query")
            rows.append((f"hnswlib M=16 ef_construction=200, ef={ef}", f"{t_build:.2f}", f"{rec:.3f}",
                         "-", "-", f"{per_q * 1e3:.3f}", f"{per_q_exact / per_q:.1f}x"))

    header = ("method", "build s", f"recall@{k}", "candidates / query", "", "ms / query",
              "speed-up vs exact")
    lines = [
        "# LSH benchmark: `graphemb similar --index lsh` against exact search",
        "",
        "Command: `python benchmarks/lsh.py"
        + "".join(f" --{name} {getattr(args, name)}" for name in
                  ("n", "dim", "clusters", "spread", "queries", "k"))
        + "`",
        "",
        f"Data: {args.n:,} vectors, dim {args.dim}, {args.clusters} Gaussian clusters of uneven "
        f"size (centres N(0, I), spread {args.spread}), L2-normalised; {args.queries:,} queries "
        "drawn from the base set, the query itself excluded. Recall@k is against exact cosine "
        "top-k. Timings are the best of 3 runs over all queries, divided by the number of "
        "queries; exact search is the blocked matrix product + partial sort that `graphemb "
        "similar` uses (NumPy/BLAS), LSH query and re-ranking is a Numba kernel, both on "
        f"all {os.cpu_count()} cores.",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, NumPy {np.__version__}.",
        "",
        "| " + " | ".join(h for h in header if h) + " |",
        "|" + "---|" * (len(header) - 1),
    ]
    for r in rows:
        cells = [c for i, c in enumerate(r) if header[i]]
        lines.append("| " + " | ".join(cells) + " |")
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
