"""Synthetic behaviour logs with Zipf item popularity and realistic sessions (vectorised).

Users have a geometric number of events; within a session consecutive events are ~1 minute
apart, sessions ~1 day apart. Each session browses around a "theme" item: its items are the
theme plus a Zipf-distributed offset, so the item graph has communities and hubs.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq


def generate(num_events: int, num_items: int | None = None, seed: int = 0,
             first_user: int = 0, mean_events_per_user: float = 40.0,
             theme_zipf: float | None = 1.3):
    """(user, item, time) arrays. Session themes are Zipf(``theme_zipf``) over the items
    (few items get most sessions), or uniform over all ``num_items`` with ``theme_zipf=None``
    (a catalogue whose every item is browsed: nodes ~ num_items, edges ~ transitions)."""
    rng = np.random.default_rng(seed)
    num_items = num_items or max(1000, num_events // 50)
    num_users = max(1, int(num_events / mean_events_per_user))
    per_user = rng.geometric(1 / mean_events_per_user, num_users)
    per_user = per_user[np.cumsum(per_user) <= num_events]
    short = num_events - per_user.sum()
    per_user = np.append(per_user, short) if short > 0 else per_user
    user = np.repeat(np.arange(len(per_user), dtype=np.int64) + first_user, per_user)
    n = len(user)
    first = np.ones(n, dtype=bool)
    first[1:] = user[1:] != user[:-1]
    new_session = first | (rng.random(n) < 0.15)
    gaps = np.where(new_session, rng.exponential(86400.0, n), rng.exponential(60.0, n))
    # Times restart per user: a cumulative sum reset at each user's first event.
    csum = np.cumsum(gaps)
    user_start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    t = 1_600_000_000 + (csum - csum[user_start] + gaps[user_start]).astype(np.int64)
    session_id = np.cumsum(new_session) - 1
    n_sessions = session_id[-1] + 1
    theme = ((rng.zipf(theme_zipf, n_sessions) - 1) % num_items if theme_zipf is not None
             else rng.integers(0, num_items, n_sessions))
    offset = (rng.zipf(1.6, n) - 1) * rng.choice([-1, 1], n)
    item = (theme[session_id] + offset) % num_items
    return user, item.astype(np.int64), t


def write_log(path: Path, num_events: int, seed: int = 0, chunk: int = 10_000_000,
              num_items: int | None = None, theme_zipf: float | None = 1.3) -> Path:
    """Write a log in chunks (bounded memory) as CSV (optionally .gz) or Parquet."""
    path = Path(path)
    num_items = num_items or max(1000, num_events // 50)
    parquet = path.suffix == ".parquet"
    writer = None
    done, first_user, k = 0, 0, 0
    while done < num_events:
        n = min(chunk, num_events - done)
        user, item, t = generate(n, num_items, seed + k, first_user, theme_zipf=theme_zipf)
        first_user = int(user.max()) + 1
        table = pa.table({"user_id": user, "item_id": item, "timestamp": t})
        if writer is None:
            writer = (pq.ParquetWriter(path, table.schema) if parquet else
                      pacsv.CSVWriter(pa.CompressedOutputStream(str(path), "gzip")
                                      if path.suffix == ".gz" else str(path), table.schema))
        writer.write_table(table)
        done += n
        k += 1
    writer.close()
    return path


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("path")
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    write_log(Path(a.path), a.events, a.seed)
