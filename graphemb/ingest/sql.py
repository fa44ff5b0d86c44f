"""Out-of-core and distributed ingest: the same sessionizing as the numpy engine, in SQL.

`duckdb` streams a log larger than memory (spilling to disk under a memory limit) on one
machine; `spark` runs the same query on Apache Spark through pyspark. Both return the
aggregated transitions and per-item counts, which are small next to the log, and the graph
is then built exactly as by the default engine, so all engines write the same artifacts.

Semantics match graphemb.ingest.sessions.sessionize: events sorted by (user, time, file
order), a session ends where the gap exceeds the session gap (in seconds), a repeat of the
item just seen is dropped, each transition carries the weight of the event it leads to.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import GraphembError, first_line, require
from ..io.ids import MAX_ID_CHARS, bad_id_rows, ids_as_given
from .times import TIME_UNITS, UNIT_BOUNDS, unit_from_band_counts

if TYPE_CHECKING:
    from ..io.tables import TableFile
    from .sessions import LogRules


_PRESENT = ("u IS NOT NULL AND i IS NOT NULL AND t_text IS NOT NULL AND trim(u) <> '' AND "
            "trim(i) <> '' AND trim(t_text) <> ''")


def _unit_query() -> str:
    """Numeric timestamps per magnitude band (graphemb.ingest.times.UNIT_BOUNDS), over the
    rows the default engine reads them from, so both choose the same unit."""
    b = UNIT_BOUNDS
    bands = [f"abs(tn) < {b[0]!r}", f"abs(tn) >= {b[0]!r} AND abs(tn) < {b[1]!r}",
             f"abs(tn) >= {b[1]!r} AND abs(tn) < {b[2]!r}", f"abs(tn) >= {b[2]!r}"]
    cols = ", ".join(f"sum(CASE WHEN {c} THEN 1 ELSE 0 END) AS b{k}"
                     for k, c in enumerate(bands))
    return f"SELECT {cols}, count(tn) AS n_numeric, count(ti) AS n_dated FROM raw WHERE {_PRESENT}"


def _pick_unit(path: Path, row: dict, time_unit: str) -> tuple[float, str]:
    """(divisor, unit) from _unit_query's row and --time-unit."""
    if not row["n_numeric"]:
        if time_unit != "auto" and row["n_dated"]:
            raise GraphembError(f"{path}: the time column holds dates/times, not numbers; "
                                f"--time-unit {time_unit} would have no effect, drop it.")
        return 1.0, "datetime"
    unit = time_unit if time_unit != "auto" else \
        unit_from_band_counts([row[f"b{k}"] for k in range(4)])
    return TIME_UNITS[unit], unit


def _query(dialect: str, source: str, r: "LogRules", divisor: float = 1.0) -> dict[str, str]:
    """SQL for the pipeline's views; the same text serves DuckDB and Spark but for a few words.

    raw holds a numeric reading (tn) and a date/time reading (ti, seconds) of the time;
    present divides tn by ``divisor`` (its unit, chosen from raw by _unit_query)."""
    quote = _quote if dialect == "duckdb" else _bq
    user, item, time, event_col = (quote(c) for c in (r.user_col, r.item_col, r.time_col,
                                                      r.event_col))
    weight_expr, event_filter = _weight_expr(quote(r.weight_col), event_col, r.event_weights)
    gap, min_item_count, max_user_events = r.gap, r.min_item_count, r.max_user_events
    text = "VARCHAR" if dialect == "duckdb" else "STRING"
    if dialect == "duckdb":
        numeric = f"TRY_CAST({time} AS DOUBLE)"
        # Read as a date only where it is no number: ti counts only then (_pick_unit,
        # COALESCE(tn, ti)), and the failed cast of every number is half the read's cost.
        dated = (f"CASE WHEN {numeric} IS NULL THEN epoch_ms(TRY_CAST({time} AS TIMESTAMP)) "
                 "/ 1000.0 END")
        rownum = "NULL"     # the stream keeps file order (preserve_insertion_order)
    else:
        numeric = f"try_cast({time} AS DOUBLE)"
        dated = f"unix_micros(try_cast({time} AS TIMESTAMP)) / 1e6"
        rownum = "monotonically_increasing_id()"
    scaled = "tn" if divisor == 1.0 else f"tn / {float(divisor)!r}"
    # Ids with control characters or over MAX_ID_CHARS (graphemb.io.ids.check_ids).
    control = "'[\\x00-\\x1f\\x7f]'" if dialect == "duckdb" else "'[\\\\x00-\\\\x1f\\\\x7f]'"
    match = (lambda c: f"regexp_matches({c}, {control})") if dialect == "duckdb" else \
        (lambda c: f"{c} RLIKE {control}")
    bad_id = " OR ".join([match("u"), match("i"), f"length(u) > {MAX_ID_CHARS}",
                          f"length(i) > {MAX_ID_CHARS}"])
    dwell = quote(r.dwell_col) if r.dwell_col else None
    literal = _literal if dialect == "duckdb" else _spark_literal
    is_end = (f"CASE WHEN CAST(ev_type AS {text}) IN "
              f"({', '.join(literal(k) for k in r.end_session_on)}) THEN 1 ELSE 0 END"
              if r.end_session_on else "0")
    q = {}
    q["raw"] = (f"SELECT CAST({user} AS {text}) AS u, CAST({item} AS {text}) AS i, "
                f"{numeric} AS tn, {dated} AS ti, CAST({time} AS {text}) AS t_text, "
                f"{weight_expr} AS w, {event_col or 'NULL'} AS ev_type, {rownum} AS rn, "
                f"{f'CAST({dwell} AS {text})' if dwell else 'NULL'} AS dw_text, "
                f"{f'try_cast(CAST({dwell} AS {text}) AS DOUBLE)' if dwell else 'NULL'} AS dw "
                f"FROM {source}")
    # dw_state: 0 a dwell in seconds, 1 missing (empty or NaN: the event is kept), 2 unreadable,
    # negative or infinite (refused), as graphemb.ingest.sessions.dwell_seconds reads it.
    dw_state = ("CASE WHEN dw_text IS NULL OR trim(dw_text) = '' THEN 1 WHEN dw IS NULL THEN 2 "
                "WHEN isnan(dw) THEN 1 WHEN dw < 0 OR dw > 1.7976931348623157e308 THEN 2 "
                "ELSE 0 END")
    q["present"] = (f"SELECT u, i, COALESCE({scaled}, ti) AS t, t_text, w, ev_type, rn, dw, "
                    f"{dw_state} AS dw_state, {is_end} AS is_end FROM raw WHERE {_PRESENT}")
    q["first_seen"] = "SELECT i, min(rn) AS first_rn FROM present GROUP BY i"
    q["typed"] = f"SELECT * FROM present WHERE {event_filter}"
    # --min-dwell: a short dwell drops the event, unless it is missing or the event a conversion.
    q["clean"] = "SELECT * FROM typed" + (
        "" if r.min_dwell is None else
        f" WHERE dw_state <> 0 OR dw >= {float(r.min_dwell)!r} OR is_end = 1")
    if max_user_events:
        q["ev1"] = (f"SELECT c.* FROM clean c JOIN (SELECT u FROM clean GROUP BY u "
                    f"HAVING count(*) <= {int(max_user_events)}) ok ON c.u = ok.u")
    else:
        q["ev1"] = "SELECT * FROM clean"
    if min_item_count > 1:
        q["ev"] = (f"SELECT e.* FROM ev1 e JOIN (SELECT i FROM ev1 GROUP BY i "
                   f"HAVING count(*) >= {int(min_item_count)}) ok ON e.i = ok.i")
    else:
        q["ev"] = "SELECT * FROM ev1"
    q["seq"] = (f"SELECT u, i, t, w, rn, CASE WHEN lag(t) OVER wu IS NULL OR "
                f"t - lag(t) OVER wu > {float(gap)!r} OR lag(is_end) OVER wu = 1 "
                "THEN 1 ELSE 0 END AS new_sess, "
                "lag(i) OVER wu AS prev_i FROM ev WINDOW wu AS (PARTITION BY u ORDER BY t, rn)")
    q["kept"] = ("SELECT u, i, t, w, rn, sum(new_sess) OVER (PARTITION BY u ORDER BY t, rn "
                 "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS sess FROM seq "
                 "WHERE new_sess = 1 OR prev_i <> i")
    q["pairs"] = ("SELECT lag(i) OVER ws AS src, i AS dst, w FROM kept "
                  "WINDOW ws AS (PARTITION BY u, sess ORDER BY t, rn)")
    q["edges"] = ("SELECT src, dst, sum(w) AS w, count(*) AS n FROM pairs "
                  "WHERE src IS NOT NULL GROUP BY src, dst")
    q["items"] = ("SELECT f.i AS i, f.first_rn AS first_rn, COALESCE(c.n, 0) AS n FROM "
                  "first_seen f LEFT JOIN (SELECT i, count(*) AS n FROM ev GROUP BY i) c "
                  "ON f.i = c.i")
    q["stats"] = ("SELECT (SELECT count(*) FROM raw) AS events_read, "
                  "(SELECT count(*) FROM present) AS present, "
                  f"(SELECT count(*) FROM present WHERE {bad_id}) AS bad_ids, "
                  "(SELECT count(*) FROM typed) AS typed, "
                  "(SELECT count(*) FROM clean) AS clean, "
                  "(SELECT count(*) FROM typed WHERE t IS NULL) AS bad_time, "
                  "(SELECT count(*) FROM typed WHERE NOT (w >= 0)) AS bad_weight, "
                  "(SELECT count(*) FROM present WHERE dw_state = 2) AS bad_dwell, "
                  "(SELECT count(*) FROM typed WHERE dw_state = 1) AS dwell_missing, "
                  "(SELECT count(*) FROM ev WHERE is_end = 1) AS end_events, "
                  "(SELECT count(*) FROM ev1) AS ev1, (SELECT count(*) FROM ev) AS ev, "
                  "(SELECT count(DISTINCT u) FROM ev) AS users, "
                  "(SELECT sum(new_sess) FROM seq) AS sessions, "
                  "(SELECT count(*) FROM seq) - (SELECT count(*) FROM kept) AS repeats, "
                  "(SELECT count(DISTINCT u) FROM clean) - (SELECT count(DISTINCT u) FROM ev1) "
                  "AS overactive_users")
    # DuckDB: one pass in file order, each row with its flags and its user's bucket; the
    # rest (windows, filters on counts) is done per bucket by graphemb.ingest.partition.
    clean = ("TRUE" if r.min_dwell is None else
             f"dw_state <> 0 OR dw >= {float(r.min_dwell)!r} OR is_end = 1")
    q["stream"] = ("SELECT u, i, tn, ti, w, is_end = 1 AS end_ev, "
                   f"{'CAST(ev_type AS VARCHAR)' if r.end_session_on else 'NULL'} AS ev_type, "
                   f"COALESCE({_PRESENT}, FALSE) AS p, "
                   f"COALESCE({event_filter}, FALSE) AS typed, COALESCE({clean}, FALSE) AS clean, "
                   "dw_state, COALESCE(NOT (w >= 0), FALSE) AS bad_w, "
                   "CAST(hash(u) % {buckets} AS INTEGER) AS b "
                   f"FROM (SELECT *, {dw_state} AS dw_state, {is_end} AS is_end FROM ({q['raw']}))")
    return q


def _weight_expr(weight_col, event_col, event_weights) -> tuple[str, str]:
    """(weight expression, event filter) in SQL."""
    w = f"CAST({weight_col} AS DOUBLE)" if weight_col else "1.0"
    keep = "TRUE"
    if event_weights:
        names = {k.replace("'", "''"): float(v) for k, v in event_weights.items()}
        cases = " ".join(f"WHEN '{k}' THEN {v!r}" for k, v in names.items())
        w = f"{w} * (CASE CAST({event_col} AS STRING) {cases} ELSE 0.0 END)"
        keep = f"CAST(ev_type AS STRING) IN ({', '.join(repr(k) for k in names)})"
    return w, keep


def _check_stats(path: Path, stats: dict, r: "LogRules") -> None:
    """The row errors the SQL engines count, as one-line errors."""
    if stats.get("bad_ids"):
        raise GraphembError(f"{path}: {stats['bad_ids']:,} row(s) have a user or item id with a "
                            f"control character or over {MAX_ID_CHARS} characters; the file is "
                            "damaged or not a log (the default engine names the first line).")
    if stats["bad_time"]:
        raise GraphembError(f"{path}: {stats['bad_time']:,} timestamp(s) are neither numbers nor "
                            "ISO-8601; fix them (the default engine names the first line).")
    if stats["bad_dwell"]:
        raise GraphembError(f"{path}: {stats['bad_dwell']:,} dwell value(s) in column "
                            f"{r.dwell_col!r} are not numbers of seconds >= 0; fix them or "
                            "leave them empty (the default engine names the first line).")
    if stats["bad_weight"]:
        raise GraphembError(f"{path}: {stats['bad_weight']:,} weight(s) are negative or not "
                            "numbers; fix them (the default engine names the first line).")


def _counts(stats: dict, r: "LogRules", transitions: int, time_unit: str) -> dict:
    """The graph manifest's counts from the SQL engines' stats, as the numpy engine counts."""
    counts = {"events_read": int(stats["events_read"]),
              "dropped_missing_values": int(stats["events_read"] - stats["present"])}
    if r.event_weights:
        counts["dropped_unlisted_event_types"] = int(stats["present"] - stats["typed"])
    if r.min_dwell is not None:
        counts["dwell_missing"] = int(stats["dwell_missing"])
        counts["dropped_short_dwell"] = int(stats["typed"] - stats["clean"])
    if r.max_user_events:
        counts["dropped_overactive_users"] = int(stats["overactive_users"])
        counts["dropped_overactive_user_events"] = int(stats["clean"] - stats["ev1"])
    if r.min_item_count > 1:
        counts["dropped_rare_item_events"] = int(stats["ev1"] - stats["ev"])
    counts["events_used"] = int(stats["ev"])
    if r.end_session_on:
        counts["session_end_events"] = int(stats["end_events"])
    counts.update({"sessions": int(stats["sessions"] or 0),
                   "repeats_dropped": int(stats["repeats"] or 0),
                   "transitions": int(transitions),
                   "users": int(stats["users"]), "time_unit": time_unit})
    return counts


def _assemble(path: Path, edges: pa.Table, items: pa.Table, stats: dict, r: "LogRules",
              time_unit: str = "s"):
    _check_stats(path, stats, r)
    # Items numbered by first appearance, as the default engine's factorize does.
    items = items.sort_by([("first_rn", "ascending")])
    names = items.column("i")
    item_ids = ids_as_given(names)
    item_counts = np.asarray(items.column("n"), dtype=np.int64)
    src = np.asarray(pc.index_in(edges.column("src"), names), dtype=np.int64)
    dst = np.asarray(pc.index_in(edges.column("dst"), names), dtype=np.int64)
    weight = np.asarray(pc.cast(edges.column("w"), pa.float64()))
    transitions = int(np.asarray(edges.column("n")).sum())
    return src, dst, weight, item_ids, item_counts, _counts(stats, r, transitions, time_unit)


# Views built on raw, in order; edges, items and stats are then read from them.
_VIEWS = ("present", "typed", "clean", "first_seen", "ev1", "ev", "seq", "kept", "pairs")


def duckdb_transitions(source: "TableFile", rules: "LogRules", memory_limit: str = "8GB",
                       temp_dir: Path | None = None, quiet=True):
    """Sessionize a log of any size: DuckDB reads it once in file order (the row checks and
    filters in SQL), the events go to bucket files by user (graphemb.ingest.partition),
    and each bucket is sessionized in memory; returns what the default engine returns."""
    duckdb = require("duckdb", "duckdb", "the duckdb engine (logs over 2 GB, or --engine duckdb)")
    from . import partition

    path, r = source.path, rules
    if source.is_parquet:
        table = f"read_parquet('{_sql_path(path)}')"
    else:
        header = "true"
        if source.column_names:
            names = ", ".join("'" + c.replace("'", "''") + "'" for c in source.column_names)
            header = f"false, names=[{names}]"
        table = (f"read_csv('{_sql_path(path)}', header={header}, delim='{source.delimiter}', "
                 "all_varchar=true, parallel=true)")
    q = _query("duckdb", table, rules)
    if temp_dir is not None:
        Path(temp_dir).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".duckdb-spill-", dir=temp_dir) as spill:
        con = duckdb.connect(config={"memory_limit": memory_limit, "temp_directory": spill,
                                     "preserve_insertion_order": True})
        limit = _memory_bytes(memory_limit)
        k = partition.bucket_count(partition.events_estimate(
            path, source.is_parquet, str(path).endswith(".gz")), limit)
        buckets = partition.Buckets(Path(spill), k)
        try:
            con.execute(f"SET enable_progress_bar = {'false' if quiet else 'true'}")
            stats, items, found, ev1_counts = _stream(
                con.sql(q["stream"].replace("{buckets}", str(k))), rules, buckets)
            buckets.close()
            divisor, unit = _pick_unit(path, stats, rules.time_unit)
            if rules.end_session_on:
                from .sessions import check_end_types

                # All the log's types only for the message, in a second read.
                check_end_types(path, rules, found, lambda: [row[0] for row in con.execute(
                    f"SELECT DISTINCT CAST(ev_type AS VARCHAR) FROM ({q['raw']}) "
                    "WHERE ev_type IS NOT NULL").fetchall() if row[0]])
        except duckdb.Error as exc:
            raise GraphembError(f"{path}: cannot read log with duckdb: {first_line(exc)}") \
                from None
        finally:
            con.close()
        _check_stats(path, stats, r)
        n_items = len(items)
        if r.min_item_count > 1 and r.max_user_events is not None:
            ev1_counts = partition.item_counts_after_users(buckets, n_items, r.max_user_events)
        elif ev1_counts is not None:
            ev1_counts = np.pad(ev1_counts, (0, n_items - len(ev1_counts)))
        src, dst, weight, n, item_counts = partition.sessionize_buckets(
            buckets, n_items, divisor, r.gap, r.max_user_events, r.min_item_count, ev1_counts,
            stats)
    counts = _counts(stats, r, int(n.sum()), unit)
    return src, dst, weight, ids_as_given(items.ids), item_counts, counts


_BANDS = np.asarray(UNIT_BOUNDS)


def _stream(relation, r: "LogRules", buckets):
    """Read the stream query batch by batch: the clean events to ``buckets``, counts of the
    rest into stats (the names of _query's stats), items coded by first appearance. Returns
    (stats, ItemCodes, the --end-session-on types found, events per item when the item
    counts need no per-user filter first, else None)."""
    from . import partition

    fetch = getattr(relation, "to_arrow_reader", None) or relation.fetch_arrow_reader
    items = partition.ItemCodes()
    stats = dict.fromkeys(("events_read", "present", "bad_ids", "typed", "clean", "bad_time",
                           "bad_weight", "bad_dwell", "dwell_missing", "n_numeric", "n_dated",
                           "b0", "b1", "b2", "b3"), 0)
    found = set()
    ev1_counts = np.zeros(0, dtype=np.int64) if r.max_user_events is None else None
    for batch in fetch(partition.STREAM_BATCH_ROWS):
        flag = {c: np.asarray(batch.column(c).to_numpy(zero_copy_only=False), dtype=bool)
                for c in ("p", "typed", "clean", "bad_w")}
        p = flag["p"]
        stats["events_read"] += batch.num_rows
        stats["present"] += int(p.sum())
        if not p.any():
            continue
        batch = batch.filter(pa.array(p))
        flag = {c: v[p] for c, v in flag.items()}
        typed, clean = flag["typed"], flag["typed"] & flag["clean"]
        tn, ti = batch.column("tn"), batch.column("ti")
        numeric = np.asarray(tn.is_valid())
        dated = np.asarray(ti.is_valid())
        dw_state = np.asarray(batch.column("dw_state"))
        band = np.searchsorted(_BANDS, np.abs(np.asarray(tn.fill_null(0.0))[numeric]),
                               side="right")
        bad_ids = bad_id_rows(batch.column("u")) | bad_id_rows(batch.column("i"))
        for key, value in (("bad_ids", bad_ids.sum()),
                           ("typed", typed.sum()), ("clean", clean.sum()),
                           ("bad_time", (typed & ~numeric & ~dated).sum()),
                           ("bad_weight", (typed & flag["bad_w"]).sum()),
                           ("bad_dwell", (dw_state == 2).sum()),
                           ("dwell_missing", (typed & (dw_state == 1)).sum()),
                           ("n_numeric", numeric.sum()), ("n_dated", dated.sum()),
                           *((f"b{j}", c) for j, c in enumerate(np.bincount(band, minlength=4)))):
            stats[key] += int(value)
        if r.end_session_on:
            ends = np.asarray(batch.column("end_ev").to_numpy(zero_copy_only=False), dtype=bool)
            found.update(pc.unique(batch.column("ev_type").filter(pa.array(ends))).to_pylist())
        codes = items.codes(batch.column("i"))
        if not clean.any():
            continue
        keep = pa.array(clean)
        t = np.where(numeric, np.asarray(tn.fill_null(0.0)), np.asarray(ti.fill_null(np.nan)))
        columns = {"u": batch.column("u").filter(keep), "code": codes[clean].astype(np.int32),
                   "t": t[clean], "numeric": numeric[clean]}
        if r.weight_col or r.event_weights:
            columns["w"] = np.asarray(pc.cast(batch.column("w"), pa.float64()).filter(keep)
                                      .fill_null(np.nan))
        if r.end_session_on:
            columns["is_end"] = ends[clean]
        buckets.append(pa.table(columns), np.asarray(batch.column("b"))[clean])
        if ev1_counts is not None:
            more = np.bincount(codes[clean], minlength=len(items))
            ev1_counts = np.pad(ev1_counts, (0, len(more) - len(ev1_counts))) + more
    return stats, items, found, ev1_counts


def _memory_bytes(text: str) -> float:
    """'4GB' -> 4e9 bytes (DuckDB's units: KB, MB, GB, TB, KiB, ..., GiB); 8 GB if unread."""
    import re

    m = re.match(r"^\s*([0-9.]+)\s*([kmgt]?)(i?)b?\s*$", str(text), re.IGNORECASE)
    if not m:
        return 8e9
    power = "kmgt".find(m.group(2).lower()) + 1 if m.group(2) else 0
    return float(m.group(1)) * (1024.0 if m.group(3) else 1000.0) ** power


def spark_transitions(source: "TableFile", rules: "LogRules", quiet=True):
    """The same query on Apache Spark (local mode unless SPARK_MASTER / spark-submit says)."""
    SparkSession = require("pyspark.sql", "spark", "--engine spark (also Java 17+)").SparkSession
    import os

    builder = (SparkSession.builder.appName("graphemb-build-graph")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", os.environ.get("GRAPHEMB_SPARK_PARTITIONS",
                                                                       "8")))
    if "SPARK_MASTER" in os.environ:
        builder = builder.master(os.environ["SPARK_MASTER"])
    elif not os.environ.get("SPARK_HOME_SUBMITTED"):
        builder = builder.master("local[*]")
    spark = builder.getOrCreate()
    if quiet:
        spark.sparkContext.setLogLevel("ERROR")
    path = source.path
    try:
        if source.is_parquet:
            df = spark.read.parquet(str(path))
        else:
            df = spark.read.csv(str(path), header=not source.column_names,
                                sep=source.delimiter, inferSchema=False)
            if source.column_names:
                df = df.toDF(*source.column_names)
        df.createOrReplaceTempView("source")
        q = _query("spark", "source", rules)
        spark.sql(q["raw"]).cache().createOrReplaceTempView("raw")
        divisor, unit = _pick_unit(path, spark.sql(_unit_query()).collect()[0].asDict(),
                                   rules.time_unit)
        q = _query("spark", "source", rules, divisor)
        for name in _VIEWS:
            spark.sql(q[name]).createOrReplaceTempView(name)
        if rules.end_session_on:
            _check_end_types(path, rules, lambda sql: [row[0] for row in spark.sql(sql).collect()],
                             "STRING")
        with tempfile.TemporaryDirectory() as out:
            spark.sql(q["edges"]).write.parquet(f"{out}/edges")
            spark.sql(q["items"]).write.parquet(f"{out}/items")
            import pyarrow.parquet as pq
            edges = pq.read_table(f"{out}/edges")
            items = pq.read_table(f"{out}/items")
        stats = spark.sql(q["stats"]).collect()[0].asDict()
    except GraphembError:
        raise
    except Exception as exc:  # py4j / AnalysisException: report one line
        raise GraphembError(f"{path}: spark could not build the graph: {first_line(exc)}") \
            from None
    return _assemble(path, edges, items, stats, rules, unit)


def _check_end_types(path: Path, rules: "LogRules", rows, text: str) -> None:
    """graphemb.ingest.sessions.check_end_types on the present events; ``rows(sql)`` runs a
    query and returns its first column."""
    from .sessions import check_end_types

    found = rows(f"SELECT DISTINCT CAST(ev_type AS {text}) FROM present WHERE is_end = 1")
    check_end_types(path, rules, found, lambda: [t for t in rows(
        f"SELECT DISTINCT CAST(ev_type AS {text}) FROM present WHERE ev_type IS NOT NULL") if t])


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _spark_literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _arrow(relation) -> pa.Table:
    # duckdb >= 2 calls it to_arrow_table; 1.x arrow().
    fetch = getattr(relation, "to_arrow_table", None) or relation.arrow
    return fetch()


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _quote(name):
    return None if name is None else '"' + name.replace('"', '""') + '"'


def _bq(name):
    return None if name is None else "`" + name.replace("`", "``") + "`"
