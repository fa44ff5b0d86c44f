"""A Spark job (local mode) walks the shards of a graph and brings them back: together they
are exactly the walks of one unsharded run, and train reads them."""
import shutil

import numpy as np
import pytest

import graphemb
from graphemb.errors import GraphembError
from graphemb.pipeline import find_walk_folders
from test_engines import _have_spark

pytestmark = pytest.mark.skipif(not _have_spark(),
                                reason="pyspark or java missing; .ci/run installs them")


def _log(path, users=80, items=60, seed=3):
    rng = np.random.default_rng(seed)
    rows = ["user,item,time"]
    for u in range(users):
        for k, i in enumerate(rng.integers(0, items, 10)):
            rows.append(f"u{u},i{i},{1_600_000_000 + 30 * k}")
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession
    session = (SparkSession.builder.master("local[2]").appName("graphemb-test-walks")
               .config("spark.ui.enabled", "false").getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def test_spark_shards_equal_one_unsharded_run(tmp_path, spark):
    log = _log(tmp_path / "log.csv")
    graphemb.build_graph(log, workdir=tmp_path / "one")
    options = dict(num_walks=3, walk_length=12, p=0.5, q=2.0, seed=7)
    graphemb.walk(workdir=tmp_path / "one", **options)
    whole, _ = graphemb.load_walks(tmp_path / "one")

    shutil.copytree(tmp_path / "one" / "graph", tmp_path / "spark" / "graph")
    manifests = graphemb.walk_on_spark(tmp_path / "spark", shards=3, spark=spark,
                                                   **options)
    assert sorted(m["params"]["shard"][0] for m in manifests) == [1, 2, 3]
    folders = find_walk_folders(tmp_path / "spark")
    parts = [np.load(f / "walks.npy") for f in folders]
    assert sum(len(p) for p in parts) == len(whole)
    # Shard i holds block i of the start nodes in every round: put the rows back in the
    # unsharded order (round by round, blocks in shard order) and compare exactly.
    n_start = manifests[0]["counts"]["start_nodes"]
    rounds = options["num_walks"]
    bounds = [(k * n_start // 3, (k + 1) * n_start // 3) for k in range(3)]
    rebuilt = np.concatenate([p.reshape(rounds, b - a, -1)[r] for r in range(rounds)
                              for p, (a, b) in zip(parts, bounds)])
    np.testing.assert_array_equal(rebuilt, whole)

    # train reads the whole set: as many words as the unsharded walks hold.
    model = graphemb.train(workdir=tmp_path / "spark", dim=8, epochs=1, trainer="numba",
                           sample=0, seed=1)
    assert model["counts"]["words_trained"] == int((whole >= 0).sum())


def test_spark_walks_refuse_a_workspace_with_other_walks(tmp_path, spark):
    graphemb.build_graph(_log(tmp_path / "log.csv"), workdir=tmp_path / "w")
    graphemb.walk(workdir=tmp_path / "w", num_walks=1, walk_length=5)
    with pytest.raises(GraphembError, match="walks, which train would read"):
        graphemb.walk_on_spark(tmp_path / "w", shards=2, spark=spark)
    assert not list((tmp_path / "w").glob("walks-shard-*"))
