"""Walks to gensim without Python strings: one Numba pass writes a whitespace-separated
corpus file (token = node index in decimal) that gensim's `corpus_file` mode reads in C."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from numba import njit


@njit(cache=True)
def _encode_rows(walks, buf):
    """Write rows of node indices as ASCII lines into buf; -1 (padding) is skipped."""
    pos = 0
    digits = np.empty(20, dtype=np.uint8)
    for r in range(walks.shape[0]):
        wrote = False
        for c in range(walks.shape[1]):
            x = walks[r, c]
            if x < 0:
                break
            if wrote:
                buf[pos] = 32  # space
                pos += 1
            nd = 0
            if x == 0:
                digits[0] = 48
                nd = 1
            while x > 0:
                digits[nd] = 48 + x % 10
                x //= 10
                nd += 1
            for i in range(nd - 1, -1, -1):
                buf[pos] = digits[i]
                pos += 1
            wrote = True
        if wrote:
            buf[pos] = 10  # newline
            pos += 1
    return pos


def write_corpus(walk_arrays, path: Path, num_nodes: int, rows_per_chunk: int = 1 << 16,
                 on_rows=None) -> tuple[np.ndarray, int]:
    """Write every walk as a line of tokens; return per-node token counts and the walk count.

    ``walk_arrays`` is an iterable of 2-D int32 arrays (memory-mapped is fine); they are
    read in chunks, so memory stays bounded.
    """
    counts = np.zeros(num_nodes, dtype=np.int64)
    n_sentences = 0
    width = len(str(max(num_nodes - 1, 0))) + 1
    with open(path, "wb") as fh:
        for walks in walk_arrays:
            for a in range(0, walks.shape[0], rows_per_chunk):
                chunk = np.ascontiguousarray(walks[a:a + rows_per_chunk])
                buf = np.empty(chunk.size * width + chunk.shape[0], dtype=np.uint8)
                used = _encode_rows(chunk, buf)
                fh.write(memoryview(buf[:used]))
                valid = chunk[chunk >= 0]
                counts += np.bincount(valid, minlength=num_nodes)
                n_sentences += int(np.count_nonzero(chunk[:, 0] >= 0))
                if on_rows is not None:
                    on_rows(chunk.shape[0])
    return counts, n_sentences
