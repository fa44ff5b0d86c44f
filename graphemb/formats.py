"""Writers for item vectors: Parquet, word2vec text/binary, .npy + ids, CSV."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .errors import GraphembError

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


def vectors_table(ids: np.ndarray, vectors: np.ndarray, extra: dict | None = None,
                  key: str = "item_id") -> pa.Table:
    dim = vectors.shape[1]
    flat = pa.array(np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1))
    columns = {key: ids_to_arrow(ids), "vector": pa.FixedSizeListArray.from_arrays(flat, dim)}
    for name, values in (extra or {}).items():
        columns[name] = pa.array(values)
    return pa.table(columns)


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def _target(path: Path) -> tuple[Path, bool]:
    """Where to write: through a symlink to its target (never replacing the link), and
    whether that is not a regular file (a device or FIFO: written into, not renamed onto)."""
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    return path, path.exists() and not path.is_file()


def _device_tmp(path: Path) -> Path:
    import tempfile
    return Path(tempfile.mkdtemp(prefix=".graphemb-export-")) / path.name


def _put(tmp: Path, path: Path, device: bool) -> None:
    """Move the finished file into place: renamed (atomic), or copied into a device."""
    if not device:
        os.replace(tmp, path)
        return
    import shutil
    with open(tmp, "rb") as src, open(path, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    tmp.unlink()
    tmp.parent.rmdir()


def write_vectors(path: Path, fmt: str, ids: np.ndarray, vectors: np.ndarray,
                  extra: dict | None = None, key: str = "item_id") -> list[Path]:
    """Write to a temporary name and rename into place; returns the files written.

    ``key`` names the id column (Parquet, CSV, the .ids.parquet of npy)."""
    path, device = _target(Path(path))
    if fmt not in FORMATS:
        raise GraphembError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}.")
    if path.parent and not path.parent.exists():
        raise GraphembError(f"{path.parent}: folder does not exist; create it or choose "
                            "another output path.")
    if device and fmt == "npy":
        raise GraphembError(f"{path}: not a regular file; npy output is two files "
                            "(.npy and .ids.parquet), write it to a folder.")
    tmp = _device_tmp(path) if device else _tmp_name(path)
    written = []
    try:
        if fmt == "parquet":
            pq.write_table(vectors_table(ids, vectors, extra, key), tmp)
        elif fmt in ("word2vec", "word2vec-binary"):
            _write_word2vec(tmp, ids, vectors, binary=fmt == "word2vec-binary")
        elif fmt == "npy":
            with open(tmp, "wb") as fh:
                np.save(fh, np.ascontiguousarray(vectors, dtype=np.float32))
            ids_path = path.with_name(path.stem + ".ids.parquet")
            ids_tmp = _tmp_name(ids_path)
            table = pa.table({key: ids_to_arrow(ids), **{k: pa.array(v) for k, v in
                                                               (extra or {}).items()}})
            pq.write_table(table, ids_tmp)
            os.replace(ids_tmp, ids_path)
            written.append(ids_path)
        elif fmt == "csv":
            _write_csv(tmp, ids, vectors, extra, key)
        _put(tmp, path, device)
    except OSError as exc:
        if exc.filename is None:            # a bare write() error (disk full): name the file
            from .workspace import named_os_error
            raise named_os_error(exc, path) from None
        raise
    finally:
        if tmp.exists():
            tmp.unlink()
        if device and tmp.parent.exists():
            tmp.parent.rmdir()
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

    dim = vectors.shape[1]
    columns = {key: ids_to_arrow(ids)}
    for name, values in (extra or {}).items():
        columns[name] = pa.array(values)
    for j in range(dim):  # a loop over dimensions, not rows
        columns[f"v{j}"] = pa.array(np.asarray(vectors[:, j], dtype=np.float32))
    pacsv.write_csv(pa.table(columns), path)


def write_table(path: Path, fmt: str, table: pa.Table) -> list[Path]:
    """A plain table (e.g. attention weights) as Parquet or CSV, renamed into place."""
    import pyarrow.csv as pacsv

    path, device = _target(Path(path))
    if fmt not in ("parquet", "csv"):
        raise GraphembError(f"{path}: this table is written as .parquet or .csv, not {fmt}.")
    if path.parent and not path.parent.exists():
        raise GraphembError(f"{path.parent}: folder does not exist; create it or choose "
                            "another output path.")
    tmp = _device_tmp(path) if device else _tmp_name(path)
    try:
        if fmt == "parquet":
            pq.write_table(table, tmp)
        else:
            pacsv.write_csv(table, tmp)
        _put(tmp, path, device)
    except OSError as exc:
        if exc.filename is None:
            from .workspace import named_os_error
            raise named_os_error(exc, path) from None
        raise
    finally:
        if tmp.exists():
            tmp.unlink()
        if device and tmp.parent.exists():
            tmp.parent.rmdir()
    return [path]
