"""The duckdb engine's external hash partition: many buckets and many stream batches give
the numpy engine's graph, and the parts it is built from hold their contracts."""
import numpy as np
import pyarrow as pa
import pytest

import graphemb
from graphemb.ingest import partition
from graphemb.ingest.sessions import sessionize
from graphemb.io.ids import bad_id_rows, factorize

from helpers import write_csv
from test_engines import OPTIONS, _graph, _messy_log, _same


@pytest.mark.parametrize("options", OPTIONS)
def test_many_buckets_and_batches_equal_default(tmp_path, monkeypatch, options):
    log = _messy_log(tmp_path / "log.csv", n_users=120)
    # ~1,500 events: batches of 97 rows, and a bucket per ~100 events (16 buckets).
    monkeypatch.setattr(partition, "STREAM_BATCH_ROWS", 97)
    monkeypatch.setattr(partition, "BUCKET_BYTES_PER_EVENT", 1.28e8 / 100)
    assert partition.bucket_count(1600, 256e6) == 16
    graphemb.build_graph(log, workdir=tmp_path / "a", engine="numpy", **options)
    graphemb.build_graph(log, workdir=tmp_path / "b", engine="duckdb", memory_limit="256MB",
                         **options)
    _same(_graph(tmp_path / "a"), _graph(tmp_path / "b"))


def test_item_codes_follow_first_appearance_across_batches():
    rng = np.random.default_rng(0)
    values = pa.array([f"i{k}" for k in rng.zipf(1.4, 5000) % 700])
    codes = partition.ItemCodes()
    got = np.concatenate([codes.codes(values.slice(s, 333)) for s in range(0, 5000, 333)])
    want, distinct = factorize(values)
    np.testing.assert_array_equal(got, want)
    assert codes.ids.to_pylist() == distinct.to_pylist() and len(codes) == len(distinct)


def test_edge_sum_merges_parts_exactly():
    rng = np.random.default_rng(1)
    sums = partition.EdgeSum(50)
    src, dst, w = (rng.integers(0, 50, 20000), rng.integers(0, 50, 20000),
                   rng.uniform(0, 2, 20000))
    for s in range(0, 20000, 700):           # 29 parts: several merges on the way
        sums.add(src[s:s + 700], dst[s:s + 700], w[s:s + 700])
    a, b, weight, count = sums.result()
    keys = a * 50 + b
    assert (np.diff(keys) > 0).all()
    want = {}
    for k, x in zip(src * 50 + dst, w):
        want[k] = want.get(k, 0.0) + x
    assert len(keys) == len(want) and count.sum() == 20000
    np.testing.assert_allclose(weight, [want[k] for k in keys], rtol=1e-12)


def test_bad_id_rows_finds_control_characters_and_long_ids():
    values = pa.array(["ok", None, "c\x01d", "é" * 600, "x" * 1025, "tab\there", "\x7f"])
    np.testing.assert_array_equal(bad_id_rows(values),
                                  [False, False, True, False, True, True, True])
    # Slices read their own bytes only: the bad rows lie outside.
    np.testing.assert_array_equal(bad_id_rows(values.slice(3, 1)), [False])
    np.testing.assert_array_equal(bad_id_rows(pa.array(["a", "b"]).slice(1)), [False])


def test_duckdb_engine_counts_bad_ids(tmp_path):
    log = write_csv(tmp_path / "log.csv", ["user_id", "item_id", "timestamp"],
                    [("u", "a", 1), ("u", "b\x07", 2), ("v", "c", 3)])
    with pytest.raises(graphemb.GraphembError, match="1 row.*control character"):
        graphemb.build_graph(log, workdir=tmp_path / "ws", engine="duckdb")


def test_sessionize_gives_the_same_transitions_sorted_or_shuffled():
    """A log already in (user, time) order skips the sort; shuffled, it is sorted back."""
    rng = np.random.default_rng(2)
    user = np.sort(rng.integers(0, 30, 400))
    time = np.sort(rng.choice(10**6, 400, replace=False)).astype(float) / 50   # no ties
    item, weight, ends = rng.integers(0, 12, 400), rng.uniform(0.5, 2, 400), rng.random(400) < .1
    shuffle = rng.permutation(400)
    a = sessionize(user, time, item, weight, 600.0, ends)
    b = sessionize(user[shuffle], time[shuffle], item[shuffle], weight[shuffle], 600.0,
                   ends[shuffle])
    assert a[3] == b[3] and a[3]["transitions"] > 100
    for x, y in zip(a[:3] + a[4], b[:3] + b[4]):
        np.testing.assert_array_equal(x, y)


def test_bucket_count_bounds_a_bucket_to_half_the_memory():
    assert partition.bucket_count(10, 4e9) == 1
    k = partition.bucket_count(1e8, 4e9)
    assert 1e8 / k * partition.BUCKET_BYTES_PER_EVENT <= 2e9
    assert partition.bucket_count(1e13, 1e6) == partition.MAX_BUCKETS
