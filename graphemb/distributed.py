"""Walks on a Spark cluster: one task per shard, the shards brought back to one workspace.

``walk_on_spark(workdir, shards=N, ...)`` ships ``workdir/graph`` to every executor
(``SparkContext.addFile``), runs ``graphemb.walk(shard=(i, N))`` in task i on a private
workspace that links to that copy, and streams each shard's files back to the driver, which
writes them as ``workdir/walks-shard-i-of-N/`` (each folder written under a temporary name
and renamed). Every walk keeps its global number and so its random stream, so the N shards
hold exactly the walks of one unsharded ``walk`` with the same seed, whatever the cluster,
and ``train`` then reads the complete set.

Executors need graphemb installed (and the graph's size in memory, memory-mapped); the
driver holds one shard at a time (``toLocalIterator``), so pick N with walks / N well under
the driver's memory. Local mode (the test, or no cluster) runs the tasks as processes here.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import GraphembError, require
from .workspace import Workspace, locked, read_manifest

SHARD_FILES = ("walks.npy", "manifest.json")


def _walk_shard_task(total: int, options: dict):
    """The Spark task: shard numbers in, (shard, {file name: bytes}) out."""
    def task(numbers):
        from pyspark import SparkFiles

        from .pipeline import walk

        for i in numbers:
            with tempfile.TemporaryDirectory(prefix=f"graphemb-shard-{i}-") as tmp:
                os.symlink(SparkFiles.get("graph"), Path(tmp) / "graph")
                walk(workdir=tmp, shard=(i, total), quiet=True, **options)
                folder = Path(tmp) / f"walks-shard-{i}-of-{total}"
                yield i, {name: (folder / name).read_bytes() for name in SHARD_FILES}
    return task


def walk_on_spark(workdir=None, *, shards: int, spark=None, **walk_options) -> list[dict]:
    """Walk ``shards`` shards of ``workdir``'s graph as Spark tasks; the shards' manifests.

    ``walk_options`` are those of ``graphemb.walk`` (num_walks, walk_length, p, q, seed,
    workers). ``spark`` is a SparkSession (default: the active one, or a local one).
    """
    if not isinstance(shards, int) or shards < 1:
        raise GraphembError(f"shards must be a whole number >= 1 (got {shards!r}).")
    if "shard" in walk_options:
        raise GraphembError("walk_on_spark makes the shards itself; drop shard=.")
    ws = Workspace(workdir)
    read_manifest(ws.graph, "graph")           # clear errors before any Spark work
    # train reads walks/ before any shard set, and refuses two splits: either would make
    # this job's shards unused or unusable.
    others = [p.name for p in ws.root.glob("walks-shard-*-of-*")
              if not p.name.endswith(f"-of-{shards}")]
    if ws.walks.exists() or others:
        found = ", ".join(([ws.walks.name] if ws.walks.exists() else []) + sorted(others))
        raise GraphembError(f"{ws.root}: already holds {found}, which train would read "
                            "instead of (or with) these shards; remove it or use another "
                            "workspace.")
    if spark is None:
        session = require("pyspark.sql", "spark", "walk_on_spark (also Java 17+)").SparkSession
        spark = (session.builder.appName("graphemb-walk")
                 .config("spark.ui.enabled", "false").getOrCreate())
    sc = spark.sparkContext
    sc.addFile(str(ws.graph.resolve()), recursive=True)
    task = _walk_shard_task(shards, walk_options)
    results = sc.parallelize(range(1, shards + 1), shards).mapPartitions(task)
    manifests = []
    with locked(workdir, "walk"):
        for i, files in results.toLocalIterator():
            with ws.writing(f"walks-shard-{i}-of-{shards}") as tmp:
                for name, data in files.items():
                    (tmp / name).write_bytes(data)
            manifests.append(read_manifest(ws.root / f"walks-shard-{i}-of-{shards}", "walks"))
    return manifests
