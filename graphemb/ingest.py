"""From a log file (or an edge list) to coded transitions: column choice, validation, engines.

The sessionizing itself is graphemb.logs.sessionize (in memory) or graphemb.engines (DuckDB,
Spark); this module picks the columns, checks the values and dispatches.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import logs as logs_mod
from .errors import GraphembError

# Column names recognised when the user does not name them.
USER_COLUMNS = ("user", "user_id", "userId", "userid", "uid", "visitorid", "visitor_id",
                "session_id", "customer_id")
ITEM_COLUMNS = ("item", "item_id", "itemId", "itemid", "iid", "movieId", "movie_id",
                "product_id", "productId", "sku")
TIME_COLUMNS = ("timestamp", "time", "ts", "event_time", "datetime", "date", "created_at")


def pick_column(path: Path, header: list[str], given: str | None, candidates, option: str):
    if given:
        return given
    for name in candidates:
        if name in header:
            return name
    hint = ""
    if any(_looks_numeric(h) for h in header):     # line 1 is an event, not a header
        hint = (" or, as line 1 looks like data, name the fields with --no-header --columns "
                "(e.g. user,item,category,behavior,ts)")
    raise GraphembError(f"{path}: no {option.split('-')[0]} column found among "
                        f"({', '.join(header[:12])}); name it with --{option}{hint}.")


def log_header(path: Path, delimiter: str | None, column_names=None) -> list[str]:
    fmt = logs_mod.file_format(path)
    if not path.exists():
        raise GraphembError(f"{path}: no such file; check the path of the log.")
    if fmt == "parquet":
        if column_names:
            raise GraphembError(f"{path}: a Parquet file names its columns; drop --no-header "
                                "and --columns.")
        import pyarrow.parquet as pq
        try:
            return list(pq.read_schema(path).names)
        except (pa.ArrowInvalid, OSError) as exc:
            raise GraphembError(f"{path}: not a readable Parquet file ({exc}).") from None
    return logs_mod._read_header(path, logs_mod.sniff_delimiter(path, delimiter), column_names)


def parse_columns(no_header: bool, columns) -> list[str] | None:
    """--no-header --columns user,item,ts -> ['user', 'item', 'ts'] (both or neither)."""
    if isinstance(columns, str):
        columns = [c.strip() for c in columns.split(",")]
    if not no_header and not columns:
        return None
    if not no_header:
        raise GraphembError("--columns names the fields of a file without a header; add "
                            "--no-header (a file with a header is read by its names).")
    if not columns or not all(columns):
        raise GraphembError("--no-header needs --columns naming every field, e.g. "
                            "--columns user,item,category,behavior,ts.")
    if len(set(columns)) != len(columns):
        raise GraphembError(f"--columns {','.join(columns)}: a name is repeated.")
    return list(columns)


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


ENGINES = ("auto", "numpy", "duckdb", "spark")
AUTO_DUCKDB_BYTES = 2 << 30


def transitions_from_log(path, user_col, item_col, time_col, weight_col, event_col,
                          event_weights, gap, min_item_count, max_user_events, delimiter,
                          engine="numpy", memory_limit="8GB", temp_dir=None, quiet=True,
                          time_unit="auto", column_names=None):
    header = log_header(path, delimiter, column_names)
    if logs_mod.file_format(path) != "parquet":
        delimiter = logs_mod.sniff_delimiter(path, delimiter)
    user_col = pick_column(path, header, user_col, USER_COLUMNS, "user-col")
    item_col = pick_column(path, header, item_col, ITEM_COLUMNS, "item-col")
    time_col = pick_column(path, header, time_col, TIME_COLUMNS, "time-col")
    columns = [user_col, item_col, time_col] + [c for c in (weight_col, event_col) if c]
    missing = [c for c in columns if c not in header]
    if missing:
        raise GraphembError(f"{path}: column {missing[0]!r} not found (columns are: "
                            f"{', '.join(header[:12])}); name the right one with the "
                            "--*-col options or fix the header.")
    if event_col and not event_weights:
        raise GraphembError("--event-col needs --event-weights, e.g. view=1,cart=3,buy=5.")
    if engine == "auto":
        engine = "duckdb" if path.stat().st_size > AUTO_DUCKDB_BYTES else "numpy"
    if engine in ("duckdb", "spark"):
        from . import engines

        run = engines.duckdb_transitions if engine == "duckdb" else engines.spark_transitions
        extra = {"memory_limit": memory_limit, "temp_dir": temp_dir} if engine == "duckdb" \
            else {}
        out = run(path, user_col, item_col, time_col, weight_col, event_col, event_weights,
                  gap, min_item_count, max_user_events, delimiter, quiet=quiet,
                  time_unit=time_unit, column_names=column_names, **extra)
        out[5]["engine"] = engine
        return out
    table = logs_mod.read_table(path, list(dict.fromkeys(columns)), delimiter,
                                string_columns=[user_col, item_col], column_names=column_names)
    n_read = table.num_rows
    counts = {"events_read": n_read}

    # Rows with an empty user, item or time cannot be placed in a session: count and skip.
    missing = np.zeros(n_read, dtype=bool)
    for col in (user_col, item_col, time_col):
        column = table.column(col)
        null = np.asarray(column.is_null())
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            null |= np.asarray(pc.equal(pc.utf8_trim_whitespace(column), "").fill_null(True))
        missing |= null
    counts["dropped_missing_values"] = int(missing.sum())
    # File line of each kept row (the header is line 1).
    line = np.flatnonzero(~missing) + (1 if column_names else 2)
    if missing.any():
        table = table.filter(pa.array(~missing))
    logs_mod.check_ids(path, table, (user_col, item_col), line)

    weight = np.ones(table.num_rows, dtype=np.float64)
    if weight_col:
        wcol = table.column(weight_col)
        if not (pa.types.is_integer(wcol.type) or pa.types.is_floating(wcol.type)):
            raise GraphembError(f"{path}: column {weight_col!r} is not numeric ({wcol.type}); "
                                "give numbers or drop --weight-col.")
        weight = np.asarray(pc.cast(wcol, pa.float64()).fill_null(np.nan))
        bad = np.flatnonzero(~np.isfinite(weight) | (weight < 0))
        if len(bad):
            raise GraphembError(f"{path}: line {line[bad[0]]}, column {weight_col!r}: weight "
                                f"{weight[bad[0]]} is not a finite number >= 0; fix or remove "
                                "the row.")
    if event_col:
        etype = table.column(event_col).cast(pa.string())
        names = list(event_weights)
        idx = np.asarray(pc.index_in(etype, pa.array(names)).fill_null(-1))
        known = idx >= 0
        counts["dropped_unlisted_event_types"] = int((~known).sum())
        weight = weight * np.where(known, np.asarray(list(event_weights.values()) + [0.0])[idx],
                                   0.0)
        keep = known
    else:
        keep = np.ones(table.num_rows, dtype=bool)

    times, unit = logs_mod.times_to_seconds_unit(path, time_col, table.column(time_col),
                                                 time_unit, lines=line)
    bad_time = np.flatnonzero(~np.isfinite(times))
    if len(bad_time):
        raise GraphembError(f"{path}: line {line[bad_time[0]]}, column {time_col!r}: timestamp "
                            "is not a number; use epoch seconds or ISO-8601 throughout.")
    user_codes, _ = logs_mod.factorize(table.column(user_col).cast(pa.string()))
    item_codes, item_values = logs_mod.factorize(table.column(item_col).cast(pa.string()))
    # The raw item column decides the id type (ints stay ints, "007" stays a string).
    item_ids = logs_mod.ids_as_given(
        item_values if not pa.types.is_integer(table.column(item_col).type)
        else pc.cast(item_values, pa.int64()))

    if max_user_events is not None:
        per_user = np.bincount(user_codes[keep], minlength=user_codes.max() + 1)
        spam = per_user[user_codes] > max_user_events
        counts["dropped_overactive_users"] = int(np.count_nonzero(per_user > max_user_events))
        counts["dropped_overactive_user_events"] = int((spam & keep).sum())
        keep &= ~spam
    per_item = np.bincount(item_codes[keep], minlength=len(item_ids))
    if min_item_count > 1:
        rare = per_item[item_codes] < min_item_count
        counts["dropped_rare_item_events"] = int((rare & keep).sum())
        keep &= ~rare
        per_item = np.bincount(item_codes[keep], minlength=len(item_ids))
    counts["events_used"] = int(keep.sum())
    src, dst, w, report = logs_mod.sessionize(user_codes[keep], times[keep], item_codes[keep],
                                              weight[keep], gap)
    counts.update(report)
    counts["users"] = int(len(np.unique(user_codes[keep])))
    counts["time_unit"] = unit
    counts["engine"] = "numpy"
    _release_arrow_memory()
    return src, dst, w, item_ids, per_item, counts


# A comment line: '#' (SNAP, networkx) or '%' (MatrixMarket, KONECT) after optional blanks;
# removed with the blank lines (so that a header after comments is the first row).
_COMMENT_LINE = re.compile(rb"(?m)^[ \t\r]*(?:[#%][^\n]*)?(?:\n|\Z)")
_COMMENT_AFTER_NEWLINE = re.compile(rb"\n[ \t]*[#%]")
_SCAN_BYTES = 1 << 24


def _open_bytes(path: Path):
    import gzip
    return gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")


def _has_comment_lines(path: Path) -> bool:
    """Whether any line starts (after blanks) with # or %: one streaming pass of memchr-speed
    tests, so files without comments are then parsed straight from disk as before."""
    with _open_bytes(path) as fh:
        tail = b"\n"                  # the file start counts as following a newline
        while True:
            chunk = fh.read(_SCAN_BYTES)
            if not chunk:
                return False
            # Most edge lists hold no '#' or '%' at all; only then is the regex needed (with
            # the end of the previous chunk, so a line start cut at the edge is seen).
            if (b"#" in chunk or b"%" in chunk) and \
                    _COMMENT_AFTER_NEWLINE.search(tail + chunk):
                return True
            cut = chunk.rfind(b"\n")
            tail = (tail + chunk)[-4096:] if cut < 0 else chunk[cut:][-4096:]


def _data_lines(data: bytes):
    """(1-based line number, text) of each line that is neither blank nor a comment."""
    start, number = 0, 0
    while start < len(data):
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end
        number += 1
        stripped = data[start:end].strip()
        if stripped and stripped[:1] not in (b"#", b"%"):
            yield number, stripped
        start = end + 1


# Graph files networkx reads, by suffix (an edge list in any other file is read as text).
NETWORKX_FORMATS = {".graphml": "read_graphml", ".gexf": "read_gexf", ".adjlist": "read_adjlist"}


def read_edge_list(path: Path, delimiter: str | None):
    """src,dst[,weight] with or without a header; comma, tab or space separated.

    Lines starting with '#' or '%' (after optional blanks) are comments. A MatrixMarket file
    (first line '%%MatrixMarket') has its size line (rows cols entries) skipped too.
    GraphML, GEXF and adjacency-list files (by suffix) are read by networkx; their edges'
    "weight" attribute, if any, is the weight.
    """
    import pyarrow.csv as pacsv

    if not path.exists():
        raise GraphembError(f"{path}: no such file; check the path of the edge list.")
    if path.suffix.lower() in NETWORKX_FORMATS:
        return read_networkx_file(path)
    source = path
    comments = _has_comment_lines(path)
    if comments:
        with _open_bytes(path) as fh:
            raw = fh.read()
        matrix_market = raw.startswith(b"%%MatrixMarket")
        source = pa.BufferReader(_COMMENT_LINE.sub(b"", raw))
        lines = _data_lines(raw)
        first_number, first = next(lines, (0, b""))
        if matrix_market:   # the first data line is the size line: the fields are the entry's
            first_number, first = next(lines, (0, b""))
        del raw, lines
        first = first.decode("utf-8", errors="replace").strip()
    else:
        matrix_market = False
        first_number = 1
        with _open_bytes(path) as fh:
            first = fh.readline().decode("utf-8", errors="replace").strip()
    if not first:
        raise GraphembError(f"{path}: is empty; expected lines of src,dst[,weight].")
    sep = delimiter or next((s for s in (",", "\t", " ") if s in first), ",")
    fields = [f for f in first.split(sep) if f != ""]
    has_header = matrix_market or fields[0].lower() in (
        "src", "source", "from", "u", "node1", "head") or \
        (len(fields) >= 3 and not _looks_numeric(fields[2]))
    if len(fields) < 2:
        raise GraphembError(f"{path}: line {first_number} has {len(fields)} field(s); expected "
                            f"src{sep}dst[{sep}weight].")
    names = ["src", "dst", "weight"][:len(fields)] + [f"extra{i}" for i in range(len(fields) - 3)]
    try:
        table = pacsv.read_csv(
            source, read_options=pacsv.ReadOptions(column_names=names,
                                                   skip_rows=1 if has_header else 0),
            parse_options=pacsv.ParseOptions(delimiter=sep, ignore_empty_lines=True),
            convert_options=pacsv.ConvertOptions(
                column_types={"src": pa.string(), "dst": pa.string()},
                include_columns=names[:3]))
    except (pa.ArrowInvalid, OSError, EOFError) as exc:
        raise GraphembError(f"{path}: cannot read edge list: {logs_mod._first_line(exc)}") \
            from None
    if table.num_rows == 0:
        raise GraphembError(f"{path}: has no edges.")
    n = table.num_rows
    if "weight" in table.column_names:
        weight = np.asarray(pc.cast(table.column("weight"), pa.float64()).fill_null(np.nan))
        bad = np.flatnonzero(~np.isfinite(weight) | (weight <= 0))
        if len(bad):
            row = int(bad[0]) + has_header
            line = _line_of_row(path, row) if comments else row + 1
            raise GraphembError(f"{path}: line {line}: weight {weight[bad[0]]} "
                                "must be a finite number > 0.")
        weight = weight.astype(np.float32)
    else:
        weight = np.ones(n, dtype=np.float32)
    columns = [table.column("src"), table.column("dst")]
    del table                       # the helper frees each column's text once it is parsed
    codes, values = _encode_endpoints(columns)
    src, dst = codes[:n], codes[n:]
    item_ids = logs_mod.ids_as_given(values)
    degree = np.bincount(codes, minlength=len(values))
    counts = {"edges_read": n}
    _release_arrow_memory()
    return src, dst, weight, item_ids, degree, counts


def _line_of_row(path: Path, row: int) -> int:
    """File line of the row-th (0-based) line that is neither blank nor a comment."""
    with _open_bytes(path) as fh:
        for i, (number, _) in enumerate(_data_lines(fh.read())):
            if i == row:
                return number
    return row + 1


def _encode_endpoints(columns: list) -> tuple[np.ndarray, pa.Array]:
    """int32 codes of [src..., dst...] in order of first appearance, and the distinct ids.

    Integer ids (the common case) are parsed column by column into one int64 buffer, each
    column's text released as soon as it is parsed: peak memory stays near 12 bytes per
    endpoint instead of holding the text, its copy and 64-bit codes at once.
    """
    n = len(columns[0])
    if all(len(c) and pc.all(pc.match_substring_regex(c, logs_mod._CANONICAL_INT)).as_py()
           for c in columns):
        ids = np.empty(2 * n, dtype=np.int64)
        try:
            for k in range(2):
                ids[k * n:(k + 1) * n] = np.asarray(pc.cast(columns[k], pa.int64()))
                columns[k] = None  # noqa: the text of this column is no longer needed
            encoded = pc.dictionary_encode(pa.array(ids))
            del ids
            return (np.asarray(encoded.indices).astype(np.int32, copy=False),
                    encoded.dictionary)
        except pa.ArrowInvalid:  # beyond int64 (19-digit ids): treat them as text
            pass
    codes, values = logs_mod.factorize(pa.chunked_array(columns[0].chunks + columns[1].chunks))
    return codes.astype(np.int32), values


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _release_arrow_memory() -> None:
    # Arrow's allocator keeps freed blocks for reuse; the text columns are gone by now, so
    # hand that memory back before the graph is built (lowers the stage's peak).
    pa.default_memory_pool().release_unused()


def read_networkx_file(path: Path):
    """A GraphML, GEXF or adjacency-list file, through networkx: as read_edge_list."""
    import networkx as nx

    reader = getattr(nx, NETWORKX_FORMATS[path.suffix.lower()])
    try:
        graph = reader(path)
    except Exception as exc:   # networkx raises many kinds (XML, value, key errors)
        raise GraphembError(f"{path}: cannot read it as {path.suffix[1:]} with networkx: "
                            f"{logs_mod._first_line(exc)}") from None
    return edges_from_networkx(graph, where=str(path))


def edges_from_networkx(graph, weight: str = "weight", where: str = "the networkx graph"):
    """(src, dst, weight, item_ids, degree, counts) of a networkx Graph or DiGraph, as
    read_edge_list gives them. An undirected graph lists each edge both ways (a symmetric
    listing, whose weights csr_from_edges keeps). Edge weights come from the ``weight``
    attribute (1 where it is missing)."""
    import networkx as nx

    if graph.number_of_edges() == 0:
        raise GraphembError(f"{where}: has no edges.")
    nodes = list(graph.nodes())
    # networkx builds the matrix in its own loop; graphemb sees only arrays from here on.
    # (as CSR: networkx's COO output of an undirected graph lists a self-loop three times,
    # +w +w -w, which only sum to the weight)
    adj = nx.to_scipy_sparse_array(graph, nodelist=nodes, weight=weight, format="csr",
                                   dtype=np.float64).tocoo()
    w = np.asarray(adj.data, dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(w) | (w <= 0))
    if len(bad):
        u, v = nodes[adj.row[bad[0]]], nodes[adj.col[bad[0]]]
        raise GraphembError(f"{where}: edge ({u!r}, {v!r}): {weight} {w[bad[0]]} must be a "
                            "finite number > 0.")
    src, dst = adj.row.astype(np.int32), adj.col.astype(np.int32)
    if all(isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in nodes):
        item_ids = np.asarray(nodes, dtype=np.int64)
    else:
        item_ids = np.asarray([str(x) for x in nodes], dtype=object)
    degree = np.bincount(np.r_[src, dst], minlength=len(nodes))
    return src, dst, w.astype(np.float32), item_ids, degree, {"edges_read": int(len(w))}
