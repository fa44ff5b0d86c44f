"""Are MovieLens neighbour lists ones a film fan accepts? Defaults study (issue 10, part 5).

Each setting runs build-graph, walk, train and similar through the Python API on the bundled
MovieLens log, then scores the neighbour lists of every film with >= 50 ratings (the queries):

- genre Jaccard: mean Jaccard of the query's and each top-10 neighbour's movies.csv genre sets;
- >=1 genre: share of neighbours sharing at least one genre with the query;
- log10 pop: mean log10(ratings) of the neighbours (popularity bias; the queries' own is
  printed under the table);
- year gap: mean |year difference| of query and neighbour (the rating-sitting cohort effect:
  early raters rated the then-current films together);
- family: over the animated/children's queries, the share of their neighbours that are
  animated/children's films too (Toy Story's count, over all such films);
- Toy Story: how many of film 1's top 10 have genre Animation or Children;
- SW: how many of Empire (1196) and Jedi (1210) are in Star Wars' (260) top 10;
- items: graph items with a vector (a filter that drops events can leave films without one).

Two reference rows need no embedding: item-kNN (cosine of the films' user sets, and of
the users' mean-centred ratings) and random eligible films; they show what the log itself
supports.

    python benchmarks/neighbours.py                       # the table (~15 min on 2 cores)
    python benchmarks/neighbours.py --only base,liked4    # some settings
    python benchmarks/neighbours.py --guards --seeds 3    # + next-item and link prediction

Results: benchmarks/results/neighbours.md.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RATINGS = ROOT / "examples" / "movielens" / "ratings.csv"
MOVIES = ROOT / "examples" / "movielens" / "movies.csv"
RESULTS = Path(__file__).parent / "results" / "neighbours.md"

import graphemb  # noqa: E402
from graphemb import evaluate  # noqa: E402

# "Liked" = rated 4 or more. Through --event-col/--event-weights, whose unlisted types are
# dropped: a rating filter without new code. Both spellings, as the column may be read as
# text ("4.0") or as a number cast to text ("4").
LIKED = ",".join(f"{r}=1" for r in ("4", "4.0", "4.5", "5", "5.0"))
LIKED35 = ",".join(f"{r}=1" for r in ("3.5", "4", "4.0", "4.5", "5", "5.0"))

BASE_WALK = {"p": 0.5, "q": 2.0}      # the README's headline walk
# --scale quick: a fifth of the walks and a small model (the size tests/test_defaults.py runs
# in under a minute); full: the stages' defaults, as the README's headline commands.
SCALES = {"full": ({}, {}),
          "quick": ({"num_walks": 4, "walk_length": 40}, {"dim": 32, "epochs": 2})}
# label -> (build-graph, walk, train, similar) options on top of the defaults
SETTINGS = {
    "base": ({}, {}, {}, {}),
    "undirected": ({"undirected": True}, {}, {}, {}),
    "gap1d": ({"session_gap": "1d"}, {}, {}, {}),
    "deepwalk": ({}, {"p": 1.0, "q": 1.0}, {}, {}),
    "q0.5": ({}, {"p": 1.0, "q": 0.5}, {}, {}),
    "window10": ({}, {}, {"window": 10}, {}),
    "sample1e-4": ({}, {}, {"sample": 1e-4}, {}),
    "sample1e-5": ({}, {}, {"sample": 1e-5}, {}),
    "ns0": ({}, {}, {"ns_exponent": 0.0}, {}),
    "ns0.5": ({}, {}, {"ns_exponent": 0.5}, {}),
    "ns0.25": ({}, {}, {"ns_exponent": 0.25}, {}),
    "ns1": ({}, {}, {"ns_exponent": 1.0}, {}),
    "ns-0.5": ({}, {}, {"ns_exponent": -0.5}, {}),
    "rating-weight": ({"weight_col": "rating"}, {}, {}, {}),
    "liked4": ({"event_col": "rating", "event_weights": LIKED}, {}, {}, {}),
    "liked3.5": ({"event_col": "rating", "event_weights": LIKED35}, {}, {}, {}),
    "liked4+undirected": ({"event_col": "rating", "event_weights": LIKED, "undirected": True},
                          {}, {}, {}),
    "liked4+window10": ({"event_col": "rating", "event_weights": LIKED}, {}, {"window": 10},
                        {}),
    "liked4+gap1m": ({"event_col": "rating", "event_weights": LIKED, "session_gap": "1m"},
                     {}, {}, {}),
    "liked4+deepwalk": ({"event_col": "rating", "event_weights": LIKED}, {"p": 1.0, "q": 1.0},
                        {}, {}),
    "liked4+ns0": ({"event_col": "rating", "event_weights": LIKED}, {}, {"ns_exponent": 0.0},
                   {}),
    "undirected+ns0": ({"undirected": True}, {}, {"ns_exponent": 0.0}, {}),
    "gap1m": ({"session_gap": "1m"}, {}, {}, {}),
    "mincount5-graph": ({"min_item_count": 5}, {}, {}, {}),
    "mincount20": ({}, {}, {}, {"min_count": 20}),
    "mincount50": ({}, {}, {}, {"min_count": 50}),
    "nocenter": ({}, {}, {}, {"center": False}),
}


# ------------------------------------------------------------------------- ground truth

class Films:
    """movies.csv genres and years, ratings per film, the queries."""

    def __init__(self, min_query_ratings: int = 50):
        ratings = pd.read_csv(RATINGS)
        movies = pd.read_csv(MOVIES).set_index("movieId")
        self.ratings = ratings
        self.count = ratings.movieId.value_counts()
        self.title = movies.title.to_dict()
        self.genres = {m: frozenset() if g == "(no genres listed)" else frozenset(g.split("|"))
                       for m, g in movies.genres.items()}
        self.year = {}
        for m, t in movies.title.items():
            y = re.search(r"\((\d{4})\)\s*$", str(t))
            self.year[m] = int(y.group(1)) if y else np.nan
        self.queries = sorted(int(m) for m in self.count[self.count >= min_query_ratings].index)

    def jaccard(self, a, b) -> float:
        A, B = self.genres[a], self.genres[b]
        return len(A & B) / len(A | B) if A | B else 0.0

    def score(self, neighbours: dict) -> dict:
        """Metrics of {query: [neighbour ids]} over self.queries."""
        jac, share, pop, gap = [], [], [], []
        for q in self.queries:
            for n in neighbours.get(q, []):
                jac.append(self.jaccard(q, n))
                share.append(bool(self.genres[q] & self.genres[n]))
                pop.append(np.log10(self.count[n]))
                gap.append(abs(self.year[q] - self.year[n]))
        family = {"Animation", "Children"}
        fam = [bool(self.genres[n] & family) for q in self.queries if self.genres[q] & family
               for n in neighbours.get(q, [])]
        return {"family": float(np.mean(fam)),"jaccard": float(np.mean(jac)), "share": float(np.mean(share)),
                "logpop": float(np.mean(pop)), "yeargap": float(np.nanmean(gap)),
                "toy_story": sum(bool(self.genres[n] & family) for n in neighbours[1]),
                "star_wars": sum(x in neighbours[260] for x in (1196, 1210)),
                "distinct": len({n for q in self.queries for n in neighbours.get(q, [])}),
                "lists": {str(q): [int(n) for n in neighbours[q]] for q in (1, 260)}}


# ------------------------------------------------------------------------- settings

def run_setting(label, films, root: Path, seed: int, trainer: str, workers: int,
                scale: str = "full") -> dict:
    graph_opts, walk_opts, train_opts, similar_opts = SETTINGS[label]
    walk_opts = {**SCALES[scale][0], **walk_opts}
    train_opts = {**SCALES[scale][1], **train_opts}
    ws = root / label.replace("/", "_")
    t0 = time.perf_counter()
    gm = graphemb.build_graph(RATINGS, workdir=ws, **graph_opts)
    graphemb.walk(workdir=ws, seed=seed, workers=workers, **{**BASE_WALK, **walk_opts})
    graphemb.train(workdir=ws, seed=seed, workers=workers, trainer=trainer, **train_opts)
    t1 = time.perf_counter()
    ids, _, has_vector, _ = graphemb.load_vectors(ws)
    known = {int(x) for x in np.asarray(ids)[has_vector]}
    queries = [q for q in films.queries if q in known]
    res = graphemb.similar([str(q) for q in queries], workdir=ws, k=10, **similar_opts)
    neighbours = {int(q): [int(n) for n in nb] for q, nb in zip(res["items"], res["neighbors"])}
    out = films.score(neighbours)
    out.update({"setting": label, "seed": seed, "trainer": trainer, "queries": len(queries),
                "items": int(has_vector.sum()), "edges": gm["counts"]["edges"],
                "seconds": t1 - t0})
    return out, ws


def guards(ws: Path, seed: int, trainer: str, workers: int) -> dict:
    """next-item HR@10 of 'similar to previous item' and link-prediction centred-cosine AUC
    (degree-matched negatives), each retraining with the workspace's recorded options."""
    walk_opts = {"seed": seed, "workers": workers}
    train_opts = {"seed": seed, "workers": workers, "trainer": trainer}
    ni = evaluate.next_item(RATINGS, workdir=ws, walk_options=walk_opts,
                            train_options=train_opts)
    lp = evaluate.link_prediction(workdir=ws, negatives="degree", seed=seed,
                                  walk_options=walk_opts, train_options=train_opts)
    return {"hr10": ni["metrics"]["graphemb: previous item"]["hit@10"],
            "mrr": ni["metrics"]["graphemb: previous item"]["mrr"],
            "auc": lp["auc"]["centred_cosine"]}


# ------------------------------------------------------------------------- references

def references(films) -> list[dict]:
    """Neighbour lists without any embedding: what the log's co-ratings give."""
    import scipy.sparse as sp

    r = films.ratings
    users = r.userId.astype("category").cat.codes.to_numpy()
    cat = r.movieId.astype("category")
    rows, items = cat.cat.codes.to_numpy(), np.asarray(cat.cat.categories)
    counts = films.count.reindex(items).to_numpy()
    eligible = counts >= 10                 # as similar --min-count 10
    pos = {int(m): k for k, m in enumerate(items)}
    shape = (len(items), users.max() + 1)

    def top10(sim):
        sim[:, ~eligible] = -np.inf
        out = {}
        for q in films.queries:
            s = sim[pos[q]].copy()
            s[pos[q]] = -np.inf
            out[q] = [int(items[j]) for j in np.argsort(-s, kind="stable")[:10]]
        return out

    def cosine(values):
        x = sp.csr_matrix((values, (rows, users)), shape=shape).astype(np.float64)
        norm = np.sqrt(np.asarray(x.multiply(x).sum(1)).ravel()) + 1e-12
        return (x @ x.T).toarray() / np.outer(norm, norm)

    dev = r.rating.to_numpy() - r.groupby("userId").rating.transform("mean").to_numpy()
    rng = np.random.default_rng(0)
    pool = items[eligible]
    out = []
    for label, neighbours in (
            ("ref: item-kNN, co-rating cosine", top10(cosine(np.ones(len(r))))),
            ("ref: item-kNN, centred-rating cosine", top10(cosine(dev))),
            ("ref: random films (>= 10 ratings)",
             {q: [int(x) for x in rng.choice(pool[pool != q], 10, replace=False)]
              for q in films.queries})):
        row = films.score(neighbours)
        row.update({"setting": label, "items": int(len(items)), "seconds": 0.0})
        out.append(row)
    return out


# ------------------------------------------------------------------------- table

def describe(label) -> str:
    base, _, scale = label.partition(" [")
    if base not in SETTINGS:
        return label
    g, w, t, s = SETTINGS[base]
    parts = []
    for k, v in {**g, **w, **t, **s}.items():
        if k == "event_weights":
            v = "rating>=4" if v == LIKED else "rating>=3.5" if v == LIKED35 else v
        parts.append(f"{k}={v}")
    return f"{label} ({', '.join(parts)})" if parts else f"{label} (the defaults of 38e38d6)"


def table(rows, films, with_guards: bool) -> str:
    def mean_sd(vals, fmt):
        vals = [v for v in vals if v is not None]
        if len(vals) == 1:
            return format(vals[0], fmt)
        return f"{format(np.mean(vals), fmt)} ± {format(np.std(vals, ddof=1), fmt)}"

    by = {}
    for r in rows:
        by.setdefault(r["setting"], []).append(r)
    head = ["setting", "seeds", "genre Jaccard", ">=1 genre", "log10 pop", "year gap",
            "family: anim./children", "Toy Story: anim./children", "SW: 1196+1210", "items"]
    if with_guards:
        head += ["next-item HR@10", "link AUC (degree)"]
    head += ["Toy Story's top 10 (first seed)"]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 2) + "---|"]
    for label, rs in by.items():
        cells = [describe(label), str(len(rs)) if "seed" in rs[0] else "–",
                 mean_sd([r["jaccard"] for r in rs], ".3f"),
                 mean_sd([r["share"] for r in rs], ".3f"),
                 mean_sd([r["logpop"] for r in rs], ".2f"),
                 mean_sd([r["yeargap"] for r in rs], ".1f"),
                 mean_sd([r["family"] for r in rs], ".3f") if "family" in rs[0] else "",
                 mean_sd([r["toy_story"] for r in rs], ".1f") if len(rs) > 1
                 else str(rs[0]["toy_story"]),
                 mean_sd([r["star_wars"] for r in rs], ".1f") if len(rs) > 1
                 else str(rs[0]["star_wars"]),
                 f"{rs[0]['items']:,}"]
        if with_guards:
            cells += [mean_sd([r.get("hr10") for r in rs], ".4f") if "hr10" in rs[0] else "",
                      mean_sd([r.get("auc") for r in rs], ".4f") if "auc" in rs[0] else ""]
        cells.append("; ".join(films.title[n] for n in rs[0]["lists"]["1"]))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", help="comma-separated setting labels (default: all)")
    ap.add_argument("--seeds", type=int, default=1, help="seeds 0..N-1 per setting")
    ap.add_argument("--trainer", default="gensim", choices=("gensim", "numba"))
    ap.add_argument("--workers", type=int, default=1,
                    help="threads; 1 makes gensim and numba deterministic per seed")
    ap.add_argument("--guards", action="store_true",
                    help="also evaluate next-item and link-prediction (retrains twice)")
    ap.add_argument("--scale", default="full", choices=tuple(SCALES),
                    help="full: the stages' defaults; quick: " + str(SCALES["quick"]))
    ap.add_argument("--seed0", type=int, default=0, help="first seed")
    ap.add_argument("--no-references", action="store_true")
    ap.add_argument("--table-from", nargs="+", metavar="JSONL",
                    help="no runs: tabulate the rows of these --jsonl files")
    ap.add_argument("--jsonl", help="append every result row to this file as it comes")
    ap.add_argument("--out", default=str(RESULTS))
    a = ap.parse_args()
    labels = a.only.split(",") if a.only else list(SETTINGS)
    unknown = [x for x in labels if x not in SETTINGS]
    if unknown:
        ap.error(f"unknown setting(s) {', '.join(unknown)}; choose from {', '.join(SETTINGS)}")
    films = Films()
    rows = [] if a.no_references else references(films)
    t0 = time.perf_counter()
    if a.table_from:
        runs = [json.loads(line) for f in a.table_from for line in open(f) if line.strip()]
        order = {lab: k for k, lab in enumerate(SETTINGS)}
        runs.sort(key=lambda r: (r.get("scale", "full"), order.get(r["setting"], 99), r["seed"]))
        rows += [dict(r, setting=f"{r['setting']} [{r.get('scale', 'full')}]") for r in runs]
        seeds = sorted({r["seed"] for r in runs})
        labels = []
    else:
        seeds = list(range(a.seed0, a.seed0 + a.seeds))
    with tempfile.TemporaryDirectory(prefix="neighbours-") as tmp:
        for label in labels:
            for seed in seeds:
                row, ws = run_setting(label, films, Path(tmp) / f"s{seed}", seed, a.trainer,
                                      a.workers, a.scale)
                row["scale"] = a.scale
                if a.guards:
                    row.update(guards(ws, seed, a.trainer, a.workers))
                rows.append(row)
                print(json.dumps({k: v for k, v in row.items()}), file=sys.stderr, flush=True)
                if a.jsonl:
                    with open(a.jsonl, "a") as fh:
                        fh.write(json.dumps(row) + "\n")
    q_pop = np.mean([np.log10(films.count[q]) for q in films.queries])
    text = "\n".join([
        f"MovieLens ml-latest-small, {len(films.queries)} query films (>= 50 ratings), top 10 "
        f"neighbours by `similar` (centred cosine, --min-count 10 unless the setting says); "
        f"walks p=0.5 q=2 unless the setting says; scale [full]: the stages' defaults (10 walks x "
        f"80, dim 128, 5 epochs), [quick]: {SCALES['quick']}; trainer {a.trainer}, "
        f"--workers {a.workers}, seeds {seeds[0]}..{seeds[-1]}; mean ± sd over seeds. "
        f"Queries' own mean log10 ratings: {q_pop:.2f}. {time.perf_counter() - t0:.0f} s.",
        "", table(rows, films, a.guards)])
    print(text)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
