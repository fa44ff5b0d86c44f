"""The one table reader: CSV/TSV (plain or .gz) and Parquet files of logs, side information
and names.

``open_table`` decides everything about a file once (its format, delimiter, header and how
its rows are numbered in messages) into a TableFile, which every reader and engine uses;
``read_table`` is the one-call form. Column guessing and missing values are here too.
"""
from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ..errors import GraphembError, first_line

_NL = b"\n"
_SNIFF = ("\t", ",", ";", "|")

# Column names recognised when the user does not name them.
USER_COLUMNS = ("user", "user_id", "userId", "userid", "uid", "visitorid", "visitor_id",
                "session_id", "customer_id")
ITEM_COLUMNS = ("item", "item_id", "itemId", "itemid", "iid", "movieId", "movie_id",
                "product_id", "productId", "sku")
TIME_COLUMNS = ("timestamp", "time", "ts", "event_time", "datetime", "date", "created_at")
DWELL_COLUMNS = ("dwell", "duration", "dwell_time")     # seconds, read with --min-dwell


def file_format(path: Path) -> str:
    """"parquet", "tsv" or "csv", from the name (a .gz suffix looked through)."""
    name = Path(path).name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".tsv", ".tab")):
        return "tsv"
    return "csv"


def open_bytes(path: Path):
    """The file's bytes, gunzipped if its name ends in .gz."""
    return gzip.open(path, "rb") if Path(path).name.lower().endswith(".gz") else open(path, "rb")


def _sniff_delimiter(path: Path, fmt: str, delimiter: str | None = None) -> str:
    """The field separator: the one given, else the format's (comma; tab for .tsv) unless the
    first line holds none of it but another common one (a tab-separated file named .csv)."""
    if delimiter:
        return delimiter
    default = "\t" if fmt == "tsv" else ","
    first = _first_line_text(path)
    if first is None or default in first:
        return default
    return next((sep for sep in _SNIFF if sep in first), default)


def _first_line_text(path: Path) -> str | None:
    try:
        with open_bytes(path) as fh:
            return fh.readline(1 << 20).decode("utf-8-sig", errors="replace").rstrip("\r\n")
    except (OSError, EOFError):
        return None


def read_header(path: Path, sep: str, column_names: list[str] | None = None) -> list[str]:
    """The header's names (a UTF-8 BOM dropped); with ``column_names`` (a file without a
    header), those, once the first line is seen to have as many fields."""
    try:
        with open_bytes(path) as fh:
            first = fh.readline()
    except (OSError, EOFError) as exc:
        raise GraphembError(f"{path}: cannot read: {first_line(exc)}") from None
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


@dataclass(frozen=True)
class TableFile:
    """A table file as ``open_table`` found it."""

    path: Path
    format: str                      # "parquet", "tsv" or "csv"
    delimiter: str | None            # None for Parquet
    header: list[str]
    column_names: list[str] | None   # the names given to a file without a header line
    what: str                        # "log", "side-information table", ... for messages

    @property
    def is_parquet(self) -> bool:
        return self.format == "parquet"

    def line_numbers(self, rows: np.ndarray) -> np.ndarray:
        """The file line of each row (0-based), below the header line if there is one.
        Parquet rows are counted so too, as log messages always have (eges' side-information
        messages say "row N" from 1 instead)."""
        return np.asarray(rows, dtype=np.int64) + (1 if self.column_names else 2)

    def places(self, rows: np.ndarray):
        """place(k) -> "line 7" for row k of ``rows``."""
        numbers = self.line_numbers(rows)
        return lambda k: f"line {numbers[k]}"

    def read(self, columns: list[str], string_columns=()) -> pa.Table:
        """The named columns as an Arrow table. ``string_columns`` are read as text, so that
        ids such as "007" keep their form; other columns' types are inferred."""
        path, what = self.path, self.what
        _check_columns(path, self.header, columns)
        try:
            if self.is_parquet:
                import pyarrow.parquet as pq
                table = pq.read_table(path, columns=columns)
            else:
                table = self._read_csv(columns, string_columns)
        except GraphembError:
            raise
        except (pa.ArrowInvalid, OSError, EOFError, UnicodeDecodeError) as exc:
            raise GraphembError(f"{path}: cannot read {what}: {first_line(exc)}") from None
        if table.num_rows == 0:
            raise GraphembError(f"{path}: has a header but no rows; give a {what} with data.")
        return table

    def _read_csv(self, columns, string_columns) -> pa.Table:
        path, sep = self.path, self.delimiter
        bad_rows = []

        def on_bad_row(row):
            bad_rows.append(row)
            return "error"

        try:
            table = pacsv.read_csv(
                path,
                read_options=pacsv.ReadOptions(block_size=1 << 24,
                                               column_names=self.column_names or None),
                parse_options=pacsv.ParseOptions(delimiter=sep, invalid_row_handler=on_bad_row),
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
                    row = self._first_bad_row(columns) or row
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
        return table

    def _first_bad_row(self, columns: list[str]):
        found = []

        def handler(row):
            found.append(row)
            return "error"

        try:
            pacsv.read_csv(self.path,
                           read_options=pacsv.ReadOptions(use_threads=False,
                                                          column_names=self.column_names or None),
                           parse_options=pacsv.ParseOptions(delimiter=self.delimiter,
                                                            invalid_row_handler=handler),
                           convert_options=pacsv.ConvertOptions(include_columns=columns))
        except pa.ArrowInvalid:
            pass
        return found[0] if found else None


def open_table(path, delimiter: str | None = None, column_names: list[str] | None = None,
               what: str = "log") -> TableFile:
    """Check that ``path`` is a readable table and read its header. ``column_names`` names
    the fields of a CSV/TSV file without a header line; ``what`` names the file in messages."""
    path = Path(path)
    if not path.exists():
        raise GraphembError(f"{path}: no such file; check the path of the {what}.")
    if path.is_dir():
        raise GraphembError(f"{path}: is a folder, expected a {what} file.")
    fmt = file_format(path)
    if fmt == "parquet":
        if column_names:
            raise GraphembError(f"{path}: a Parquet file names its columns; drop --no-header "
                                "and --columns.")
        import pyarrow.parquet as pq
        try:
            header = list(pq.read_schema(path).names)
        except (pa.ArrowInvalid, OSError) as exc:
            raise GraphembError(f"{path}: not a readable Parquet file ({first_line(exc)}).") \
                from None
        return TableFile(path, fmt, None, header, None, what)
    sep = _sniff_delimiter(path, fmt, delimiter)
    return TableFile(path, fmt, sep, read_header(path, sep, column_names),
                     list(column_names) if column_names else None, what)


def read_table(path, columns: list[str], delimiter: str | None = None, what: str = "log",
               string_columns=(), column_names: list[str] | None = None) -> pa.Table:
    """The named columns of a table file (see TableFile.read)."""
    return open_table(path, delimiter, column_names, what).read(columns, string_columns)


def _check_columns(path: Path, header: list[str], wanted: list[str]) -> None:
    missing = [c for c in wanted if c not in header]
    if missing:
        raise GraphembError(
            f"{path}: column {missing[0]!r} not found (columns are: {', '.join(header[:12])}); "
            "name the right one with --item-col, --user-col or --time-col, or fix the header.")


def _non_utf8_where(path: Path) -> str:
    """'line N' of the first bytes that are not UTF-8 (the error path only; reads in blocks)."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with open_bytes(path) as fh:
        while block := fh.read(1 << 22):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                return f"line {line + block.count(_NL, 0, exc.start)}"
            line += block.count(_NL)
    return "a line"


# ------------------------------------------------------------------------------ columns

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


def pick_column(path: Path, header: list[str], given: str | None, candidates, option: str):
    """``given``, else the first of ``candidates`` in the header; none: an error naming
    ``option`` (the --...-col that names it)."""
    if given:
        return given
    for name in candidates:
        if name in header:
            return name
    hint = ""
    if any(looks_numeric(h) for h in header):     # line 1 is an event, not a header
        hint = (" or, as line 1 looks like data, name the fields with --no-header --columns "
                "(e.g. user,item,category,behavior,ts)")
    raise GraphembError(f"{path}: no {option.split('-')[0]} column found among "
                        f"({', '.join(header[:12])}); name it with --{option}{hint}.")


def log_columns(source: TableFile, user_col=None, item_col=None, time_col=None):
    """(user, item, time) column names of a log: as given, else guessed from the header."""
    return (pick_column(source.path, source.header, user_col, USER_COLUMNS, "user-col"),
            pick_column(source.path, source.header, item_col, ITEM_COLUMNS, "item-col"),
            pick_column(source.path, source.header, time_col, TIME_COLUMNS, "time-col"))


def looks_numeric(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


# ------------------------------------------------------------------------- missing values

def missing_rows(table: pa.Table, columns) -> np.ndarray:
    """Rows where any of ``columns`` is null or blank (white space only)."""
    missing = np.zeros(table.num_rows, dtype=bool)
    for col in columns:
        column = table.column(col)
        null = np.asarray(column.is_null())
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            null |= np.asarray(pc.equal(pc.utf8_trim_whitespace(column), "").fill_null(True))
        missing |= null
    return missing


def release_arrow_memory() -> None:
    # Arrow's allocator keeps freed blocks for reuse; once the text columns are gone, hand
    # that memory back before the graph is built (lowers the stage's peak).
    pa.default_memory_pool().release_unused()
