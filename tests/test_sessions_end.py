"""Sessions that end where the intent ends: --end-session-on (a conversion closes its
session) and --min-dwell (short clicks dropped before sessionizing), in every engine."""
import hashlib
import shlex

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import graphemb
from graphemb.cli import main
from graphemb.freshness import status

from helpers import edges_of, write_csv
from test_engines import _graph, _have_spark, _messy_log, _same

HEADER = ["user_id", "item_id", "timestamp", "event", "dwell"]
SQL_ENGINES = ["duckdb"] + (["spark"] if _have_spark() else [])


def _edges(workdir):
    return edges_of(graphemb.load_graph(workdir)[0])


def _sessions(workdir):
    """The sessions artifact as lists of item ids."""
    g, _ = graphemb.load_graph(workdir)
    items = np.load(workdir / "graph" / "sessions_items.npy")
    offsets = np.load(workdir / "graph" / "sessions_offsets.npy")
    ids = list(g.node_ids)
    return [[ids[v] for v in items[a:b]] for a, b in zip(offsets[:-1], offsets[1:])]


@pytest.fixture
def purchase_log(tmp_path):
    # u1 browses a, b, buys c, then browses d, e within the session gap; u2 never buys.
    return write_csv(tmp_path / "log.csv", HEADER, [
        ("u1", "a", 100, "view", 40), ("u1", "b", 110, "view", 40),
        ("u1", "c", 120, "buy", 0), ("u1", "d", 130, "view", 40),
        ("u1", "e", 140, "view", 40), ("u2", "c", 100, "view", 40),
        ("u2", "d", 110, "view", 40)])


def test_a_purchase_ends_the_session(tmp_path, purchase_log):
    m = graphemb.build_graph(purchase_log, workdir=tmp_path / "ws", event_col="event",
                             end_session_on="buy", engine="numpy")
    edges = _edges(tmp_path / "ws")
    # b -> c, into the purchase, is kept; u1's c -> d, out of it, is not: c -> d is u2's
    # (who only viewed c) alone.
    assert edges == {("a", "b"): 1.0, ("b", "c"): 1.0, ("d", "e"): 1.0, ("c", "d"): 1.0}
    # ... and the next event starts a new session, in the sessions artifact too.
    assert sorted(_sessions(tmp_path / "ws")) == [["a", "b", "c"], ["c", "d"], ["d", "e"]]
    assert m["counts"]["sessions"] == 3 and m["counts"]["session_end_events"] == 1
    assert m["params"]["end_session_on"] == ["buy"]
    # Without the option, the purchase is one more step of the session.
    graphemb.build_graph(purchase_log, workdir=tmp_path / "plain")
    assert _edges(tmp_path / "plain")[("c", "d")] == 2.0
    assert sorted(_sessions(tmp_path / "plain")) == [["a", "b", "c", "d", "e"], ["c", "d"]]


@pytest.mark.parametrize("engine", ["numpy"] + SQL_ENGINES)
def test_a_repeated_conversion_still_ends_the_session(tmp_path, engine):
    """view a then buy a: the buy is a repeat (dropped, no a -> a) yet closes the session."""
    log = write_csv(tmp_path / "log.csv", HEADER, [
        ("u", "x", 1, "view", 40), ("u", "a", 2, "view", 40), ("u", "a", 3, "buy", 40),
        ("u", "a", 4, "view", 40), ("u", "b", 5, "view", 40), ("u", "c", 6, "cart", 40),
        ("u", "b", 6, "view", 40)])     # same time as the cart: file order puts it after
    m = graphemb.build_graph(log, workdir=tmp_path / "ws", event_col="event",
                             end_session_on="buy,cart", engine=engine)
    assert _edges(tmp_path / "ws") == {("x", "a"): 1.0, ("a", "b"): 1.0, ("b", "c"): 1.0}
    assert m["counts"]["sessions"] == 3 and m["counts"]["repeats_dropped"] == 1
    if engine == "numpy":
        assert _sessions(tmp_path / "ws") == [["x", "a"], ["a", "b", "c"]]


def test_end_session_on_with_event_weights(tmp_path, purchase_log):
    """The conversion's own weight is that of the edge into it."""
    graphemb.build_graph(purchase_log, workdir=tmp_path / "ws", event_col="event",
                         event_weights="view=1,buy=5", end_session_on="buy")
    edges = _edges(tmp_path / "ws")
    assert edges[("b", "c")] == 5.0 and edges[("c", "d")] == 1.0 and edges[("a", "b")] == 1.0


def _rows_with_dwell(rows):
    return [(u, i, t, "view", d) for u, i, t, d in rows]


@pytest.mark.parametrize("engine", ["numpy"] + SQL_ENGINES)
def test_a_short_click_between_two_clicks_on_one_item_makes_them_a_repeat(tmp_path, engine):
    """a, x (3 s), a, b: x is dropped before sessionizing, so the two a are consecutive and
    the second is collapsed as a repeat: a -> b only, no a -> x, x -> a or a -> a."""
    log = write_csv(tmp_path / "log.csv", HEADER, _rows_with_dwell([
        ("u", "a", 0, 40), ("u", "x", 10, 3), ("u", "a", 20, 40), ("u", "b", 30, 40),
        ("v", "x", 0, 40), ("v", "b", 10, 40)]))
    m = graphemb.build_graph(log, workdir=tmp_path / "ws", min_dwell="30s", engine=engine)
    assert _edges(tmp_path / "ws") == {("a", "b"): 1.0, ("x", "b"): 1.0}
    c = m["counts"]
    assert c["dropped_short_dwell"] == 1 and c["repeats_dropped"] == 1
    assert c["transitions"] == 2 and c["dwell_missing"] == 0
    assert m["params"]["dwell_col"] == "dwell" and m["params"]["min_dwell_seconds"] == 30
    if engine == "numpy":
        assert sorted(_sessions(tmp_path / "ws")) == [["a", "b"], ["x", "b"]]
    graphemb.build_graph(log, workdir=tmp_path / "plain", engine=engine)
    assert set(_edges(tmp_path / "plain")) == {("a", "x"), ("x", "a"), ("a", "b"), ("x", "b")}


def test_gaps_are_measured_between_the_events_that_remain(tmp_path):
    """a (t=0), x (t=1000, short), a (t=2000) with a 30 min gap: x bridged the two a; once
    dropped, the 2000 s gap splits them into two sessions."""
    log = write_csv(tmp_path / "log.csv", HEADER, _rows_with_dwell([
        ("u", "a", 0, 40), ("u", "x", 1000, 1), ("u", "b", 2000, 40), ("u", "c", 2010, 40)]))
    m = graphemb.build_graph(log, workdir=tmp_path / "ws", min_dwell="30s")
    assert _edges(tmp_path / "ws") == {("b", "c"): 1.0}
    assert m["counts"]["sessions"] == 2


def test_min_dwell_drops_exactly_the_short_events(tmp_path):
    """Same graph and counts as the log with its short rows deleted by hand (pandas); a
    missing dwell (empty, NaN) keeps its event; a conversion is kept whatever its dwell."""
    log = _messy_log(tmp_path / "log.csv")
    df = pd.read_csv(log, dtype={"dwell": str}, keep_default_na=False)
    dwell = df["dwell"].replace("", "nan").astype(float)
    short = dwell < 30                                  # NaN compares False: kept
    assert 0 < short.sum() < len(df) and dwell.isna().sum() > 0
    df[~short].to_csv(tmp_path / "by_hand.csv", index=False)
    m = graphemb.build_graph(log, workdir=tmp_path / "ws", min_dwell="30s")
    graphemb.build_graph(tmp_path / "by_hand.csv", workdir=tmp_path / "hand")
    assert _edges(tmp_path / "ws") == _edges(tmp_path / "hand")
    assert _sessions(tmp_path / "ws") == _sessions(tmp_path / "hand")
    assert m["counts"]["dropped_short_dwell"] == short.sum()
    assert m["counts"]["dwell_missing"] == dwell.isna().sum()

    # With --end-session-on buy, short buys stay (they end their session).
    kept = ~short | (df["event"] == "buy")
    assert kept.sum() > (~short).sum()
    df[kept].to_csv(tmp_path / "by_hand2.csv", index=False)
    m = graphemb.build_graph(log, workdir=tmp_path / "ws2", min_dwell="30s", event_col="event",
                             end_session_on="buy")
    graphemb.build_graph(tmp_path / "by_hand2.csv", workdir=tmp_path / "hand2",
                         event_col="event", end_session_on="buy")
    assert _edges(tmp_path / "ws2") == _edges(tmp_path / "hand2")
    assert m["counts"]["dropped_short_dwell"] == (~kept).sum()


def test_dwell_column_named_or_guessed(tmp_path):
    log = write_csv(tmp_path / "log.csv", ["user_id", "item_id", "timestamp", "secs",
                                           "duration"],
                    [("u", "a", 0, 40, 1), ("u", "x", 1, 1, 40), ("u", "b", 2, 40, 40)])
    graphemb.build_graph(log, workdir=tmp_path / "named", min_dwell="30s", dwell_col="secs")
    assert set(_edges(tmp_path / "named")) == {("a", "b")}
    m = graphemb.build_graph(log, workdir=tmp_path / "guessed", min_dwell=30)
    assert m["params"]["dwell_col"] == "duration"
    assert set(_edges(tmp_path / "guessed")) == {("x", "b")}


OPTIONS = [
    {"event_col": "event", "end_session_on": "buy", "min_dwell": "30s"},
    {"weight_col": "w", "event_col": "event", "event_weights": "view=1,cart=2,buy=5",
     "end_session_on": "cart,buy", "min_dwell": "1m", "session_gap": "2h",
     "max_user_events": 50, "min_item_count": 2},
]


# Spark runs the same options in tests/test_engines.py (OPTIONS there), on one SparkSession.
@pytest.mark.parametrize("engine", ["duckdb"])
@pytest.mark.parametrize("options", OPTIONS)
def test_every_engine_gives_the_same_graph(tmp_path, engine, options):
    log = _messy_log(tmp_path / "log.csv")
    a = graphemb.build_graph(log, workdir=tmp_path / "a", engine="numpy", **options)
    graphemb.build_graph(log, workdir=tmp_path / "b", engine=engine, **options)
    _same(_graph(tmp_path / "a"), _graph(tmp_path / "b"))
    # Not vacuous: both options changed the graph of this log.
    c = a["counts"]
    assert c["dropped_short_dwell"] > 0 and c["session_end_events"] > 0
    plain = {k: v for k, v in options.items() if k not in ("end_session_on", "min_dwell")}
    if "event_weights" not in plain:
        plain.pop("event_col")
    b = graphemb.build_graph(log, workdir=tmp_path / "c", engine="numpy", **plain)
    assert b["counts"]["sessions"] != c["sessions"]
    assert _edges(tmp_path / "c") != _edges(tmp_path / "a")


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir())}


BAD = [
    (["--event-col", "event", "--end-session-on", "purchase"],
     "--end-session-on purchase: no such event type in column 'event' (types found: buy, "
     "view)"),
    (["--end-session-on", "buy"], "--end-session-on needs --event-col"),
    (["--event-col", "event", "--end-session-on", "buy,,view"], "give event types"),
    (["--event-col", "event", "--event-weights", "view=1", "--end-session-on", "buy"],
     "--event-weights drops that type"),
    (["--min-dwell", "0"], "above 0"),
    (["--min-dwell", "soon"], "--min-dwell: cannot read duration"),
    (["--dwell-col", "dwell"], "--dwell-col only applies with --min-dwell"),
    (["--min-dwell", "30s", "--dwell-col", "dwel"], "column 'dwel' not found"),
]


@pytest.mark.parametrize("engine", ["numpy", "duckdb"])
@pytest.mark.parametrize("args,message", BAD)
def test_bad_values_are_one_line_errors_and_leave_the_graph(tmp_path, purchase_log, args,
                                                             message, engine):
    ws = tmp_path / "ws"
    runner = CliRunner()
    ok = runner.invoke(main, ["--workdir", str(ws), "build-graph", str(purchase_log)])
    assert ok.exit_code == 0, ok.output
    before = _digest(ws / "graph")
    r = runner.invoke(main, ["--workdir", str(ws), "build-graph", str(purchase_log),
                             "--engine", engine] + args)
    assert r.exit_code != 0 and "Traceback" not in r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], r.output
    assert _digest(ws / "graph") == before


def test_dwell_without_a_dwell_column_names_the_columns(tmp_path):
    log = write_csv(tmp_path / "log.csv", ["user_id", "item_id", "ts"], [("u", "a", 1)])
    r = CliRunner().invoke(main, ["--workdir", str(tmp_path / "ws"), "build-graph", str(log),
                                  "--min-dwell", "30s"])
    assert r.exit_code == 1 and len(r.output.strip().splitlines()) == 1
    assert "--min-dwell needs a dwell column" in r.output and "(user_id, item_id, ts)" in r.output


@pytest.mark.parametrize("value,line", [("-5", 3), ("abc", 3), ("inf", 3)])
def test_a_damaged_dwell_is_refused_with_its_line(tmp_path, value, line):
    log = write_csv(tmp_path / "log.csv", HEADER, [
        ("u", "a", 1, "view", 40), ("u", "b", 2, "view", value), ("u", "c", 3, "view", "")])
    r = CliRunner().invoke(main, ["--workdir", str(tmp_path / "ws"), "build-graph", str(log),
                                  "--min-dwell", "30s"])
    assert r.exit_code == 1 and len(r.output.strip().splitlines()) == 1
    assert f"line {line}, column 'dwell': dwell '{value}'" in r.output
    r = CliRunner().invoke(main, ["--workdir", str(tmp_path / "ws"), "build-graph", str(log),
                                  "--min-dwell", "30s", "--engine", "duckdb"])
    assert r.exit_code == 1 and "1 dwell value(s) in column 'dwell'" in r.output


def test_options_of_a_log_are_refused_for_an_edge_list(tmp_path):
    edges = write_csv(tmp_path / "e.csv", ["src", "dst"], [("a", "b")])
    with pytest.raises(graphemb.GraphembError, match="--min-dwell, --dwell-col: option"):
        graphemb.build_graph(from_edges=edges, workdir=tmp_path / "ws", min_dwell="30s",
                             dwell_col="d")


def test_status_shows_the_options_and_its_command_rebuilds_the_graph(tmp_path, purchase_log):
    ws = tmp_path / "ws"
    graphemb.build_graph(purchase_log, workdir=ws, event_col="event", end_session_on="buy",
                         min_dwell="30s")
    graph_row = status(ws)[0]
    assert "sessions end on buy" in graph_row["params"]
    assert "dwell >= 30s (dwell)" in graph_row["params"]
    args = shlex.split(graph_row["command"])
    assert args[:4] == ["graphemb", "--workdir", str(ws), "build-graph"], args
    assert args[4:] == [str(purchase_log), "--event-col", "event", "--end-session-on", "buy",
                        "--min-dwell", "30", "--dwell-col", "dwell"]   # seconds
    before = _edges(ws)
    r = CliRunner().invoke(main, ["--workdir", str(tmp_path / "again")] + args[3:])
    assert r.exit_code == 0, r.output
    assert _edges(tmp_path / "again") == before
    again = graphemb.load_graph(tmp_path / "again")[1]["params"]
    assert again["end_session_on"] == ["buy"] and again["min_dwell_seconds"] == 30.0
    # A graph rebuilt without them makes the walks on the old one stale.
    graphemb.walk(workdir=ws, num_walks=1, walk_length=4)
    graphemb.build_graph(purchase_log, workdir=ws)
    assert [r["state"] for r in status(ws) if r["stage"] == "walks"] == ["stale"]


@pytest.mark.parametrize("engine", ["numpy", "duckdb"])
def test_the_readme_example(tmp_path, engine):
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("#### Sessions that end where the intent ends")[1]
    log = tmp_path / "log.csv"
    log.write_text(section.split("```csv\n")[1].split("```")[0])
    command = section.split("```bash\n")[1].split("```")[0].replace("\\\n", " ")
    args = shlex.split(command)
    assert args[:3] == ["graphemb", "build-graph", "log.csv"]
    r = CliRunner().invoke(main, ["--workdir", str(tmp_path / "ws"), "build-graph", str(log),
                                  "--engine", engine] + args[3:])
    assert r.exit_code == 0, r.output
    assert _edges(tmp_path / "ws") == {("a", "b"): 2.0, ("b", "c"): 5.0, ("d", "e"): 1.0}
    c = graphemb.load_graph(tmp_path / "ws")[1]["counts"]
    assert (c["sessions"], c["dropped_unlisted_event_types"], c["dropped_short_dwell"],
            c["repeats_dropped"], c["dwell_missing"]) == (3, 1, 1, 1, 1)
    if engine == "numpy":
        assert _sessions(tmp_path / "ws") == [["a", "b", "c"], ["d", "e"]]   # [f]: one event


def test_a_typed_parquet_dwell_reads_alike_in_every_engine(tmp_path):
    """A float column (pandas writes a missing dwell as NaN): NaN keeps its event."""
    log = _messy_log(tmp_path / "log.csv")
    df = pd.read_csv(log)
    assert df["dwell"].dtype == np.float64 and df["dwell"].isna().any()
    df.to_parquet(tmp_path / "log.parquet")
    options = {"event_col": "event", "end_session_on": "buy", "min_dwell": "30s"}
    a = graphemb.build_graph(tmp_path / "log.parquet", workdir=tmp_path / "a", engine="numpy",
                             **options)
    graphemb.build_graph(tmp_path / "log.parquet", workdir=tmp_path / "b", engine="duckdb",
                         **options)
    graphemb.build_graph(log, workdir=tmp_path / "c", engine="numpy", **options)
    _same(_graph(tmp_path / "a"), _graph(tmp_path / "b"))
    _same(_graph(tmp_path / "a"), _graph(tmp_path / "c"))
    assert a["counts"]["dwell_missing"] == df["dwell"].isna().sum() > 0
