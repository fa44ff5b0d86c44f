"""Similar items (exact and LSH), user vectors and recommendations."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import graphemb
from graphemb import pipeline
from graphemb.cli import main
from graphemb.errors import GraphembError
from graphemb.recommendation import decay_weights, mean_history_vectors
from graphemb.search import LSHIndex, exact_search, normalize, recall_at_k, top_k_rows
from graphemb.vectors import ItemVectors, item_space

N_CLUSTERS, PER_CLUSTER = 3, 10


def write_clustered_log(path, n_users=60, events=12, seed=0):
    """Users browse inside one of three clusters of ten items (ids 100..129)."""
    rng = np.random.default_rng(seed)
    rows = ["user_id,item_id,timestamp"]
    for u in range(n_users):
        c = u % N_CLUSTERS
        items = 100 + c * PER_CLUSTER + rng.integers(0, PER_CLUSTER, events)
        for j, item in enumerate(items):
            rows.append(f"u{u},{item},{1_000_000 + u * 10_000 + j * 60}")
    path.write_text("\n".join(rows) + "\n")
    return path


TINY = dict(graph_options={"undirected": True},
            walk_options={"num_walks": 8, "walk_length": 20, "seed": 1, "workers": 1},
            train_options={"dim": 16, "window": 3, "epochs": 3, "workers": 1, "seed": 1})


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    log = write_clustered_log(root / "log.csv")
    ws = root / "ws"
    pipeline.run(log, workdir=ws, **TINY)
    return log, ws


def cluster(item):
    return (int(item) - 100) // PER_CLUSTER


# --- pure functions ---------------------------------------------------------------------------

def test_top_k_rows_orders_and_hides_excluded():
    s = np.array([[0.1, 0.9, 0.5, -np.inf], [1.0, 1.0, 0.0, 2.0]], dtype=np.float32)
    idx, val = top_k_rows(s, 3)
    assert idx.tolist() == [[1, 2, 0], [3, 0, 1]]      # ties in index order
    idx, _ = top_k_rows(s, 4)
    assert idx[0, 3] == -1                              # -inf is never a hit


def test_exact_search_matches_brute_force_with_exclusions():
    rng = np.random.default_rng(0)
    base = normalize(rng.standard_normal((300, 8)))
    q = base[:20]
    idx, val = exact_search(q, base, 5, exclude=np.arange(20))
    full = q @ base.T
    full[np.arange(20), np.arange(20)] = -np.inf
    want = np.argsort(-full, axis=1)[:, :5]
    assert np.array_equal(idx, want)
    assert np.allclose(val, np.take_along_axis(full, want, 1))
    # CSR mask: query 0 may not see its best hit
    masked = (np.array([0, 1] + [1] * 19), np.array([want[0, 0]]))
    idx2, _ = exact_search(q, base, 5, exclude=np.arange(20), masked=masked)
    assert want[0, 0] not in idx2[0] and np.array_equal(idx2[1:], want[1:])


def test_recall_at_k():
    truth = np.array([[1, 2, 3], [4, 5, -1]])
    found = np.array([[3, 9, 1], [5, 4, 7]])
    assert recall_at_k(found, truth) == pytest.approx(4 / 5)


def test_lsh_finds_most_neighbours_and_respects_exclude():
    rng = np.random.default_rng(1)
    centres = rng.standard_normal((20, 32))
    base = centres[rng.integers(0, 20, 2000)] + 0.3 * rng.standard_normal((2000, 32))
    q = base[:50]
    exact, _ = exact_search(normalize(q), normalize(base), 10, exclude=np.arange(50))
    index = LSHIndex(tables=12, bits=8, probes=2, seed=0).fit(base)
    found, scores, stats = index.query(q, 10, exclude=np.arange(50))
    n_cand = stats["candidates"]
    assert recall_at_k(found, exact) >= 0.9
    assert not (found == np.arange(50)[:, None]).any()
    assert (n_cand < len(base)).all()                    # it did not scan everything
    assert np.all(np.diff(scores, axis=1) <= 1e-6)       # best first


def test_lsh_rejects_bad_parameters():
    with pytest.raises(GraphembError, match="--bits"):
        LSHIndex(bits=70)
    with pytest.raises(GraphembError, match="--tables"):
        LSHIndex(tables=0)


def test_item_space_centres_then_normalises():
    v = np.array([[3, 1], [1, 1], [2, 4], [9, 9]], dtype=np.float32)
    has = np.array([True, True, True, False])
    out = item_space(v, has)
    h = 2 ** -0.5                                        # mean (2, 2) removed, then unit
    assert np.allclose(out[:3], [[h, -h], [-h, -h], [0, 1]], atol=1e-6)
    assert np.allclose(out[3], 0)
    assert np.allclose(item_space(v, has, center=False)[1], [2 ** -0.5] * 2)


def test_mean_history_and_decay():
    vectors = np.array([[1, 0], [0, 1], [5, 5]], dtype=np.float32)
    has = np.array([True, True, False])
    users = np.array([0, 0, 1, 1])
    nodes = np.array([0, 1, 2, 0])                       # user 1's item 2 has no vector
    out, ok = mean_history_vectors(users, nodes, vectors, has, 3)
    assert np.allclose(out[0], [0.5, 0.5]) and np.allclose(out[1], [1, 0])
    assert ok.tolist() == [True, True, False]
    w = decay_weights(np.array([0, 0, 1]), np.array([0.0, 7.0, 3.0]), 7.0)
    assert np.allclose(w, [0.5, 1.0, 1.0])


# --- through the command line ------------------------------------------------------------------

def run(ws, *args):
    result = CliRunner().invoke(main, ["--workdir", str(ws), *args])
    return result


def test_similar_returns_items_of_the_same_cluster(tiny):
    _, ws = tiny
    r = run(ws, "similar", "100", "-k", "5")
    assert r.exit_code == 0, r.output
    lines = r.stdout.strip().splitlines()       # stderr says which items were eligible
    assert lines[0] == "query\trank\titem\tscore"
    rows = [line.split("\t") for line in lines[1:]]
    assert len(rows) == 5 and all(q == "100" for q, *_ in rows)
    assert "100" not in [item for _, _, item, _ in rows]
    scores = [float(s) for *_, s in rows]
    assert scores == sorted(scores, reverse=True) and all(-1 <= s <= 1.0001 for s in scores)
    assert sum(cluster(item) == 0 for _, _, item, _ in rows) >= 4


def test_similar_items_file_and_unknown_item(tiny, tmp_path):
    _, ws = tiny
    f = tmp_path / "items.txt"
    f.write_text("100\n115\n\n")
    r = run(ws, "similar", "--items-file", str(f), "-k", "3")
    assert r.exit_code == 0, r.output
    assert len(r.stdout.strip().splitlines()) == 1 + 6
    r = run(ws, "similar", "999")
    assert r.exit_code == 1
    assert "item '999' is not in the model" in r.output


def test_similar_lsh_reports_recall(tiny):
    _, ws = tiny
    r = run(ws, "similar", "100", "120", "-k", "5", "--index", "lsh", "--tables", "8",
            "--bits", "4")
    assert r.exit_code == 0, r.output
    assert "recall@5" in r.output
    assert len([line for line in r.output.splitlines() if line.count("\t") == 3]) == 11


def test_user_vectors_parquet_and_recommend(tiny, tmp_path):
    log, ws = tiny
    out = tmp_path / "users.parquet"
    r = run(ws, "user-vectors", str(log), "-o", str(out), "--half-life", "7d")
    assert r.exit_code == 0, r.output
    table = pq.read_table(out)
    assert table.column_names[:2] == ["user_id", "vector"]
    assert table.schema.field("vector").type == pa.list_(pa.float32(), 16)
    assert table.num_rows == 60
    # user vector = decayed mean of centred unit item vectors: check one user by hand
    ids, vectors, has_vector, _ = pipeline.load_vectors(ws)
    unit = normalize(vectors[has_vector] - vectors[has_vector].mean(0))
    ids = ids[has_vector]
    import pandas as pd
    df = pd.read_csv(log)
    mine = df[df.user_id == "u0"]
    w = 0.5 ** ((mine.timestamp.max() - mine.timestamp) / (7 * 86400))
    pos = pd.Index(ids).get_indexer(mine.item_id)
    want = (unit[pos] * w.to_numpy()[:, None]).sum(0) / w.sum()
    got = np.asarray(table.column("vector")[table.column("user_id").to_pylist().index("u0")]
                     .as_py())
    assert np.allclose(got, want, atol=1e-5)

    r = run(ws, "recommend", "u0", "-k", "3", "--user-vectors", str(out))
    assert r.exit_code == 0, r.output
    rows = [line.split("\t") for line in r.output.strip().splitlines()[1:]]
    seen = set(mine.item_id.astype(str))
    assert len(rows) == 3 and not seen & {item for _, item, _ in rows}
    r = run(ws, "recommend", "u0", "-k", "3", "--user-vectors", str(out), "--keep-seen")
    assert r.exit_code == 0
    assert all(cluster(item) == 0 for _, item, _ in
               [line.split("\t") for line in r.output.strip().splitlines()[1:]])
    r = run(ws, "recommend", "nobody", "--user-vectors", str(out))
    assert r.exit_code == 1 and "user 'nobody' is not in" in r.output


def test_user_vectors_match_ids_as_build_graph_reads_them(tmp_path):
    # Item ids such as "007" look numeric; read as numbers they would be 7, no graph node.
    rng = np.random.default_rng(0)
    rows = ["user_id,item_id,timestamp"] + [
        f"{u},{rng.integers(1, 9):03d},{1_000_000 + 60 * j}" for u in range(20) for j in range(8)]
    log = tmp_path / "log.csv"
    log.write_text("\n".join(rows) + "\n")
    pipeline.run(log, workdir=tmp_path / "ws", **TINY)
    r = run(tmp_path / "ws", "user-vectors", str(log))
    assert r.exit_code == 0, r.output
    table = pq.read_table(tmp_path / "ws" / "user_vectors.parquet")
    assert table.num_rows == 20 and table.column("user_id").type == pa.int64()


def test_recommend_without_user_vectors_says_what_to_run(tiny, tmp_path):
    _, ws = tiny
    r = run(ws, "recommend", "u0", "--user-vectors", str(tmp_path / "none.parquet"))
    assert r.exit_code == 1 and "graphemb user-vectors" in r.output


def test_similar_hnsw_when_installed(tiny):
    pytest.importorskip("hnswlib")
    _, ws = tiny
    r = run(ws, "similar", "100", "-k", "5", "--index", "hnsw")
    assert r.exit_code == 0, r.output
    rows = [line.split("\t") for line in r.output.splitlines() if line.count("\t") == 3][1:]
    exact = run(ws, "similar", "100", "-k", "5")
    exact_rows = [line.split("\t") for line in exact.stdout.splitlines()[1:]]
    assert [x[2] for x in rows] == [x[2] for x in exact_rows]     # 30 items: hnsw is exact
    assert "recall@5 1.000" in r.output


def test_similar_min_count_names_and_option_ranges(tiny, tmp_path):
    log, ws = tiny
    graph, _ = pipeline.load_graph(ws)
    counts = dict(zip(graph.node_ids.astype(str), graph.node_counts))
    # Only items with at least --min-count events are neighbours; the query may be any item.
    cut = sorted(counts.values())[len(counts) // 2]
    r = run(ws, "similar", "100", "-k", "29", "--min-count", str(cut))
    assert r.exit_code == 0, r.output
    found = [line.split("\t")[2] for line in r.stdout.strip().splitlines()[1:]]
    assert found and all(counts[i] >= cut for i in found)
    assert len(found) == sum(c >= cut for i, c in counts.items() if i != "100")
    assert "items with >= " in r.stderr
    r = run(ws, "similar", "100", "-k", "29", "--min-count", "1")
    assert len(r.stdout.strip().splitlines()) == 1 + 29
    r = run(ws, "similar", "100", "--min-count", "100000")
    assert r.exit_code == 1 and "lower --min-count" in r.output
    # --names: an id,name table (id column guessed, name = first text column)
    names = tmp_path / "names.csv"
    names.write_text("item_id,year,title,genre\n"
                     + "".join(f"{i},2000,Item {i},g{i % 3}\n" for i in range(100, 130)))
    r = run(ws, "similar", "100", "-k", "3", "--names", str(names))
    assert r.exit_code == 0, r.output
    lines = r.stdout.strip().splitlines()
    assert lines[0] == "query\trank\titem\tscore\ttitle"
    assert all(row.split("\t")[4] == f"Item {row.split(chr(9))[2]}" for row in lines[1:])
    assert "# 100: Item 100" in r.stderr
    r = run(ws, "similar", "100", "-k", "3", "--names", str(names), "--name-col", "genre")
    assert r.stdout.splitlines()[0].endswith("\tgenre")
    # option ranges are checked before anything is read
    for args, word in [(["-k", "0"], "-k"), (["--min-count", "0"], "--min-count"),
                       (["--bits", "63"], "--bits"), (["--probes", "-1"], "--probes")]:
        r = run(ws, "similar", "100", *args)
        assert r.exit_code == 2 and word in r.output and "range" in r.output


# --- real data: MovieLens ml-latest-small (examples/movielens) ---------------------------------

MOVIELENS = __import__("pathlib").Path(__file__).parents[1] / "examples" / "movielens"
# Films a fan would accept as "like Toy Story": animated or family films.
FAMILY = {3114, 588, 364, 4886, 2355, 6377, 1907, 2081, 595, 34, 720, 1148, 2687, 2294, 4306,
          8961, 48, 1022, 1029, 2078, 2096, 60069, 68954, 78499}


def test_movielens_neighbours_a_film_fan_accepts(tmp_path):
    """Small, fixed-seed settings (one walk thread, one gensim worker: deterministic) and the
    default `similar --min-count`; before it existed, 260's list was mostly films with 1-2
    ratings."""
    ws = tmp_path / "ws"
    pipeline.run(MOVIELENS / "ratings.csv", workdir=ws, graph_options={"undirected": True},
                 walk_options={"p": 0.5, "q": 2, "num_walks": 4, "walk_length": 40, "seed": 1,
                               "workers": 1},
                 train_options={"dim": 32, "epochs": 2, "seed": 1, "workers": 1})
    r = run(ws, "similar", "260", "1", "--names", str(MOVIELENS / "movies.csv"))
    assert r.exit_code == 0, r.output
    rows = [line.split("\t") for line in r.stdout.strip().splitlines()[1:]]
    star_wars = {int(row[2]) for row in rows if row[0] == "260"}
    toy_story = {int(row[2]) for row in rows if row[0] == "1"}
    assert len(star_wars) == len(toy_story) == 10
    assert star_wars & {1196, 1210}, rows                 # Empire Strikes Back / Return of the Jedi
    assert len(toy_story & FAMILY) >= 2, rows
    assert "Star Wars: Episode" in r.stdout


def test_search_backends_share_one_protocol():
    """Every registered index answers fit/query alike: the exact one's answer is the truth,
    the query row is never returned, and an option a back-end does not take is refused."""
    from graphemb.search import INDEXES, make_index, search_eligible
    rng = np.random.default_rng(1)
    base = normalize(rng.standard_normal((400, 16)))
    eligible = np.ones(400, dtype=bool)
    eligible[::7] = False
    queries = np.arange(0, 400, 11)
    truth_idx, truth_val = exact_search(base[queries], base, 5, exclude=queries, valid=eligible)
    for name in INDEXES:
        if name == "hnsw" and _missing("hnswlib"):
            continue
        options = {"tables": 24, "bits": 6, "probes": 2} if name == "lsh" else {}
        index = make_index(name, **options)
        idx, val, info = search_eligible(index, base, eligible, queries, 5,
                                         truth=(truth_idx, truth_val, 1.0))
        assert not (idx == queries[:, None]).any()
        assert eligible[idx[idx >= 0]].all()
        assert info["recall_at_k"] >= (1.0 if name == "exact" else 0.8), name
    with pytest.raises(GraphembError, match="--bits"):
        make_index("exact", bits=8)
    choices = next(p for p in main.commands["similar"].params if p.name == "index").type.choices
    assert list(choices) == list(INDEXES)          # the CLI offers every registered back-end


def _missing(module):
    import importlib.util
    return importlib.util.find_spec(module) is None


def test_lsh_options_need_index_lsh(tiny):
    _, ws = tiny
    r = run(ws, "similar", "100", "--bits", "8")
    assert r.exit_code != 0 and "only apply with --index lsh" in r.output


# --- ItemVectors: the Python API over the same search -----------------------------------------

def test_item_vectors_load_once_and_answer_as_similar_does(tiny, monkeypatch):
    _, ws = tiny
    items = ItemVectors.load(ws)
    want = graphemb.similar(["100", "115"], workdir=ws, k=5)
    monkeypatch.setattr(ItemVectors, "load", lambda *a, **kw: pytest.fail("workspace reloaded"))
    got = graphemb.similar(["100", "115"], vectors=items, k=5)
    assert got["neighbors"] == want["neighbors"] and got["scores"] == want["scores"]
    assert items.most_similar(["100", "115"], 5, min_count=10) == [
        list(zip(ids, scores)) for ids, scores in zip(want["neighbors"], want["scores"])]
    # An approximate index is fitted once per object and settings, then reused.
    first = items.fitted_index("lsh", tables=8, bits=4)
    lists = items.most_similar(["100", 120], 3, index="lsh", tables=8, bits=4)
    assert items.fitted_index("lsh", tables=8, bits=4) is first
    assert len(lists) == 2 and all(cluster(i) == 2 for i, _ in lists[1])


def test_item_vectors_save_load_and_keyed_vectors(tiny, tmp_path):
    _, ws = tiny
    items = ItemVectors.load(ws)
    back = ItemVectors.load(items.save(tmp_path / "v.parquet"))
    assert list(back.ids) == list(items.ids) and np.array_equal(back.vectors, items.vectors)
    assert np.array_equal(back.counts, items.counts) and back.manifest == items.manifest
    assert back.most_similar("100", 5, min_count=10) == items.most_similar("100", 5, min_count=10)
    exported = ItemVectors.load(graphemb.export(tmp_path / "e.parquet", workdir=ws)["files"][0])
    assert np.array_equal(exported.vectors, items.vectors[items.has_vector])
    kv = items.to_keyed_vectors()
    assert kv.index_to_key == [str(i) for i in items.ids[items.has_vector]]
    np.testing.assert_array_equal(kv["100"], items.vectors[list(items.ids).index(100)])
    assert graphemb.load_vectors(ws)[0].tolist() == items.ids.tolist()


def test_a_search_backend_is_one_class(tiny):
    from graphemb.search import INDEXES, Index

    class BruteForce(Index):
        name = "brute-force-test"

        def fit(self, vectors):
            self.base = vectors
            return self

        def query(self, queries, k, exclude=None):
            s = queries @ self.base.T
            s[np.arange(len(s)), exclude] = -np.inf
            idx = np.argsort(-s, axis=1, kind="stable")[:, :k]
            return idx, np.take_along_axis(s, idx, 1), {}

    try:
        items = ItemVectors.load(tiny[1])
        found = items.most_similar("100", 5, index="brute-force-test")
        assert [i for i, _ in found] == [i for i, _ in items.most_similar("100", 5)]
        assert graphemb.similar(["100"], vectors=items, k=5, index="brute-force-test",
                                min_count=1)["recall_at_k"] == 1.0
    finally:
        del INDEXES["brute-force-test"]
