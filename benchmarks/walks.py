"""Walk engines side by side: graphemb vs fastnode2vec, ensmallen (GRAPE), PecanPy.

    python benchmarks/walks.py                    # graphs a (100k/1M) and b (1M/10M), 10 x 80
    python benchmarks/walks.py --quick            # smoke run: graph a, 2 walks x 20 nodes
    python benchmarks/walks.py --sizes a --walks 4 --length 40 --only graphemb,ensmallen

What is measured
----------------
A weighted undirected power-law graph with hubs (``graphgen.py``: Chung-Lu, Zipf expected
degrees, lognormal weights) is written as a tab-separated edge list. Every contestant then
runs in its own subprocess, one after another, so its peak RSS is that process's own high-water mark
(VmHWM, reported by the process itself). Each process loads the edge file its own way ("load": file ->
walk-ready structure), then walks ``--walks`` times from every node, ``--length`` nodes per
walk, for DeepWalk (p=q=1), p=0.5 q=2 and p=2 q=0.5, with ``--threads`` threads.

* graphemb: ``graphemb build-graph --from-edges FILE --undirected`` (CLI subprocess), then a
  worker loads the graph (memory-mapped) and builds the ``WalkSampler`` tables (alias tables).
  load = build-graph seconds + sampler seconds; peak RSS = the larger of the two processes.
* fastnode2vec: ``fastnode2vec.Graph`` from the file's rows; its own Numba kernel
  (``_random_walk_weighted``) driven from a ``prange`` loop (no Python call per walk, which
  flatters it: fastnode2vec itself calls the kernel once per walk from gensim's threads).
* ensmallen: ``Graph.from_csv`` and ``complete_walks`` (one call per repetition, its
  defaults, i.e. ``max_neighbours=100`` neighbour subsampling).
* PecanPy SparseOTF / PreComp: ``read_edg``, then its compiled ``_random_walks`` kernel
  (skipping ``simulate_walks``' conversion of every node index to a Python string). PreComp's
  per-(p, q) preprocessing is counted in its load and only run when 8 * sum(deg^2) bytes fits
  in half of the available memory.

Walks are produced in batches of about 2**22 steps where the engine allows it (graphemb,
fastnode2vec, PecanPy); ensmallen returns one repetition (one walk per node) per call. Walk
seconds count only the engine's calls, not the bookkeeping between batches, as wall time and
as CPU time of the process (all its threads; steps/CPU-s is the speed to compare on a machine
shared with other work). steps/s counts transitions (a walk of 80 nodes is 79 steps).

Return fraction: how we know a sampler is exact
-----------------------------------------------
For each contestant, a uniform sample of the steps (t -> v -> x) of its own walks is kept. The
"observed" column is the share of sampled steps with x == t. The "exact" column is the mean,
over the same sampled steps, of the exact node2vec probability of returning given (t, v):

    P(x = t | t, v) = w(v, t) / p  /  sum_x w(v, x) * alpha(t, x),
    alpha(t, x) = 1/p if x == t, 1 if x is a neighbour of t, 1/q otherwise,

computed from the generated graph by a Numba helper (a sorted merge or binary search of t's
and v's rows, O(deg v + deg t) per sampled step). Conditioning on the contestant's own (t, v)
pairs makes the test sound for any walk distribution: for an exact sampler every indicator
[x == t] is a Bernoulli with that probability given the walk's past, so the differences form a
martingale and z = (observed - exact) * n / sqrt(sum P (1 - P)) is ~N(0, 1); |z| well above 4
means the transition rule is wrong. (A sampler that is wrong in another way, e.g. between
neighbours and non-neighbours of t, shows up in the same statistic only if it shifts the return
mass; the unit tests in tests/test_walks.py check full transition distributions.)
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SIZES = {"a": (100_000, 1_000_000), "b": (1_000_000, 10_000_000)}
CONFIGS = [("DeepWalk", 1.0, 1.0), ("node2vec p=0.5 q=2", 0.5, 2.0),
           ("node2vec p=2 q=0.5", 2.0, 0.5)]
CONTESTANTS = ["graphemb", "fastnode2vec", "ensmallen", "pecanpy-SparseOTF", "pecanpy-PreComp"]
PEER_PACKAGES = ["fastnode2vec", "ensmallen", "pecanpy"]
DEFAULT_VENV = Path.home() / ".cache" / "graphemb-bench" / "peers"
BATCH_STEPS = 1 << 22   # 16 MiB of int32 walks per batch, for every engine


def _maxrss_bytes() -> int:
    """This process's own peak RSS (VmHWM). Not ru_maxrss: Linux carries the parent's peak
    over fork/exec into the child's ru_maxrss, so every child would report at least the
    (large) RSS of this driver."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# Runs the graphemb CLI and writes its own peak RSS to argv[1] on exit.
_CLI_WITH_PEAK = """import atexit, sys
sys.path.insert(0, sys.argv[2])
from walks import _maxrss_bytes
atexit.register(lambda: open(sys.argv[1], "w").write(str(_maxrss_bytes())))
from graphemb.cli import main
main(sys.argv[3:])
"""


# ----------------------------------------------------------------------------- worker side

class Collector:
    """Counts steps and keeps a uniform sample of (t, v, x) triples of the walks."""

    def __init__(self, names, expected_steps, sample, seed):
        self.names = names            # engine node index -> original id (int64)
        self.rate = min(1.0, sample / max(expected_steps, 1))
        self.rng = np.random.default_rng(seed)
        self.steps = 0
        self.triples = []
        self.walks = 0

    def over(self, secs, budget):
        return budget > 0 and secs > budget

    def add(self, walks):
        """walks: 2-D engine node indices, -1 (or negative) padding after a dead end."""
        rows, length = walks.shape
        self.walks += rows
        self.steps += int(np.count_nonzero(walks[:, 1:] >= 0))
        if length < 3 or rows == 0:
            return
        k = self.rng.binomial(rows * (length - 2), self.rate)
        r = self.rng.integers(0, rows, k)
        c = self.rng.integers(1, length - 1, k)
        t, v, x = walks[r, c - 1], walks[r, c], walks[r, c + 1]
        ok = x >= 0
        self.triples.append(np.stack([self.names[t[ok]], self.names[v[ok]],
                                      self.names[x[ok]]]))

    def sample(self):
        if not self.triples:
            return np.zeros((3, 0), dtype=np.int64)
        return np.concatenate(self.triples, axis=1)


class WalkClock:
    """Wall and CPU seconds (CPU: all threads of this process) spent inside ``with clock:``
    blocks, i.e. in the engine's walk calls only. On a shared machine, CPU time is the fairer
    speed: wall time also counts the moments another process held the core."""

    def __init__(self):
        self.wall = self.cpu = 0.0

    def __enter__(self):
        self._t = (time.perf_counter(), time.process_time())

    def __exit__(self, *exc):
        self.wall += time.perf_counter() - self._t[0]
        self.cpu += time.process_time() - self._t[1]


def _batches(n_nodes, num_walks, length, seed):
    """(repetition, starts) batches of about BATCH_STEPS steps, a fresh order per repetition."""
    per_batch = max(1, BATCH_STEPS // length)
    for r in range(num_walks):
        order = np.random.default_rng([seed, r]).permutation(n_nodes)
        for a in range(0, n_nodes, per_batch):
            yield r, a, order[a:a + per_batch]


def work_graphemb(args, report):
    # Only the walk engine is imported (graphemb's package import is lazy), and the CSR
    # arrays are memory-mapped as `graphemb walk` does; node names come from the parent.
    sys.path.insert(0, str(ROOT))
    from graphemb.walks import WalkSampler, set_workers

    set_workers(args.threads)
    # Load the cached machine code on a toy graph first, untimed (as for fastnode2vec's JIT).
    WalkSampler(np.array([0, 1, 2]), np.array([1, 0]), np.array([1.0, 2.0])).walks(
        np.zeros(2, dtype=np.int32), 0, 5, 0.5, 2.0)
    t0 = time.perf_counter()
    folder = Path(args.workdir) / "graph"
    indptr, indices, weights = (np.load(folder / f"{k}.npy", mmap_mode="r")
                                for k in ("indptr", "indices", "weights"))
    sampler = WalkSampler(indptr, indices, weights)
    load = time.perf_counter() - t0
    names = np.load(Path(args.workdir) / "names.npy", mmap_mode="r")

    def walk(r, a, starts, p, q, view):
        sampler.walks(starts.astype(np.int32), r * n + a, args.length, p, q, 0, out=view)

    n = len(indptr) - 1
    _walk_in_batches(walk, n, names, load, args, report)


def _walk_in_batches(walk, n, names, load, args, report):
    """Every config over all batches into one reused buffer; only walk() is timed."""
    out = np.empty((max(1, BATCH_STEPS // args.length), args.length), dtype=np.int32)
    for label, p, q in CONFIGS:
        col = Collector(names, n * args.walks * args.length, args.sample, 1)
        clock = WalkClock()
        for r, a, starts in _batches(n, args.walks, args.length, 0):
            view = out[:len(starts)]
            with clock:
                walk(r, a, starts, p, q, view)
            col.add(view)
            if col.over(clock.wall, args.budget):
                break
        report(label, load, clock, col)


def work_fastnode2vec(args, report):
    from numba import njit, prange, set_num_threads
    from fastnode2vec import Graph
    from fastnode2vec.graph import _random_walk_weighted

    set_num_threads(args.threads)

    @njit(parallel=True)
    def walk_batch(indptr, indices, data, length, p, q, starts, out):
        for i in prange(len(starts)):
            w = _random_walk_weighted(indptr, indices, data, length, p, q, starts[i])
            for j in range(len(w)):
                out[i, j] = w[j]
            for j in range(len(w), length):
                out[i, j] = -1

    def rows():
        with open(args.edges) as fh:
            for line in fh:
                a, b, w = line.split()
                yield a, b, float(w)

    t0 = time.perf_counter()
    graph = Graph(rows(), directed=False, weighted=True, verbose=False)
    load = time.perf_counter() - t0
    names = graph.node_names.astype(np.int64)
    walk_batch(graph.indptr, graph.indices, graph.data, 5, 0.5, 2.0,
               np.zeros(2, dtype=np.int64), np.empty((2, 5), dtype=np.int32))  # JIT, untimed

    def walk(r, a, starts, p, q, view):
        walk_batch(graph.indptr, graph.indices, graph.data, args.length, p, q, starts, view)

    _walk_in_batches(walk, len(names), names, load, args, report)


def work_ensmallen(args, report):
    from ensmallen import Graph

    t0 = time.perf_counter()
    graph = Graph.from_csv(edge_path=args.edges, directed=False, edge_list_separator="\t",
                           edge_list_header=False, sources_column_number=0,
                           destinations_column_number=1, weights_column_number=2,
                           verbose=False, name="bench")
    load = time.perf_counter() - t0
    names = np.asarray(graph.get_node_names()).astype(np.int64)
    for label, p, q in CONFIGS:
        col = Collector(names, len(names) * args.walks * args.length, args.sample, 1)
        clock = WalkClock()
        for r in range(args.walks):
            with clock:
                walks = graph.complete_walks(walk_length=args.length, return_weight=1.0 / p,
                                             explore_weight=1.0 / q, random_state=r + 1,
                                             iterations=1)
            col.add(np.asarray(walks).astype(np.int64))
            del walks
            if col.over(clock.wall, args.budget):
                break
        report(label, load, clock, col)


def _pecanpy_walks(graph, names, args, label, p, q, load, report):
    from numba_progress import ProgressBar

    graph.p, graph.q = p, q
    move_forward = graph.get_move_forward()
    has_nbrs = graph.get_has_nbrs()
    n = len(names)
    col = Collector(names, n * args.walks * args.length, args.sample, 1)
    clock = WalkClock()
    for r, a, starts in _batches(n, args.walks, args.length, 0):
        starts = starts.astype(np.uint32)
        with ProgressBar(total=len(starts), disable=True) as bar, clock:
            mat = graph._random_walks(len(starts), args.length - 1, None, starts, has_nbrs,
                                      move_forward, bar)
        lengths = mat[:, -1].astype(np.int64)
        walks = mat[:, :args.length].astype(np.int64)
        walks[np.arange(args.length)[None, :] >= lengths[:, None]] = -1
        del mat
        col.add(walks)
        if col.over(clock.wall, args.budget):
            break
    report(label, load, clock, col)


def work_pecanpy(args, report, mode):
    import numpy
    for alias, real in (("float_", "float64"), ("int_", "int64"), ("bool_", "bool_")):
        if not hasattr(numpy, alias):           # numpy-2 shim for older pecanpy code
            setattr(numpy, alias, getattr(numpy, real))
    from numba import set_num_threads
    from pecanpy import pecanpy as pp

    set_num_threads(args.threads)
    cls = pp.SparseOTF if mode == "SparseOTF" else pp.PreComp
    t0 = time.perf_counter()
    graph = cls(p=1, q=1, workers=args.threads, verbose=False)
    graph.read_edg(args.edges, weighted=True, directed=False, delimiter="\t")
    read = time.perf_counter() - t0
    names = np.asarray(graph.nodes).astype(np.int64)
    for label, p, q in CONFIGS:
        load = read
        if mode == "PreComp":
            for attr in ("alias_j", "alias_q", "alias_indptr", "alias_dim"):
                if hasattr(graph, attr):
                    setattr(graph, attr, None)
            graph.p, graph.q = p, q
            graph._preprocessed = False
            t = time.perf_counter()
            graph._preprocess_transition_probs()
            load = read + time.perf_counter() - t
        _pecanpy_walks(graph, names, args, label, p, q, load, report)


def worker_main(args):
    results = {"configs": {}}
    samples = {}

    def report(label, load, clock, col):
        results["configs"][label] = {"load": load, "walk_seconds": clock.wall,
                                     "walk_cpu_seconds": clock.cpu, "steps": col.steps,
                                     "walks": col.walks}
        results["peak_rss"] = _maxrss_bytes()
        samples[label] = col.sample()
        print(f"    {args.worker} {label}: load {load:.2f}s walk {clock.wall:.2f}s "
              f"(CPU {clock.cpu:.2f}s) {col.steps / max(clock.wall, 1e-9) / 1e6:.2f} M steps/s",
              file=sys.stderr, flush=True)

    try:
        if args.worker == "graphemb":
            work_graphemb(args, report)
        elif args.worker == "fastnode2vec":
            work_fastnode2vec(args, report)
        elif args.worker == "ensmallen":
            work_ensmallen(args, report)
        elif args.worker.startswith("pecanpy-"):
            work_pecanpy(args, report, args.worker.split("-", 1)[1])
    except BaseException as exc:  # report any failure in the row, keep what was measured
        import traceback
        traceback.print_exc()
        results["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    np.savez(args.result + ".npz", **{k.replace(" ", "_"): v for k, v in samples.items()})
    Path(args.result).write_text(json.dumps(results))


# ----------------------------------------------------------------------------- parent side

def _numba_helpers():
    from numba import njit, prange

    @njit
    def member(indices, lo, hi, x):
        k = lo + np.searchsorted(indices[lo:hi], x)
        return k < hi and indices[k] == x

    @njit(parallel=True)
    def exact_return(indptr, indices, weights, t_arr, v_arr, inv_p, inv_q, out):
        """out[i] = exact P(next == t | previous t, current v) under node2vec(p, q)."""
        for i in prange(len(t_arr)):
            t, v = t_arr[i], v_arr[i]
            vs, ve, ts, te = indptr[v], indptr[v + 1], indptr[t], indptr[t + 1]
            total = 0.0
            back = 0.0
            if inv_q == 1.0:
                for e in range(vs, ve):
                    if indices[e] == t:
                        back += weights[e] * inv_p
                        total += weights[e] * inv_p
                    else:
                        total += weights[e]
            elif te - ts <= 4 * (ve - vs):
                j = ts                       # merge the two sorted rows
                for e in range(vs, ve):
                    x = indices[e]
                    while j < te and indices[j] < x:
                        j += 1
                    if x == t:
                        back += weights[e] * inv_p
                        total += weights[e] * inv_p
                    elif j < te and indices[j] == x:
                        total += weights[e]
                    else:
                        total += weights[e] * inv_q
            else:
                for e in range(vs, ve):
                    x = indices[e]
                    if x == t:
                        back += weights[e] * inv_p
                        total += weights[e] * inv_p
                    elif member(indices, ts, te, x):
                        total += weights[e]
                    else:
                        total += weights[e] * inv_q
            out[i] = back / total if total > 0 else np.nan

    return exact_return


def return_stats(ref, triples, p, q, exact_return):
    """(observed, exact, z, n) of returns x == t over the sampled steps."""
    indptr, indices, weights = ref
    t, v, x = triples
    n = len(t)
    if n == 0:
        return float("nan"), float("nan"), float("nan"), 0
    probs = np.empty(n)
    exact_return(indptr, indices, weights, t.astype(np.int64), v.astype(np.int64),
                 1.0 / p, 1.0 / q, probs)
    if np.isnan(probs).any():           # a step from a node without that edge: not a walk
        return float(np.mean(x == t)), float("nan"), float("nan"), n
    obs = np.count_nonzero(x == t)
    var = float(np.sum(probs * (1 - probs)))
    z = (obs - probs.sum()) / np.sqrt(var) if var > 0 else float("nan")
    return obs / n, float(probs.mean()), float(z), n


def run_child(cmd, env, log):
    """Run cmd, return (seconds, peak RSS bytes, returncode)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=log)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - t0, usage.ru_maxrss * 1024, proc.returncode


def peers_python(args) -> tuple[str | None, str]:
    """Interpreter with the peers installed (a private venv, never the project's env)."""
    if args.peers_python:
        return args.peers_python, ""
    py = DEFAULT_VENV / "bin" / "python"
    probe = "import fastnode2vec, ensmallen, pecanpy"
    if py.exists() and subprocess.run([str(py), "-c", probe], capture_output=True).returncode == 0:
        return str(py), ""
    if args.no_install:
        return (str(py) if py.exists() else None), "not installed (--no-install)"
    print(f"installing peers into {DEFAULT_VENV} (pip install {' '.join(PEER_PACKAGES)}) ...",
          file=sys.stderr)
    try:
        if not py.exists():
            subprocess.run([sys.executable, "-m", "venv", str(DEFAULT_VENV)], check=True)
        for pkg in PEER_PACKAGES:     # one by one so that one failure does not block the rest
            r = subprocess.run([str(py), "-m", "pip", "install", "-q", pkg],
                               capture_output=True, text=True)
            if r.returncode:
                print(f"  pip install {pkg} failed: {r.stderr.strip().splitlines()[-1:]}",
                      file=sys.stderr)
    except (OSError, subprocess.CalledProcessError) as exc:
        return None, f"cannot create venv: {exc}"
    return str(py), ""


def _peer_available(py, worker) -> str:
    module = {"fastnode2vec": "fastnode2vec", "ensmallen": "ensmallen"}.get(worker, "pecanpy")
    if py is None:
        return "no interpreter with peers"
    r = subprocess.run([py, "-c", f"import {module}"], capture_output=True, text=True)
    if r.returncode:
        return f"import {module} failed: {(r.stderr.strip().splitlines() or ['?'])[-1]}"
    return ""


def gib(b):
    return f"{b / 2**30:.2f} GiB" if b >= 2**30 else f"{b / 2**20:.0f} MiB"


def bench_size(size, args, tmp, py, py_note, exact_return, lines):
    from graphgen import csr, power_law_graph, write_edge_list

    n, m = SIZES[size]
    if args.quick and size == "b":
        n, m = n // 10, m // 10
    t0 = time.perf_counter()
    src, dst, weight = power_law_graph(n, m, seed=args.seed)
    edges = tmp / f"graph_{size}.tsv"
    write_edge_list(edges, src, dst, weight)
    ref = csr(src, dst, weight, n)
    deg = np.diff(ref[0])
    del src, dst, weight
    sum_d2 = float((deg.astype(np.float64) ** 2).sum())
    gen_s = time.perf_counter() - t0
    head = (f"## Graph {size}: {n:,} nodes, {m:,} undirected edges (weighted, power law), "
            f"max degree {deg.max():,}, sum deg^2 {sum_d2:.3g}; {args.walks} walks x "
            f"{args.length} nodes per node, {args.threads} threads")
    print(head, file=sys.stderr)
    print(f"  generated in {gen_s:.1f}s -> {edges}", file=sys.stderr)

    env = dict(os.environ, NUMBA_NUM_THREADS=str(args.threads),
               RAYON_NUM_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads),
               PYTHONPATH=str(HERE) + os.pathsep + str(ROOT))
    avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    rows = {}   # contestant -> {"note": str, "configs": {...}, "rss": int, "extra_load": float}
    for name in args.only:
        print(f"  {name} ...", file=sys.stderr, flush=True)
        row = {"note": "", "configs": {}, "rss": 0, "extra_load": 0.0, "samples": {}}
        rows[name] = row
        result = tmp / f"{size}_{name}.json"
        log = open(tmp / f"{size}_{name}.log", "w")
        worker = [__file__, "--worker", name, "--edges", str(edges), "--result", str(result),
                  "--walks", str(args.walks), "--length", str(args.length),
                  "--threads", str(args.threads), "--sample", str(args.sample),
                  "--budget", str(args.budget)]
        if name == "graphemb":
            ws = tmp / f"ws_{size}"
            shutil.rmtree(ws, ignore_errors=True)
            peak_file = tmp / f"{size}_build_peak"
            secs, _, rc = run_child([sys.executable, "-c", _CLI_WITH_PEAK, str(peak_file),
                                     str(HERE), "--quiet", "--workdir", str(ws), "build-graph",
                                     "--from-edges", str(edges), "--undirected"], env, log)
            if rc:
                row["note"] = f"build-graph failed (rc {rc}, see {log.name})"
                continue
            rss = int(peak_file.read_text())
            # Like the peers' load, the stage's own seconds (from its manifest), without the
            # interpreter start and imports; the CLI's wall time is in the note.
            import pyarrow.parquet as pq
            ids = pq.read_table(ws / "graph" / "nodes.parquet", columns=["item_id"])
            np.save(ws / "names.npy", ids.column("item_id").to_numpy().astype(np.int64))
            stage = json.loads((ws / "graph" / "manifest.json").read_text())
            row["extra_load"] = stage["timings"]["total_seconds"]
            row["cli_seconds"], row["rss"] = secs, rss
            row["build_rss"] = rss
            worker += ["--workdir", str(ws)]
            interpreter = sys.executable
        else:
            why = py_note or _peer_available(py, name)
            if why:
                row["note"] = why
                continue
            if name == "pecanpy-PreComp" and 8 * sum_d2 > 0.5 * avail:
                row["note"] = (f"skipped: needs {8 * sum_d2 / 1e9:.1f} GB for the "
                               f"sum(deg^2) tables ({avail / 1e9:.1f} GB available)")
                continue
            interpreter = py
        secs, rss, rc = run_child([interpreter] + worker, env, log)
        log.close()
        if result.exists():
            rss = json.loads(result.read_text()).get("peak_rss", rss)
        row["rss"] = max(row["rss"], rss)
        row["walker_rss"] = rss
        if not result.exists():
            row["note"] = f"crashed (rc {rc}, see {log.name})"
            continue
        res = json.loads(result.read_text())
        row["configs"] = res["configs"]
        if res.get("error"):
            row["note"] = res["error"][:120]
        elif rc:
            row["note"] = f"rc {rc}"
        with np.load(str(result) + ".npz") as z:
            row["samples"] = {k: z[k] for k in z.files}

    lines.append(head)
    lines.append("")
    for label, p, q in CONFIGS:
        lines.append(f"### {label} (graph {size})")
        lines.append("")
        lines.append("| contestant | load s | walk s | steps/s | walk CPU s | steps/CPU-s | "
                     "peak RSS | return observed | return exact | z | note |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for name, row in rows.items():
            c = row["configs"].get(label)
            if c is None:
                lines.append(f"| {name} | | | | | | | | | | {row['note'] or 'not run'} |")
                continue
            obs, exact, z, ns = return_stats(ref, row["samples"][label.replace(' ', '_')],
                                             p, q, exact_return)
            note = row["note"]
            planned = args.walks * n
            if c.get("walks", planned) < 0.99 * planned:
                note = f"partial: {c['walks'] / planned:.0%} of the walks (--budget) " + note
            if name == "graphemb":
                note = (f"build-graph {row['extra_load']:.1f}s (CLI wall "
                        f"{row['cli_seconds']:.1f}s) / {gib(row['build_rss'])}, "
                        f"sampler {c['load']:.1f}s / {gib(row['walker_rss'])} " + note)
            lines.append(
                f"| {name} | {c['load'] + row['extra_load']:.1f} | {c['walk_seconds']:.1f} | "
                f"{c['steps'] / max(c['walk_seconds'], 1e-9) / 1e6:.2f} M | "
                f"{c['walk_cpu_seconds']:.1f} | "
                f"{c['steps'] / max(c['walk_cpu_seconds'], 1e-9) / 1e6:.2f} M | {gib(row['rss'])} | "
                f"{obs:.4f} | {exact:.4f} | {z:+.1f} | {note.strip()} |")
        lines.append("")
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="a,b", help="comma list of a (100k/1M), b (1M/10M)")
    ap.add_argument("--walks", type=int, default=10, help="walks per node")
    ap.add_argument("--length", type=int, default=80, help="nodes per walk")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: graph a only, 2 walks x 20 nodes (unless given)")
    ap.add_argument("--only", default=",".join(CONTESTANTS), help="comma list of contestants")
    ap.add_argument("--budget", type=float, default=120.0,
                    help="seconds of walking per contestant and setting; a slower engine "
                    "stops after the batch that crosses it and its steps/s is from that part "
                    "(0 = no limit)")
    ap.add_argument("--sample", type=int, default=300_000, help="sampled steps per run")
    ap.add_argument("--seed", type=int, default=0, help="graph generator seed")
    ap.add_argument("--peers-python", help="interpreter that has the peers installed "
                    f"(default: a private venv in {DEFAULT_VENV}, created if missing)")
    ap.add_argument("--no-install", action="store_true", help="never pip install peers")
    ap.add_argument("--tmp", help="folder for the edge lists and workspaces (default: temp)")
    ap.add_argument("--output", default=str(HERE / "results" / "walks.md"))
    # Worker mode (internal).
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--edges", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    ap.add_argument("--workdir", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker_main(args)
    if args.quick:
        if "--sizes" not in (argv or sys.argv):
            args.sizes = "a"
        if "--walks" not in (argv or sys.argv):
            args.walks = 2
        if "--length" not in (argv or sys.argv):
            args.length = 20
    args.only = [c.strip() for c in args.only.split(",") if c.strip()]
    unknown = set(args.only) - set(CONTESTANTS)
    if unknown:
        ap.error(f"unknown contestants {sorted(unknown)}; choose from {CONTESTANTS}")
    sys.path.insert(0, str(HERE))
    exact_return = _numba_helpers()
    py, py_note = (None, "") if args.only == ["graphemb"] else peers_python(args)
    tmp_ctx = tempfile.TemporaryDirectory(prefix="graphemb-walkbench-") if not args.tmp else None
    tmp = Path(args.tmp or tmp_ctx.name)
    tmp.mkdir(parents=True, exist_ok=True)
    lines = ["# Walk engines side by side", "",
             f"`python benchmarks/walks.py {' '.join((argv or sys.argv[1:]))}`".replace(" `", "`"),
             "", f"Machine: {os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M')}. "
             "load = file -> walk-ready; peak RSS = the process's own VmHWM; return = share of "
             "steps going back to the previous node, observed vs exact given the same (t, v) "
             "pairs; |z| >> 4 means a wrong transition rule (see the script's docstring).", ""]
    try:
        for size in [s.strip() for s in args.sizes.split(",") if s.strip()]:
            bench_size(size, args, tmp, py, py_note, exact_return, lines)
            text = "\n".join(lines) + "\n"
            out = Path(args.output)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text)
    finally:
        if tmp_ctx is not None:
            tmp_ctx.cleanup()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
