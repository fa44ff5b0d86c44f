"""train --on sessions (item2vec) and --model line1|line2 as stages: the artifacts, the
refusals, status, export and the evaluation verbs that retrain them."""
import json
from pathlib import Path
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

import graphemb
from graphemb.cli import main
from graphemb.errors import GraphembError
from graphemb.evaluation.link_prediction import cut_sessions

GROUPS, PER = 3, 10            # item groups; a session stays inside one group
SESSION = 5                    # items per session


def invoke(ws, *args):
    return CliRunner().invoke(main, ["--workdir", str(ws), "--quiet"] + [str(a) for a in args])


def one_line_error(r, *needles):
    assert r.exit_code != 0, r.output
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    lines = [x for x in r.output.strip().splitlines() if x]
    assert len(lines) == 1 and lines[0].startswith("Error:"), r.output
    for needle in needles:
        assert needle in lines[0], lines[0]


def group(item) -> int:
    return (int(item) - 1) // PER


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    """80 users x 4 sessions; a session is SESSION distinct items of one random group,
    a minute apart; sessions two hours apart (beyond the 30-minute gap), so the only
    transitions between groups cross a session boundary."""
    root = tmp_path_factory.mktemp("sessions")
    rng = np.random.default_rng(3)
    rows = ["user_id,item_id,timestamp"]
    for u in range(80):
        t = 1_600_000_000 + u * 100_000
        for s in range(4):
            g = rng.integers(GROUPS)
            for item in rng.choice(PER, SESSION, replace=False) + g * PER + 1:
                rows.append(f"u{u},{item},{t}")
                t += 60
            t += 7200
    path = root / "log.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def graph_ws(log, tmp_path_factory):
    ws = tmp_path_factory.mktemp("ws") / "ws"
    r = invoke(ws, "build-graph", log)
    assert r.exit_code == 0, r.output
    return ws


def _group_share(ws, k=5) -> float:
    items = graphemb.ItemVectors.load(ws)
    ids = [str(i) for i in items.ids[items.has_vector]]
    res = graphemb.similar(ids, workdir=ws, k=k)
    same = [group(n) == group(q) for q, nb in zip(res["items"], res["neighbors"]) for n in nb]
    return float(np.mean(same))


def test_item2vec_trains_on_sessions_only(graph_ws, tmp_path):
    ws = graph_ws
    r = invoke(ws, "train", "--on", "sessions", "--window", "session", "--dim", "16",
               "--epochs", "2", "--sample", "0", "--workers", "1")
    assert r.exit_code == 0, r.output
    m = json.loads((ws / "model" / "manifest.json").read_text())
    assert m["params"]["method"] == "item2vec" and m["params"]["window"] == "session"
    assert "walks" not in m["inputs"]                      # no walk stage was needed
    offsets = np.load(ws / "graph" / "sessions_offsets.npy")
    lengths = np.diff(offsets)
    assert (lengths == SESSION).all()                      # repeats none, gap splits them
    # Every ordered pair of a session, every epoch, nothing across sessions (sample=0).
    assert m["counts"]["examples"] == 2 * int((lengths * (lengths - 1)).sum())
    assert _group_share(ws) > 0.9
    rows = {row["stage"]: row for row in graphemb.status(workdir=ws)}
    assert "walks" not in rows and rows["model"]["state"] == "fresh"
    assert "--on sessions" in rows["model"]["command"]
    assert "--window session" in rows["model"]["command"]
    out = tmp_path / "v.parquet"
    assert invoke(ws, "export", out).exit_code == 0
    import pyarrow.parquet as pq
    assert pq.read_table(out).num_rows == m["counts"]["vectors"] == GROUPS * PER


def test_item2vec_fixed_window_pairs_fewer(graph_ws):
    graphemb.train(workdir=graph_ws, on="sessions", window=1, dim=8, epochs=1, sample=0,
                   workers=1)
    m = json.loads((graph_ws / "model" / "manifest.json").read_text())
    lengths = np.diff(np.load(graph_ws / "graph" / "sessions_offsets.npy"))
    # window 1: each item pairs with its neighbours only: 2 (L - 1) ordered pairs a session.
    assert m["counts"]["examples"] == int((2 * (lengths - 1)).sum())
    assert m["params"]["window"] == 1 and m["params"]["on"] == "sessions"


@pytest.mark.parametrize("order", [1, 2])
def test_line_stage_writes_the_model_artifacts(graph_ws, order, tmp_path):
    r = invoke(graph_ws, "train", "--model", f"line{order}", "--dim", "16",
               "--samples-per-node", "3000", "--workers", "1", "--seed", "2")
    assert r.exit_code == 0, r.output
    m = json.loads((graph_ws / "model" / "manifest.json").read_text())
    assert m["params"]["method"] == f"line{order}"
    assert m["counts"]["edge_samples"] >= 3000 * GROUPS * PER
    # a chunk mean over 4096 samples has a standard error of ~0.02
    assert m["counts"]["loss_last_chunk"] < m["counts"]["loss_first_chunk"] - 0.1
    assert set(m["inputs"]) == {"graph"}
    assert _group_share(graph_ws) > 0.8
    rows = {row["stage"]: row for row in graphemb.status(workdir=graph_ws)}
    assert rows["model"]["state"] == "fresh" and f"--model line{order}" in rows["model"]["command"]
    out = tmp_path / "v.txt"
    assert invoke(graph_ws, "export", out).exit_code == 0
    assert out.read_text().split()[:2] == [str(GROUPS * PER), "16"]


@pytest.mark.parametrize("args,api,needles", [
    (["--model", "line1", "--window", "3"], {"model": "line1", "window": 3},
     ["--window", "not used by LINE"]),
    (["--model", "line2", "--epochs", "2"], {"model": "line2", "epochs": 2},
     ["--epochs", "not used by LINE"]),
    (["--model", "line2", "--on", "sessions"], {"model": "line2", "on": "sessions"},
     ["--on sessions", "not used by LINE"]),
    (["--model", "line1", "--trainer", "numba"], {"model": "line1", "trainer": "numba"},
     ["--trainer numba", "not used by LINE"]),
    (["--samples-per-node", "10"], {"samples_per_node": 10}, ["--samples-per-node", "LINE"]),
    (["--window", "session"], {"window": "session"}, ["--window session", "--on sessions"]),
    (["--on", "sessions", "--trainer", "gensim"], {"on": "sessions", "trainer": "gensim"},
     ["--on sessions", "drop --trainer gensim"]),
    (["--on", "sessions", "--hs", "--negative", "0"], {"on": "sessions", "hs": True,
                                                       "negative": 0}, ["--hs"]),
])
def test_options_that_would_do_nothing_are_refused(graph_ws, args, api, needles):
    before = (graph_ws / "graph" / "manifest.json").read_bytes()
    r = invoke(graph_ws, "train", *args)
    one_line_error(r, *needles)
    with pytest.raises(GraphembError) as exc:
        graphemb.train(workdir=graph_ws, **api)
    assert r.output.strip() == f"Error: {exc.value}"       # the CLI says what the API says
    assert (graph_ws / "graph" / "manifest.json").read_bytes() == before


def test_line_cli_refuses_a_typed_default(graph_ws):
    one_line_error(invoke(graph_ws, "train", "--model", "line1", "--window", "5"),
                   "--window", "not used by LINE")


def test_window_must_be_a_number_or_session(graph_ws):
    r = invoke(graph_ws, "train", "--on", "sessions", "--window", "basket")
    assert r.exit_code == 2 and "neither a whole number >= 1 nor 'session'" in r.output


def test_sessions_missing_from_an_edge_list_graph(tmp_path):
    edges = tmp_path / "edges.tsv"
    edges.write_text("1\t2\n2\t3\n3\t1\n")
    ws = tmp_path / "ws"
    assert invoke(ws, "build-graph", "--from-edges", edges).exit_code == 0
    r = invoke(ws, "train", "--on", "sessions")
    one_line_error(r, "keeps no sessions", "graphemb build-graph LOGS")
    assert not (ws / "model").exists()


def test_cut_sessions_at_held_out_edges():
    n = 10
    tokens = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8], dtype=np.int32)
    offsets = np.array([0, 4, 6, 9])             # [0 1 2 3] [4 5] [6 7 8]
    held = np.array([1 * n + 2, 4 * n + 5, 3 * n + 4, 7 * n + 8])   # 3-4 spans two sessions
    t, o = cut_sessions(tokens, offsets, n, held)
    pieces = [list(t[a:b]) for a, b in zip(o[:-1], o[1:])]
    assert pieces == [[0, 1], [2, 3], [6, 7]]
    # The residual transitions are exactly the sessions' consecutive pairs minus held-out ones.
    random = np.random.default_rng(0)
    tokens = random.integers(0, n, 500).astype(np.int32)
    offsets = np.unique(np.r_[0, random.integers(1, 500, 60), 500])
    held = np.unique(random.integers(0, n * n, 15))
    t, o = cut_sessions(tokens, offsets, n, held)

    def pairs(tok, off):
        out = []
        for a, b in zip(off[:-1], off[1:]):
            s = tok[a:b]
            out += [(min(x, y), max(x, y)) for x, y in zip(s[:-1], s[1:])]
        return out

    kept = pairs(t, o)
    assert not any(x * n + y in set(held) for x, y in kept)
    assert sorted(kept) == sorted(p for p in pairs(tokens, offsets) if p[0] * n + p[1]
                                  not in set(held))


def test_link_prediction_retrains_item2vec_on_cut_sessions(graph_ws):
    graphemb.train(workdir=graph_ws, on="sessions", window="session", dim=8, epochs=1,
                   workers=1)
    res = graphemb.evaluate.link_prediction(workdir=graph_ws, seed=1, keep_workdir=True)
    assert res["params"]["train"]["on"] == "sessions"
    kept = res["kept_workdir"]
    pairs = np.load(f"{kept}/pairs.npz")
    n = res["counts"]["nodes"]
    held = set((pairs["held_out_u"] * n + pairs["held_out_v"]).tolist())
    tok = np.load(f"{kept}/graph/sessions_items.npy")
    off = np.load(f"{kept}/graph/sessions_offsets.npy")
    for a, b in zip(off[:-1], off[1:]):
        s = tok[a:b]
        assert not any(min(x, y) * n + max(x, y) in held for x, y in zip(s[:-1], s[1:]))
    assert not (Path(kept) / "walks").exists()
    model = json.loads((Path(kept) / "model" / "manifest.json").read_text())
    assert model["params"]["method"] == "item2vec"


def test_next_item_retrains_line(graph_ws, log):
    graphemb.train(workdir=graph_ws, model="line1", dim=8, samples_per_node=200, workers=1)
    res = graphemb.evaluate.next_item(log, workdir=graph_ws)
    assert res["params"]["train"]["model"] == "line1"
    assert "window" not in res["params"]["train"]


def test_item2vec_from_a_real_process(graph_ws):
    r = subprocess.run([sys.executable, "-m", "graphemb", "--workdir", str(graph_ws), "--quiet",
                        "train", "--on", "sessions", "--dim", "8", "--epochs", "1",
                        "--window", "2"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    m = json.loads((graph_ws / "model" / "manifest.json").read_text())
    assert m["params"]["method"] == "item2vec" and m["params"]["window"] == 2
