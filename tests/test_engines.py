"""The duckdb and spark engines build exactly the graph the default engine builds."""
import shutil

import numpy as np
import pytest

import graphemb

from helpers import write_csv


def _messy_log(path, n_users=80, seed=0):
    """Ties in time, repeats, long gaps, event types, weights, a bot and rare items."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        t = 1_700_000_000 + int(rng.integers(0, 86400))
        for _ in range(int(rng.integers(1, 25))):
            t += int(rng.choice([0, 5, 60, 600, 4000, 90000]))
            item = int(rng.zipf(1.5)) % 40
            dwell = rng.choice(["", "NaN", "0", "4", "29.5", "30", "31", "120", "2e3"])
            rows.append((f"u{u}", f"i{item:03d}", t, round(float(rng.uniform(0.5, 3)), 2),
                         rng.choice(["view", "cart", "buy", "hover"]), dwell))
    for k in range(60):
        rows.append(("bot", f"i{k % 7:03d}", 1_700_000_000 + k, 1.0, "view", 40))
    return write_csv(path, ["user_id", "item_id", "timestamp", "w", "event", "dwell"], rows)


OPTIONS = [
    {},
    {"undirected": True, "min_item_count": 3, "max_user_events": 50},
    {"weight_col": "w", "event_col": "event", "event_weights": "view=1,cart=2,buy=5",
     "session_gap": "2h"},
    # Sessions end at a conversion; short dwells dropped (empty/NaN dwell kept).
    {"event_col": "event", "end_session_on": "buy,cart", "min_dwell": "30s",
     "session_gap": "2h"},
    {"weight_col": "w", "event_col": "event", "event_weights": "view=1,cart=2,buy=5",
     "end_session_on": "buy", "min_dwell": 30, "dwell_col": "dwell", "min_item_count": 2,
     "max_user_events": 50, "undirected": True},
]


def _graph(workdir):
    g, m = graphemb.load_graph(workdir)
    return g, m["counts"]


def _same(a, b):
    ga, ca = a
    gb, cb = b
    assert list(ga.node_ids) == list(gb.node_ids)
    np.testing.assert_array_equal(ga.node_counts, gb.node_counts)
    np.testing.assert_array_equal(ga.indptr, gb.indptr)
    np.testing.assert_array_equal(ga.indices, gb.indices)
    np.testing.assert_allclose(ga.weights, gb.weights, rtol=1e-6)
    # Only the numpy engine keeps the sessions (for item2vec); the graph is the same.
    graph_counts = lambda c: {k: v for k, v in c.items() if k != "sessions_saved"}  # noqa: E731
    assert graph_counts(ca) == graph_counts(cb)


@pytest.mark.parametrize("options", OPTIONS)
def test_duckdb_engine_equals_default(tmp_path, options):
    log = _messy_log(tmp_path / "log.csv")
    graphemb.build_graph(log, workdir=tmp_path / "a", engine="numpy", **options)
    graphemb.build_graph(log, workdir=tmp_path / "b", engine="duckdb", memory_limit="256MB",
                         **options)
    _same(_graph(tmp_path / "a"), _graph(tmp_path / "b"))


def test_duckdb_engine_reads_parquet_and_iso_times(tmp_path):
    import pandas as pd

    log = _messy_log(tmp_path / "log.csv")
    df = pd.read_csv(log)
    df["timestamp"] = pd.to_datetime(df["timestamp"], unit="s").dt.strftime("%Y-%m-%dT%H:%M:%S")
    df.to_parquet(tmp_path / "log.parquet")
    graphemb.build_graph(log, workdir=tmp_path / "a", engine="numpy")
    graphemb.build_graph(tmp_path / "log.parquet", workdir=tmp_path / "b", engine="duckdb")
    _same(_graph(tmp_path / "a"), _graph(tmp_path / "b"))


def test_duckdb_engine_reports_bad_timestamps(tmp_path):
    log = write_csv(tmp_path / "log.csv", ["user_id", "item_id", "timestamp"],
                    [("u", "a", 1), ("u", "b", "soon")])
    with pytest.raises(graphemb.GraphembError, match="timestamp"):
        graphemb.build_graph(log, workdir=tmp_path / "ws", engine="duckdb")


def _have_spark():
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return False
    return shutil.which("java") is not None


@pytest.mark.skipif(not _have_spark(), reason="pyspark or java missing; .ci/run installs them")
def test_spark_engine_equals_default(tmp_path):
    log = _messy_log(tmp_path / "log.csv")
    for k, options in enumerate(OPTIONS):
        graphemb.build_graph(log, workdir=tmp_path / f"a{k}", engine="numpy", **options)
        graphemb.build_graph(log, workdir=tmp_path / f"b{k}", engine="spark", **options)
        _same(_graph(tmp_path / f"a{k}"), _graph(tmp_path / f"b{k}"))


def _scaled_log(tmp_path, factor, name):
    import pandas as pd

    log = _messy_log(tmp_path / "log.csv")
    df = pd.read_csv(log)
    df["timestamp"] = df["timestamp"].astype("int64") * factor
    df.to_csv(tmp_path / name, index=False)
    return log, tmp_path / name


UNITS = [("ms", 10**3), ("us", 10**6), ("ns", 10**9)]


@pytest.mark.parametrize("unit,factor", UNITS)
@pytest.mark.parametrize("engine", ["numpy", "duckdb"])
def test_time_unit_detected_by_magnitude(tmp_path, unit, factor, engine):
    """ms/us/ns epochs give the graph of the same log in seconds (not ~1/6 of its edges)."""
    log, scaled = _scaled_log(tmp_path, factor, f"log_{unit}.csv")
    graphemb.build_graph(log, workdir=tmp_path / "s", engine="numpy")
    m = graphemb.build_graph(scaled, workdir=tmp_path / unit, engine=engine)
    assert m["params"]["time_unit"] == unit and m["params"]["time_unit_option"] == "auto"
    _same(_graph(tmp_path / "s"), _graph(tmp_path / unit))
    # The override is obeyed: ms read as seconds splits nothing at 30m (gaps 1000x larger).
    m = graphemb.build_graph(scaled, workdir=tmp_path / "forced", engine=engine, time_unit="s")
    assert m["params"]["time_unit"] == "s"
    assert m["counts"]["sessions"] > _graph(tmp_path / "s")[1]["sessions"]


@pytest.mark.skipif(not _have_spark(), reason="pyspark or java missing; .ci/run installs them")
def test_spark_engine_detects_time_unit(tmp_path):
    log, scaled = _scaled_log(tmp_path, 10**3, "log_ms.csv")
    graphemb.build_graph(log, workdir=tmp_path / "s", engine="numpy")
    m = graphemb.build_graph(scaled, workdir=tmp_path / "b", engine="spark")
    assert m["params"]["time_unit"] == "ms"
    _same(_graph(tmp_path / "s"), _graph(tmp_path / "b"))
