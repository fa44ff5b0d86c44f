"""EGES and GES: item vectors fused from an id embedding and side-information embeddings.

Wang et al., "Billion-scale Commodity Embedding for E-commerce Recommendation in Alibaba"
(KDD 2018). Each item v has n side-information values (category, brand, ...). Its vector is

    H_v = sum_j softmax(a_v)_j W^j[v]        j = 0 (the item id), 1..n (its side values)

trained by skip-gram with negative sampling over the walks (graphemb.models.sgns). GES uses equal
weights (a plain average). An item that has side information but is not in the graph (a
cold-start item) gets the average of its side-information embeddings.

The side-information table is a CSV/TSV/Parquet file with one row per item: an item id
column (found like the log's, e.g. item_id or movieId, or named with ``item_col``) and
categorical columns. Rules:

* Values are categories compared as text, after trimming white space. With
  ``multi_value="first"`` a value such as ``Adventure|Comedy`` counts as its first part
  (``Adventure``); the default ``"whole"`` keeps the value as written (the genre *set*).
* An empty value is a value of its own per column, "missing", with its own embedding
  (learned from the items that lack the value). Graph items absent from the table have
  every column missing.
* Rows with an empty item id are skipped and counted. An id given twice with the same
  values is used once; with different values it is an error naming both lines.
* Ids match the graph's node ids by their text: 42 matches 42, "007" does not match 7.
* Without ``side_cols`` every column other than the id is used whose values are shared
  (at most half as many distinct values as rows); near-unique columns such as titles are
  skipped and listed in the counts. Tables of fewer than 20 rows keep every column.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import sgns
from ..errors import GraphembError, first_line
from ..io.ids import CANONICAL_INT, factorize
from ..io.tables import file_format, read_header, read_table
from ..options import SIDE, TRAIN
from ..workspace import file_hash, load_npy, save_npy

FUSIONS = SIDE.fusion.choices         # the methods of a side-information model
MULTI_SEPARATOR = "|"
MIN_ROWS_TO_SKIP = 20     # smaller tables keep every column


@dataclass
class SideInfo:
    """Side information of distinct items: one row per item, one code per column."""

    path: Path
    item_col: str
    columns: list[str]
    keys: np.ndarray            # item ids as text (object) [n_items]
    codes: np.ndarray           # int32 [n_items, n_cols]; code len(labels[s]) - 1 = missing
    labels: list[list]          # per column: value labels, the last one None (missing)
    lines: np.ndarray           # file line (CSV) or row number (Parquet) of each item
    counts: dict = field(default_factory=dict)

    def missing_code(self, s: int) -> int:
        return len(self.labels[s]) - 1


def _columns_of(path: Path, delimiter: str | None) -> list[str]:
    if not path.exists():
        raise GraphembError(f"{path}: no such file; check the path of the side-information "
                            "table.")
    if path.is_dir():
        raise GraphembError(f"{path}: is a folder, expected a side-information table file.")
    fmt = file_format(path)
    if fmt == "parquet":
        import pyarrow.parquet as pq
        try:
            return list(pq.read_schema(path).names)
        except (pa.ArrowInvalid, OSError) as exc:
            raise GraphembError(f"{path}: not a readable Parquet file "
                                f"({first_line(exc)}).") from None
    return read_header(path, delimiter or ("\t" if fmt == "tsv" else ","))


def _as_text(column) -> pa.ChunkedArray:
    """Trimmed text; null where empty."""
    text = pc.utf8_trim_whitespace(pc.cast(column, pa.string()))
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


def parse_columns(side_cols) -> list[str] | None:
    if side_cols is None:
        return None
    if isinstance(side_cols, str):
        side_cols = side_cols.split(",")
    cols = [c.strip() for c in side_cols if c and c.strip()]
    if not cols:
        raise GraphembError("--side-cols is empty; name columns such as genre,year.")
    return list(dict.fromkeys(cols))


def read_side_info(path, item_col: str | None = None, side_cols=None,
                   delimiter: str | None = None,
                   multi_value: str = SIDE.multi_value.default) -> SideInfo:
    """Read and validate a side-information table (see the module doc for the rules)."""
    from ..io.tables import ITEM_COLUMNS

    path = Path(path)
    SIDE.multi_value.check(multi_value)
    header = _columns_of(path, delimiter)
    if item_col is None:
        item_col = next((c for c in ITEM_COLUMNS if c in header), None)
        if item_col is None:
            raise GraphembError(f"{path}: no item id column found among "
                                f"({', '.join(header[:12])}); name it with --item-col.")
    elif item_col not in header:
        raise GraphembError(f"{path}: item column {item_col!r} not found (columns are: "
                            f"{', '.join(header[:12])}); name the right one with --item-col.")
    chosen = parse_columns(side_cols)
    if chosen is not None:
        missing = [c for c in chosen if c not in header]
        if missing:
            raise GraphembError(f"{path}: side-information column {missing[0]!r} not found "
                                f"(columns are: {', '.join(header[:12])}); fix --side-cols.")
        if item_col in chosen:
            raise GraphembError(f"--side-cols names the item id column {item_col!r}; list only "
                                "the side-information columns.")
    candidates = chosen or [c for c in header if c != item_col]
    if not candidates:
        raise GraphembError(f"{path}: has only the item column {item_col!r}; add categorical "
                            "side-information columns (e.g. category, brand).")
    table = read_table(path, list(dict.fromkeys([item_col] + candidates)), delimiter,
                       what="side-information table")
    is_parquet = file_format(path) == "parquet"
    n_rows = table.num_rows
    line = np.arange(n_rows, dtype=np.int64) + (1 if is_parquet else 2)
    where = "row" if is_parquet else "line"

    keys = _as_text(table.column(item_col))
    has_id = np.asarray(keys.is_valid())
    counts = {"rows_read": n_rows, "rows_without_item_id": int((~has_id).sum())}
    if not has_id.any():
        raise GraphembError(f"{path}: column {item_col!r} has no item ids; check --item-col.")

    values = {}
    for col in candidates:
        text = _as_text(table.column(col))
        if multi_value == "first":
            first = pc.list_element(pc.split_pattern(text, MULTI_SEPARATOR), 0)
            text = _as_text(first)
        values[col] = text

    if chosen is None:
        # Shared (categorical) columns only; near-unique ones (titles, ids) carry no side
        # information beyond the item id.
        columns, skipped = [], []
        for col in candidates:
            distinct = pc.count_distinct(values[col]).as_py()
            near_unique = n_rows >= MIN_ROWS_TO_SKIP and distinct > n_rows / 2
            (skipped if near_unique else columns).append(col)
        counts["skipped_near_unique_columns"] = skipped
        if not columns:
            raise GraphembError(f"{path}: no categorical side-information column (every column "
                                f"has a different value for most rows: {', '.join(skipped)}); "
                                "name columns with --side-cols.")
    else:
        columns = chosen

    rows = np.flatnonzero(has_id)
    key_codes, key_values = factorize(keys.filter(pa.array(has_id)))
    key_array = np.asarray(key_values.to_numpy(zero_copy_only=False), dtype=object)
    code_cols, labels = [], []
    for col in columns:
        text = values[col].filter(pa.array(has_id))
        null = np.asarray(text.is_null())
        codes, uniq = factorize(text.fill_null(""))
        labels_col = [v for v in uniq.to_pylist()]
        # Renumber: real values first (order of first appearance), then "missing" last.
        if null.any():
            empty = int(codes[np.flatnonzero(null)[0]])
            keep = np.ones(len(labels_col), dtype=bool)
            keep[empty] = False
            renum = np.cumsum(keep) - 1
            renum[empty] = keep.sum()
            codes = renum[codes]
            labels_col = [v for v, k in zip(labels_col, keep) if k]
        labels.append(labels_col + [None])
        code_cols.append(codes)
    codes = np.stack(code_cols, axis=1).astype(np.int32)

    # Duplicate ids: fine if identical, an error if any column disagrees.
    order = np.argsort(key_codes, kind="stable")
    same = key_codes[order[1:]] == key_codes[order[:-1]]
    if same.any():
        differ = np.any(codes[order[1:]] != codes[order[:-1]], axis=1) & same
        if differ.any():
            pos = np.flatnonzero(differ)
            i = pos[np.argmin(order[pos + 1])]
            later, earlier = order[i + 1], order[i]
            col = int(np.flatnonzero(codes[later] != codes[earlier])[0])
            name = columns[col]

            def shown(r):
                label = labels[col][codes[r, col]]
                return "(empty)" if label is None else repr(label)

            raise GraphembError(
                f"{path}: {where} {line[rows[later]]}: item {key_array[key_codes[later]]} "
                f"appears again with {name}={shown(later)} but {where} {line[rows[earlier]]} "
                f"has {shown(earlier)}; keep one row per item.")
    first_rows = np.sort(np.unique(key_codes, return_index=True)[1])
    counts["duplicate_rows"] = int(len(key_codes) - len(first_rows))
    counts["items"] = int(len(first_rows))
    side = SideInfo(path=path, item_col=item_col, columns=columns,
                    keys=key_array[key_codes[first_rows]], codes=codes[first_rows],
                    labels=labels, lines=line[rows[first_rows]], counts=counts)
    for s, col in enumerate(columns):
        counts[f"values_{col}"] = len(labels[s]) - 1
        counts[f"missing_{col}"] = int((side.codes[:, s] == side.missing_code(s)).sum())
    return side


def node_keys(node_ids: np.ndarray) -> pa.Array:
    """Graph node ids as text, the way side-information ids are matched."""
    if node_ids.dtype.kind in "iu":
        return pc.cast(pa.array(node_ids.astype(np.int64)), pa.string())
    return pa.array(np.asarray(node_ids, dtype=object), type=pa.string())


def ids_like(keys: np.ndarray, node_ids: np.ndarray) -> np.ndarray:
    """Text keys of cold-start items as ids of the graph's kind (int64 when possible)."""
    if node_ids.dtype.kind in "iu" and len(keys):
        text = pa.array(list(keys), type=pa.string())
        if pc.all(pc.match_substring_regex(text, CANONICAL_INT)).as_py():
            return np.asarray(pc.cast(text, pa.int64()))
    if node_ids.dtype.kind in "iu" and not len(keys):
        return np.zeros(0, dtype=np.int64)
    return np.asarray(keys, dtype=object)


@dataclass
class EGESResult:
    fusion: str
    columns: list[str]               # side-information columns, in component order 1..n
    vectors: np.ndarray              # float32 [num_nodes, dim]: H_v
    has_vector: np.ndarray           # bool [num_nodes]
    cold_ids: np.ndarray             # ids of cold-start items (int64 or object)
    cold_vectors: np.ndarray         # float32 [n_cold, dim]: side-value centroids
    cold_side_vectors: np.ndarray    # float32 [n_cold, dim]: fused side embeddings (H . Z)
    side_embeddings: list[np.ndarray]  # per column float32 [n_values + 1, dim] (last: missing)
    side_labels: list[list]          # per column value labels, None = missing
    side_items: list[np.ndarray]     # per column: items (warm + cold) with each value
    attention: np.ndarray            # float32 [num_nodes, n + 1]: softmax(a_v)
    node_codes: np.ndarray           # int [num_nodes, n]: value code per column (graph items)
    cold_codes: np.ndarray           # int [n_cold, n]: value code per column (cold items)
    token_counts: np.ndarray         # int64 [num_nodes]: occurrences in the walks
    E: np.ndarray
    Z: np.ndarray
    A: np.ndarray
    counts: dict
    stats: dict
    cold_bonus: np.ndarray | None = None     # cold_scores' bonus per shared value (value_bonus)
    missing_codes: np.ndarray | None = None  # per column, the code of a missing value


def train_eges(walks: np.ndarray, node_ids: np.ndarray, side: SideInfo, *,
               fusion: str = SIDE.fusion.default, **sgns_options) -> EGESResult:
    """Train EGES (or GES) on the walks; see graphemb.models.sgns.train for the options."""
    SIDE.fusion.check(fusion)
    n = len(node_ids)
    n_cols = len(side.columns)
    pos = np.asarray(pc.index_in(pa.array(side.keys, type=pa.string()),
                                 value_set=node_keys(node_ids)).fill_null(-1)).astype(np.int64)
    warm = pos >= 0
    if not warm.any():
        raise GraphembError(
            f"{side.path}: none of its {len(side.keys):,} item ids (column {side.item_col!r}, "
            f"e.g. {side.keys[0]!r}) is a node of the graph (e.g. {node_ids[0]!r}); check "
            "--item-col.")
    sizes = np.array([len(lab) for lab in side.labels], dtype=np.int64)
    offsets = n + np.concatenate([[0], np.cumsum(sizes)[:-1]])
    node_codes = np.tile(sizes - 1, (n, 1))          # missing unless the table says otherwise
    node_codes[pos[warm]] = side.codes[warm]
    feat = np.empty((n, n_cols + 1), dtype=np.int32)
    feat[:, 0] = np.arange(n)
    feat[:, 1:] = offsets[None, :] + node_codes
    num_rows = int(n + sizes.sum())

    stats = sgns.train(walks, feat, num_rows, learn_attention=fusion == "eges", **sgns_options)
    E, Z, A = stats.pop("E"), stats.pop("Z"), stats.pop("A")
    token_counts = stats.pop("counts")

    if fusion == "eges":
        weights = np.exp(A - A.max(axis=1, keepdims=True))
        weights /= weights.sum(axis=1, keepdims=True)
    else:
        weights = np.full(A.shape, 1.0 / A.shape[1], dtype=np.float32)
    weights = weights.astype(np.float32)
    vectors = np.zeros((n, E.shape[1]), dtype=np.float32)
    for j in range(feat.shape[1]):
        vectors += weights[:, j, None] * E[feat[:, j]]
    has_vector = token_counts > 0
    in_table = np.zeros(n, dtype=bool)
    in_table[pos[warm]] = True
    # Graph items no walk reached: from their side information, as a cold-start item.
    fill = ~has_vector & in_table
    vectors[fill] = centroid_cold_vectors(vectors, has_vector, node_codes, node_codes[fill],
                                          sizes)
    vectors[~has_vector & ~in_table] = 0.0
    has_vector = has_vector | fill

    cold = ~warm
    # A cold item's exported vector lives among the trained item vectors: per side column
    # the centroid of the items sharing its value (benchmarks/quality.py: as good as or
    # better than the raw side embeddings, and comparable by cosine with warm items). Its
    # neighbours come from the model's own co-occurrence score (cold_scores), which needs
    # the fused side embeddings instead.
    cold_vectors = centroid_cold_vectors(vectors, has_vector, node_codes, side.codes[cold],
                                         sizes)
    cold_side_vectors = _side_mean(E, offsets[None, :] + side.codes[cold])
    cold_ids = ids_like(side.keys[cold], node_ids)

    side_embeddings, side_items = [], []
    for s in range(n_cols):
        side_embeddings.append(E[offsets[s]:offsets[s] + sizes[s]].copy())
        per_value = np.bincount(node_codes[:, s], minlength=sizes[s])
        per_value += np.bincount(side.codes[cold, s], minlength=sizes[s])
        side_items.append(per_value)
    counts = {
        "nodes": n,
        "vectors": int(has_vector.sum()),
        "nodes_without_vector": int((~has_vector).sum()),
        "nodes_vector_from_side_info": int(fill.sum()),
        "side_info_items": int(len(side.keys)),
        "side_info_items_in_graph": int(warm.sum()),
        "cold_start_items": int(cold.sum()),
        "graph_items_without_side_info": int(n - in_table.sum()),
        **{f"side_info_{k}": v for k, v in side.counts.items()},
    }
    missing = (sizes - 1).astype(np.int32)
    bonus = value_bonus(walks, node_codes, token_counts, missing,
                        seed=sgns_options.get("seed", 0))
    return EGESResult(fusion, list(side.columns), vectors, has_vector, cold_ids, cold_vectors,
                      cold_side_vectors, side_embeddings, side.labels, side_items, weights, node_codes,
                      side.codes[cold], token_counts, E, Z, A, counts, stats, bonus, missing)


def centroid_cold_vectors(vectors, has_vector, node_codes, cold_codes, sizes) -> np.ndarray:
    """Cold-start vectors as the mean over side columns of the centroid of the trained
    vectors of the items sharing each value; a value no trained item has contributes the
    mean of all trained vectors (it says nothing)."""
    overall = vectors[has_vector].mean(axis=0) if has_vector.any() else \
        np.zeros(vectors.shape[1])
    out = np.zeros((cold_codes.shape[0], vectors.shape[1]), dtype=np.float64)
    for s in range(cold_codes.shape[1]):
        codes = node_codes[has_vector, s]
        items = np.bincount(codes, minlength=int(sizes[s]))
        sums = np.zeros((int(sizes[s]), vectors.shape[1]), dtype=np.float64)
        np.add.at(sums, codes, vectors[has_vector])
        centroid = sums / np.maximum(items, 1)[:, None]
        centroid[items == 0] = overall
        out += centroid[cold_codes[:, s]]
    return (out / max(cold_codes.shape[1], 1)).astype(np.float32)


COLD_GAMMA = 3.0      # bonus per shared side value for models saved without cold_value_bonus


def cold_scores(h: np.ndarray, cold_codes: np.ndarray, Z: np.ndarray, token_counts: np.ndarray,
                node_codes: np.ndarray, gamma: float = COLD_GAMMA,
                exponent: float = TRAIN.ns_exponent.default, bonus: np.ndarray | None = None,
                missing: np.ndarray | None = None) -> np.ndarray:
    """How likely each graph item u is to be walked next to each cold-start item c:

        H_c . Z_u  +  exponent * log(count_u)  +  sum_j bonus_j [u shares c's value in column j]

    H_c . Z_u is the skip-gram model's own logit (``h`` [q, dim] are the cold items' fused
    side embeddings), ``exponent * log count_u`` adds back the popularity that negative
    sampling (noise ~ count**exponent) divides out, and the bonus is a prior within each
    side value (value_bonus; ``gamma`` for every column when it is not given). A missing
    value (code ``missing[j]``) is shared with nobody. Items never walked score -inf.
    Returns float32 [q, num_nodes].
    """
    n_cols = cold_codes.shape[1]
    bonus = np.full(n_cols, gamma) if bonus is None else np.asarray(bonus, dtype=np.float64)
    counts = np.asarray(token_counts)
    prior = np.where(counts > 0, exponent * np.log(np.maximum(counts, 1)), -np.inf)
    score = np.asarray(h, dtype=np.float32) @ np.asarray(Z).T + prior.astype(np.float32)
    for j in range(n_cols):
        shared = cold_codes[:, j, None] == node_codes[None, :, j]
        if missing is not None:
            shared &= cold_codes[:, j, None] != missing[j]
        score += np.float32(bonus[j]) * shared
    return score


def value_bonus(walks, node_codes: np.ndarray, token_counts: np.ndarray, missing: np.ndarray,
                *, pairs: int = 200_000, seed: int = 0) -> np.ndarray:
    """Per side column, the log-odds that two items are neighbours given that they share
    the column's value: log P(share | adjacent in a walk) / P(share | two random items).
    ``walks`` are walk arrays or sessions (graphemb.models.sgns.Sentences).

    Counted on the data, not on the model: warm items scored as if cold would find their
    own training in the model's logit and undervalue the side values (measured when this
    was chosen: a logistic fit of the weights on warm items lost to category popularity on
    Taobao's HR@10; this bonus beats it on both logs, benchmarks/quality.py). ``pairs`` adjacent
    positions are drawn from the walks; the random-pair share is exact, from the value
    counts of the walked items. Returns float64 [n_cols].
    """
    rng = np.random.default_rng([seed, 77])
    corpora = sgns._corpora(walks)
    sizes = np.array([len(c.tokens) for c in corpora], dtype=np.float64)
    which = rng.choice(len(corpora), pairs, p=sizes / sizes.sum())
    left, right = [], []
    for i, corpus in enumerate(corpora):        # a loop over walk files, not over tokens
        if len(corpus.tokens) < 2:
            continue
        # Positions t and t+1 in the same walk or session (t+1 does not start a new one).
        t = np.unique(rng.integers(0, len(corpus.tokens) - 1, int((which == i).sum())))
        t = t[~np.isin(t + 1, corpus.offsets)]
        left.append(np.asarray(corpus.tokens[t]))
        right.append(np.asarray(corpus.tokens[t + 1]))
    a = np.concatenate(left) if left else np.zeros(0, np.int64)
    b = np.concatenate(right) if right else np.zeros(0, np.int64)
    keep = (a >= 0) & (b >= 0) & (a != b)
    a, b = a[keep], b[keep]
    walked = np.asarray(token_counts) > 0
    n_walked = int(walked.sum())
    bonus = np.zeros(node_codes.shape[1])
    for j in range(node_codes.shape[1]):
        known = node_codes[:, j] != missing[j]
        adjacent = ((node_codes[a, j] == node_codes[b, j]) & known[a]).mean() if len(a) else 0.0
        per_value = np.bincount(node_codes[walked & known, j]).astype(np.float64)
        random = (per_value * (per_value - 1)).sum() / max(n_walked * (n_walked - 1), 1)
        # 1e-4 keeps a value no pair shares (or every pair shares) finite.
        bonus[j] = np.log((adjacent + 1e-4) / (random + 1e-4))
    return bonus


def cold_start_variants(result: "EGESResult") -> dict:
    """Cold-start vectors made two ways (compared in benchmarks/quality.py)."""
    sizes = np.array([len(lab) for lab in result.side_labels])
    offsets = len(result.vectors) + np.concatenate([[0], np.cumsum(sizes)[:-1]])
    args = (result.vectors, result.has_vector, result.node_codes, result.cold_codes, sizes)
    return {"side embeddings": _side_mean(result.E, offsets[None, :] + result.cold_codes),
            "centroid": centroid_cold_vectors(*args)}


def _side_mean(E: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Average of the side-information embeddings of each item: its fused H without the
    id row (what cold_scores multiplies with Z)."""
    out = np.zeros((rows.shape[0], E.shape[1]), dtype=np.float32)
    for s in range(rows.shape[1]):
        out += E[rows[:, s]]
    return out / max(rows.shape[1], 1)


# ------------------------------------------------------------------- model/ artifacts

def _ids_array(ids: np.ndarray) -> pa.Array:
    return pa.array(ids, type=pa.int64() if ids.dtype.kind in "iu" else pa.string())


def save_result(folder: Path, result: EGESResult) -> None:
    """Write the EGES outputs into a model folder (besides vectors.npy and has_vector.npy)."""
    import pyarrow.parquet as pq

    folder = Path(folder)
    save_npy(folder, "cold_start_vectors", result.cold_vectors)
    pq.write_table(pa.table({"item_id": _ids_array(result.cold_ids)}),
                   folder / "cold_start_ids.parquet")
    save_npy(folder, "attention", result.attention)
    save_npy(folder, "input_embeddings", result.E)
    save_npy(folder, "output_embeddings", result.Z)
    save_npy(folder, "attention_logits", result.A)
    save_npy(folder, "cold_start_side_vectors", result.cold_side_vectors)
    save_npy(folder, "cold_start_codes", result.cold_codes.astype(np.int32))
    save_npy(folder, "node_side_codes", result.node_codes.astype(np.int32))
    save_npy(folder, "token_counts", result.token_counts.astype(np.int64))
    if result.cold_bonus is not None:
        save_npy(folder, "cold_value_bonus", np.asarray(result.cold_bonus, np.float64))
        save_npy(folder, "side_missing_codes", np.asarray(result.missing_codes, np.int32))
    pq.write_table(side_table(result.columns, result.side_labels, result.side_embeddings,
                              result.side_items), folder / "side_embeddings.parquet")


def side_table(columns, labels, embeddings, items) -> pa.Table:
    dim = embeddings[0].shape[1]
    col = [c for c, lab in zip(columns, labels) for _ in lab]
    value = [v for lab in labels for v in lab]
    flat = np.concatenate(embeddings).astype(np.float32)
    return pa.table({
        "column": pa.array(col, type=pa.string()),
        "value": pa.array(value, type=pa.string()),
        "items": pa.array(np.concatenate(items).astype(np.int64)),
        "vector": pa.FixedSizeListArray.from_arrays(pa.array(flat.reshape(-1)), dim),
    })


def load_cold_start(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """(ids, vectors) of the cold-start items of an EGES/GES model folder."""
    import pyarrow.parquet as pq

    vectors = load_npy(folder, "cold_start_vectors", mmap=False)
    path = Path(folder) / "cold_start_ids.parquet"
    try:
        column = pq.read_table(path).column("item_id")
    except (OSError, pa.ArrowInvalid, KeyError) as exc:
        raise GraphembError(f"{path}: unreadable ({first_line(exc)}); rerun "
                            "`graphemb train --side-info ...`.") from None
    if pa.types.is_integer(column.type):
        ids = column.to_numpy()
    else:
        ids = np.asarray(column.to_numpy(zero_copy_only=False), dtype=object)
    return ids, vectors


@dataclass
class ColdStart:
    """What `similar` needs of an EGES/GES model for its cold-start items."""

    ids: np.ndarray            # cold item ids
    vectors: np.ndarray        # exported vectors (side-value centroids)
    side_vectors: np.ndarray   # fused side embeddings
    codes: np.ndarray          # [n_cold, n_cols]
    node_codes: np.ndarray     # [num_nodes, n_cols]
    Z: np.ndarray              # output embeddings [num_nodes, dim]
    token_counts: np.ndarray   # [num_nodes]
    bonus: np.ndarray | None = None     # per shared value (value_bonus; older models: none)
    missing: np.ndarray | None = None   # per column, the code of a missing value
    exponent: float = TRAIN.ns_exponent.default     # the model's

    @classmethod
    def load(cls, folder: Path) -> "ColdStart":
        from ..workspace import read_manifest

        folder = Path(folder)
        ids, vectors = load_cold_start(folder)
        has_bonus = (folder / "cold_value_bonus.npy").exists()
        return cls(ids, vectors, load_npy(folder, "cold_start_side_vectors", mmap=False),
                   load_npy(folder, "cold_start_codes", mmap=False),
                   load_npy(folder, "node_side_codes", mmap=False),
                   load_npy(folder, "output_embeddings", mmap=True),
                   load_npy(folder, "token_counts", mmap=False),
                   load_npy(folder, "cold_value_bonus", mmap=False) if has_bonus else None,
                   load_npy(folder, "side_missing_codes", mmap=False) if has_bonus else None,
                   float(read_manifest(folder, "model")["params"].get(
                       TRAIN.ns_exponent.manifest, TRAIN.ns_exponent.default)))

    def neighbours(self, rows: np.ndarray, k: int, eligible: np.ndarray):
        """(node indices, scores) [len(rows), k] of the graph items most likely to occur
        beside cold items ``rows`` (cold_scores), among ``eligible`` nodes."""
        score = cold_scores(self.side_vectors[rows], self.codes[rows], self.Z,
                            self.token_counts, self.node_codes, exponent=self.exponent,
                            bonus=self.bonus, missing=self.missing)
        score[:, ~eligible] = -np.inf
        k = min(k, int(eligible.sum()))
        part = np.argpartition(-score, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(score, part, 1), axis=1, kind="stable")
        idx = np.take_along_axis(part, order, 1)
        return idx, np.take_along_axis(score, idx, 1)


def load_side_table(folder: Path) -> pa.Table:
    import pyarrow.parquet as pq

    path = Path(folder) / "side_embeddings.parquet"
    try:
        return pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as exc:
        raise GraphembError(f"{path}: unreadable ({first_line(exc)}); rerun "
                            "`graphemb train --side-info ...`.") from None


def side_info_record(path: Path) -> dict:
    """How the model manifest remembers the side-information table."""
    return {"path": str(Path(path).resolve()), "sha256": file_hash(Path(path))}


# ------------------------------------------------------------------------ the stage

def fit_eges(walks, node_ids: np.ndarray, side: SideInfo, folder: Path, *,
             fusion: str = SIDE.fusion.default, multi_value: str = SIDE.multi_value.default,
             attention_lr: float = SIDE.attention_lr.default,
             side_update: str = SIDE.side_update.default, on_rows=None, **options):
    """EGES/GES as the train stage records it; writes the side-information artifacts into
    the model ``folder``."""
    result = train_eges(walks, node_ids, side, fusion=fusion, attention_lr=attention_lr,
                        side_update=side_update, on_rows=on_rows, **options)
    save_result(folder, result)
    out = sgns.trained(result.vectors, result.has_vector, result.stats, fusion, options,
                       result.counts)
    out.params.update({"side_info": str(Path(side.path).resolve()), "side_cols": side.columns,
                       "item_col": side.item_col, "multi_value": multi_value,
                       "attention_lr": attention_lr, "side_update": side_update,
                       "components": ["item"] + side.columns})
    return out


# ------------------------------------------------------------------------- export

def with_cold_start(model_dir: Path, ids: np.ndarray, vectors: np.ndarray):
    """Graph items followed by cold-start items, and the ``cold_start`` flag column."""
    cold_ids, cold_vectors = load_cold_start(model_dir)
    if ids.dtype.kind in "iu" and cold_ids.dtype.kind in "iu":
        all_ids = np.concatenate([ids.astype(np.int64), cold_ids.astype(np.int64)])
    elif not len(cold_ids):
        all_ids = ids
    else:
        # Text ids somewhere: every id as text, so that one column holds them all.
        all_ids = np.array([str(x) for x in ids] + [str(x) for x in cold_ids], dtype=object)
    flag = np.zeros(len(all_ids), dtype=bool)
    flag[len(ids):] = True
    return all_ids, np.concatenate([vectors, cold_vectors]).astype(np.float32), \
        {"cold_start": flag}


def export_extra(output: Path, fmt: str, what: str, workdir=None) -> dict:
    """`graphemb export --what side-info|attention FILE`."""
    from ..io.writers import write_table, write_vectors
    from ..vectors import ItemVectors
    from ..workspace import Workspace

    items = ItemVectors.load(workdir)
    ids, has_vector, manifest = items.ids, items.has_vector, items.manifest
    folder = Workspace(workdir).model
    if manifest["params"].get("method") not in FUSIONS:
        raise GraphembError(f"{folder}: the model was trained without side information; "
                            "run `graphemb train --side-info ITEMS` first.")
    if what == "side-info":
        table = load_side_table(folder)
        column = table.column("column").to_pylist()
        value = table.column("value").to_pylist()
        keys = np.array([f"{c}={'<missing>' if v is None else v}" for c, v in
                         zip(column, value)], dtype=object)
        vectors = np.asarray(table.column("vector").combine_chunks().flatten()) \
            .reshape(table.num_rows, -1)
        files = write_vectors(output, fmt, keys, vectors,
                              {"column": column, "value": value,
                               "items": table.column("items").to_numpy()}, key="key")
        return {"files": [str(f) for f in files], "rows": table.num_rows,
                "dim": int(vectors.shape[1]), "format": fmt, "what": what}
    if what == "attention":
        weights = load_npy(folder, "attention", mmap=False)
        components = manifest["params"].get("components") or \
            [f"c{j}" for j in range(weights.shape[1])]
        from ..io.writers import ids_to_arrow
        columns = {"item_id": ids_to_arrow(ids)}
        for j, name in enumerate(components):
            columns[f"weight_{name}"] = pa.array(weights[:, j].astype(np.float32))
        columns["has_vector"] = pa.array(np.asarray(has_vector, dtype=bool))
        files = write_table(output, fmt, pa.table(columns))
        return {"files": [str(f) for f in files], "rows": len(ids), "format": fmt,
                "what": what}
    raise GraphembError(f"--what must be vectors, side-info or attention (got {what!r}).")
