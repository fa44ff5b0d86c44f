"""Graphs given as edges: edge lists (text, with SNAP/KONECT/MatrixMarket comment lines),
networkx graphs and the files networkx reads (GraphML, GEXF, adjacency lists), and adjacency
matrices (.mat files).

Each reader returns what a log's engines return, (src, dst, weight, item_ids, item_counts,
counts), with edge endpoints as the counts, so the graph is built alike.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import GraphembError, first_line
from ..io.ids import all_canonical_ints, factorize, ids_as_given
from ..io.tables import looks_numeric, open_bytes, release_arrow_memory

# A comment line: '#' (SNAP, networkx) or '%' (MatrixMarket, KONECT) after optional blanks;
# removed with the blank lines (so that a header after comments is the first row).
_COMMENT_LINE = re.compile(rb"(?m)^[ \t\r]*(?:[#%][^\n]*)?(?:\n|\Z)")
_COMMENT_AFTER_NEWLINE = re.compile(rb"\n[ \t]*[#%]")
_SCAN_BYTES = 1 << 24


def _has_comment_lines(path: Path) -> bool:
    """Whether any line starts (after blanks) with # or %: one streaming pass of memchr-speed
    tests, so files without comments are then parsed straight from disk as before."""
    with open_bytes(path) as fh:
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
        with open_bytes(path) as fh:
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
        with open_bytes(path) as fh:
            first = fh.readline().decode("utf-8", errors="replace").strip()
    if not first:
        raise GraphembError(f"{path}: is empty; expected lines of src,dst[,weight].")
    sep = delimiter or next((s for s in (",", "\t", " ") if s in first), ",")
    fields = [f for f in first.split(sep) if f != ""]
    has_header = matrix_market or fields[0].lower() in (
        "src", "source", "from", "u", "node1", "head") or \
        (len(fields) >= 3 and not looks_numeric(fields[2]))
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
        raise GraphembError(f"{path}: cannot read edge list: {first_line(exc)}") \
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
    item_ids = ids_as_given(values)
    degree = np.bincount(codes, minlength=len(values))
    counts = {"edges_read": n}
    release_arrow_memory()
    return src, dst, weight, item_ids, degree, counts


def _line_of_row(path: Path, row: int) -> int:
    """File line of the row-th (0-based) line that is neither blank nor a comment."""
    with open_bytes(path) as fh:
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
    if all(all_canonical_ints(c) for c in columns):
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
            # A column already parsed prints back as its own text (canonical integers).
            columns = [c if c is not None else
                       pa.chunked_array([pc.cast(pa.array(ids[k * n:(k + 1) * n]), pa.string())])
                       for k, c in enumerate(columns)]
    codes, values = factorize(pa.chunked_array(columns[0].chunks + columns[1].chunks))
    return codes.astype(np.int32), values


def read_networkx_file(path: Path):
    """A GraphML, GEXF or adjacency-list file, through networkx: as read_edge_list."""
    import networkx as nx

    reader = getattr(nx, NETWORKX_FORMATS[path.suffix.lower()])
    try:
        graph = reader(path)
    except Exception as exc:   # networkx raises many kinds (XML, value, key errors)
        raise GraphembError(f"{path}: cannot read it as {path.suffix[1:]} with networkx: "
                            f"{first_line(exc)}") from None
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


def read_mat(path):
    """The PPI-style MATLAB file: (network as scipy sparse, group labels as dense bool)."""
    import scipy.io

    try:
        mat = scipy.io.loadmat(str(path))
    except (OSError, ValueError, NotImplementedError) as exc:
        raise GraphembError(f"{path}: cannot read the MATLAB file ({exc}).") from None
    for key in ("network", "group"):
        if key not in mat:
            raise GraphembError(f"{path}: has no {key!r} matrix; expected `network` (adjacency) "
                                "and `group` (labels) as in the node2vec/DeepWalk data.")
    group = mat["group"]
    group = group.toarray() if hasattr(group, "toarray") else np.asarray(group)
    return mat["network"], group != 0


def edges_from_adjacency(adj):
    """(src, dst, weight, item_ids, degree, counts) of a sparse adjacency matrix, as
    read_edge_list gives them; the nodes are 0..n-1, every stored entry an edge of weight
    |a_ij|. Undirected, a symmetric matrix (PPI) keeps its weights, a one-triangle one has
    its directions summed and a self-loop A[v, v] keeps its weight (csr_from_edges' rule; so
    never adj + adj.T, which doubles every edge but the loops)."""
    import scipy.sparse as sp

    coo = sp.coo_matrix(adj)
    coo.sum_duplicates()
    n = adj.shape[0]
    weight = np.abs(coo.data).astype(np.float64)
    degree = np.bincount(coo.row, minlength=n) + np.bincount(coo.col, minlength=n)
    return (coo.row.astype(np.int64), coo.col.astype(np.int64), weight,
            np.arange(n, dtype=np.int64), degree, {"edges_read": int(len(weight))})


def graph_from_adjacency(adj):
    """An undirected Graph (node ids 0..n-1 of the matrix) from a sparse adjacency matrix,
    and how many nodes no edge touches."""
    from ..graph import graph_from_coded_edges

    src, dst, weight, item_ids, degree, _ = edges_from_adjacency(adj)
    return graph_from_coded_edges(src, dst, weight, item_ids, degree, undirected=True)
