"""Reading behaviour logs and turning them into item transitions.

Everything here is vectorised: no Python loop runs over events.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .errors import GraphembError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_NL = b"\n"
_CANONICAL_INT = r"^(0|-?[1-9][0-9]{0,18})$"  # no "-0", "007" or "+7"


def parse_duration(text: str | float | int) -> float:
    """'30m' -> 1800.0; accepts s, m, h, d, w suffixes or plain seconds."""
    if isinstance(text, (int, float)):
        return float(text)
    match = _DURATION.match(str(text))
    if not match:
        raise GraphembError(f"cannot read duration {text!r}: use a number with s, m, h, d or w, "
                            "e.g. 30m or 2h.")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def file_format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".tsv", ".tab")):
        return "tsv"
    return "csv"


_SNIFF = ("\t", ",", ";", "|")


def sniff_delimiter(path: Path, delimiter: str | None = None) -> str:
    """The field separator: the one given, else the name's (comma; tab for .tsv) unless the
    first line holds none of it but another common one (a tab-separated file named .csv)."""
    if delimiter:
        return delimiter
    default = "\t" if file_format(Path(path)) == "tsv" else ","
    first = _first_line_text(Path(path))
    if first is None or default in first:
        return default
    return next((sep for sep in _SNIFF if sep in first), default)


def _first_line_text(path: Path) -> str | None:
    import gzip

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            return fh.readline(1 << 20).decode("utf-8-sig", errors="replace").rstrip("\r\n")
    except (OSError, EOFError):
        return None


def read_table(path: str | Path, columns: list[str], delimiter: str | None = None,
               what: str = "log", string_columns: list[str] = (),
               column_names: list[str] | None = None) -> pa.Table:
    """Read the named columns of a CSV/TSV (plain or .gz) or Parquet file into an Arrow table.

    Id-like columns are read as strings so that ids such as "007" keep their form; numeric
    columns are inferred. ``column_names`` names the fields of a file without a header line.
    """
    path = Path(path)
    if not path.exists():
        raise GraphembError(f"{path}: no such file; check the path of the {what}.")
    if path.is_dir():
        raise GraphembError(f"{path}: is a folder, expected a {what} file.")
    fmt = file_format(path)
    if column_names and fmt == "parquet":
        raise GraphembError(f"{path}: a Parquet file names its columns; drop --no-header and "
                            "--columns.")
    try:
        if fmt == "parquet":
            schema = pq.read_schema(path)
            _check_columns(path, list(schema.names), columns)
            table = pq.read_table(path, columns=columns)
        else:
            sep = sniff_delimiter(path, delimiter)
            header = _read_header(path, sep, column_names)
            _check_columns(path, header, columns)
            bad_rows = []

            def on_bad_row(row):
                bad_rows.append(row)
                return "error"

            try:
                table = pacsv.read_csv(
                    path,
                    read_options=pacsv.ReadOptions(block_size=1 << 24,
                                                   column_names=column_names or None),
                    parse_options=pacsv.ParseOptions(delimiter=sep,
                                                     invalid_row_handler=on_bad_row),
                    convert_options=pacsv.ConvertOptions(
                        include_columns=columns,
                        column_types={c: pa.string() for c in string_columns}),
                )
            except pa.ArrowInvalid as exc:
                if "UTF8" in str(exc):
                    raise GraphembError(f"{path}: {_non_utf8_where(path)} is not UTF-8 text; "
                                        "save the file as UTF-8.") from None
                if bad_rows:
                    row = bad_rows[0]
                    if row.number is None:  # threaded reads do not know line numbers: ask again
                        row = _first_bad_row(path, sep, columns) or row
                    where = f"line {row.number}" if row.number is not None else "a row"
                    raise GraphembError(
                        f"{path}: {where} has {row.actual_columns} fields where the header has "
                        f"{row.expected_columns}; fix the row or quote fields that hold "
                        f"{sep!r}.") from None
                raise
            for name in table.column_names:
                if pa.types.is_binary(table.column(name).type):
                    raise GraphembError(f"{path}: {_non_utf8_where(path)} is not UTF-8 text "
                                        f"(column {name!r}); save the file as UTF-8.")
    except GraphembError:
        raise
    except (pa.ArrowInvalid, OSError, EOFError, UnicodeDecodeError) as exc:
        raise GraphembError(f"{path}: cannot read {what}: {_first_line(exc)}") from None
    if table.num_rows == 0:
        raise GraphembError(f"{path}: has a header but no rows; give a {what} with data.")
    return table


MAX_ID_CHARS = 1024
_CONTROL = r"[\x00-\x1f\x7f]"


def check_ids(path: Path, table: pa.Table, columns, lines: np.ndarray) -> None:
    """Refuse ids holding control characters (NUL, newline, escape...) or longer than
    MAX_ID_CHARS: a damaged or binary file, not ids; name the first line."""
    for name in columns:
        col = table.column(name)
        if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
            continue
        control = np.asarray(pc.match_substring_regex(col, _CONTROL).fill_null(False))
        long = np.asarray(pc.greater(pc.utf8_length(col), MAX_ID_CHARS).fill_null(False))
        bad = np.flatnonzero(control | long)
        if len(bad):
            k = int(bad[0])
            value = col[k].as_py()
            why = (f"is {len(value):,} characters long (more than {MAX_ID_CHARS})" if long[k]
                   else f"holds a control character ({value[:40]!r})")
            raise GraphembError(f"{path}: line {lines[k]}, column {name!r}: the id {why}; "
                                "the file is damaged or not a log.")


def _first_bad_row(path: Path, sep: str, columns: list[str]):
    found = []

    def handler(row):
        found.append(row)
        return "error"

    try:
        pacsv.read_csv(path, read_options=pacsv.ReadOptions(use_threads=False),
                       parse_options=pacsv.ParseOptions(delimiter=sep, invalid_row_handler=handler),
                       convert_options=pacsv.ConvertOptions(include_columns=columns))
    except pa.ArrowInvalid:
        pass
    return found[0] if found else None


def _non_utf8_where(path: Path) -> str:
    """'line N' of the first bytes that are not UTF-8 (the error path only; reads in blocks)."""
    import codecs
    import gzip

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with opener(path, "rb") as fh:
        while block := fh.read(1 << 22):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                return f"line {line + block.count(_NL, 0, exc.start)}"
            line += block.count(_NL)
    return "a line"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _read_header(path: Path, sep: str, column_names: list[str] | None = None) -> list[str]:
    """The header's names (a UTF-8 BOM dropped); with ``column_names`` (a file without a
    header), those, once the first line is seen to have as many fields."""
    import gzip

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            first = fh.readline()
    except (OSError, EOFError) as exc:
        raise GraphembError(f"{path}: cannot read: {_first_line(exc)}") from None
    if not first.strip():
        raise GraphembError(f"{path}: is empty; expected a header line such as "
                            "user,item,timestamp.")
    try:
        line = first.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError:
        raise GraphembError(f"{path}: line 1 is not UTF-8 text; save the file as UTF-8 CSV.") \
            from None
    fields = [h.strip().strip('"') for h in line.split(sep)]
    if column_names:
        if len(fields) != len(column_names):
            raise GraphembError(f"{path}: line 1 has {len(fields)} field(s) separated by "
                                f"{sep!r}, --columns names {len(column_names)}; name every "
                                "field.")
        return list(column_names)
    return fields


def _check_columns(path: Path, header: list[str], wanted: list[str]) -> None:
    missing = [c for c in wanted if c not in header]
    if missing:
        raise GraphembError(
            f"{path}: column {missing[0]!r} not found (columns are: {', '.join(header[:12])}); "
            "name the right one with --item-col, --user-col or --time-col, or fix the header.")


def ids_as_given(array: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Item ids as written: int64 if every id is a canonical integer, else str."""
    strings = pc.cast(array, pa.string()) if not pa.types.is_string(array.type) else array
    if pa.types.is_integer(array.type):
        return np.asarray(pc.cast(array, pa.int64()))
    if len(strings) and pc.all(pc.match_substring_regex(strings, _CANONICAL_INT)).as_py():
        try:
            return np.asarray(pc.cast(strings, pa.int64()))
        except pa.ArrowInvalid:  # 19 digits beyond the int64 range: keep them as text
            pass
    return np.asarray(strings.to_numpy(zero_copy_only=False), dtype=object)


def factorize(values: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Dense int codes in order of first appearance, and the distinct values (same type)."""
    values = _one_chunk(values)
    if pa.types.is_string(values.type) and len(values) and \
            pc.all(pc.match_substring_regex(values, _CANONICAL_INT)).as_py():
        # Integer ids written as text: hashing int64 is ~3x faster than hashing strings, and
        # canonical integers survive the round trip back to text unchanged.
        try:
            encoded = pc.dictionary_encode(pc.cast(values, pa.int64()))
            dictionary = pc.cast(encoded.dictionary, pa.string())
        except pa.ArrowInvalid:  # beyond int64: hash the text
            encoded = pc.dictionary_encode(values)
            dictionary = encoded.dictionary
    else:
        encoded = pc.dictionary_encode(values)
        dictionary = encoded.dictionary
    codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    return codes, dictionary


def _one_chunk(values: pa.ChunkedArray | pa.Array) -> pa.Array:
    """One contiguous array: dictionary-encoding chunk by chunk and unifying the dictionaries
    afterwards is ten times slower than encoding once."""
    if not isinstance(values, pa.ChunkedArray):
        return values
    if values.num_chunks == 1:
        return values.chunk(0)
    try:
        return values.combine_chunks()
    except (pa.ArrowInvalid, pa.ArrowCapacityError, OverflowError):  # > 2 GiB of text
        return values.cast(pa.large_string()).combine_chunks()


# Numeric timestamps: epoch seconds, milliseconds, microseconds or nanoseconds.
TIME_UNITS = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}
TIME_UNIT_NAMES = {"s": "epoch seconds", "ms": "epoch milliseconds",
                   "us": "epoch microseconds", "ns": "epoch nanoseconds",
                   "datetime": "dates/times (ISO-8601 or typed)"}
# |t| below 1e11 is read as seconds (up to the year 5138), below 1e14 as ms, below 1e17 as us,
# else ns: today is ~1.7e9 s = 1.7e12 ms = 1.7e15 us = 1.7e18 ns, three decades apart.
UNIT_BOUNDS = (1e11, 1e14, 1e17)


def unit_from_band_counts(bands) -> str:
    """The unit of the band holding most numeric timestamps (the smaller unit on a tie).

    A count per band, not a median, so that the SQL engines reach the same choice exactly."""
    bands = [int(b or 0) for b in bands]
    return ("s", "ms", "us", "ns")[int(np.argmax(bands))]


def time_unit_of(seconds_like: np.ndarray) -> str:
    a = np.abs(seconds_like[np.isfinite(seconds_like)])
    edges = np.searchsorted(np.asarray(UNIT_BOUNDS), a, side="right")
    return unit_from_band_counts(np.bincount(edges, minlength=4))


def check_time_unit(unit: str | None) -> str:
    unit = unit or "auto"
    if unit not in (*TIME_UNITS, "auto"):
        raise GraphembError(f"--time-unit {unit!r}: choose s, ms, us, ns or auto.")
    return unit


def times_to_seconds(path: Path, column: str, array: pa.ChunkedArray,
                     unit: str = "auto") -> np.ndarray:
    """Epoch seconds (float64) from numbers, Arrow timestamps or ISO-8601 strings."""
    return times_to_seconds_unit(path, column, array, unit)[0]


def times_to_seconds_unit(path: Path, column: str, array: pa.ChunkedArray,
                          unit: str = "auto", lines=None) -> tuple[np.ndarray, str]:
    """(epoch seconds, unit read): numbers in ``unit`` (auto: s, ms, us or ns by magnitude,
    see UNIT_BOUNDS), or "datetime" for Arrow timestamps and ISO-8601 strings."""
    unit = check_time_unit(unit)
    t = array.type
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        # safe=False: nanosecond epochs (~1.7e18) lie beyond 2**53, float64 rounds them.
        values = np.asarray(pc.cast(array, pa.float64(), safe=False))
        if unit == "auto":
            unit = time_unit_of(values)
        return (values / TIME_UNITS[unit] if unit != "s" else values), unit
    if unit != "auto":
        raise GraphembError(f"{path}: column {column!r} holds dates/times, not numbers; "
                            f"--time-unit {unit} would have no effect, drop it.")
    return _datetimes_to_seconds(path, column, array, lines), "datetime"


def _datetimes_to_seconds(path: Path, column: str, array: pa.ChunkedArray,
                          lines=None) -> np.ndarray:
    """``lines``: the file line of each row (default: row + 2, below a header)."""
    t = array.type
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        ts = pc.cast(array, pa.timestamp("us", tz=getattr(t, "tz", None)))
        return np.asarray(pc.cast(ts, pa.int64())).astype(np.float64) / 1e6
    import pandas as pd

    strings = np.asarray(pc.cast(array, pa.string()).to_numpy(zero_copy_only=False), dtype=object)
    try:
        parsed = pd.to_datetime(pd.Series(strings), format="ISO8601", utc=True)
    except (ValueError, TypeError, OverflowError):
        bad = _first_bad_time(strings)
        raise GraphembError(
            f"{path}: line {bad + 2 if lines is None else lines[bad]}, column {column!r}: "
            "cannot read timestamp "
            f"{strings[bad]!r}; use epoch seconds or ISO-8601 (2024-01-31T12:00:00) throughout."
        ) from None
    # Unit-free: pandas may hold ns, us or s depending on version and input.
    seconds = (parsed - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)
    return seconds.to_numpy(dtype=np.float64)


def _first_bad_time(strings: np.ndarray) -> int:
    import pandas as pd

    # Bisect to the first row pandas cannot parse, so the message names a line.
    lo, hi = 0, len(strings)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        try:
            pd.to_datetime(pd.Series(strings[lo:mid]), format="ISO8601", utc=True)
            lo = mid
        except (ValueError, TypeError, OverflowError):
            hi = mid
    return lo


def sessionize(user: np.ndarray, time: np.ndarray, item: np.ndarray, weight: np.ndarray,
               session_gap: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """Transitions between consecutive distinct items within each user's sessions.

    Events are sorted by (user, time), file order breaking ties. A session ends where the gap
    to the next event exceeds ``session_gap`` seconds. A repeat of the item just seen is
    dropped (it is not a transition). Each transition carries the weight of the event it
    leads to.
    """
    order = np.lexsort((time, user))
    user, time, item, weight = user[order], time[order], item[order], weight[order]
    n = len(user)
    starts = np.ones(n, dtype=bool)
    if n > 1:
        starts[1:] = (user[1:] != user[:-1]) | ((time[1:] - time[:-1]) > session_gap)
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
    return src, dst, w, report
