"""The bad-input matrix: each case gives one line naming the file and the line or column
(or a documented, counted skip), a non-zero exit where the input is unusable, no traceback,
and no new or half-written artifact."""
import gzip
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import graphemb
from graphemb.cli import main

GOOD = "user_id,item_id,timestamp\nu1,a,1\nu1,b,2\nu1,c,3\nu2,a,1\nu2,c,2\n"


def _write(path, content):
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def _parquet(path, table):
    pq.write_table(table, path)
    return path


# (name, file name, content builder, extra args, expected words in the one-line error)
def _cases(tmp):
    gz_ok = gzip.compress(GOOD.encode() * 50)
    cases = [
        ("empty file", "log.csv", "", [], ["log.csv", "empty"]),
        ("header only", "log.csv", "user_id,item_id,timestamp\n", [], ["log.csv", "no rows"]),
        ("no item column", "log.csv", "user_id,thing,timestamp\nu,a,1\n", [],
         ["log.csv", "item", "--item-col"]),
        ("misnamed column", "log.csv", GOOD, ["--time-col", "when"],
         ["log.csv", "'when' not found"]),
        ("unparseable timestamp", "log.csv",
         "user_id,item_id,timestamp\nu,a,2024-01-01T00:00:00\nu,b,yesterday\n", [],
         ["log.csv", "line 3", "timestamp", "yesterday"]),
        ("mixed timestamp formats", "log.csv",
         "user_id,item_id,timestamp\nu,a,2024-01-01T00:00:00\nu,b,2024-01-01T00:01:00\n"
         "u,c,1704067300\n", [], ["log.csv", "line 4", "1704067300"]),
        ("negative weight", "log.csv", "user_id,item_id,timestamp,w\nu,a,1,1\nu,b,2,-3\n",
         ["--weight-col", "w"], ["log.csv", "line 3", "'w'"]),
        ("NaN weight", "log.csv", "user_id,item_id,timestamp,w\nu,a,1,1\nu,b,2,1\nu,c,3,nan\n",
         ["--weight-col", "w"], ["log.csv", "line 4", "'w'"]),
        ("non-numeric weight", "log.csv", "user_id,item_id,timestamp,w\nu,a,1,x\nu,b,2,1\n",
         ["--weight-col", "w"], ["log.csv", "'w'", "not numeric"]),
        ("non-UTF-8 bytes", "log.csv",
         b"user_id,item_id,timestamp\nu,a,1\nu,caf\xe9,2\nu,b,3\n", [],
         ["log.csv", "line 3", "UTF-8"]),
        ("binary garbage", "log.csv", bytes(np.random.default_rng(0).integers(0, 256, 4000,
                                                                              dtype=np.uint8)),
         [], ["log.csv"]),
        ("truncated gzip", "log.csv.gz", gz_ok[: len(gz_ok) // 2], [], ["log.csv.gz"]),
        ("ragged row", "log.csv", "user_id,item_id,timestamp\nu,a,1\nu,b\nu,c,3\n", [],
         ["log.csv", "line 3"]),
        ("parquet wrong column types", "log.parquet",
         pa.table({"user_id": ["u", "u"], "item_id": ["a", "b"], "timestamp": [True, False]}),
         [], ["log.parquet", "'timestamp'"]),
        ("not parquet at all", "log.parquet", b"PAR1 this is not parquet", [],
         ["log.parquet"]),
        ("every user one event", "log.csv", "user_id,item_id,timestamp\nu1,a,1\nu2,b,1\n", [],
         ["log.csv", "no edges"]),
        ("missing file", None, None, [], ["nothing.csv", "no such file"]),
        ("a folder", "adir", "DIR", [], ["adir", "folder"]),
        ("bad session gap", "log.csv", GOOD, ["--session-gap", "soon"], ["duration", "soon"]),
        ("bad event weights", "log.csv", GOOD + "", ["--event-col", "item_id",
                                                     "--event-weights", "a=x"],
         ["--event-weights"]),
        ("NUL in an item id", "log.csv", b"user_id,item_id,timestamp\nu,a,1\nu,b\x00c,2\n",
         [], ["log.csv", "line 3", "'item_id'", "control character"]),
        ("escape in a user id", "log.csv", b"user_id,item_id,timestamp\nu,a,1\nu\x1b[0m,b,2\n",
         [], ["log.csv", "line 3", "'user_id'", "control character"]),
        ("10 KB item id", "log.csv", "user_id,item_id,timestamp\nu,a,1\nu," + "x" * 10000 +
         ",2\n", [], ["log.csv", "line 3", "10,000 characters"]),
        ("NUL in an id, duckdb", "log.csv", b"user_id,item_id,timestamp\nu,a,1\nu,b\x00c,2\n",
         ["--engine", "duckdb"], ["log.csv", "1 row(s)", "control character"]),
        ("long id, duckdb", "log.csv", "user_id,item_id,timestamp\nu,a,1\nu," + "x" * 2000 +
         ",2\n", ["--engine", "duckdb"], ["log.csv", "over 1024 characters"]),
        ("BOM before a wrong header", "log.csv", "\ufeffuser_id,thing,timestamp\nu,a,1\n", [],
         ["among (user_id, thing, timestamp)", "--item-col"]),
        ("--no-header without --columns", "log.csv", GOOD, ["--no-header"],
         ["--no-header", "--columns"]),
        ("--columns without --no-header", "log.csv", GOOD, ["--columns", "user,item,ts"],
         ["--columns", "add --no-header"]),
        ("--columns too few", "log.csv", GOOD.split("\n", 1)[1], ["--no-header", "--columns",
                                                                 "user,item"],
         ["log.csv", "line 1 has 3 field", "--columns names 2"]),
        ("--no-header on Parquet", "log.parquet",
         pa.table({"user_id": ["u", "u"], "item_id": ["a", "b"], "timestamp": [1, 2]}),
         ["--no-header", "--columns", "user,item,ts"], ["log.parquet", "names its columns"]),
    ]
    return cases


CASE_NAMES = [c[0] for c in _cases(None)]


def _materialise(tmp_path, name):
    case = next(c for c in _cases(tmp_path) if c[0] == name)
    _, fname, content, args, words = case
    if fname is None:
        return tmp_path / "nothing.csv", args, words
    path = tmp_path / fname
    if content == "DIR":
        path.mkdir()
    elif isinstance(content, pa.Table):
        _parquet(path, content)
    else:
        _write(path, content)
    return path, args, words


@pytest.fixture
def good_workspace(tmp_path):
    ws = tmp_path / "ws"
    log = _write(tmp_path / "good.csv", GOOD)
    r = CliRunner().invoke(main, ["--workdir", str(ws), "build-graph", str(log)])
    assert r.exit_code == 0, r.output
    return ws


@pytest.mark.parametrize("name", CASE_NAMES)
def test_bad_log(name, tmp_path, good_workspace):
    path, args, words = _materialise(tmp_path, name)
    before = (good_workspace / "graph" / "manifest.json").read_bytes()
    r = CliRunner().invoke(main, ["--workdir", str(good_workspace), "build-graph", str(path),
                                  *args])
    assert r.exit_code != 0
    _ok(r)
    message = r.output.strip()
    assert message.startswith("Error: ") or message.startswith("Usage:"), message
    if message.startswith("Error: "):
        assert message.count("\n") == 0, message
    for word in words:
        assert word in message, (word, message)
    assert "\ufeff" not in message and "\x00" not in message, message
    # The previous good graph is untouched and nothing else was left behind.
    assert (good_workspace / "graph" / "manifest.json").read_bytes() == before
    assert sorted(p.name for p in good_workspace.iterdir()) == ["graph"]


def test_odd_but_valid_ids_survive(tmp_path):
    big = 2**62 + 12345
    text = ('user_id,item_id,timestamp\n'
            'u,"a,b",1\nu,"say ""hi""",2\nu, spaced id ,3\nu,café ☕,4\n')
    log = _write(tmp_path / "log.csv", text)
    graphemb.build_graph(log, workdir=tmp_path / "ws")
    graph, _ = graphemb.load_graph(tmp_path / "ws")
    assert set(graph.node_ids) == {"a,b", 'say "hi"', " spaced id ", "café ☕"}
    log2 = _write(tmp_path / "log2.csv",
                  f"user_id,item_id,timestamp\nu,{big},1\nu,{big + 1},2\n")
    graphemb.build_graph(log2, workdir=tmp_path / "ws2")
    graph, _ = graphemb.load_graph(tmp_path / "ws2")
    assert graph.node_ids.dtype == np.int64 and set(graph.node_ids) == {big, big + 1}


def test_skips_are_counted_not_lost(tmp_path):
    log = _write(tmp_path / "log.csv", "user_id,item_id,timestamp\nu,a,1\n,b,2\nu,,3\nu,c,4\n"
                 "v,z,9\n")
    m = graphemb.build_graph(log, workdir=tmp_path / "ws")
    c = m["counts"]
    assert c["events_read"] == 5 and c["dropped_missing_values"] == 2
    assert c["items_without_edges"] == 1   # z: one event, no transition: reported
    r = CliRunner().invoke(main, ["--workdir", str(tmp_path / "ws2"), "build-graph", str(log)])
    assert "dropped missing values  2" in r.output and "items without edges     1" in r.output


@pytest.mark.parametrize("args,words", [
    (["walk", "--p", "0"], ["--p", "1e-06<=x"]),
    (["walk", "--q", "-1"], ["--q", "1e-06<=x"]),
    (["walk", "--walk-length", "0"], ["--walk-length"]),
    (["walk", "--num-walks", "0"], ["--num-walks"]),
    (["train", "--dim", "0"], ["--dim"]),
    (["export", "out.xyz"], ["out.xyz", "--format"]),
])
def test_bad_options(args, words, good_workspace, tmp_path):
    os.chdir(tmp_path)
    r = CliRunner().invoke(main, ["--workdir", str(good_workspace)] + args)
    _ok(r)
    assert r.exit_code != 0
    for word in words:
        assert word in r.output


def test_workspace_from_another_version(good_workspace):
    path = good_workspace / "graph" / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["format_version"] = 999
    manifest["graphemb_version"] = "9.9.9"
    path.write_text(json.dumps(manifest))
    r = CliRunner().invoke(main, ["--workdir", str(good_workspace), "walk"])
    assert r.exit_code == 1 and "9.9.9" in r.output and "graphemb build-graph" in r.output


def test_stale_artifact(good_workspace, tmp_path):
    ws = str(good_workspace)
    assert CliRunner().invoke(main, ["--workdir", ws, "walk", "--num-walks", "2"]).exit_code == 0
    log = _write(tmp_path / "other.csv", GOOD.replace("u2,c,2", "u2,b,2"))
    assert CliRunner().invoke(main, ["--workdir", ws, "build-graph", str(log)]).exit_code == 0
    r = CliRunner().invoke(main, ["--workdir", ws, "train", "--dim", "4"])
    assert r.exit_code == 1 and "stale" in r.output and "graphemb walk" in r.output


def test_stage_killed_half_way_keeps_previous_artifact(tmp_path):
    """Kill a walk stage while it writes; the old walks stay readable and a rerun works."""
    from helpers import random_graph

    indptr, indices, weights = random_graph(20000, 400000, seed=1)
    src = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    edges = tmp_path / "edges.csv"
    edges.write_text("src,dst,weight\n" + "\n".join(
        f"{a},{b},{w:.3f}" for a, b, w in zip(src[::2], indices[::2], weights[::2])) + "\n")
    ws = tmp_path / "ws"
    graphemb.build_graph(from_edges=edges, workdir=ws)
    graphemb.walk(workdir=ws, num_walks=1, walk_length=5)
    before = (ws / "walks" / "manifest.json").read_bytes()
    cmd = [sys.executable, "-m", "graphemb", "--workdir", str(ws), "--quiet", "walk",
           "--num-walks", "200", "--walk-length", "200", "--p", "0.5", "--q", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and not any(p.name.startswith(".walks.tmp")
                                             for p in ws.iterdir()):
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (ws / "walks" / "manifest.json").read_bytes() == before
    walks, _ = graphemb.load_walks(ws)
    assert walks.shape[1] == 5
    # The rerun succeeds and clears the dead process's temporary folder.
    graphemb.walk(workdir=ws, num_walks=1, walk_length=6)
    assert graphemb.load_walks(ws)[0].shape[1] == 6
    assert not any(p.name.startswith(".walks.tmp") for p in ws.iterdir())


# --- Options refused when parsed, and inputs that used to give silent wrong results -----------
# Each case: (name, args after --workdir WS, exit code, words of the message). The workspace
# holds a graph, walks and a model; every file in it must be byte-identical afterwards.

def _snapshot(ws):
    return {str(p.relative_to(ws)): p.read_bytes() for p in sorted(ws.rglob("*"))
            if p.is_file() and p.name != ".lock"}


def _ok(r):
    """A refusal is click's one-line error or usage message, never an escaped exception."""
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert "internal error" not in r.output and "bug in graphemb" not in r.output, r.output


@pytest.fixture(scope="module")
def trained_template(tmp_path_factory):
    root = tmp_path_factory.mktemp("trained")
    log = _write(root / "good.csv", GOOD * 1)
    ws = root / "ws"
    for args in (["build-graph", str(log)], ["walk", "--num-walks", "2", "--walk-length", "5"],
                 ["train", "--dim", "4", "--epochs", "1", "--workers", "1"]):
        r = CliRunner().invoke(main, ["--workdir", str(ws), "-q", *args])
        assert r.exit_code == 0, r.output
    return ws


@pytest.fixture
def trained(trained_template, tmp_path):
    import shutil

    ws = tmp_path / "ws"
    shutil.copytree(trained_template, ws)
    return ws


OPTION_CASES = [
    ("walk --workers 0", ["walk", "--workers", "0"], 2, ["--workers", "-1 for all cores"]),
    ("train --workers -2", ["train", "--workers", "-2"], 2, ["--workers", "-1 for all cores"]),
    ("run --workers x", ["run", "LOG", "--workers", "x"], 2, ["--workers", "whole number"]),
    ("evaluate --workers 0", ["evaluate", "link-prediction", "--workers", "0"], 2,
     ["--workers"]),
    ("walk --p 1e-320", ["walk", "--p", "1e-320"], 2, ["--p", "1e-06"]),
    ("walk --q 1e7", ["walk", "--q", "1e7"], 2, ["--q", "1000000"]),
    ("walk --p nan", ["walk", "--p", "nan"], 2, ["--p"]),
    ("walk --walk-length 1", ["walk", "--walk-length", "1"], 2, ["--walk-length", ">=2"]),
    ("walk --num-walks 0", ["walk", "--num-walks", "0"], 2, ["--num-walks", ">=1"]),
    ("event weights without event col", ["build-graph", "LOG", "--event-weights", "a=1"], 1,
     ["--event-weights", "--event-col"]),
    ("node-classification with walk options",
     ["evaluate", "node-classification", "--labels", "LABELS", "--p", "4", "--dim", "16"], 2,
     ["--dim", "--p", "ignore"]),
    ("next-item does not list --from-edges",
     ["evaluate", "next-item", "LOG", "--from-edges", "LOG"], 2, ["No such option",
                                                                  "--from-edges"]),
    ("recommend -k 0", ["recommend", "u1", "-k", "0"], 2, ["-k"]),
    ("--time-unit on ISO times", ["build-graph", "ISOLOG", "--time-unit", "ms"], 1,
     ["iso.csv", "dates/times", "--time-unit ms", "no effect"]),
    ("--time-unit on an edge list", ["build-graph", "--from-edges", "LOG", "--time-unit", "s"],
     1, ["--time-unit", "edge list"]),
    ("--time-unit hours", ["build-graph", "LOG", "--time-unit", "h"], 2, ["--time-unit"]),
    ("log options on an edge list", ["build-graph", "--from-edges", "LOG", "--user-col", "u",
                                     "--min-item-count", "3"], 1,
     ["--user-col", "--min-item-count", "edge list", "ignore"]),
    ("EGES options without --side-info", ["train", "--side-cols", "genre", "--fusion", "ges"],
     2, ["--side-cols", "--fusion", "--side-info"]),
    ("run: EGES options without --side-info", ["run", "LOG", "--attention-lr", "0.5"], 2,
     ["--attention-lr", "--side-info"]),
]


@pytest.mark.parametrize("name,args,code,words", OPTION_CASES, ids=[c[0] for c in OPTION_CASES])
def test_refused_options(name, args, code, words, trained, tmp_path):
    log = _write(tmp_path / "log.csv", GOOD)
    labels = _write(tmp_path / "labels.csv", "a,x\nb,y\nc,x\n")
    iso = _write(tmp_path / "iso.csv", "user_id,item_id,timestamp\nu,a,2024-01-01T00:00:00\n"
                                        "u,b,2024-01-01T00:01:00\n")
    files = {"LOG": log, "LABELS": labels, "ISOLOG": iso}
    args = [str(files.get(a, a)) for a in args]
    before = _snapshot(trained)
    r = CliRunner().invoke(main, ["--workdir", str(trained), *args])
    _ok(r)
    assert r.exit_code == code, r.output
    for word in words:
        assert word in r.output, (word, r.output)
    assert _snapshot(trained) == before


def test_workers_minus_one_means_all_cores(trained):
    """-1 (scikit-learn's "all cores") trains as the default does: vectors are trained."""
    norms = {}
    for workers in ("1", "-1"):
        r = CliRunner().invoke(main, ["--workdir", str(trained), "-q", "train", "--dim", "8",
                                      "--epochs", "20", "--sample", "0", "--workers", workers])
        assert r.exit_code == 0, r.output
        vectors = np.load(trained / "model" / "vectors.npy")
        norms[workers] = np.linalg.norm(vectors, axis=1).mean()
    m = json.loads((trained / "model" / "manifest.json").read_text())
    assert m["params"]["workers"] is None
    assert norms["-1"] > 0.5 * norms["1"] and norms["1"] > 0.25, norms   # untrained: ~0.1
    r = CliRunner().invoke(main, ["--workdir", str(trained), "-q", "walk", "--workers", "-1",
                                  "--num-walks", "2", "--walk-length", "5"])
    assert r.exit_code == 0, r.output
    with pytest.raises(graphemb.GraphembError, match="--workers"):
        graphemb.train(workdir=trained, workers=0)


def test_run_from_edges_works(tmp_path):
    edges = _write(tmp_path / "edges.csv", "a,b\nb,c\nc,a\na,c\n")
    out = tmp_path / "v.parquet"
    r = CliRunner().invoke(main, ["--workdir", str(tmp_path / "ws"), "run", "--from-edges",
                                  str(edges), "--num-walks", "2", "--walk-length", "4",
                                  "--dim", "4", "--epochs", "1", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "4 listed edges" in r.output and out.exists()


def _damage_walks(ws, fn):
    path = ws / "walks" / "walks.npy"
    walks = np.load(path)
    np.save(path, fn(walks))


@pytest.mark.parametrize("name,fn,words", [
    ("node id past the graph", lambda w: np.where(w == 0, 10**6, w).astype(np.int32),
     ["walks.npy", "node id 1000000", "outside the graph", "graphemb walk"]),
    ("negative node id", lambda w: np.where(w == 0, -7, w).astype(np.int32),
     ["walks.npy", "node id -7"]),
    ("walks of one node", lambda w: np.ascontiguousarray(w[:, :1]),
     ["no pair", "0 steps", "--walk-length"]),
    ("float walks", lambda w: w.astype(np.float64), ["walks.npy", "int32"]),
])
@pytest.mark.parametrize("trainer", ["gensim", "numba"])
def test_bad_walks_refused_before_any_kernel(name, fn, words, trainer, trained):
    _damage_walks(trained, fn)
    before = _snapshot(trained)
    r = CliRunner().invoke(main, ["--workdir", str(trained), "train", "--dim", "4",
                                  "--trainer", trainer])
    _ok(r)
    assert r.exit_code == 1, r.output
    for word in words:
        assert word in r.output, (word, r.output)
    assert _snapshot(trained) == before


def test_millisecond_timestamps_reported(tmp_path):
    log = _write(tmp_path / "ms.csv", "user_id,item_id,timestamp\n" + "".join(
        f"u{u},i{(u + k) % 7},{1_700_000_000_000 + 60_000 * k}\n" for u in range(5)
        for k in range(6)))
    r = CliRunner().invoke(main, ["--workdir", str(tmp_path / "ws"), "build-graph", str(log)])
    assert r.exit_code == 0, r.output
    assert "timestamps read as epoch milliseconds (detected from their magnitude" in r.output
    m = json.loads((tmp_path / "ws" / "graph" / "manifest.json").read_text())
    assert m["params"]["time_unit"] == "ms" and m["counts"]["sessions"] == 5


def test_tab_separated_file_named_csv(tmp_path):
    comma = _write(tmp_path / "comma.csv", GOOD)
    tabs = _write(tmp_path / "tabs.csv", "\ufeff" + GOOD.replace(",", "\t"))   # and a BOM
    a = graphemb.build_graph(comma, workdir=tmp_path / "a")
    b = graphemb.build_graph(tabs, workdir=tmp_path / "b")
    assert a["counts"] == b["counts"]
    ga, gb = graphemb.load_graph(tmp_path / "a")[0], graphemb.load_graph(tmp_path / "b")[0]
    assert list(ga.node_ids) == list(gb.node_ids)
    np.testing.assert_array_equal(ga.indices, gb.indices)


TAOBAO = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data",
                      "taobao-userbehavior", "UserBehavior_head.csv")


@pytest.mark.skipif(not os.path.exists(TAOBAO), reason="shared Taobao sample not present")
@pytest.mark.parametrize("engine", ["numpy", "duckdb"])
def test_headerless_taobao_sample(tmp_path, engine):
    with open(TAOBAO) as fh:
        head = [next(fh) for _ in range(2000)]
    log = _write(tmp_path / "UserBehavior.csv", "".join(head))
    args = ["--workdir", str(tmp_path / engine), "build-graph", str(log), "--no-header",
            "--columns", "user,item,category,behavior,ts", "--engine", engine,
            "--event-col", "behavior", "--event-weights", "pv=1,cart=3,fav=2,buy=5"]
    r = CliRunner().invoke(main, args)
    _ok(r)
    assert r.exit_code == 0, r.output
    m = json.loads((tmp_path / engine / "graph" / "manifest.json").read_text())
    assert m["counts"]["events_read"] == 2000          # the first event is not a header
    assert m["params"]["time_unit"] == "s" and m["params"]["columns"][0] == "user"
    assert m["counts"]["edges"] == 1586 and m["counts"]["users"] == 18
    # Without --no-header the first event would be taken for a header: refused, not eaten.
    r = CliRunner().invoke(main, ["--workdir", str(tmp_path / "x"), "build-graph", str(log)])
    assert r.exit_code == 1 and "no user column found" in r.output and "--no-header" in r.output


# --- One stage at a time per workspace; orphans of killed stages ----------------------------

def _hold_lock(ws, seconds=60):
    """Another process holding the workspace lock (as a running stage does)."""
    code = ("import sys, time, graphemb.workspace as w\n"
            "w.COMMAND = 'graphemb walk --num-walks 999'\n"
            f"with w.locked({str(ws)!r}, 'walk'):\n"
            "    print('held', flush=True)\n"
            f"    time.sleep({seconds})\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


LOCKED_CASES = [
    ("walk", ["walk", "--num-walks", "2"]),
    ("train", ["train", "--dim", "4"]),
    ("build-graph", ["build-graph", "LOG"]),
    ("run", ["run", "LOG", "--dim", "4"]),
    ("evaluate", ["evaluate", "link-prediction", "--dim", "4"]),
]


@pytest.mark.parametrize("name,args", LOCKED_CASES, ids=[c[0] for c in LOCKED_CASES])
def test_second_stage_refused_while_one_runs(name, args, trained, tmp_path):
    log = _write(tmp_path / "log.csv", GOOD)
    args = [str(log) if a == "LOG" else a for a in args]
    holder = _hold_lock(trained)
    try:
        before = _snapshot(trained)
        t0 = time.time()
        r = CliRunner().invoke(main, ["--workdir", str(trained), *args])
        assert time.time() - t0 < 10                  # at once, not after the holder
        _ok(r)
        assert r.exit_code == 1, r.output
        for word in ("workspace in use by", f"pid {holder.pid}", "graphemb walk --num-walks 999",
                     "wait for it to finish", "--workdir"):
            assert word in r.output, (word, r.output)
        assert _snapshot(trained) == before
    finally:
        holder.kill()
        holder.wait()
    # Released when the holder dies, however it dies.
    r = CliRunner().invoke(main, ["--workdir", str(trained), "-q", "walk", "--num-walks", "2"])
    assert r.exit_code == 0, r.output


def test_two_real_walks_at_once(tmp_path):
    """Two `graphemb walk` processes in one workspace: the second fails at once, naming the
    first; the first finishes."""
    from helpers import random_graph

    indptr, indices, _ = random_graph(5000, 100000, seed=2)
    src = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    edges = _write(tmp_path / "edges.csv", "".join(f"{a},{b}\n" for a, b in zip(src, indices)))
    ws = tmp_path / "ws"
    graphemb.build_graph(from_edges=edges, workdir=ws)
    cmd = [sys.executable, "-m", "graphemb", "--workdir", str(ws), "-q", "walk", "--p", "0.5",
           "--num-walks", "60", "--walk-length", "80"]
    first = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and not (ws / ".lock").exists():
        time.sleep(0.02)
    second = subprocess.run(cmd, stderr=subprocess.PIPE, text=True)
    assert first.wait() == 0, first.stderr.read()
    assert second.returncode == 1, second.stderr
    assert f"workspace in use by pid {first.pid}" in second.stderr
    assert "graphemb --workdir" in second.stderr and second.stderr.count("\n") == 1
    assert not (ws / ".lock").exists()


def test_any_stage_cleans_what_a_killed_stage_left(trained):
    dead = 2**22 + 12345                      # above the default pid_max: never alive
    litter = [trained / f".walks.tmp-{dead}-abc", trained / ".model.old-x1y2",
              trained / ".duckdb-spill-q7", trained / "eval" / f".next-item-{dead}-zz"]
    for path in litter:
        path.mkdir(parents=True)
        (path / "walks.npy").write_bytes(b"x" * 1000)
    live = trained / f".walks.tmp-{os.getpid()}-mine"   # a live process's: kept
    live.mkdir()
    r = CliRunner().invoke(main, ["--workdir", str(trained), "-q", "train", "--dim", "4"])
    assert r.exit_code == 0, r.output
    assert not any(p.exists() for p in litter) and live.exists()


# --- Operating-system errors are reported as such, with the path --------------------------

def _cli(ws, *args, limit_kb=None):
    """graphemb in a real process, optionally under `ulimit -f` (file size limit, in KB)."""
    import shlex

    cmd = shlex.join([sys.executable, "-m", "graphemb", "--workdir", str(ws), *map(str, args)])
    if limit_kb is not None:
        cmd = f"ulimit -f {limit_kb}; {cmd}"
    return subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def movielens_template(tmp_path_factory):
    root = tmp_path_factory.mktemp("ml")
    ws = root / "ws"
    log = os.path.join(os.path.dirname(__file__), "..", "examples", "movielens", "ratings.csv")
    graphemb.build_graph(log, workdir=ws)
    graphemb.walk(workdir=ws, num_walks=1, walk_length=5)
    graphemb.train(workdir=ws, dim=4, epochs=1, workers=1)
    return ws, log


DISK_FULL_CASES = [
    ("build-graph", ["build-graph", "LOG"], ["ws/graph", "the file size limit"]),
    ("walk", ["walk", "--num-walks", "3"], ["ws/walks", "File too large (EFBIG)"]),
    ("train", ["train", "--dim", "16", "--epochs", "1"], ["ws/model", "File too large"]),
    ("export", ["export", "OUT"], ["v.csv", "File too large (EFBIG)"]),
]


@pytest.mark.parametrize("name,args,words", DISK_FULL_CASES, ids=[c[0] for c in DISK_FULL_CASES])
def test_file_size_limit_is_an_os_error(name, args, words, movielens_template, tmp_path):
    import shutil

    template, log = movielens_template
    ws = tmp_path / "ws"
    shutil.copytree(template, ws)
    before = _snapshot(ws)
    out = tmp_path / "v.csv"
    args = [log if a == "LOG" else out if a == "OUT" else a for a in args]
    r = _cli(ws, *args, limit_kb=100)
    assert r.returncode == 1, r.stderr
    message = r.stderr.strip()
    assert message.count("\n") == 0 and message.startswith("Error: "), message
    assert "bug in graphemb" not in message and "Traceback" not in message
    for word in words + ["earlier artifacts are unchanged"]:
        assert word in message, (word, message)
    assert _snapshot(ws) == before and not out.exists()
    assert sorted(p.name for p in ws.iterdir()) == ["graph", "model", "walks"]


@pytest.mark.parametrize("name,error,words", [
    ("disk full", OSError(28, os.strerror(28)), ["ws/walks", "No space left on device (ENOSPC)"]),
    ("permission", PermissionError(13, os.strerror(13), "/mnt/ro/x"),
     ["/mnt/ro/x", "Permission denied (EACCES)"]),
    ("arrow IOError", OSError("error writing bytes. Detail: [errno 28] No space left"),
     ["ws/walks", "No space left on device (ENOSPC)"]),
])
def test_os_errors_while_writing(name, error, words, trained, monkeypatch):
    import graphemb.pipeline as pipeline_mod

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(pipeline_mod, "write_manifest", fail)
    before = _snapshot(trained)
    r = CliRunner().invoke(main, ["--workdir", str(trained), "walk", "--num-walks", "2"])
    _ok(r)
    assert r.exit_code == 1, r.output
    for word in words:
        assert word in r.output, (word, r.output)
    assert _snapshot(trained) == before


def test_workdir_below_a_file(tmp_path):
    _write(tmp_path / "notes.txt", "hi")
    r = CliRunner().invoke(main, ["--workdir", str(tmp_path / "notes.txt" / "ws"), "build-graph",
                                  str(_write(tmp_path / "log.csv", GOOD))])
    _ok(r)
    assert r.exit_code == 1
    assert "notes.txt/ws: Not a directory (ENOTDIR)" in r.output
    assert (tmp_path / "notes.txt").read_text() == "hi"


def test_ctrl_c_exits_130(tmp_path):
    from helpers import random_graph

    indptr, indices, _ = random_graph(20000, 400000, seed=1)
    src = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    edges = _write(tmp_path / "edges.csv", "".join(f"{a},{b}\n" for a, b in zip(src, indices)))
    ws = tmp_path / "ws"
    graphemb.build_graph(from_edges=edges, workdir=ws)
    graphemb.walk(workdir=ws, num_walks=1, walk_length=5)
    before = _snapshot(ws)
    proc = subprocess.Popen([sys.executable, "-m", "graphemb", "--workdir", str(ws), "-q", "walk",
                             "--num-walks", "300", "--walk-length", "200", "--p", "0.5"],
                            stderr=subprocess.PIPE, text=True,
                            # A shell's background job inherits SIGINT ignored (and Python
                            # then keeps ignoring it): give the child the default, as a
                            # terminal would.
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 60
    while time.time() < deadline and not any(p.name.startswith(".walks.tmp")
                                             for p in ws.iterdir()):
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err.strip() == "interrupted; earlier artifacts are unchanged."
    assert _snapshot(ws) == before
    assert not any(p.name.startswith(".walks.tmp") for p in ws.iterdir())


# --- Verbosity after the command, export to stdout and through links, status ----------------

def test_quiet_and_verbose_after_the_command(trained, monkeypatch):
    monkeypatch.delenv("GRAPHEMB_DEBUG", raising=False)      # -v sets it; restored after
    r = CliRunner().invoke(main, ["--workdir", str(trained), "export", str(trained / "v.csv"),
                                  "--quiet", "-v"])
    assert r.exit_code == 0 and r.output == "", r.output
    assert os.environ.get("GRAPHEMB_DEBUG") == "1"
    r = CliRunner().invoke(main, ["--workdir", str(trained), "walk", "--num-walks", "2", "-q"])
    assert r.exit_code == 0 and r.output == "", r.output
    r = CliRunner().invoke(main, ["--workdir", str(trained), "evaluate", "next-item", "-q",
                                  "--help"])
    assert "-q, --quiet" in r.output and "-v, --verbose" in r.output


def test_export_to_stdout(trained):
    r = CliRunner().invoke(main, ["--workdir", str(trained), "export", "-", "--format",
                                  "word2vec"])
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0] == "3 4" and len(lines) == 4          # header + 3 vectors, nothing else
    assert "to stdout" in r.stderr
    r = CliRunner().invoke(main, ["--workdir", str(trained), "export", "-", "--format", "npy"])
    _ok(r)
    assert r.exit_code == 1 and "two files" in r.output


def test_export_writes_through_a_symlink(trained, tmp_path):
    target = _write(tmp_path / "real.csv", "old")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    r = CliRunner().invoke(main, ["--workdir", str(trained), "export", str(link)])
    assert r.exit_code == 0, r.output
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text().startswith('"item_id"')
    r = CliRunner().invoke(main, ["--workdir", str(trained), "export", "/dev/null", "--format",
                                  "parquet"])
    assert r.exit_code == 0, r.output
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")


def test_manifest_paths_absolute_and_status(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "log.csv", GOOD)
    for args in (["build-graph", "log.csv"], ["walk", "--num-walks", "2", "--p", "0.5"],
                 ["train", "--dim", "4", "--epochs", "1"]):
        assert CliRunner().invoke(main, ["--workdir", "ws", "-q", *args]).exit_code == 0
    m = json.loads((tmp_path / "ws" / "graph" / "manifest.json").read_text())
    assert m["params"]["logs"] == str(tmp_path / "log.csv")
    monkeypatch.chdir(tmp_path / "ws")          # commands work from another folder
    r = CliRunner().invoke(main, ["--workdir", ".", "status"])
    assert r.exit_code == 0, r.output
    assert r.output.count("fresh") == 3 and "p=0.5" in r.output
    assert f"rerun: graphemb --workdir . build-graph {tmp_path / 'log.csv'}" in r.output
    assert "graphemb --workdir . walk --num-walks 2 --walk-length 80 --p 0.5" in r.output
    r = CliRunner().invoke(main, ["--workdir", ".", "-q", "walk", "--num-walks", "3"])
    assert r.exit_code == 0
    r = CliRunner().invoke(main, ["--workdir", ".", "status"])
    assert r.exit_code == 1 and "model  stale" in r.output and "rewritten" in r.output
    r = CliRunner().invoke(main, ["--workdir", "nowhere", "status"])
    _ok(r)
    assert r.exit_code == 1 and "no workspace here" in r.output


def test_similar_ids_with_spaces_header_lines_and_tsv_escaping(tmp_path):
    """An id stored with spaces is found as given; a header in --items-file is no id; ids and
    names holding tabs or line breaks are escaped, so every output row has the same fields."""
    ws = tmp_path / "ws"
    pairs = [("  space  ", "b"), ("b", "c\\td"), ("c\\td", "  space  "), ("b", "e"), ("e", "c\\td")]
    # "c\td" becomes an id with a real tab, quoted in a CSV edge list
    rows = ["src,dst"] + [f'"{u}","{v}"' for u, v in pairs]
    (tmp_path / "edges.csv").write_text("\n".join(rows).replace("\\t", "\t") + "\n")
    for args in (["build-graph", "--from-edges", tmp_path / "edges.csv", "--undirected"],
                 ["walk", "--num-walks", "5", "--walk-length", "10", "--seed", "1"],
                 ["train", "--dim", "8", "--epochs", "1", "--workers", "1"]):
        r = CliRunner().invoke(main, ["--workdir", str(ws)] + [str(a) for a in args])
        assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["--workdir", str(ws), "similar", "  space  ", "-k", "3",
                                  "--min-count", "1"])
    assert r.exit_code == 0, r.output
    lines = r.stdout.strip().splitlines()
    assert all(len(line.split("\t")) == 4 for line in lines), lines
    assert lines[1].split("\t")[0] == "  space  "
    assert any(line.split("\t")[2] == "c\\td" for line in lines[1:])   # tab escaped
    items = tmp_path / "items.txt"
    items.write_text("item_id\nb\n")
    r = CliRunner().invoke(main, ["--workdir", str(ws), "similar", "--items-file", str(items),
                                  "-k", "2", "--min-count", "1"])
    assert r.exit_code == 0, r.output
    assert {line.split("\t")[0] for line in r.stdout.strip().splitlines()[1:]} == {"b"}


def test_export_to_a_pipe_closed_early_stops_quietly(tmp_path):
    """`graphemb export - | head -1`: the reader leaves; exit 141 (as cat), nothing on stderr."""
    log = _write(tmp_path / "good.csv", GOOD)
    ws = tmp_path / "ws"
    for args in (["build-graph", str(log)], ["walk", "--num-walks", "2", "--walk-length", "5"],
                 ["train", "--dim", "40000", "--epochs", "1", "--workers", "1"]):
        r = CliRunner().invoke(main, ["--workdir", str(ws), "-q", *args])
        assert r.exit_code == 0, r.output
    # ~1 MB of CSV: far more than a pipe holds, so the writer meets the closed end
    proc = subprocess.Popen([sys.executable, "-m", "graphemb", "--workdir", str(ws),
                             "export", "-", "--format", "csv"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.read(100)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141, err
    assert err == "", err


# --- A missing optional dependency names the extra that installs it ----------------------------

@pytest.mark.parametrize("module,args,extra", [
    ("duckdb", ["build-graph", "LOG", "--engine", "duckdb"], "graphemb[duckdb]"),
    ("pyspark", ["build-graph", "LOG", "--engine", "spark"], "graphemb[spark]"),
    ("sklearn", ["evaluate", "link-prediction"], "graphemb[eval]"),
])
def test_missing_extra_is_named(tmp_path, monkeypatch, module, args, extra):
    log = _write(tmp_path / "log.csv", GOOD)
    ws = tmp_path / "ws"
    assert CliRunner().invoke(main, ["--workdir", str(ws), "-q", "build-graph", str(log)]) \
        .exit_code == 0
    before = sorted(p.name for p in ws.iterdir())
    for name in [m for m in sys.modules if m == module or m.startswith(module + ".")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, module, None)          # import now raises ImportError
    r = CliRunner().invoke(main, ["--workdir", str(ws)] + [str(log) if a == "LOG" else a
                                                           for a in args])
    assert r.exit_code != 0
    assert f"pip install '{extra}'" in r.output and "Traceback" not in r.output, r.output
    assert len(r.output.strip().splitlines()) == 1
    assert sorted(p.name for p in ws.iterdir()) == before
