"""From a behaviour log to coded transitions: the rules (LogRules), the engine choice, and
the numpy engine, which sessionizes in memory with no Python loop over events.

graphemb.ingest.sql runs the same rules as SQL (DuckDB, Spark); every engine returns
(src, dst, weight, item_ids, item_counts, counts), from which the graph is built alike.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import GraphembError
from ..io.ids import check_ids, codes_and_ids, factorize
from ..io.tables import (DWELL_COLUMNS, TableFile, log_columns, missing_rows, open_table,
                         release_arrow_memory)
from .times import times_to_seconds_unit

ENGINES = ("auto", "numpy", "duckdb", "spark")
AUTO_DUCKDB_BYTES = 2 << 30


@dataclass(frozen=True)
class LogRules:
    """Which columns of a log to read and how its events become transitions."""

    user_col: str
    item_col: str
    time_col: str
    weight_col: str | None
    event_col: str | None
    event_weights: dict | None    # event type -> weight; unlisted types are dropped
    gap: float                    # seconds: a longer gap ends a session
    min_item_count: int
    max_user_events: int | None
    time_unit: str = "auto"
    end_session_on: tuple | None = None   # event types that close the session they end
    min_dwell: float | None = None        # seconds: events with a shorter dwell are dropped
    dwell_col: str | None = None          # the dwell column (seconds), with min_dwell

    @property
    def columns(self) -> list[str]:
        return [self.user_col, self.item_col, self.time_col] + \
            [c for c in (self.weight_col, self.event_col, self.dwell_col) if c]


def parse_event_weights(text: str | dict | None) -> dict | None:
    """'view=1,cart=3,buy=5' -> {'view': 1.0, 'cart': 3.0, 'buy': 5.0}."""
    if text is None or isinstance(text, dict):
        return text
    weights = {}
    for part in str(text).split(","):
        name, sep, value = part.partition("=")
        try:
            weights[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise GraphembError(f"--event-weights: cannot read {part!r}; write type=weight pairs "
                                "such as view=1,cart=3,buy=5.")
    return weights


def parse_end_types(text: str | list | tuple | None) -> tuple | None:
    """--end-session-on 'buy,order' -> ('buy', 'order')."""
    if text is None:
        return None
    parts = str(text).split(",") if isinstance(text, str) else [str(t) for t in text]
    names = tuple(dict.fromkeys(p.strip() for p in parts))
    if not names or "" in names:
        raise GraphembError(f"--end-session-on {text!r}: give event types separated by commas, "
                            "e.g. buy or buy,booking.")
    return names


def check_end_types(path, rules: LogRules, found, all_types) -> None:
    """Every --end-session-on type must occur in the event column: ``found`` holds those of
    them that do, ``all_types()`` the log's types (for the message)."""
    absent = [t for t in rules.end_session_on if t not in set(found)]
    if absent:
        types = sorted(all_types())
        shown = ", ".join(types[:20]) + (f", ... ({len(types):,} types)" if len(types) > 20
                                         else "")
        raise GraphembError(f"{path}: --end-session-on {','.join(absent)}: no such event type "
                            f"in column {rules.event_col!r} (types found: {shown}).")


def transitions_from_log(path, user_col, item_col, time_col, weight_col, event_col,
                         event_weights, gap, min_item_count, max_user_events, delimiter,
                         engine="numpy", memory_limit="8GB", temp_dir=None, quiet=True,
                         time_unit="auto", column_names=None, end_session_on=None,
                         min_dwell=None, dwell_col=None):
    """The log's transitions by ``engine`` (auto: duckdb above AUTO_DUCKDB_BYTES, else numpy):
    (src, dst, weight, item_ids, item_counts, counts, sessions); sessions are (item codes,
    offsets) from the numpy engine, None from the SQL engines. counts["dwell_col"] names
    the dwell column read (given or guessed), with ``min_dwell``."""
    source = open_table(path, delimiter, column_names)
    user_col, item_col, time_col = log_columns(source, user_col, item_col, time_col)
    if min_dwell is not None and not dwell_col:
        dwell_col = next((c for c in DWELL_COLUMNS if c in source.header), None)
        if dwell_col is None:
            raise GraphembError(f"{path}: --min-dwell needs a dwell column: none of "
                                f"{', '.join(DWELL_COLUMNS)} among the columns "
                                f"({', '.join(source.header[:12])}); name it with --dwell-col.")
    rules = LogRules(user_col, item_col, time_col, weight_col, event_col, event_weights, gap,
                     min_item_count, max_user_events, time_unit, end_session_on, min_dwell,
                     dwell_col)
    missing = [c for c in rules.columns if c not in source.header]
    if missing:
        raise GraphembError(f"{path}: column {missing[0]!r} not found (columns are: "
                            f"{', '.join(source.header[:12])}); name the right one with the "
                            "--*-col options or fix the header.")
    if event_col and not (event_weights or end_session_on):
        raise GraphembError("--event-col needs --event-weights (e.g. view=1,cart=3,buy=5) or "
                            "--end-session-on (e.g. buy).")
    if engine == "auto":
        engine = "duckdb" if source.path.stat().st_size > AUTO_DUCKDB_BYTES else "numpy"
    if engine == "numpy":
        out = numpy_transitions(source, rules)
    else:
        from . import sql

        # The SQL engines aggregate transitions in the database and return no sessions.
        out = (*(sql.duckdb_transitions(source, rules, memory_limit, temp_dir, quiet)
                 if engine == "duckdb" else sql.spark_transitions(source, rules, quiet)), None)
    out[5]["engine"] = engine
    out[5]["dwell_col"] = dwell_col
    return out


def numpy_transitions(source: TableFile, rules: LogRules):
    """The numpy engine: the whole log in memory; errors name the exact line."""
    path, r = source.path, rules
    # The dwell is read as text (CSV) so that it is parsed as the SQL engines parse it.
    table = source.read(list(dict.fromkeys(r.columns)),
                        string_columns=[c for c in (r.user_col, r.item_col, r.dwell_col) if c])
    counts = {"events_read": table.num_rows}

    # Rows with an empty user, item or time cannot be placed in a session: count and skip.
    missing = missing_rows(table, (r.user_col, r.item_col, r.time_col))
    counts["dropped_missing_values"] = int(missing.sum())
    place = source.places(np.flatnonzero(~missing))
    if missing.any():
        table = table.filter(pa.array(~missing))
    check_ids(path, table, (r.user_col, r.item_col), place)

    weight, keep = _event_weights(source, table, r, place, counts)
    ends = _session_ends(source, table, r)
    if r.min_dwell is not None:
        keep &= _dwell_kept(source, table, r, place, counts, keep, ends)
    times, unit = times_to_seconds_unit(path, r.time_col, table.column(r.time_col), r.time_unit,
                                        place=place)
    bad_time = np.flatnonzero(~np.isfinite(times))
    if len(bad_time):
        raise GraphembError(f"{path}: {place(bad_time[0])}, column {r.time_col!r}: timestamp "
                            "is not a number; use epoch seconds or ISO-8601 throughout.")
    user_codes, _ = factorize(table.column(r.user_col).cast(pa.string()))
    item_codes, item_ids = codes_and_ids(table.column(r.item_col))

    if r.max_user_events is not None:
        per_user = np.bincount(user_codes[keep], minlength=user_codes.max() + 1)
        spam = per_user[user_codes] > r.max_user_events
        counts["dropped_overactive_users"] = int(np.count_nonzero(per_user > r.max_user_events))
        counts["dropped_overactive_user_events"] = int((spam & keep).sum())
        keep &= ~spam
    per_item = np.bincount(item_codes[keep], minlength=len(item_ids))
    if r.min_item_count > 1:
        rare = per_item[item_codes] < r.min_item_count
        counts["dropped_rare_item_events"] = int((rare & keep).sum())
        keep &= ~rare
        per_item = np.bincount(item_codes[keep], minlength=len(item_ids))
    counts["events_used"] = int(keep.sum())
    if ends is not None:
        ends = ends[keep]
        counts["session_end_events"] = int(ends.sum())
    src, dst, w, report, sessions = sessionize(user_codes[keep], times[keep],
                                               item_codes[keep], weight[keep], r.gap, ends)
    counts.update(report)
    counts["users"] = int(len(np.unique(user_codes[keep])))
    counts["time_unit"] = unit
    release_arrow_memory()
    return src, dst, w, item_ids, per_item, counts, sessions


def _event_weights(source: TableFile, table: pa.Table, r: LogRules, place, counts: dict):
    """(weight of each event, events kept): --weight-col times the --event-weights of its
    type; unlisted types are dropped and counted."""
    weight = np.ones(table.num_rows, dtype=np.float64)
    if r.weight_col:
        wcol = table.column(r.weight_col)
        if not (pa.types.is_integer(wcol.type) or pa.types.is_floating(wcol.type)):
            raise GraphembError(f"{source.path}: column {r.weight_col!r} is not numeric "
                                f"({wcol.type}); give numbers or drop --weight-col.")
        weight = np.asarray(pc.cast(wcol, pa.float64()).fill_null(np.nan))
        bad = np.flatnonzero(~np.isfinite(weight) | (weight < 0))
        if len(bad):
            raise GraphembError(f"{source.path}: {place(bad[0])}, column {r.weight_col!r}: "
                                f"weight {weight[bad[0]]} is not a finite number >= 0; fix or "
                                "remove the row.")
    if not r.event_weights:
        return weight, np.ones(table.num_rows, dtype=bool)
    etype = table.column(r.event_col).cast(pa.string())
    names = list(r.event_weights)
    idx = np.asarray(pc.index_in(etype, pa.array(names)).fill_null(-1))
    known = idx >= 0
    counts["dropped_unlisted_event_types"] = int((~known).sum())
    per_type = np.asarray(list(r.event_weights.values()) + [0.0])
    return weight * np.where(known, per_type[idx], 0.0), known


def _session_ends(source: TableFile, table: pa.Table, r: LogRules) -> np.ndarray | None:
    """Events of an --end-session-on type (None without the option), once every such type
    is known to occur in the log."""
    if not r.end_session_on:
        return None
    etype = table.column(r.event_col).cast(pa.string())
    wanted = pa.array(list(r.end_session_on), pa.string())
    ends = np.asarray(pc.is_in(etype, wanted).fill_null(False))
    found = pc.unique(pc.filter(etype, pa.array(ends))).to_pylist()
    check_end_types(source.path, r, found,
                    lambda: [t for t in pc.unique(etype).to_pylist() if t])
    return ends


def dwell_seconds(source: TableFile, column: str, values: pa.ChunkedArray, place) -> np.ndarray:
    """The dwell column as float64 seconds, NaN where it is missing (empty, null or NaN). A
    value that is not a finite number >= 0 is refused with its line."""
    if pa.types.is_integer(values.type) or pa.types.is_floating(values.type):
        dwell = np.asarray(pc.cast(values, pa.float64()).fill_null(np.nan))
        unreadable = np.zeros(len(dwell), dtype=bool)
    else:
        text = pc.utf8_trim_whitespace(values.cast(pa.string()))
        blank = np.asarray(pc.equal(text, "").fill_null(True))
        text = pc.if_else(pa.array(blank), pa.scalar(None, pa.string()), text)
        try:
            dwell = np.asarray(pc.cast(text, pa.float64()).fill_null(np.nan))
            unreadable = np.zeros(len(dwell), dtype=bool)
        except pa.ArrowInvalid:
            import pandas as pd

            dwell = pd.to_numeric(pd.Series(text.to_numpy(zero_copy_only=False)),
                                  errors="coerce").to_numpy(dtype=np.float64)
            nan_text = np.asarray(pc.equal(pc.utf8_lower(text), "nan").fill_null(False))
            unreadable = np.isnan(dwell) & ~blank & ~nan_text
    bad = np.flatnonzero(unreadable | (dwell < 0) | np.isinf(dwell))
    if len(bad):
        shown = values[int(bad[0])].as_py()
        raise GraphembError(f"{source.path}: {place(bad[0])}, column {column!r}: dwell "
                            f"{shown!r} is not a number of seconds >= 0; fix the row or leave "
                            "it empty (an empty dwell keeps the event).")
    return dwell


def _dwell_kept(source: TableFile, table: pa.Table, r: LogRules, place, counts: dict,
                keep: np.ndarray, ends: np.ndarray | None) -> np.ndarray:
    """Events --min-dwell keeps: all but those with a dwell below it; a missing dwell keeps
    its event, and so does a conversion (an --end-session-on type), whatever its dwell."""
    dwell = dwell_seconds(source, r.dwell_col, table.column(r.dwell_col), place)
    short = dwell < r.min_dwell            # NaN (missing) compares False: kept
    if ends is not None:
        short &= ~ends
    counts["dwell_missing"] = int((np.isnan(dwell) & keep).sum())
    counts["dropped_short_dwell"] = int((short & keep).sum())
    return ~short


def sessionize(user: np.ndarray, time: np.ndarray, item: np.ndarray, weight: np.ndarray,
               session_gap: float, ends: np.ndarray | None = None, lists: bool = True
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """Transitions between consecutive distinct items within each user's sessions.

    Events are sorted by (user, time), file order breaking ties. A session ends where the gap
    to the next event exceeds ``session_gap`` seconds, or after an event flagged in ``ends``
    (a conversion: the transition into it is kept, none leaves it). A repeat of the item just
    seen in the session is dropped (it is not a transition); a repeated conversion still ends
    the session. Each transition carries the weight of the event it leads to. The sessions
    themselves (session_lists) are returned unless ``lists`` is False (None then).
    """
    if not _in_order(user, time):       # a log already grouped by user in time order skips
        order = np.lexsort((time, user))     # the sort (a stable sort would not move it)
        user, time, item, weight = user[order], time[order], item[order], weight[order]
        ends = ends[order] if ends is not None else None
    n = len(user)
    starts = np.ones(n, dtype=bool)
    if n > 1:
        starts[1:] = (user[1:] != user[:-1]) | ((time[1:] - time[:-1]) > session_gap)
        if ends is not None:
            starts[1:] |= ends[:-1]
    repeat = np.zeros(n, dtype=bool)
    if n > 1:
        repeat[1:] = ~starts[1:] & (item[1:] == item[:-1])
    keep = ~repeat
    item_k, starts_k, weight_k = item[keep], starts[keep], weight[keep]
    follows = ~starts_k[1:]          # event k+1 continues the session of event k
    src = item_k[:-1][follows]
    dst = item_k[1:][follows]
    w = weight_k[1:][follows]
    report = {"sessions": int(starts.sum()), "repeats_dropped": int(repeat.sum()),
              "transitions": int(len(src))}
    return src, dst, w, report, session_lists(item_k, starts_k) if lists else None


def _in_order(user: np.ndarray, time: np.ndarray) -> bool:
    """Whether events are sorted by (user, time) already."""
    if len(user) < 2:
        return True
    step = user[1:] - user[:-1] if user.dtype.kind in "iu" else None
    if step is None or (step < 0).any():
        return False
    return bool(((step != 0) | (time[1:] >= time[:-1])).all())


def session_lists(items: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(items, offsets): the sessions of two or more events in CSR form, session s being
    items[offsets[s]:offsets[s + 1]] in time order (a single event pairs with nothing)."""
    bounds = np.r_[np.flatnonzero(starts), len(items)].astype(np.int64)
    length = np.diff(bounds)
    keep = np.repeat(length >= 2, length)
    return items[keep], np.r_[0, np.cumsum(length[length >= 2])].astype(np.int64)
