"""Memory per item, per edge and per event of each stage, fitted on generated logs.

    python benchmarks/memory.py [--out benchmarks/results/memory.md] [--keep DIR]
    python benchmarks/memory.py --refit benchmarks/results/memory.json   # tables only

Every stage runs as its own process (benchmarks/memrun.py, pinned to one core with taskset,
NUMBA_NUM_THREADS=1, --workers 1) on FIT logs whose ratio of items to edges differs (the
number of items varied at fixed events, and the events at fixed items). For each process:

- peak RSS = the kernel's VmHWM, read by the process itself as it ends (exact; it counts
  file pages mapped and resident, e.g. the graph's and the walks' .npy memory maps, and the
  shared libraries);
- peak anon = the largest RssAnon seen by sampling /proc/PID/status every 5 ms (heap and
  arrays: what the machine must really hold; a clean file page can be dropped by the kernel
  and read again).

Each stage's peak is then fitted by least squares,

    peak = base + a * items + b * edges (+ c * events for build-graph),

after taking off two terms the code fixes: walk's batch buffer (min(start nodes,
2**24 // walk_length) walks x walk_length x 4 bytes, at most 64 MiB) from both figures, and
train's walks.npy (walks x walk_length x 4 bytes, memory-mapped and read whole) from the
peak RSS. The fit is checked on a larger CHECK log (~1M items) that it never saw. Walks are
short (WALK_ARGS) to keep the runs fast; walk's memory does not grow with --num-walks (walks
stream to disk) and train's anon memory does not grow with the walks either (they are
memory-mapped, read in blocks), which the subtracted terms account for. dim 128, 1 epoch,
window 1 and 1 negative (they size no array; they only make training faster).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pyarrow.csv as pacsv

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loggen import write_log  # noqa: E402
from measure import measure_memory  # noqa: E402

# (events, num_items) of the generated logs; themes uniform over the catalogue (loggen
# theme_zipf=None), so nearly every item is a node and edges ~ transitions.
FIT = [(1_000_000, 30_000), (1_000_000, 300_000), (500_000, 100_000), (2_000_000, 100_000),
       (2_000_000, 600_000)]
CHECK = (5_000_000, 1_000_000)
NUM_WALKS, WALK_LENGTH = 1, 10
WALK_ARGS = ["--num-walks", str(NUM_WALKS), "--walk-length", str(WALK_LENGTH), "--workers", "1"]
# Window and negatives change no array's size (only per-thread scratch), but each pair costs
# random reads of two 512-byte rows: window 1 and 1 negative keep train fast on 1M items.
TRAIN_ARGS = ["--dim", "128", "--epochs", "1", "--window", "1", "--negative", "1",
              "--workers", "1"]
BATCH_STEPS = 1 << 24          # graphemb.pipeline.walk: one reused buffer of ~16M steps

# stage name -> (arguments after --workdir WS, workspace key); run in this order per log.
STAGES = [
    ("build-graph numpy", lambda d: ["build-graph", d["log"], "--engine", "numpy"], "ws"),
    ("build-graph duckdb", lambda d: ["build-graph", d["log"], "--engine", "duckdb"], "ws_duck"),
    ("walk node2vec p=0.5 q=2", lambda d: ["walk", "--p", "0.5", "--q", "2", *WALK_ARGS], "ws"),
    ("walk DeepWalk", lambda d: ["walk", *WALK_ARGS], "ws"),
    ("train gensim", lambda d: ["train", *TRAIN_ARGS], "ws"),
    ("export parquet", lambda d: ["export", d["vectors"]], "ws"),
    ("train numba", lambda d: ["train", "--trainer", "numba", *TRAIN_ARGS], "ws"),
    ("train EGES (2 side columns)", lambda d: ["train", "--side-info", d["side"],
                                               *TRAIN_ARGS], "ws"),
]
# On the check log only (not fitted): DuckDB held to a small memory limit, spilling to disk.
LIMITED = ("build-graph duckdb --memory-limit 256MB",
           lambda d: ["build-graph", d["log"], "--engine", "duckdb", "--memory-limit", "256MB"],
           "ws_lim")
MiB = 2.0 ** 20


def side_table(ws: Path, path: Path) -> str:
    """item_id, category (500 values), brand (37 values) for every node of the graph."""
    ids = pq.read_table(ws / "graph" / "nodes.parquet").column("item_id").to_numpy()
    pacsv.write_csv(pa.table({"item_id": ids, "category": ids % 500, "brand": ids % 37}),
                    str(path))
    return str(path)


def run_log(tmp: Path, name: str, events: int, items: int, env: dict, log_rows: list,
            partial: Path | None = None, stages=None) -> None:
    log = tmp / f"{name}.csv"
    if not log.exists():
        write_log(log, events, seed=7, num_items=items, theme_zipf=None)
    d = {"log": str(log), "vectors": str(tmp / f"{name}-vectors.parquet")}
    wss = {"ws": tmp / f"{name}-ws", "ws_duck": tmp / f"{name}-ws-duck",
           "ws_lim": tmp / f"{name}-ws-lim"}
    if stages is None:
        stages = STAGES + ([LIMITED] if name == "check" else [])
    for stage, args, key in stages:
        if stage.startswith("train EGES"):
            d["side"] = side_table(wss["ws"], tmp / f"{name}-side.csv")
        t0 = time.perf_counter()
        m = measure_memory(["--workdir", str(wss[key]), *args(d)], env=env)
        graph = json.loads((wss["ws"] / "graph" / "manifest.json").read_text())["counts"]
        row = {"log": name, "stage": stage, "events": graph["events_read"],
               "items": graph["nodes"], "edges": graph["edges"], **m}
        walks = wss["ws"] / "walks" / "manifest.json"
        if stage.startswith("walk") or stage.startswith("train"):
            wm = json.loads(walks.read_text())
            starts = wm["counts"]["start_nodes"]
            row["walk_buffer"] = (min(starts, max(1, BATCH_STEPS // WALK_LENGTH))
                                  * WALK_LENGTH * 4 if stage.startswith("walk") else 0)
            row["walks_file"] = (wss["ws"] / "walks" / "walks.npy").stat().st_size
        log_rows.append(row)
        if partial is not None:            # a crash later keeps what was measured
            partial.write_text(json.dumps(log_rows, indent=1) + "\n")
        print(f"  {name} {stage}: peak RSS {m['hwm'] / MiB:,.0f} MiB, anon "
              f"{m['anon'] / MiB:,.0f} MiB, file {m['file'] / MiB:,.0f} MiB, "
              f"{m['seconds']:.1f} s wall ({time.perf_counter() - t0:.1f})", flush=True)


def design(rows: list, stage: str) -> np.ndarray:
    """Columns 1, items, edges; build-graph: 1, items, events. In these logs edges are
    0.45-0.63 of the events (each transition is an edge, or adds weight to one), too close
    to separate a per-edge from a per-event term; build-graph's per-event figure holds the
    edges its events make."""
    second = "events" if stage.startswith("build-graph") else "edges"
    cols = [np.ones(len(rows)), [r["items"] for r in rows], [r[second] for r in rows]]
    return np.column_stack(cols).astype(np.float64)


def known(row: dict, what: str) -> float:
    """The terms the code fixes, taken off before the fit (see the module doc)."""
    extra = row.get("walk_buffer", 0)
    if what == "hwm" and row["stage"].startswith("train"):
        extra += row.get("walks_file", 0)
    return float(extra)


def fit(rows: list, stage: str, what: str) -> dict:
    X = design(rows, stage)
    y = np.array([r[what] - known(r, what) for r in rows], dtype=np.float64)
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ coef
    dof = max(len(y) - X.shape[1], 1)
    sigma2 = float(resid @ resid) / dof
    se = np.sqrt(np.diag(sigma2 * np.linalg.inv(X.T @ X)))
    return {"coef": coef, "se": se, "rms": float(np.sqrt(np.mean(resid ** 2))),
            "max": float(np.abs(resid).max())}


def predict(f: dict, row: dict, stage: str, what: str) -> float:
    x = design([row], stage)[0]
    return float(x @ f["coef"]) + known(row, what)


def example(f: dict, stage: str, what: str, items: float, edges: float, events: float,
            walk_bytes: float) -> float:
    """Bytes for the worked example; walk adds one full batch buffer (64 MiB), train's
    peak RSS the walks file if it were all resident."""
    x = [1.0, items, events if stage.startswith("build-graph") else edges]
    out = float(np.dot(x, f["coef"]))
    if stage.startswith("walk"):
        out += BATCH_STEPS * 4
    if what == "hwm" and stage.startswith("train"):
        out += walk_bytes
    return out


def tables(rows: list, meta: dict, ex_items: float, ex_edges: float, ex_events: float) -> str:
    fit_rows = [r for r in rows if r["log"] != "check"]
    check = {r["stage"]: r for r in rows if r["log"] == "check"}
    stages = list(dict.fromkeys(r["stage"] for r in fit_rows))
    walks_disk = ex_items * 10 * 80 * 4
    lines = [
        f"Generated logs (benchmarks/loggen.py, themes uniform over the catalogue), each "
        f"stage its own process pinned to one core (taskset -c 0), NUMBA_NUM_THREADS=1, "
        f"--workers 1 (DuckDB runs its default {meta['duckdb_threads']} threads); walks "
        f"{NUM_WALKS} x {WALK_LENGTH} per node; train dim 128, window 1, 1 negative, 1 epoch; "
        f"EGES with 2 side columns (500 and 37 values). {meta['when']}, "
        f"{meta['seconds']:.0f} s in all. Peak RSS = VmHWM (exact, includes mapped files "
        f"and libraries); anon = largest RssAnon sampled every 5 ms."
        + (f" Note: {meta['note']}." if meta.get("note") else ""),
        "",
        "| log | events | items | edges | stage | peak RSS MiB | anon MiB | file MiB | wall s | CPU s |",
        "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        cpu = f"{r['cpu_seconds']:.1f}" if r.get("cpu_seconds") else "–"
        lines.append(f"| {r['log']} | {r['events']:,} | {r['items']:,} | {r['edges']:,} | "
                     f"{r['stage']} | {r['hwm'] / MiB:,.0f} | {r['anon'] / MiB:,.0f} | "
                     f"{r['file'] / MiB:,.0f} | {r['seconds']:.1f} | {cpu} |")
    lines += [
        "",
        f"Least-squares fit over the {len({r['log'] for r in fit_rows})} fit logs: "
        "peak = base + a·items + b·edges (build-graph: base + a·items + c·events, its edges "
        "being 0.45-0.63 of its events here, too close to separate), ± one standard error; "
        "walk's batch buffer (here 40 bytes per start node) is taken off before the fit and "
        "train's walks.npy (memory-mapped, resident) off the peak RSS. rms/max: residuals "
        "of the fit logs. check: the larger log the fit never saw, predicted vs measured.",
        "",
        "| stage | memory | base MiB | bytes/item | bytes/edge | bytes/event | resid rms / max MiB | check: predicted / measured MiB | error |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    fits = {}
    for stage in stages:
        sr = [r for r in fit_rows if r["stage"] == stage]
        for what, label in (("hwm", "peak RSS"), ("anon", "anon")):
            f = fit(sr, stage, what)
            fits[(stage, what)] = f
            c, se = f["coef"], f["se"]
            bg = stage.startswith("build-graph")
            per_edge = "(in events)" if bg else f"{c[2]:,.1f} ± {se[2]:,.1f}"
            ev = f"{c[2]:,.0f} ± {se[2]:,.0f}" if bg else "–"
            cr = check.get(stage)
            if cr is not None:
                p = predict(f, cr, stage, what)
                chk = (f"{p / MiB:,.0f} / {cr[what] / MiB:,.0f}",
                       f"{(p - cr[what]) / cr[what]:+.1%}")
            else:
                chk = ("–", "–")
            lines.append(f"| {stage} | {label} | {c[0] / MiB:,.0f} ± {se[0] / MiB:,.0f} | "
                         f"{c[1]:,.0f} ± {se[1]:,.0f} | {per_edge} | {ev} | "
                         f"{f['rms'] / MiB:,.1f} / {f['max'] / MiB:,.1f} | {chk[0]} | {chk[1]} |")
    for stage in dict.fromkeys(r["stage"] for r in rows if r["stage"] not in stages):
        r = check[stage]
        lines.append(f"| {stage} | peak RSS / anon | (check log only, not fitted) | | | | | "
                     f"{r['hwm'] / MiB:,.0f} / {r['anon'] / MiB:,.0f} measured | |")
    lines += [
        "",
        f"Worked example from the fits: {ex_items:,.0f} items, {ex_edges:,.0f} edges, "
        f"{ex_events:,.0f} events; walk with its full 64 MiB batch buffer; train's peak RSS "
        f"with the default walks (10 x 80 per item: {walks_disk / 2**30:,.0f} GiB of walks.npy) "
        "all resident, its anon without them.",
        "",
        "| stage | peak RSS GiB | anon GiB |",
        "|---|---:|---:|",
    ]
    for stage in stages:
        h = example(fits[(stage, "hwm")], stage, "hwm", ex_items, ex_edges, ex_events,
                    walks_disk)
        a = example(fits[(stage, "anon")], stage, "anon", ex_items, ex_edges, ex_events,
                    walks_disk)
        lines.append(f"| {stage} | {h / 2**30:,.0f} | {a / 2**30:,.0f} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="benchmarks/results/memory.md")
    ap.add_argument("--keep", default=None, help="Folder for the logs and workspaces (kept).")
    ap.add_argument("--refit", default=None, help="Only redo the tables from this JSON.")
    ap.add_argument("--no-check", action="store_true", help="Skip the ~1M-item check log.")
    ap.add_argument("--limited-only", action="store_true",
                    help="With --keep DIR of an earlier run: measure only the memory-limited "
                         "DuckDB ingest of its check log and add it to --out's JSON.")
    ap.add_argument("--example", default="1e8,1e9,2e9",
                    help="items,edges,events of the worked example.")
    a = ap.parse_args()
    ex_items, ex_edges, ex_events = (float(x) for x in a.example.split(","))
    out = Path(a.out)
    raw = out.with_suffix(".json")
    env = dict(os.environ, NUMBA_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).resolve().parents[1])] +
        ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    if a.refit:
        data = json.loads(Path(a.refit).read_text())
    elif a.limited_only:
        data = json.loads(raw.read_text())
        data["rows"] = [r for r in data["rows"] if r["stage"] != LIMITED[0]]
        run_log(Path(a.keep), "check", *CHECK, env, data["rows"], stages=[LIMITED])
        raw.write_text(json.dumps(data, indent=1) + "\n")
    else:
        import duckdb

        t0 = time.perf_counter()
        rows = []
        raw.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as scratch:
            tmp = Path(a.keep or scratch)
            tmp.mkdir(parents=True, exist_ok=True)
            print("warm-up (Numba cache)", flush=True)
            run_log(tmp, "warm", 20_000, 2_000, env, [])
            logs = [(f"fit{i + 1}", *x) for i, x in enumerate(FIT)]
            logs += [] if a.no_check else [("check", *CHECK)]
            for name, events, items in logs:
                print(f"{name}: {events:,} events, {items:,} catalogue items", flush=True)
                run_log(tmp, name, events, items, env, rows, raw.with_suffix(".partial.json"))
        threads = duckdb.sql("SELECT current_setting('threads')").fetchall()[0][0]
        data = {"rows": rows, "meta": {"when": time.strftime("%Y-%m-%d"),
                                       "seconds": time.perf_counter() - t0,
                                       "duckdb_threads": threads}}
        raw.parent.mkdir(parents=True, exist_ok=True)
        raw.write_text(json.dumps(data, indent=1) + "\n")
        raw.with_suffix(".partial.json").unlink(missing_ok=True)
    text = tables(data["rows"], data["meta"], ex_items, ex_edges, ex_events)
    text += (f"\n\n`python benchmarks/memory.py` (raw figures: `{raw.name}`; "
             f"`--refit {raw.name}` redoes these tables).")
    print(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")


if __name__ == "__main__":
    main()
