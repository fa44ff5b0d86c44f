"""Time in a log: durations (--session-gap), and timestamps to epoch seconds.

Numeric timestamps are epoch seconds, milliseconds, microseconds or nanoseconds, the unit
chosen from their magnitude (or --time-unit); text is ISO-8601.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import GraphembError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str | float | int) -> float:
    """'30m' -> 1800.0; accepts s, m, h, d, w suffixes or plain seconds."""
    if isinstance(text, (int, float)):
        return float(text)
    match = _DURATION.match(str(text))
    if not match:
        raise GraphembError(f"cannot read duration {text!r}: use a number with s, m, h, d or w, "
                            "e.g. 30m or 2h.")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


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
                          unit: str = "auto", place=None) -> tuple[np.ndarray, str]:
    """(epoch seconds, unit read): numbers in ``unit`` (auto: s, ms, us or ns by magnitude,
    see UNIT_BOUNDS), or "datetime" for Arrow timestamps and ISO-8601 strings.
    ``place(k)`` names row k in messages (default: "line k+2", below a header)."""
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
    return _datetimes_to_seconds(path, column, array, place), "datetime"


def _datetimes_to_seconds(path: Path, column: str, array: pa.ChunkedArray,
                          place=None) -> np.ndarray:
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
        where = place(bad) if place is not None else f"line {bad + 2}"
        raise GraphembError(
            f"{path}: {where}, column {column!r}: cannot read timestamp "
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
