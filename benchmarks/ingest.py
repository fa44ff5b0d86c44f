"""Ingest speed and memory of build-graph on generated logs of 1M, 10M and 100M events.

    python benchmarks/ingest.py [--sizes 1e6,1e7,1e8] [--memory-limit 4GB] [--dir /tmp]

Each run is its own process (`python -m graphemb build-graph`), so the peak RSS is that of
build-graph alone. The numpy engine holds the log in memory; the duckdb engine streams it
under --memory-limit, spilling sorted runs to disk, which is what lets 100M events (a 2.7 GB
CSV) go through on this 2-core machine. Logs are CSV with Zipf item popularity and sessions
(benchmarks/loggen.py).
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
from measure import graphemb_cmd, measure  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="1e6,1e7,1e8")
    ap.add_argument("--memory-limit", default="4GB")
    ap.add_argument("--numpy-max", type=float, default=1e7,
                    help="largest log also run with the in-memory numpy engine")
    ap.add_argument("--dir", default=None, help="where to write the generated logs")
    ap.add_argument("--out", default="benchmarks/results/ingest.md")
    a = ap.parse_args()
    rows = []
    base = Path(tempfile.mkdtemp(prefix="graphemb-ingest-", dir=a.dir))
    try:
        for size in (int(float(s)) for s in a.sizes.split(",")):
            log = write_log(base / f"log-{size}.csv", size, seed=0)
            mb = log.stat().st_size / 2**20
            engines = ["numpy", "duckdb"] if size <= a.numpy_max else ["duckdb"]
            for engine in engines:
                ws = base / f"ws-{size}-{engine}"
                seconds, rss = measure(graphemb_cmd(
                    "--workdir", str(ws), "build-graph", str(log), "--engine", engine,
                    "--memory-limit", a.memory_limit))
                c = json.loads((ws / "graph" / "manifest.json").read_text())["counts"]
                rows.append((size, mb, engine, seconds, size / seconds, rss, c["nodes"],
                             c["edges"]))
                print(rows[-1], flush=True)
                shutil.rmtree(ws)
            log.unlink()
    finally:
        shutil.rmtree(base, ignore_errors=True)
    lines = [f"build-graph ingest, {os.cpu_count()} cores, duckdb memory limit "
             f"{a.memory_limit}:", "",
             "| events | CSV MiB | engine | seconds | events/s | peak RSS MiB | nodes | edges |",
             "|---:|---:|---|---:|---:|---:|---:|---:|"]
    for size, mb, engine, s, eps, rss, n, e in rows:
        lines.append(f"| {size:,} | {mb:,.0f} | {engine} | {s:.1f} | {eps:,.0f} | {rss:,.0f} | "
                     f"{n:,} | {e:,} |")
    text = "\n".join(lines)
    print(text)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
