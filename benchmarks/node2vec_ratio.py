"""node2vec's speed as a share of DeepWalk's, on the same graph in the same process.

    python benchmarks/node2vec_ratio.py                          # this checkout only
    python benchmarks/node2vec_ratio.py --before /tmp/main-tree  # before (e.g. main) vs this

Graphs (``graphgen.py``, weighted power law): "1M", 100k nodes / 1M undirected edges (2M
directed), the graph the issue measured on; its arrays (~100 MB with node2vec's edge records)
fit in a large L3 cache, so there the walks are bound by instructions, not memory. "10M",
1M nodes / 10M undirected edges (~1 GB), larger than the L3 of the machines this runs
on: memory-bound, the regime a catalogue of millions of items is in. ``--graphs`` picks them
(default both; the machine's L3 size is printed with the tables). Each run is
its own process pinned to core 0 with one Numba thread; with --before, the runs of the two
trees are interleaved (B A B A ...). In a run, for every (p, q) of SETTINGS DeepWalk and
node2vec (rule "node2vec", also at p = q = 1) walk ``--walks`` walks of 80 nodes from every
node, taking turns one walk per node at a time; steps per CPU-second (time.process_time) of
each, and their ratio. Printed: the median and the range (min-max) over the runs.

Rejection rate (rejected proposals per step), proposals per step and filter hit rate (share of
the "is x a neighbour of t?" questions that the tree's edge filter answers without a search)
come from a separate instrumented pass, not from the timed kernel: for the (t, v) states of
the tree's own node2vec walks (the first 20,000 walks), it replays the tree's sampler (the
rejection loop of ``node2vec.prepare``'s thresholds before the split sampler; the three-part
draw with its edge records after) with the tree's first-order draw and edge filter, and
counts. "near" is the share of questions whose answer is yes (a search the filter can never
spare). With the split sampler, "back" and "scans" are the shares of steps taken as a jump
back to t and by scanning the rows for a near edge, neither with a proposal (when 1/q is the
largest weight it samples by rejection instead, asking only on edges whose near bit is set).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SETTINGS = [(1.0, 1.0), (0.5, 2.0), (2.0, 0.5), (0.25, 4.0), (4.0, 0.25)]
TARGET = 0.5
LENGTH = 80


def _counter(n2v, draw):
    """The instrumented replay (see the module doc), jitted against the tree's modules."""
    from numba import njit

    from graphemb.rng import next_uniform, stream

    if hasattr(n2v, "build_edge_masses"):
        return _split_counter(n2v, draw)

    if hasattr(n2v, "maybe_edge"):           # blocked Bloom filter (n2v-overlap)
        maybe_edge, edge_hash = n2v.maybe_edge, n2v._edge_hash

        @njit
        def probe(rule, t, x):
            return maybe_edge(rule.edge_bits, rule.edge_shift, rule.edge_line, edge_hash(t, x))
    else:                                    # one bit per edge (main before n2v-overlap)
        old_probe = n2v._maybe_edge

        @njit
        def probe(rule, t, x):
            return old_probe(rule.edge_bits, rule.edge_shift, t, x)
    find = n2v._find

    @njit
    def count(graph, rule, walks):
        steps, proposals, asked, filtered, near_count = 0, 0, 0, 0, 0
        state = stream(12345, 0)
        ip, ind = graph.indptr, graph.indices
        for w in range(walks.shape[0]):
            for s in range(2, walks.shape[1]):
                if walks[w, s] < 0:
                    break
                t, v = walks[w, s - 2], walks[w, s - 1]
                start, deg = ip[v], ip[v + 1] - ip[v]
                extra = 0.0
                if rule.boost_return:
                    back = find(ind, start, start + deg, t)
                    if back >= 0:
                        extra = graph.weights[back] * rule.boost
                p_jump = extra / (graph.row_sums[v] + extra)
                steps += 1
                while True:
                    proposals += 1
                    state, u = next_uniform(state)
                    if u < p_jump:
                        break
                    state, x, _ = draw(graph.table, start, deg, graph.uniform_weights, state)
                    state, r = next_uniform(state)
                    if x == t:
                        if r < rule.accept_return:
                            break
                        continue
                    if r < rule.sure_accept:
                        break
                    if r >= rule.sure_reject:
                        continue
                    asked += 1
                    near = find(ind, ip[t], ip[t + 1], x) >= 0
                    near_count += near
                    filtered += not probe(rule, t, x)
                    if r < (rule.accept_near if near else rule.accept_far):
                        break
        return steps, proposals, proposals - steps, asked, filtered, near_count, 0, 0

    return count


def _split_counter(n2v, draw):
    """The replay of the three-part sampler (back / near / far, see graphemb.walks.node2vec)."""
    from numba import njit

    from graphemb.rng import next_uniform, stream
    maybe_edge, edge_hash, find = n2v.maybe_edge, n2v._edge_hash, n2v._find
    has_near_bit = n2v._has_near

    @njit
    def count(graph, rule, walks):
        steps, proposals, rejected, asked, filtered, near_count, backs, scans = \
            0, 0, 0, 0, 0, 0, 0, 0
        state = stream(12345, 0)
        ip, ind, m = graph.indptr, graph.indices, rule.masses
        for w in range(walks.shape[0]):
            for s in range(2, walks.shape[1]):
                if walks[w, s] < 0:
                    break
                t, v = walks[w, s - 2], walks[w, s - 1]
                if rule.first_order:             # p = q = 1: one first-order draw
                    steps += 1
                    proposals += 1
                    continue
                e = find(ind, ip[t], ip[t + 1], v)
                a, b = ip[v], ip[v + 1]
                if rule.by_rejection:            # far the heaviest: rejection, near bits
                    steps += 1
                    has_near = has_near_bit(rule.near_bits, e)
                    while True:
                        proposals += 1
                        state, x, _ = draw(graph.table, a, b - a, graph.uniform_weights, state)
                        state, r = next_uniform(state)
                        if x == t:
                            ok = r < rule.accept_return
                        elif r < rule.accept_near or not has_near:
                            ok = True
                        else:
                            asked += 1
                            is_near = find(ind, ip[t], ip[t + 1], x) >= 0
                            near_count += is_near
                            filtered += not maybe_edge(rule.edge_bits, rule.edge_shift,
                                                       rule.edge_line, edge_hash(t, x))
                            ok = not is_near
                        if ok:
                            break
                        rejected += 1
                    continue
                back, near, far = m[e, 0] * rule.inv_p, np.float64(m[e, 1]), m[e, 2] * rule.inv_q
                state, u = next_uniform(state)
                z = u * (back + near + far)
                steps += 1
                if z < back or near + far == 0.0:
                    backs += 1
                    continue
                if near > 0.0 and (z < back + near or far == 0.0):
                    weight = m[e, 0] + near + m[e, 2]
                    if min(b - a, ip[t + 1] - ip[t]) * near <= rule.near_scan * weight:
                        scans += 1
                        continue
                    want_near, ask = True, True
                else:
                    want_near, ask = False, near > 0.0
                while True:
                    proposals += 1
                    state, x, _ = draw(graph.table, a, b - a, graph.uniform_weights, state)
                    ok = x != t
                    if ok and ask:
                        asked += 1
                        is_near = find(ind, ip[t], ip[t + 1], x) >= 0
                        near_count += is_near
                        filtered += not maybe_edge(rule.edge_bits, rule.edge_shift,
                                                   rule.edge_line, edge_hash(t, x))
                        ok = is_near == want_near
                    if ok:
                        break
                    rejected += 1
        return steps, proposals, rejected, asked, filtered, near_count, backs, scans

    return count


def worker(graph_file: str, walks: int, counters: bool) -> None:
    from graphemb.walks import WalkSampler, set_workers, start_nodes
    from graphemb.walks import node2vec as n2v
    from graphemb.walks.deepwalk import draw
    set_workers(1)
    d = np.load(graph_file)
    sampler = WalkSampler(d["indptr"], d["indices"], d["weights"])
    warm = np.arange(10, dtype=np.int32)
    for p, q in SETTINGS:                    # compile (or load the cache) outside the timing
        sampler.walks(warm, 0, 5, p, q, seed=1, rule="node2vec")
    sampler.walks(warm, 0, 5, seed=1, rule="deepwalk")
    # node2vec's once-per-graph setup (edge filter, and edge records where the tree has them)
    sampler._edge_filter = None
    if hasattr(sampler, "_edge_masses"):
        sampler._edge_masses = None
    t0 = time.process_time()
    n2v.prepare(sampler, 0.5, 2.0)
    setup = time.process_time() - t0
    rounds = list(start_nodes(sampler.indptr, walks, 0))

    def timed(p, q):
        """Steps per CPU-s of DeepWalk and of node2vec, their rounds interleaved (D N D N ...)
        so that a slow spell of the machine falls on both."""
        cpu, steps = {"deepwalk": 0.0, "node2vec": 0.0}, {"deepwalk": 0, "node2vec": 0}
        for r, starts in rounds:
            for rule, pp, qq in (("deepwalk", 1.0, 1.0), ("node2vec", p, q)):
                t0 = time.process_time()
                w = sampler.walks(starts, r * len(starts), LENGTH, pp, qq, seed=7, rule=rule)
                cpu[rule] += time.process_time() - t0
                steps[rule] += int((w[:, 1:] >= 0).sum())
        return steps["deepwalk"] / cpu["deepwalk"], steps["node2vec"] / cpu["node2vec"], w

    out = {}
    count = _counter(n2v, draw) if counters else None
    for p, q in SETTINGS:
        dw, nv, w = timed(p, q)
        row = {"dw": dw, "n2v": nv}
        if count is not None:
            steps, proposals, rejected, asked, filtered, near, backs, scans = count(
                sampler.graph, n2v.prepare(sampler, p, q), w[:20000])
            row.update(reject=rejected / steps, proposals=proposals / steps, asked=asked / steps,
                       hit=filtered / asked if asked else float("nan"),
                       near=near / asked if asked else float("nan"),
                       back=backs / steps, scans=scans / steps)
        out[f"{p:g},{q:g}"] = row
    out["setup"] = setup
    print(json.dumps(out))


def _run(root: Path, graph: Path, walks: int, counters: bool) -> dict:
    env = {**os.environ, "PYTHONPATH": str(root), "NUMBA_NUM_THREADS": "1"}
    cmd = ["taskset", "-c", "0", sys.executable, __file__, "--worker", str(graph),
           "--walks", str(walks)] + (["--counters"] if counters else [])
    res = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"worker for {root} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def _spread(values, fmt):
    return f"{format(float(np.median(values)), fmt)} ({format(min(values), fmt)}-" \
           f"{format(max(values), fmt)})"


def tables(trees: dict, runs: dict) -> list[str]:
    lines = ["| tree | p, q | node2vec M steps/CPU-s | DeepWalk M steps/CPU-s | ratio | "
             "rejection rate | proposals/step | questions/step | filter hit rate | near | back "
             "| scans |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    medians = {}
    for name in trees:
        for p, q in SETTINGS:
            key = f"{p:g},{q:g}"
            rows = [r[key] for r in runs[name]]
            ratio = [r["n2v"] / r["dw"] for r in rows]
            medians[name, key] = float(np.median(ratio))
            c = rows[0]
            hit = "–" if np.isnan(c["hit"]) else f"{c['hit']:.1%}"
            near = "–" if np.isnan(c["near"]) else f"{c['near']:.1%}"
            lines.append(f"| {name} | {p:g}, {q:g} | "
                         f"{_spread([r['n2v'] / 1e6 for r in rows], '.2f')} | "
                         f"{_spread([r['dw'] / 1e6 for r in rows], '.2f')} | "
                         f"{_spread(ratio, '.1%')} | {c['reject']:.2f} | {c['proposals']:.2f} | "
                         f"{c['asked']:.2f} | {hit} | {near} | {c['back']:.1%} | "
                         f"{c['scans']:.1%} |")
    last = list(trees)[-1]
    setup = "; ".join(f"{name} {_spread([r['setup'] for r in runs[name]], '.2f')}"
                      for name in trees)
    lines += ["", "node2vec's setup, once per graph (edge filter, and edge records where the "
                  f"tree has them), CPU s, 1 thread: {setup}"]
    lines += ["", f"Against the target (node2vec >= {TARGET:.0%} of DeepWalk's steps per "
                  f"CPU-second), median ratio of {last}:", "",
              "| p, q | " + " | ".join(f"{n} ratio" for n in trees) + " | target | met | "
              "missed by |", "|---|" + "---:|" * len(trees) + "---:|---|---:|"]
    for p, q in SETTINGS:
        key = f"{p:g},{q:g}"
        r = medians[last, key]
        miss = "–" if r >= TARGET else f"{(TARGET - r) * 100:.1f} points"
        lines.append(f"| {p:g}, {q:g} | " + " | ".join(f"{medians[n, key]:.1%}" for n in trees)
                     + f" | {TARGET:.0%} | {'yes' if r >= TARGET else 'no'} | {miss} |")
    return lines


# name (undirected edges): (nodes, undirected edges)
GRAPHS = {"1M": (100_000, 1_000_000), "10M": (1_000_000, 10_000_000)}


def _l3_size() -> str:
    try:
        return Path("/sys/devices/system/cpu/cpu0/cache/index3/size").read_text().strip()
    except OSError:
        return "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", help="source tree to compare with (e.g. an export of main)")
    ap.add_argument("--after", default=str(HERE.parent), help="source tree (default: this one)")
    ap.add_argument("--runs", type=int, default=3, help="processes per tree (>= 3 for a spread)")
    ap.add_argument("--walks", type=int, default=1,
                    help="walks per node in each timing on the 1M-edge graph (1 on the 10M)")
    ap.add_argument("--graphs", default=",".join(GRAPHS),
                    help=f"comma-separated, of: {', '.join(GRAPHS)}")
    ap.add_argument("--out", default=str(HERE / "results" / "node2vec_ratio.md"))
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--counters", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        return worker(a.worker, a.walks, a.counters)
    graphs = [g.strip() for g in a.graphs.split(",") if g.strip()]
    unknown = [g for g in graphs if g not in GRAPHS]
    if unknown or not graphs:
        ap.error(f"--graphs: unknown {unknown}; choose from {list(GRAPHS)}")
    sys.path.insert(0, str(HERE))
    import graphgen
    trees = {}
    if a.before:
        trees["before"] = Path(a.before).resolve()
    trees["after"] = Path(a.after).resolve()
    t0 = time.perf_counter()
    sections = []
    with tempfile.TemporaryDirectory() as tmp:
        for g in graphs:
            nodes, edges = GRAPHS[g]
            walks = a.walks if g == "1M" else 1
            graph = Path(tmp) / "graph.npz"
            src, dst, w = graphgen.power_law_graph(nodes, edges, seed=0)
            indptr, indices, weights = graphgen.csr(src, dst, w, nodes)
            np.savez(graph, indptr=indptr, indices=indices, weights=weights)
            del src, dst, w, indptr, indices, weights
            runs = {name: [] for name in trees}
            for k in range(a.runs):
                for name, root in trees.items():
                    runs[name].append(_run(root, graph, walks, counters=k == 0))
                    print(f"{g} edges: run {k + 1}/{a.runs} {name} done", file=sys.stderr,
                          flush=True)
            sections += [f"### {g} edges: {nodes:,} nodes / {edges:,} undirected weighted edges, "
                         f"{walks} walk(s) x {LENGTH} nodes per node per timing", ""]
            sections += tables(trees, runs) + [""]
    head = (f"`python benchmarks/node2vec_ratio.py{' --before ' + a.before if a.before else ''}"
            f" --runs {a.runs} --walks {a.walks}` ({time.strftime('%Y-%m-%d')}; L3 cache "
            f"{_l3_size()}): graphgen.py power-law graphs, seed 0; 1 Numba thread, every run "
            f"its own process on core 0, {'trees interleaved, ' if a.before else ''}{a.runs} "
            f"runs per tree; median (min-max) over the runs; ratio = node2vec / DeepWalk steps "
            f"per CPU-s in the same run. Rejection rate, questions per step, filter hit rate "
            f"and near (share of questions answered yes) from the instrumented replay of the "
            f"first run. {time.perf_counter() - t0:.0f} s in all.")
    text = "\n".join([head, ""] + sections)
    print(text)
    out = Path(a.out)
    tmp_out = out.with_name(out.name + ".tmp")
    tmp_out.write_text(text)
    os.replace(tmp_out, out)


if __name__ == "__main__":
    main()
