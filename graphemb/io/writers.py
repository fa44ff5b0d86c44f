"""Writers for item vectors: Parquet, word2vec text/binary, .npy + ids, CSV."""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import GraphembError
from ..workspace import atomic_file, named_os_error

FORMATS = ("parquet", "word2vec", "word2vec-binary", "npy", "csv")


def guess_format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".bin",)):
        return "word2vec-binary"
    if name.endswith((".txt", ".vec", ".w2v")):
        return "word2vec"
    if name.endswith(".npy"):
        return "npy"
    if name.endswith((".csv", ".tsv")):
        return "csv"
    raise GraphembError(f"{path}: cannot tell the format from the name; add --format "
                        f"({'|'.join(FORMATS)}).")


def ids_to_arrow(ids: np.ndarray) -> pa.Array:
    return pa.array(ids, type=pa.int64() if ids.dtype.kind in "iu" else pa.string())


def _id_columns(ids: np.ndarray, extra: dict | None, key: str, **between) -> dict:
    """The columns of a written table: the ids under ``key``, then ``between``, then the
    ``extra`` columns."""
    return {key: ids_to_arrow(ids), **between,
            **{name: pa.array(values) for name, values in (extra or {}).items()}}


def vectors_table(ids: np.ndarray, vectors: np.ndarray, extra: dict | None = None,
                  key: str = "item_id") -> pa.Table:
    dim = vectors.shape[1]
    flat = pa.array(np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1))
    return pa.table(_id_columns(ids, extra, key,
                                vector=pa.FixedSizeListArray.from_arrays(flat, dim)))


def _destination(path: Path) -> tuple[Path, bool]:
    """Where to write: through a symlink to its target (never replacing the link), and
    whether that is not a regular file (a device or FIFO: written into, not renamed onto).
    Its folder must exist."""
    path = Path(path)
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    if path.parent and not path.parent.exists():
        raise GraphembError(f"{path.parent}: folder does not exist; create it or choose "
                            "another output path.")
    return path, path.exists() and not path.is_file()


def _device_tmp(path: Path) -> Path:
    import tempfile
    return Path(tempfile.mkdtemp(prefix=".graphemb-export-")) / path.name


@contextmanager
def _output_file(path: Path, device: bool):
    """Yield a temporary path to write; when done, rename it onto ``path`` (atomic), or copy
    it into a device or FIFO. Nothing half-written is left behind on failure, and an OS
    error without a file name (disk full) is given ``path``'s."""
    try:
        if not device:
            with atomic_file(path) as tmp:
                yield tmp
            return
        import shutil
        tmp = _device_tmp(path)
        try:
            yield tmp
            with open(tmp, "rb") as src, open(path, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        finally:
            if tmp.exists():
                tmp.unlink()
            tmp.parent.rmdir()
    except OSError as exc:
        if exc.filename is None:
            raise named_os_error(exc, path) from None
        raise


def write_vectors(path: Path, fmt: str, ids: np.ndarray, vectors: np.ndarray,
                  extra: dict | None = None, key: str = "item_id") -> list[Path]:
    """Write to a temporary name and rename into place; returns the files written.

    ``key`` names the id column (Parquet, CSV, the .ids.parquet of npy)."""
    if fmt not in FORMATS:
        raise GraphembError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}.")
    path, device = _destination(path)
    if device and fmt == "npy":
        raise GraphembError(f"{path}: not a regular file; npy output is two files "
                            "(.npy and .ids.parquet), write it to a folder.")
    written = []
    with _output_file(path, device) as tmp:
        if fmt == "parquet":
            pq.write_table(vectors_table(ids, vectors, extra, key), tmp)
        elif fmt in ("word2vec", "word2vec-binary"):
            _write_word2vec(tmp, ids, vectors, binary=fmt == "word2vec-binary")
        elif fmt == "npy":
            with open(tmp, "wb") as fh:
                np.save(fh, np.ascontiguousarray(vectors, dtype=np.float32))
            ids_path = path.with_name(path.stem + ".ids.parquet")
            table = pa.table(_id_columns(ids, extra, key))
            with atomic_file(ids_path) as ids_tmp:
                pq.write_table(table, ids_tmp)
            written.append(ids_path)
        elif fmt == "csv":
            _write_csv(tmp, ids, vectors, extra, key)
    return [path] + written


def _key(item_id) -> str:
    # word2vec keys cannot hold white space; it would split the line.
    text = str(item_id)
    if any(ch.isspace() for ch in text):
        text = "_".join(text.split())
    return text


def _write_word2vec(path: Path, ids, vectors, binary: bool) -> None:
    from gensim.models import KeyedVectors

    kv = KeyedVectors(vector_size=vectors.shape[1])
    kv.add_vectors([_key(i) for i in ids], np.asarray(vectors, dtype=np.float32))
    kv.save_word2vec_format(str(path), binary=binary)


def _write_csv(path: Path, ids, vectors, extra, key: str = "item_id") -> None:
    import pyarrow.csv as pacsv

    columns = _id_columns(ids, extra, key)
    for j in range(vectors.shape[1]):  # a loop over dimensions, not rows
        columns[f"v{j}"] = pa.array(np.asarray(vectors[:, j], dtype=np.float32))
    pacsv.write_csv(pa.table(columns), path)


def write_table(path: Path, fmt: str, table: pa.Table) -> list[Path]:
    """A plain table (e.g. attention weights) as Parquet or CSV, renamed into place."""
    import pyarrow.csv as pacsv

    if fmt not in ("parquet", "csv"):
        raise GraphembError(f"{path}: this table is written as .parquet or .csv, not {fmt}.")
    path, device = _destination(path)
    with _output_file(path, device) as tmp:
        if fmt == "parquet":
            pq.write_table(table, tmp)
        else:
            pacsv.write_csv(table, tmp)
    return [path]
