"""The four stages through the CLI (CliRunner and a real subprocess), manifests and export."""
import importlib
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import graphemb
from graphemb.cli import main

from helpers import write_csv

FAST = ["--dim", "16", "--epochs", "5", "--window", "3", "--sample", "0"]


@pytest.fixture(scope="module")
def log_csv(tmp_path_factory):
    """A log with two communities of items, 60 users, ~30 events each."""
    rng = np.random.default_rng(0)
    rows = []
    for u in range(60):
        community = u % 2
        items = rng.integers(0, 15, 30) + 100 * community
        for k, item in enumerate(items):
            rows.append((f"user{u}", f"item{item}", 1_700_000_000 + 60 * k))
    return write_csv(tmp_path_factory.mktemp("log") / "log.csv", ["user_id", "item_id", "ts"],
                     rows)


def invoke(args, workdir, **kw):
    result = CliRunner().invoke(main, ["--workdir", str(workdir)] + args, **kw)
    return result


def run_all(log_csv, workdir, walk_args=(), train_args=()):
    r = invoke(["build-graph", str(log_csv), "--time-col", "ts"], workdir)
    assert r.exit_code == 0, r.output
    r = invoke(["walk", "--num-walks", "10", "--walk-length", "20", *walk_args], workdir)
    assert r.exit_code == 0, r.output
    r = invoke(["train", *FAST, "--workers", "1", *train_args], workdir)
    assert r.exit_code == 0, r.output


def test_stages_write_artifacts_and_manifests(log_csv, tmp_path):
    ws = tmp_path / "ws"
    run_all(log_csv, ws, walk_args=["--p", "0.5", "--q", "2"])
    walks = np.load(ws / "walks" / "walks.npy", mmap_mode="r")
    assert walks.dtype == np.int32 and walks.shape[1] == 20
    graph_m = json.loads((ws / "graph" / "manifest.json").read_text())
    walk_m = json.loads((ws / "walks" / "manifest.json").read_text())
    model_m = json.loads((ws / "model" / "manifest.json").read_text())
    assert walk_m["params"]["p"] == 0.5 and walk_m["params"]["q"] == 2.0
    assert walk_m["counts"]["walks"] == 10 * graph_m["counts"]["nodes"]
    assert set(model_m["inputs"]) == {"walks", "graph"}
    assert model_m["graphemb_version"] == graphemb.__version__
    vectors = np.load(ws / "model" / "vectors.npy")
    assert vectors.shape == (graph_m["counts"]["nodes"], 16)
    # Items of the same community end up closer than items of different ones.
    ids, vec, _, _ = graphemb.load_vectors(ws)
    unit = vec / np.linalg.norm(vec, axis=1, keepdims=True)
    group = np.array([int(i[4:]) >= 100 for i in ids])
    sim = unit @ unit.T
    np.fill_diagonal(sim, -np.inf)
    nearest = sim.argmax(axis=1)
    assert np.mean(group[nearest] == group) >= 0.9


def test_export_round_trips(log_csv, tmp_path):
    ws = tmp_path / "ws"
    run_all(log_csv, ws)
    ids, vectors, _, _ = graphemb.load_vectors(ws)
    out = tmp_path / "v.parquet"
    r = invoke(["export", str(out)], ws)
    assert r.exit_code == 0, r.output
    df = pd.read_parquet(out)
    assert list(df.columns) == ["item_id", "vector"]
    assert list(df.item_id) == list(ids)
    np.testing.assert_array_equal(np.stack(df.vector.to_numpy()).astype(np.float32), vectors)

    import polars as pl
    import duckdb
    assert pl.read_parquet(out).schema["vector"] == pl.Array(pl.Float32, 16)
    assert duckdb.sql(f"select count(*) from '{out}'").fetchall()[0][0] == len(ids)

    from gensim.models import KeyedVectors
    for fmt, name, binary in [("word2vec", "v.txt", False), ("word2vec-binary", "v.bin", True)]:
        r = invoke(["export", str(tmp_path / name), "--format", fmt], ws)
        assert r.exit_code == 0, r.output
        kv = KeyedVectors.load_word2vec_format(str(tmp_path / name), binary=binary)
        np.testing.assert_allclose(kv[str(ids[3])], vectors[3], rtol=1e-5, atol=1e-6)
        assert len(kv) == len(ids)

    r = invoke(["export", str(tmp_path / "v.npy")], ws)
    assert r.exit_code == 0
    np.testing.assert_array_equal(np.load(tmp_path / "v.npy"), vectors)
    assert list(pd.read_parquet(tmp_path / "v.ids.parquet").item_id) == list(ids)
    r = invoke(["export", str(tmp_path / "v.csv")], ws)
    csv = pd.read_csv(tmp_path / "v.csv")
    np.testing.assert_allclose(csv[[f"v{j}" for j in range(16)]].to_numpy(), vectors, rtol=1e-6)


def test_same_seed_same_walks_with_1_and_2_workers(log_csv, tmp_path):
    outs = []
    for workers in (1, 2):
        ws = tmp_path / f"ws{workers}"
        invoke(["build-graph", str(log_csv), "--time-col", "ts"], ws)
        r = invoke(["walk", "--p", "0.5", "--q", "2", "--seed", "5", "--workers", str(workers),
                    "--num-walks", "3"], ws)
        assert r.exit_code == 0, r.output
        outs.append(np.load(ws / "walks" / "walks.npy"))
    np.testing.assert_array_equal(outs[0], outs[1])


def test_run_does_all_stages(log_csv, tmp_path):
    ws = tmp_path / "ws"
    out = tmp_path / "v.parquet"
    r = invoke(["run", str(log_csv), "--time-col", "ts", "--num-walks", "2", "--walk-length",
                "10", *FAST, "--output", str(out)], ws)
    assert r.exit_code == 0, r.output
    assert len(pd.read_parquet(out)) > 0
    assert "walks:" in r.output


def test_missing_and_stale_inputs_name_the_command(log_csv, tmp_path):
    ws = tmp_path / "ws"
    r = invoke(["walk"], ws)
    assert r.exit_code != 0 and "graphemb build-graph" in r.output
    assert "Traceback" not in r.output
    run_all(log_csv, ws)
    # Rebuilding the graph makes the walks and the model stale.
    r = invoke(["build-graph", str(log_csv), "--time-col", "ts", "--undirected"], ws)
    assert r.exit_code == 0
    r = invoke(["train", *FAST], ws)
    assert r.exit_code == 1 and "stale" in r.output and "graphemb walk" in r.output
    r = invoke(["export", str(tmp_path / "v.parquet")], ws)
    assert r.exit_code == 1 and "graphemb train" in r.output
    assert not (tmp_path / "v.parquet").exists()


def test_failed_stage_keeps_previous_artifact(log_csv, tmp_path):
    ws = tmp_path / "ws"
    invoke(["build-graph", str(log_csv), "--time-col", "ts"], ws)
    before = (ws / "graph" / "manifest.json").read_text()
    r = invoke(["build-graph", str(tmp_path / "nope.csv")], ws)
    assert r.exit_code == 1 and "nope.csv" in r.output and "no such file" in r.output
    r = invoke(["build-graph", str(log_csv), "--time-col", "wrong"], ws)
    assert r.exit_code == 1 and "'wrong' not found" in r.output
    assert (ws / "graph" / "manifest.json").read_text() == before
    assert sorted(p.name for p in ws.iterdir()) == ["graph"]   # no temporary folders left


@pytest.mark.parametrize("args,message", [
    (["walk", "--p", "0"], "1e-06<=x<=1000000.0"),
    (["walk", "--walk-length", "0"], "x>=2"),
])
def test_bad_walk_options(log_csv, tmp_path, args, message):
    ws = tmp_path / "ws"
    invoke(["build-graph", str(log_csv), "--time-col", "ts"], ws)
    r = invoke(args, ws)
    assert r.exit_code == 2 and message in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)


def test_help_shows_examples():
    r = CliRunner().invoke(main, ["--help"])
    assert "graphemb walk --p 0.5 --q 2" in r.output
    for cmd in ("build-graph", "walk", "train", "export", "run"):
        r = CliRunner().invoke(main, [cmd, "--help"])
        assert r.exit_code == 0 and "Example" in r.output


def test_real_subprocess_with_env_workdir(log_csv, tmp_path):
    env = dict(os.environ, GRAPHEMB_WORKDIR=str(tmp_path / "envws"))
    cmd = [sys.executable, "-m", "graphemb"]
    r = subprocess.run(cmd + ["build-graph", str(log_csv), "--time-col", "ts"], env=env,
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "edges" in r.stdout
    assert (tmp_path / "envws" / "graph" / "manifest.json").exists()
    r = subprocess.run(cmd + ["--quiet", "walk", "--num-walks", "2"], env=env,
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0 and r.stdout == "" and r.stderr == ""
    r = subprocess.run(cmd + ["build-graph", "missing.csv"], env=env, capture_output=True,
                       text=True, cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.strip().count("\n") == 0 and "missing.csv" in r.stderr


def test_walk_shards_union_equals_unsharded_and_train_reads_them(log_csv, tmp_path):
    ws = tmp_path / "ws"
    assert invoke(["build-graph", str(log_csv), "--time-col", "ts"], ws).exit_code == 0
    assert invoke(["walk", "--p", "0.5", "--q", "2", "--seed", "3"], ws).exit_code == 0
    whole = np.load(ws / "walks" / "walks.npy")
    import shutil
    shutil.rmtree(ws / "walks")
    r = invoke(["train", *FAST], ws)
    assert r.exit_code == 1 and "graphemb walk" in r.output
    for i in (1, 3):
        r = invoke(["walk", "--p", "0.5", "--q", "2", "--seed", "3", "--shard", f"{i}/3"], ws)
        assert r.exit_code == 0, r.output
    r = invoke(["train", *FAST], ws)
    assert r.exit_code == 1 and "--shard 2/3" in r.output
    assert invoke(["walk", "--p", "0.5", "--q", "2", "--seed", "3", "--shard", "2/3"],
                  ws).exit_code == 0
    parts = [np.load(ws / f"walks-shard-{i}-of-3" / "walks.npy") for i in (1, 2, 3)]
    # Same walks, same numbers: rows of one round are split in blocks across the shards.
    rounds = 10
    per_shard = [p.reshape(rounds, -1, whole.shape[1]) for p in parts]
    np.testing.assert_array_equal(np.concatenate(per_shard, axis=1).reshape(whole.shape), whole)
    r = invoke(["train", *FAST], ws)
    assert r.exit_code == 0, r.output
    assert json.loads((ws / "model" / "manifest.json").read_text())["inputs"].keys() == \
        {"walks", "walks1", "walks2", "graph"}
    r = invoke(["export", str(tmp_path / "v.parquet")], ws)
    assert r.exit_code == 0, r.output
    r = invoke(["walk", "--shard", "4/3"], ws)
    assert r.exit_code == 1 and "i/N" in r.output


def test_api_verbs_stay_functions_after_training(log_csv, tmp_path):
    ws = tmp_path / "ws"
    graphemb.build_graph(log_csv, workdir=ws, time_col="ts")
    graphemb.walk(workdir=ws, num_walks=2, walk_length=10)
    for _ in range(2):  # a submodule named like a verb would shadow it after the first call
        graphemb.train(workdir=ws, dim=8, epochs=1, workers=1)
    assert callable(graphemb.train) and callable(graphemb.walk) and callable(graphemb.export)
    importlib.import_module("graphemb.io.writers")  # a submodule import must not rebind a verb
    importlib.import_module("graphemb.walks")
    assert callable(graphemb.export) and callable(graphemb.walk)
