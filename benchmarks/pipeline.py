"""Time the pipeline stage by stage on a generated log (default 1M events).

    python benchmarks/pipeline.py [--events 1000000] [--dim 128] [--epochs 1]

Each stage runs as its own process (`python -m graphemb ...`), so the peak memory printed is
that stage's alone. Numba kernels are compiled once in a warm-up run on a tiny log first, so
the figures are for a second process using the on-disk cache, as a user sees them.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loggen import write_log  # noqa: E402
from measure import graphemb_cmd, measure, publish  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--p", type=float, default=0.5)
    ap.add_argument("--q", type=float, default=2.0)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--out", default="benchmarks/results/pipeline.md")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        warm = write_log(tmp / "warm.csv", 20_000, seed=1)
        for args in (["build-graph", str(warm)], ["walk", "--p", "0.5", "--q", "2"],
                     ["walk"], ["train", "--dim", "8", "--epochs", "1"],
                     ["export", str(tmp / "w.parquet")]):
            measure(graphemb_cmd("--workdir", str(tmp / "warm"), *args))
        log = write_log(tmp / "log.csv", a.events, seed=0)
        ws = str(tmp / "ws")
        stages = [
            ("build-graph", ["build-graph", str(log)]),
            ("walk", ["walk", "--p", str(a.p), "--q", str(a.q)]),
            ("train", ["train", "--dim", str(a.dim), "--epochs", str(a.epochs)]),
            ("export", ["export", str(tmp / "vectors.parquet")]),
        ]
        rows = []
        for name, args in stages:
            seconds, rss = measure(graphemb_cmd("--workdir", ws, *args))
            rows.append((name, seconds, rss))
        g = json.loads((tmp / "ws" / "graph" / "manifest.json").read_text())["counts"]
        w = json.loads((tmp / "ws" / "walks" / "manifest.json").read_text())
    lines = [
        f"Pipeline on a generated log: {g['events_read']:,} events, {g['nodes']:,} nodes, "
        f"{g['edges']:,} edges; walk p={a.p} q={a.q}, 10 walks x 80 per node "
        f"({w['counts']['steps']:,} steps); train dim={a.dim} window=5 epochs={a.epochs}; "
        f"{os.cpu_count()} cores.",
        "",
        "| stage | events | nodes | edges | seconds | peak RSS (MiB) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, seconds, rss in rows:
        lines.append(f"| {name} | {g['events_read']:,} | {g['nodes']:,} | {g['edges']:,} | "
                     f"{seconds:.2f} | {rss:,.0f} |")
    total = sum(r[1] for r in rows)
    lines.append(f"| **total** | | | | {total:.2f} | {max(r[2] for r in rows):,.0f} |")
    publish(lines, a.out)


if __name__ == "__main__":
    main()
