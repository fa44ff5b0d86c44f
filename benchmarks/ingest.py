"""Ingest speed and memory of build-graph on generated logs of 1M, 10M and 100M events.

    python benchmarks/ingest.py [--sizes 1e6,1e7,1e8] [--memory-limit 4GB] [--dir /tmp]
                                [--logs DIR]

Each run is its own process (`python -m graphemb build-graph`), so the peak RSS and the CPU
seconds (user + system, all threads) are those of build-graph alone. The numpy engine holds
the log in memory; the duckdb engine reads it once in file order and writes the events to
bucket files by user, then sessionizes one bucket at a time (graphemb.ingest.partition),
which is what lets 100M events (a 2.1 GB CSV) go through in bounded memory. Logs are CSV with
Zipf item popularity and sessions (benchmarks/loggen.py, seed 0; written in user order, so
the sessionizing sort is skipped); --logs reuses log-<events>.csv files written by it. The
load average is printed with the table: the machine may be shared.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loggen import write_log  # noqa: E402
from measure import graphemb_cmd, measure_cpu, publish  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="1e6,1e7,1e8")
    ap.add_argument("--memory-limit", default="4GB")
    ap.add_argument("--numpy-max", type=float, default=1e7,
                    help="largest log also run with the in-memory numpy engine")
    ap.add_argument("--dir", default=None, help="where to write the generated logs")
    ap.add_argument("--logs", default=None, help="folder of log-<events>.csv to reuse")
    ap.add_argument("--engines", default="numpy,duckdb")
    ap.add_argument("--out", default="benchmarks/results/ingest.md")
    a = ap.parse_args()
    rows = []
    load0 = os.getloadavg()
    base = Path(tempfile.mkdtemp(prefix="graphemb-ingest-", dir=a.dir))
    try:
        for size in (int(float(s)) for s in a.sizes.split(",")):
            given = Path(a.logs) / f"log-{size}.csv" if a.logs else None
            log = given if given and given.exists() else \
                write_log(base / f"log-{size}.csv", size, seed=0)
            mb = log.stat().st_size / 2**20
            engines = [e for e in a.engines.split(",") if e != "numpy" or size <= a.numpy_max]
            for engine in engines:
                ws = base / f"ws-{size}-{engine}"
                seconds, rss, cpu = measure_cpu(graphemb_cmd(
                    "--workdir", str(ws), "build-graph", str(log), "--engine", engine,
                    "--memory-limit", a.memory_limit))
                c = json.loads((ws / "graph" / "manifest.json").read_text())["counts"]
                rows.append((size, mb, engine, seconds, size / seconds, cpu, rss, c["nodes"],
                             c["edges"]))
                print(rows[-1], flush=True)
                shutil.rmtree(ws)
            if log != given:
                log.unlink()
    finally:
        shutil.rmtree(base, ignore_errors=True)
    load1 = os.getloadavg()
    lines = [f"build-graph ingest, {os.cpu_count()} cores, --memory-limit {a.memory_limit}; "
             f"1-min load average {load0[0]:.1f} at the start, {load1[0]:.1f} at the end:", "",
             "| events | CSV MiB | engine | seconds | events/s | CPU s | peak RSS MiB | nodes "
             "| edges |",
             "|---:|---:|---|---:|---:|---:|---:|---:|---:|"]
    for size, mb, engine, s, eps, cpu, rss, n, e in rows:
        lines.append(f"| {size:,} | {mb:,.0f} | {engine} | {s:.1f} | {eps:,.0f} | {cpu:.1f} | "
                     f"{rss:,.0f} | {n:,} | {e:,} |")
    publish(lines, a.out)


if __name__ == "__main__":
    main()
