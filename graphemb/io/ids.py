"""Item and user ids: kept as written, coded densely, checked, and looked up by their text.

An id column stays int64 only if every id is a canonical integer ("42"; not "007", "-0" or
"+7"), so that writing the ids back as text gives the file's text again.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import GraphembError

CANONICAL_INT = r"^(0|-?[1-9][0-9]{0,18})$"
MAX_ID_CHARS = 1024
_CONTROL = r"[\x00-\x1f\x7f]"


def all_canonical_ints(strings) -> bool:
    """Whether a non-empty text column holds only canonical integers."""
    return bool(len(strings)) and pc.all(pc.match_substring_regex(strings, CANONICAL_INT)).as_py()


def ids_as_given(array: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Ids as written: int64 if every id is a canonical integer, else str."""
    strings = pc.cast(array, pa.string()) if not pa.types.is_string(array.type) else array
    if pa.types.is_integer(array.type):
        return np.asarray(pc.cast(array, pa.int64()))
    if all_canonical_ints(strings):
        try:
            return np.asarray(pc.cast(strings, pa.int64()))
        except pa.ArrowInvalid:  # 19 digits beyond the int64 range: keep them as text
            pass
    return np.asarray(strings.to_numpy(zero_copy_only=False), dtype=object)


def factorize(values: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Dense int codes in order of first appearance, and the distinct values (same type)."""
    values = _one_chunk(values)
    if pa.types.is_string(values.type) and all_canonical_ints(values):
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


def codes_and_ids(column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Dense codes of an id column and its distinct ids as given; the column's own type
    decides (an integer column stays integers, "007" stays a string)."""
    codes, values = factorize(column.cast(pa.string()))
    if pa.types.is_integer(column.type):
        values = pc.cast(values, pa.int64())
    return codes, ids_as_given(values)


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


def check_ids(path, table: pa.Table, columns, place) -> None:
    """Refuse ids holding control characters (NUL, newline, escape...) or longer than
    MAX_ID_CHARS: a damaged or binary file, not ids. ``place(k)`` names row k ("line 7")."""
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
            raise GraphembError(f"{path}: {place(k)}, column {name!r}: the id {why}; "
                                "the file is damaged or not a log.")


def bad_id_rows(values: pa.Array) -> np.ndarray:
    """Rows of a text array whose id check_ids refuses (a control character, or over
    MAX_ID_CHARS characters). The bytes are scanned first; the exact test runs only on an
    array that has a control byte or a long value (UTF-8 puts no byte below 0x80 inside a
    multi-byte character, so a control byte is a control character)."""
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=bool)
    large = pa.types.is_large_string(values.type)
    if not (large or pa.types.is_string(values.type)):
        values, large = pc.cast(values, pa.string()), False
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int64 if large else np.int32,
                            count=values.offset + n + 1)[values.offset:]
    data = values.buffers()[2]
    data = (np.frombuffer(data, dtype=np.uint8)[offsets[0]:offsets[-1]] if data is not None
            else np.zeros(0, dtype=np.uint8))
    if not ((data < 0x20) | (data == 0x7f)).any() and np.diff(offsets).max() <= MAX_ID_CHARS:
        return np.zeros(n, dtype=bool)
    control = np.asarray(pc.match_substring_regex(values, _CONTROL).fill_null(False))
    return control | np.asarray(pc.greater(pc.utf8_length(values), MAX_ID_CHARS)
                                .fill_null(False))


def id_positions(ids: np.ndarray, wanted, retry=None) -> np.ndarray:
    """Position of each of ``wanted`` (ids as text) among ``ids``, -1 where absent. Ids match
    by their text: 42 matches "42", "007" does not match 7. ``retry(text)`` is looked up
    again for the ids not found (e.g. str.strip). ``ids`` may be a pandas Index of the ids as
    text, built once for many look-ups."""
    import pandas as pd

    index = ids if isinstance(ids, pd.Index) else pd.Index(np.asarray(ids).astype(str))
    pos = index.get_indexer(wanted)
    again = np.flatnonzero(pos < 0)
    if retry is not None and len(again):
        pos[again] = index.get_indexer([retry(wanted[i]) for i in again])
    return pos
