"""build-graph: edges and weights against hand-computed examples."""
import gzip

import numpy as np
import pytest

import graphemb
from graphemb.graph import csr_from_edges
from graphemb.ingest.sessions import sessionize
from graphemb.ingest.times import parse_duration

from helpers import edges_of, write_csv

# u1: a b b c | 2 h gap | a c        -> a>b, b>c, a>c   (the repeated b is not a transition)
# u2: b at 23:50, c at 00:10 the next day (20 min: same session), a a day later -> b>c only
#     (a gap of exactly one day has time-of-day 00:10 == 00:10; it must still split)
# u3: one event only                  -> no edge, d is left out of the graph
LOG = [
    ("u1", "a", "2024-01-01T10:00:00"),
    ("u1", "b", "2024-01-01T10:01:00"),
    ("u1", "b", "2024-01-01T10:02:00"),
    ("u1", "c", "2024-01-01T10:03:00"),
    ("u1", "a", "2024-01-01T12:10:00"),
    ("u1", "c", "2024-01-01T12:11:00"),
    ("u2", "b", "2024-01-01T23:50:00"),
    ("u2", "c", "2024-01-02T00:10:00"),
    ("u2", "a", "2024-01-03T00:10:00"),
    ("u3", "d", "2024-01-05T08:00:00"),
]


@pytest.fixture
def log_csv(tmp_path):
    rows = list(LOG)
    rows.insert(3, rows.pop(0))  # file order must not matter: events are sorted by time
    return write_csv(tmp_path / "log.csv", ["user_id", "item_id", "timestamp"], rows)


def test_directed_edges_match_hand_computed(log_csv, workdir):
    m = graphemb.build_graph(log_csv, workdir=workdir)
    graph, _ = graphemb.load_graph(workdir)
    assert edges_of(graph) == {("a", "b"): 1.0, ("b", "c"): 2.0, ("a", "c"): 1.0}
    c = m["counts"]
    assert c["events_read"] == 10
    assert c["sessions"] == 5          # u1 x2, u2 x2, u3 x1
    assert c["repeats_dropped"] == 1
    assert c["transitions"] == 4
    assert c["items_without_edges"] == 1
    assert (c["nodes"], c["edges"]) == (3, 3)
    # Nodes are numbered by descending event count; rows are sorted for binary search.
    assert list(graph.node_counts) == sorted(graph.node_counts, reverse=True)
    for v in range(graph.num_nodes):
        row = graph.indices[graph.indptr[v]:graph.indptr[v + 1]]
        assert np.all(np.diff(row) > 0)


def test_undirected_sums_both_directions(log_csv, workdir):
    graphemb.build_graph(log_csv, workdir=workdir, undirected=True)
    graph, manifest = graphemb.load_graph(workdir)
    expected = {("a", "b"): 1.0, ("b", "c"): 2.0, ("a", "c"): 1.0}
    expected.update({(j, i): w for (i, j), w in expected.items()})
    assert edges_of(graph) == expected
    assert manifest["params"]["undirected"] is True


def test_session_gap_is_in_total_seconds(log_csv, workdir):
    # With a 3-day gap the u2 day-later event joins the session: c>a appears.
    graphemb.build_graph(log_csv, workdir=workdir, session_gap="3d")
    graph, _ = graphemb.load_graph(workdir)
    e = edges_of(graph)
    assert e[("c", "a")] == 2.0            # u1 c(10:03)->a(12:10) and u2 c->a
    # With 30 s nothing is within a session except nothing: no edges at all -> clear error.
    with pytest.raises(graphemb.GraphembError, match="no edges"):
        graphemb.build_graph(log_csv, workdir=workdir, session_gap="30s")


def test_epoch_seconds_weights_and_gzip(tmp_path, workdir):
    rows = [("1", "10", 0, 1.0), ("1", "20", 60, 3.0), ("1", "10", 120, 0.5),
            ("2", "10", 0, 2.0), ("2", "20", 30, 4.0)]
    path = write_csv(tmp_path / "log.csv", ["user", "item", "ts", "w"], rows)
    gz = tmp_path / "log.csv.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    graphemb.build_graph(gz, workdir=workdir, time_col="ts", weight_col="w")
    graph, _ = graphemb.load_graph(workdir)
    # A transition carries the weight of the event it leads to; integer ids stay integers.
    assert edges_of(graph) == {(10, 20): 7.0, (20, 10): 0.5}
    assert graph.node_ids.dtype == np.int64


def test_string_ids_keep_their_form(tmp_path, workdir):
    rows = [("u", "007", 1), ("u", "7", 2), ("u", "x y", 3)]
    path = write_csv(tmp_path / "log.csv", ["user", "item", "timestamp"], rows)
    graphemb.build_graph(path, workdir=workdir)
    graph, _ = graphemb.load_graph(workdir)
    assert set(graph.node_ids) == {"007", "7", "x y"}


def test_filters_min_item_count_and_max_user_events(tmp_path, workdir):
    rows = [("u1", "a", 1), ("u1", "b", 2), ("u1", "c", 3),
            ("u2", "a", 1), ("u2", "b", 2),
            ("bot", "a", 1), ("bot", "b", 2), ("bot", "a", 3), ("bot", "b", 4), ("bot", "a", 5)]
    path = write_csv(tmp_path / "log.csv", ["user", "item", "timestamp"], rows)
    m = graphemb.build_graph(path, workdir=workdir, min_item_count=2, max_user_events=4)
    graph, _ = graphemb.load_graph(workdir)
    assert edges_of(graph) == {("a", "b"): 2.0}
    c = m["counts"]
    assert c["dropped_overactive_users"] == 1 and c["dropped_overactive_user_events"] == 5
    assert c["dropped_rare_item_events"] == 1


def test_event_weights(tmp_path, workdir):
    rows = [("u", "a", 1, "view"), ("u", "b", 2, "buy"), ("u", "c", 3, "hover"),
            ("u", "a", 4, "view")]
    path = write_csv(tmp_path / "log.csv", ["user", "item", "timestamp", "event"], rows)
    m = graphemb.build_graph(path, workdir=workdir, event_col="event",
                             event_weights="view=1,buy=5")
    graph, _ = graphemb.load_graph(workdir)
    assert edges_of(graph) == {("a", "b"): 5.0, ("b", "a"): 1.0}
    assert m["counts"]["dropped_unlisted_event_types"] == 1


def test_from_edges_with_and_without_header(tmp_path, workdir):
    (tmp_path / "e.csv").write_text("src,dst,weight\na,b,2\nb,c,1\na,b,1\n")
    graphemb.build_graph(from_edges=tmp_path / "e.csv", workdir=workdir)
    graph, _ = graphemb.load_graph(workdir)
    assert edges_of(graph) == {("a", "b"): 3.0, ("b", "c"): 1.0}
    (tmp_path / "e.txt").write_text("1 2\n2 3\n3 3\n")
    graphemb.build_graph(from_edges=tmp_path / "e.txt", workdir=workdir, undirected=True)
    graph, _ = graphemb.load_graph(workdir)
    assert edges_of(graph) == {(1, 2): 1.0, (2, 1): 1.0, (2, 3): 1.0, (3, 2): 1.0, (3, 3): 1.0}


def test_from_edges_integer_ids_fast_path_keeps_ids(tmp_path, workdir):
    # Canonical integers are hashed as int64; anything else ("007", "-0") stays text.
    (tmp_path / "ints.tsv").write_text("9000000000000000001\t-5\t1.5\n-5\t12\t2\n")
    graphemb.build_graph(from_edges=tmp_path / "ints.tsv", workdir=workdir)
    graph, _ = graphemb.load_graph(workdir)
    assert graph.node_ids.dtype == np.int64
    assert edges_of(graph) == {(9000000000000000001, -5): 1.5, (-5, 12): 2.0}
    (tmp_path / "mixed.tsv").write_text("007\t7\n-0\t0\n0\t7\n")
    graphemb.build_graph(from_edges=tmp_path / "mixed.tsv", workdir=workdir)
    graph, _ = graphemb.load_graph(workdir)
    assert edges_of(graph) == {("007", "7"): 1.0, ("-0", "0"): 1.0, ("0", "7"): 1.0}
    # 19 digits beyond int64 in the second column only: the first, parsed already, is text again.
    (tmp_path / "big.tsv").write_text("1\t9999999999999999999\n2\t1\n")
    graphemb.build_graph(from_edges=tmp_path / "big.tsv", workdir=workdir)
    graph, _ = graphemb.load_graph(workdir)
    assert edges_of(graph) == {("1", "9999999999999999999"): 1.0, ("2", "1"): 1.0}


def test_csr_relabel_and_in_place_compaction():
    # Codes 5 and 7 map to nodes 1 and 0; a zero-weight sum is dropped, the rows shift down.
    relabel = np.full(8, -1)
    relabel[[5, 7, 2]] = [1, 0, 2]
    indptr, indices, weights = csr_from_edges(
        np.array([5, 7, 5, 2], dtype=np.int32), np.array([7, 5, 7, 5], dtype=np.int32),
        np.array([1.0, 2.0, -1.0, 4.0], dtype=np.float32), 3, False, relabel=relabel)
    assert indptr.tolist() == [0, 1, 1, 2]
    assert indices.tolist() == [1, 1]
    assert weights.tolist() == [2.0, 4.0]


def test_csr_sums_duplicates_and_sorts_rows():
    indptr, indices, weights = csr_from_edges(np.array([2, 0, 0, 2]), np.array([0, 2, 1, 0]),
                                              np.array([1.0, 2.0, 3.0, 4.0]), 3, False)
    assert indptr.tolist() == [0, 2, 2, 3]
    assert indices.tolist() == [1, 2, 0]
    assert weights.tolist() == [3.0, 2.0, 5.0]
    assert indptr.dtype == np.int64 and indices.dtype == np.int32 and weights.dtype == np.float32


def test_sessionize_pure_function():
    user = np.array([0, 0, 0, 1, 1])
    time = np.array([0.0, 10.0, 5000.0, 0.0, 1.0])
    item = np.array([1, 2, 3, 2, 2])
    src, dst, w, report, _ = sessionize(user, time, item, np.ones(5), 1800.0)
    assert list(zip(src, dst)) == [(1, 2)]
    assert report == {"sessions": 3, "repeats_dropped": 1, "transitions": 1}


def test_build_graph_writes_the_sessions_as_node_indices(tmp_path):
    """Sessions in time order, a repeat dropped, one-event sessions and items without an
    edge left out, as int32 node indices that memory-map (item2vec reads them)."""
    from graphemb.graph import load_sessions
    from graphemb.pipeline import load_graph

    rows = [("u", "a", 0), ("u", "b", 10), ("u", "b", 20), ("u", "c", 30),   # a b c
            ("u", "z", 99999),                                              # alone: gone
            ("v", "c", 5), ("v", "a", 6),                                    # c a
            ("w", "b", 0)]                                                  # alone: gone
    log = write_csv(tmp_path / "log.csv", ["user_id", "item_id", "timestamp"],
                    [(u, i, t) for u, i, t in rows])
    m = graphemb.build_graph(log, workdir=tmp_path / "ws")
    graph, _ = load_graph(tmp_path / "ws")
    sessions = load_sessions(tmp_path / "ws" / "graph")
    assert isinstance(sessions.tokens, np.memmap) and sessions.tokens.dtype == np.int32
    node = {item: k for k, item in enumerate(graph.node_ids)}
    got = [[graph.node_ids[x] for x in sessions.tokens[a:b]]
           for a, b in zip(sessions.offsets[:-1], sessions.offsets[1:])]
    assert got == [["a", "b", "c"], ["c", "a"]] and "z" not in node
    assert m["counts"]["sessions_saved"] == 2


@pytest.mark.parametrize("text,seconds", [("30m", 1800), ("2h", 7200), ("1d", 86400),
                                          ("45", 45), ("1.5h", 5400)])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


def test_iso_times_with_offsets_are_utc(tmp_path):
    from graphemb.ingest.times import times_to_seconds
    import pyarrow as pa

    column = pa.chunked_array([pa.array(["2024-01-01T10:00:00+02:00", "2024-01-01T08:01:00Z",
                                         "2024-01-01 08:02:30"])])
    np.testing.assert_allclose(times_to_seconds("log", "t", column),
                               [1704096000.0, 1704096060.0, 1704096150.0])


# --- edge-list hygiene: comments, symmetric listings, self-loops ------------------------------

def test_from_edges_skips_comment_and_blank_lines(tmp_path, workdir):
    # SNAP-style '#' header, a '%' line (KONECT/MatrixMarket), an indented comment, a blank
    # line, a header after the comments and a comment between edges.
    (tmp_path / "e.txt").write_text("# Directed graph\n% made by hand\n   # indented\n\n"
                                    "src dst w\n1 2 3\n# between\n2 3 0.5\n")
    graphemb.build_graph(from_edges=tmp_path / "e.txt", workdir=workdir)
    graph, _ = graphemb.load_graph(workdir)
    assert edges_of(graph) == {(1, 2): 3.0, (2, 3): 0.5}
    # A bad weight is reported at its line in the file, comments counted.
    (tmp_path / "bad.txt").write_text("# c\n1 2 1\n# c\n2 3 -1\n")
    with pytest.raises(graphemb.GraphembError, match="line 4: weight -1.0"):
        graphemb.build_graph(from_edges=tmp_path / "bad.txt", workdir=workdir)


def test_from_edges_matrix_market_size_line_is_not_an_edge(tmp_path, workdir):
    (tmp_path / "g.mtx").write_text("%%MatrixMarket matrix coordinate real symmetric\n"
                                    "% comment\n3 3 2\n2 1 0.5\n3 2 2\n")
    graphemb.build_graph(from_edges=tmp_path / "g.mtx", workdir=workdir, undirected=True)
    graph, _ = graphemb.load_graph(workdir)
    assert edges_of(graph) == {(2, 1): 0.5, (1, 2): 0.5, (3, 2): 2.0, (2, 3): 2.0}


SYMMETRIC = "1 2 2\n2 1 2\n2 3 1\n3 2 1\n3 3 5\n"       # every u v also as v u, and a loop
ONE_WAY = "1 2 2\n2 3 1\n3 3 5\n"                       # the same graph, each edge once


@pytest.mark.parametrize("text", [SYMMETRIC, ONE_WAY])
def test_undirected_symmetric_and_one_way_listings_give_the_same_graph(tmp_path, workdir, text):
    # A symmetric listing keeps its weights (before: 1-2 became 4, the loop stayed 5); a
    # one-way listing of the same graph gives the same weights; the loop keeps 5 either way.
    (tmp_path / "e.txt").write_text(text)
    m = graphemb.build_graph(from_edges=tmp_path / "e.txt", workdir=workdir, undirected=True)
    graph, _ = graphemb.load_graph(workdir)
    assert edges_of(graph) == {(1, 2): 2.0, (2, 1): 2.0, (2, 3): 1.0, (3, 2): 1.0, (3, 3): 5.0}
    assert m["params"]["symmetric_input"] is (text == SYMMETRIC)


def test_undirected_one_way_listing_sums_directions(tmp_path, workdir):
    # Not symmetric (1 2 has weight 3, 2 1 weight 1; 2 3 is listed one way): both directions
    # are summed; duplicate lines add up first; the self-loop is never doubled.
    (tmp_path / "e.txt").write_text("1 2 2\n1 2 1\n2 1 1\n2 3 1\n3 3 5\n")
    m = graphemb.build_graph(from_edges=tmp_path / "e.txt", workdir=workdir, undirected=True)
    graph, _ = graphemb.load_graph(workdir)
    assert edges_of(graph) == {(1, 2): 4.0, (2, 1): 4.0, (2, 3): 1.0, (3, 2): 1.0, (3, 3): 5.0}
    assert m["params"]["symmetric_input"] is False


def test_csr_from_edges_symmetric_rule_is_reusable_for_adjacency_matrices():
    # What an adjacency matrix gives: all its non-zeros (i, j, a_ij). A symmetric matrix with
    # a diagonal entry comes back unchanged (adj + adj.T would double every entry).
    import scipy.sparse as sp

    adj = sp.coo_matrix(np.array([[1.0, 2.0, 0.0], [2.0, 0.0, 3.0], [0.0, 3.0, 0.0]]))
    report = {}
    indptr, indices, weights = csr_from_edges(adj.row, adj.col, adj.data, 3, True,
                                              report=report)
    back = sp.csr_matrix((weights, indices, indptr), shape=(3, 3)).toarray()
    assert np.array_equal(back, adj.toarray()) and report == {"symmetric_input": True}
    # Upper triangle only (one-way): the same matrix again.
    up = sp.triu(adj).tocoo()
    indptr, indices, weights = csr_from_edges(up.row, up.col, up.data, 3, True, report=report)
    assert np.array_equal(sp.csr_matrix((weights, indices, indptr), shape=(3, 3)).toarray(),
                          adj.toarray()) and report == {"symmetric_input": False}


# --- networkx: a graph object in, a graph object out, and the file formats it reads ----------

def _weighted_nx(directed):
    import networkx as nx
    g = nx.DiGraph() if directed else nx.Graph()
    g.add_edge("a", "b", weight=2.0)
    g.add_edge("b", "c", weight=0.5)
    g.add_edge("c", "c", weight=3.0)          # a self-loop keeps its weight
    g.add_edge("d", "a")                      # no weight attribute: 1
    return g


@pytest.mark.parametrize("directed", [False, True])
def test_build_graph_from_networkx_round_trips(tmp_path, directed):
    g = _weighted_nx(directed)
    manifest = graphemb.build_graph(g, workdir=tmp_path)
    assert manifest["params"]["undirected"] is (not directed)
    graph, _ = graphemb.load_graph(tmp_path)
    expected = {(u, v): w.get("weight", 1.0) for u, v, w in g.edges(data=True)}
    if not directed:
        expected.update({(v, u): w for (u, v), w in list(expected.items())})
    assert edges_of(graph) == expected
    back = graph.to_networkx()
    assert back.is_directed() is directed
    assert sorted(back.nodes()) == sorted(g.nodes())
    assert back.number_of_edges() == g.number_of_edges()
    for u, v, d in g.edges(data=True):
        assert back[u][v]["weight"] == d.get("weight", 1.0)


def test_integer_networkx_labels_stay_integers(tmp_path):
    import networkx as nx
    graphemb.build_graph(nx.path_graph([10, 20, 30]), workdir=tmp_path)
    graph, _ = graphemb.load_graph(tmp_path)
    assert graph.node_ids.dtype.kind == "i"
    assert edges_of(graph) == {(10, 20): 1.0, (20, 10): 1.0, (20, 30): 1.0, (30, 20): 1.0}


@pytest.mark.parametrize("suffix,writer", [(".graphml", "write_graphml"), (".gexf", "write_gexf")])
def test_from_edges_reads_networkx_formats(tmp_path, suffix, writer):
    import networkx as nx
    from click.testing import CliRunner
    from graphemb.cli import main
    path = tmp_path / f"g{suffix}"
    getattr(nx, writer)(_weighted_nx(True), path)
    r = CliRunner().invoke(main, ["--workdir", str(tmp_path / "ws"), "-q", "build-graph",
                                  "--from-edges", str(path)])
    assert r.exit_code == 0, r.output
    graph, _ = graphemb.load_graph(tmp_path / "ws")
    assert edges_of(graph) == {("a", "b"): 2.0, ("b", "c"): 0.5, ("c", "c"): 3.0,
                               ("d", "a"): 1.0}


def test_from_edges_adjacency_list(tmp_path):
    path = tmp_path / "g.adjlist"
    path.write_text("# comment\na b c\nb c\n")
    graphemb.build_graph(from_edges=path, workdir=tmp_path / "ws")
    graph, _ = graphemb.load_graph(tmp_path / "ws")
    assert set(edges_of(graph)) == {("a", "b"), ("a", "c"), ("b", "c"), ("b", "a"), ("c", "a"),
                                    ("c", "b")}


def test_networkx_bad_weight_and_bad_file_are_one_line_errors(tmp_path):
    import networkx as nx
    from click.testing import CliRunner
    from graphemb.cli import main
    g = nx.DiGraph()
    g.add_edge("x", "y", weight=-1.0)
    nx.write_graphml(g, tmp_path / "neg.graphml")
    (tmp_path / "broken.graphml").write_text("<graphml><graph><node id='a'/>")
    for name, words in (("neg.graphml", "edge ('x', 'y'): weight -1.0 must be"),
                        ("broken.graphml", "cannot read it as graphml")):
        r = CliRunner().invoke(main, ["--workdir", str(tmp_path / "ws"), "build-graph",
                                      "--from-edges", str(tmp_path / name)])
        assert r.exit_code != 0
        assert words in r.output and "Traceback" not in r.output
        assert len(r.output.strip().splitlines()) == 1, r.output
    assert not (tmp_path / "ws" / "graph").exists()


def test_a_loaded_graph_has_the_in_memory_signature(tmp_path):
    """The workspace's arrays are memory-mapped copy-on-write: writable, so the walk kernel
    compiled for in-memory arrays serves them (a read-only map is another Numba type and
    meant a second compile on the CLI's first run); the file itself is never written."""
    import graphemb
    from graphemb.walks import WalkSampler, deepwalk
    log = tmp_path / "log.csv"
    log.write_text("user,item,time\n" + "".join(f"u{k % 7},i{k % 11},{k}\n" for k in range(200)))
    graphemb.build_graph(log, workdir=tmp_path / "w")
    graph, _ = graphemb.load_graph(tmp_path / "w")
    assert graph.indices.flags.writeable and isinstance(graph.indices, np.memmap)
    before = (tmp_path / "w" / "graph" / "indices.npy").read_bytes()

    def walk(indptr, indices, weights):
        s = WalkSampler(indptr, indices, weights)
        return s.walks(np.arange(3, dtype=np.int64), 0, 5, 1.0, 1.0, 0,
                       out=np.empty((3, 5), np.int32))

    walk(graph.indptr, graph.indices, graph.weights)
    n_signatures = len(deepwalk.walk_batch.signatures)
    walk(np.array(graph.indptr), np.array(graph.indices), np.array(graph.weights))
    assert len(deepwalk.walk_batch.signatures) == n_signatures
    assert (tmp_path / "w" / "graph" / "indices.npy").read_bytes() == before
