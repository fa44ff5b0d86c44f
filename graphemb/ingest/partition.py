"""Out-of-core sessionizing by external hash partition: events streamed in file order are
split by a hash of their user into bucket files on disk, then each bucket (whole users) is
sessionized in memory by the numpy engine's sessionize, and the buckets' edges are summed.

The stream keeps file order within a bucket, so the stable sort by (user, time) breaks ties
by file order as the numpy engine does; items are coded by first appearance in the stream.
Memory: one batch of the stream, or one bucket (about BUCKET_BYTES_PER_EVENT an event), plus
the item table and the edges summed so far.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..io.ids import factorize
from .sessions import sessionize

# Working memory of one event while its bucket is sessionized (the user text, codes, time,
# transitions and their keys), with a margin: benchmarks/ingest.py's 10M-event log in one
# bucket peaked at 1,247 MiB RSS, ~95 B an event above the process's ~300 MiB baseline.
BUCKET_BYTES_PER_EVENT = 160
MAX_BUCKETS = 1024
STREAM_BATCH_ROWS = 1 << 20     # rows per batch read from DuckDB


def bucket_count(events_estimate: float, memory_bytes: float) -> int:
    """How many buckets keep one bucket's working set within half of ``memory_bytes``."""
    need = events_estimate * BUCKET_BYTES_PER_EVENT / max(memory_bytes / 2, 1)
    return int(min(MAX_BUCKETS, max(1, math.ceil(need))))


def events_estimate(path: Path, is_parquet: bool, gzip: bool) -> float:
    """Rows in a table file: Parquet's metadata, else the file's size over the mean length
    of its first lines (a gzip file counted as five times its size)."""
    if is_parquet:
        import pyarrow.parquet as pq

        return float(pq.ParquetFile(path).metadata.num_rows)
    size = path.stat().st_size * (5 if gzip else 1)
    from ..io.tables import open_bytes

    with open_bytes(path) as fh:
        head = fh.read(1 << 16)
    lines = max(head.count(b"\n"), 1)
    return size / max(len(head) / lines, 1.0)


class ItemCodes:
    """Dense codes of item ids in order of first appearance over a stream of batches."""

    def __init__(self):
        self._known = None      # every id seen, in code order
        self._chunks = []       # ids added since _known was last joined

    def __len__(self):
        return (len(self._known) if self._known is not None else 0) + \
            sum(len(c) for c in self._chunks)

    @property
    def ids(self) -> pa.Array:
        self._join()
        return self._known if self._known is not None else pa.array([], pa.string())

    def _join(self):
        if self._chunks:
            parts = ([self._known] if self._known is not None else []) + self._chunks
            self._known = pa.concat_arrays(parts)
            self._chunks = []

    def codes(self, values: pa.Array) -> np.ndarray:
        """The code of each value, new values numbered after those already seen."""
        values = values.cast(pa.string())
        distinct = pc.unique(values)                 # first appearance order
        self._join()
        base = len(self)
        if self._known is None:
            code_of = np.arange(len(distinct), dtype=np.int64)
            new = distinct
        else:
            pos = pc.index_in(distinct, value_set=self._known)
            fresh = np.asarray(pos.is_null())
            code_of = np.asarray(pos.fill_null(0), dtype=np.int64)
            code_of[fresh] = base + np.arange(int(fresh.sum()), dtype=np.int64)
            new = distinct.filter(pa.array(fresh))
        if len(new):
            self._chunks.append(new)
        return code_of[np.asarray(pc.index_in(values, value_set=distinct))]


class Buckets:
    """K Arrow stream files in ``folder``; rows appended to a bucket keep their order."""

    def __init__(self, folder: Path, count: int):
        self.folder, self.count = Path(folder), count
        self._writers = {}

    def path(self, k: int) -> Path:
        return self.folder / f"bucket-{k:04d}.arrows"

    def append(self, table: pa.Table, bucket: np.ndarray) -> None:
        order = np.argsort(bucket, kind="stable")
        bounds = np.searchsorted(bucket[order], np.arange(self.count + 1))
        table = table.take(pa.array(order))
        for k in np.flatnonzero(np.diff(bounds)):
            writer = self._writers.get(k)
            if writer is None:
                writer = self._writers[k] = pa.ipc.new_stream(str(self.path(k)), table.schema)
            writer.write_table(table.slice(bounds[k], bounds[k + 1] - bounds[k]))

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()

    def filled(self) -> list[int]:
        return sorted(self._writers)

    def read(self, k: int) -> pa.Table:
        with pa.ipc.open_stream(str(self.path(k))) as reader:
            return reader.read_all()


class EdgeSum:
    """(src, dst) -> summed weight and count, merged bucket by bucket in bounded memory."""

    def __init__(self, num_items: int):
        self.n = max(int(num_items), 1)
        self._parts = []        # (keys sorted unique, weights, counts)
        self._pending = 0

    def add(self, src, dst, weight) -> None:
        keys = src.astype(np.int64) * self.n + dst
        self._parts.append(_sum_by_key(keys, weight, np.ones(len(keys), dtype=np.int64)))
        self._pending += len(self._parts[-1][0])
        # Merge when the parts outgrow the first (the running total): amortised O(n log n).
        if len(self._parts) > 1 and self._pending > 2 * len(self._parts[0][0]):
            self._merge()

    def _merge(self) -> None:
        keys, w, c = (np.concatenate(a) for a in zip(*self._parts))
        self._parts = [_sum_by_key(keys, w, c)]
        self._pending = 0

    def result(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(src, dst, weight, count) of every distinct transition."""
        if not self._parts:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0), empty
        self._merge()
        keys, w, c = self._parts[0]
        return keys // self.n, keys % self.n, w, c


def _sum_by_key(keys, weight, count):
    uniq, inverse = np.unique(keys, return_inverse=True)
    return (uniq, np.bincount(inverse, weights=weight, minlength=len(uniq)),
            np.bincount(inverse, weights=count, minlength=len(uniq)).astype(np.int64))


def bucket_events(table: pa.Table, divisor: float, max_user_events: int | None,
                  stats: dict) -> dict:
    """A bucket's events as arrays (user codes, time in seconds, item codes, weight, ends),
    without the users over ``max_user_events``; counts those users and their events."""
    user, _ = factorize(table.column("u"))
    n = len(user)
    t = np.asarray(table.column("t"))
    if divisor != 1.0:
        numeric = np.asarray(table.column("numeric"))
        t = np.where(numeric, t / divisor, t)
    ev = {"user": user, "time": t, "item": np.asarray(table.column("code"), dtype=np.int64),
          "weight": (np.asarray(table.column("w"), dtype=np.float64)
                     if "w" in table.column_names else np.ones(n)),
          "ends": (np.asarray(table.column("is_end"))
                   if "is_end" in table.column_names else None)}
    if max_user_events is not None and n:
        per_user = np.bincount(user)
        spam = per_user[user] > max_user_events
        stats["overactive_users"] += int(np.count_nonzero(per_user > max_user_events))
        ev = _subset(ev, ~spam)
    return ev


def _subset(ev: dict, keep: np.ndarray) -> dict:
    return {k: (v[keep] if v is not None else None) for k, v in ev.items()}


def item_counts_after_users(buckets: Buckets, num_items: int, max_user_events: int) -> np.ndarray:
    """Events per item once the over-active users are gone (for --min-item-count)."""
    counts = np.zeros(num_items, dtype=np.int64)
    for k in buckets.filled():
        table = buckets.read(k).select(["u", "code"])
        user, _ = factorize(table.column("u"))
        item = np.asarray(table.column("code"), dtype=np.int64)
        if len(user):
            item = item[np.bincount(user)[user] <= max_user_events]
        counts += np.bincount(item, minlength=num_items)
    return counts


def sessionize_buckets(buckets: Buckets, num_items: int, divisor: float, gap: float,
                       max_user_events: int | None, min_item_count: int,
                       ev1_item_counts: np.ndarray | None, stats: dict):
    """Each bucket sessionized in memory; (src, dst, weight, count, events per item). Adds
    to ``stats`` the SQL engines' counts: ev1, ev, users, sessions, repeats, end_events,
    overactive_users."""
    edges = EdgeSum(num_items)
    per_item = np.zeros(num_items, dtype=np.int64)
    for key in ("ev1", "ev", "users", "sessions", "repeats", "end_events", "overactive_users"):
        stats[key] = 0
    for k in buckets.filled():
        ev = bucket_events(buckets.read(k), divisor, max_user_events, stats)
        stats["ev1"] += len(ev["user"])
        if min_item_count > 1:
            ev = _subset(ev, ev1_item_counts[ev["item"]] >= min_item_count)
        if not len(ev["user"]):
            continue
        stats["ev"] += len(ev["user"])
        stats["users"] += int(np.count_nonzero(np.bincount(ev["user"])))
        if ev["ends"] is not None:
            stats["end_events"] += int(ev["ends"].sum())
        per_item += np.bincount(ev["item"], minlength=num_items)
        src, dst, w, report, _ = sessionize(ev["user"], ev["time"], ev["item"], ev["weight"],
                                            gap, ev["ends"], lists=False)
        stats["sessions"] += report["sessions"]
        stats["repeats"] += report["repeats_dropped"]
        edges.add(src, dst, w)
        del ev, src, dst, w
    return (*edges.result(), per_item)
