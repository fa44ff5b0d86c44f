"""Every option of every stage and verb: name, type, default, help, check, manifest key.

This module is the only place an option is declared. cli.py generates its click options from
the specs below (``@cli.options_for(VERB)``), the Python API checks its keyword arguments with
the same specs (``@checked(STAGE)`` on pipeline.walk, train, ...), and freshness.py and
evaluation/common.py take the manifest keys from here. So the CLI and the API refuse a bad
value with the same sentence ("Invalid value for '--p': 0.0 is not in the range ...").

To add an option (say ``build-graph --min-dwell 5s``):
  1. add one ``Opt(...)`` to its stage below (GRAPH), in the place it should have in --help:
       Opt("min_dwell", None, "Drop events followed within this time (s, m, h, d).",
           manifest="min_dwell"),
     -- the CLI spelling (--min-dwell) comes from the name; ``kind=int`` / ``float`` with
     ``min=`` / ``max=`` (``min_open=True`` for >), ``choices=(...)`` or ``kind=bool`` (a
     flag; ``off="--no-x"`` for a pair) give the check; ``manifest="key"`` says the stage
     records it in its manifest params under that key (`graphemb status` puts it into the
     rerun command, `evaluate` retrains with the recorded value);
  2. take the keyword in the API function (``min_dwell=GRAPH.defaults.min_dwell``; the
     function carries ``@checked(GRAPH)``) and, with a manifest key, write it into the params;
     every verb whose option list holds the stage (VERBS, at the end) shows it, and nothing in
     cli.py changes (its command passes the value on by name, ``**kw`` or ``STAGE.pick``).
tests/test_options.py fails if a CLI option is declared elsewhere, a manifest key is not
recorded, or the API's default is not the spec's.
A verb-only option goes into that verb's stage (SIMILAR, EXPORT...); a variant of an option
for one verb (other help, other default) is ``STAGE.option.but(help=...)``.

Checks that need the value's meaning (durations, event weights, --columns) stay with the code
that parses them; checks between options (--negative 0 needs --hs) stay with the stage.
"""
from __future__ import annotations

import dataclasses
import functools
import inspect
import math
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Callable

from .errors import GraphembError

_KINDS = (str, int, float, bool, "workers", "window", "file", "dir", "file-or-dash")


@dataclass(frozen=True)
class Opt:
    """One option: ``name`` is its Python keyword (``--`` + name with dashes on the CLI)."""

    name: str
    default: Any = None
    help: str | None = None
    kind: Any = str                 # one of _KINDS; "file"/"dir": a path, "workers": N | -1
    min: float | None = None        # range, for int and float
    max: float | None = None
    min_open: bool = False
    max_open: bool = False
    choices: tuple | Callable[[], tuple] | None = None    # a callable: a registry, read late
    flag: str | None = None         # CLI spelling; default "--" + name with dashes
    short: str | None = None        # "-o"
    off: str | None = None          # a flag pair's second spelling: "--cbow" for --sg
    dest: str | None = None         # the click parameter when it is not the name
    manifest: str | None = None     # its key in the stage's manifest params (None: unrecorded)
    show_default: bool | str | None = None   # None: when there is a default to show
    multiple: bool = False
    required: bool = False
    envvar: str | None = None
    cli: bool = True                # False: a keyword of the API only

    def __post_init__(self):
        assert self.kind in _KINDS, self.kind

    # --- names ---
    @property
    def cli_flag(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")

    @property
    def decls(self) -> list[str]:
        """The spellings as click declares them (and as its messages name them)."""
        return [self.cli_flag] + ([self.short] if self.short else [])

    @property
    def param(self) -> str:
        return self.dest or self.name

    def but(self, **changes) -> "Opt":
        """This option with other help, default, spelling... (a variant for one verb)."""
        return dataclasses.replace(self, **changes)

    def choice_list(self) -> tuple | None:
        return tuple(self.choices()) if callable(self.choices) else self.choices

    # --- the check, shared by the CLI (through its click type) and the API ---
    def range_text(self) -> str | None:
        """'x>=1', '1e-06<=x<=1000000.0' (as click writes a range)."""
        if self.min is None and self.max is None:
            return None
        lo, hi = self.min, self.max                 # as written here: 0, 1e-06, 1000000.0
        if self.min is None:
            return f"x{'<' if self.max_open else '<='}{hi}"
        if self.max is None:
            return f"x{'>' if self.min_open else '>='}{lo}"
        return f"{lo}{'<' if self.min_open else '<='}x{'<' if self.max_open else '<='}{hi}"

    def problem(self, value):
        """(converted value, None) or (None, what is wrong with it, in click's words); None
        stands for the default."""
        if value is None:
            return self.default, None
        kind = self.kind
        if self.multiple:
            if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
                return None, f"{value!r} is not a list of values."
            values = []
            for v in value:
                v, why = self.but(multiple=False).problem(v)
                if why:
                    return None, why
                values.append(v)
            return tuple(values), None
        if kind == bool:
            if value in (True, False) and not isinstance(value, str):
                return bool(value), None
            return None, f"{value!r} is not a valid boolean."
        if kind == "workers":
            if isinstance(value, bool):
                return None, f"{value!r} is not a whole number; give N >= 1, or -1 for all cores."
            try:
                n = int(value)
                if isinstance(value, float) and n != value:
                    raise ValueError
            except (TypeError, ValueError):
                return None, f"{value!r} is not a whole number; give N >= 1, or -1 for all cores."
            if n == -1:
                return None, None                       # all cores
            if n < 1:
                return None, f"{n} threads: give N >= 1, or -1 for all cores."
            return n, None
        if kind == "window":                            # N >= 1, or 'session' (item2vec)
            if value == "session":
                return value, None
            n, why = _number(value, int)
            if why or n < 1:
                return None, f"{value!r} is neither a whole number >= 1 nor 'session'."
            return n, None
        if kind in ("file", "dir", "file-or-dash"):
            return value, None                          # opened (and checked) where it is read
        if kind in (int, float):
            value, why = _number(value, kind)
            if why:
                return None, why
            if kind == float and value != value and self.range_text():
                return None, "nan is not a number in the range."
            if not self._in_range(value):
                return None, f"{value} is not in the range {self.range_text()}."
            return value, None
        choices = self.choice_list()
        if choices is not None and value not in choices:
            listed = ", ".join(map(repr, choices))
            return None, (f"{value!r} is not {listed}." if len(choices) == 1
                          else f"{value!r} is not one of {listed}.")
        return value, None

    def _in_range(self, v) -> bool:
        if self.min is not None and (v < self.min or self.min_open and v == self.min):
            return False
        if self.max is not None and (v > self.max or self.max_open and v == self.max):
            return False
        return True

    def check(self, value):
        """The value, converted (-1 workers: None); GraphembError naming the option if bad."""
        value, why = self.problem(value)
        if why:
            raise GraphembError(self.message(why))
        return value

    def message(self, why: str) -> str:
        """The sentence the CLI prints after 'Error: ' (click's 'Invalid value for ...')."""
        return f"Invalid value for {' / '.join(repr(d) for d in self.decls)}: {why}"


def _number(value, kind):
    name = "integer" if kind == int else "float"
    if isinstance(value, bool):
        return None, f"{value!r} is not a valid {name}."
    try:
        n = kind(value)
    except (TypeError, ValueError, OverflowError):
        return None, f"{value!r} is not a valid {name}."
    if kind == int and isinstance(value, float) and (not math.isfinite(value) or n != value):
        return None, f"{value!r} is not a valid integer."
    return n, None


class Stage:
    """The options of one stage or verb, in --help order; ``STAGE.name`` is an Opt."""

    def __init__(self, stage: str, *options: Opt):
        self.stage = stage
        self.options = tuple(options)
        self.by_name = {o.name: o for o in self.options}
        assert len(self.by_name) == len(self.options), f"{stage}: an option twice"
        clash = set(self.by_name) & set(dir(self))
        assert not clash, f"{stage}: option names {clash} shadow Stage attributes"
        self.defaults = SimpleNamespace(**{o.name: o.default for o in self.options})

    def __getattr__(self, name) -> Opt:
        try:
            return self.__dict__["by_name"][name]
        except KeyError:
            raise AttributeError(f"{self.__dict__.get('stage')} has no option {name!r}") from None

    def __iter__(self):
        return iter(self.options)

    def __contains__(self, name) -> bool:
        return name in self.by_name

    def without(self, *names) -> "Stage":
        return Stage(self.stage, *(o for o in self.options if o.name not in names))

    def but(self, name, **changes) -> "Stage":
        return Stage(self.stage, *(o.but(**changes) if o.name == name else o
                                   for o in self.options))

    def check(self, **values) -> dict:
        """The values with each of this stage's options checked (others pass through)."""
        return {k: self.by_name[k].check(v) if k in self.by_name else v
                for k, v in values.items()}

    def pick(self, kw: dict) -> dict:
        """This stage's values out of a click command's keyword arguments, by keyword name."""
        return {o.name: kw.pop(o.param) for o in self.options if o.cli and o.param in kw}

    @property
    def manifest_keys(self) -> dict:
        """option name -> its key in the stage's manifest params."""
        return {o.name: o.manifest for o in self.options if o.manifest}


def checked(*stages: Stage):
    """Check an API function's keyword arguments with the stages' options (as the CLI does)."""
    specs = {o.name: o for s in stages for o in s}

    def wrap(fn):
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def checked_call(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            for name, value in bound.arguments.items():
                if name in specs:
                    bound.arguments[name] = specs[name].check(value)
            return fn(*bound.args, **bound.kwargs)
        checked_call.stages = stages
        return checked_call
    return wrap


def _engines():
    from .ingest.sessions import ENGINES
    return ENGINES


def _formats():
    from .io.writers import FORMATS
    return FORMATS


def _indexes():
    from .search import INDEXES
    return tuple(INDEXES)


# --- The stages --------------------------------------------------------------------------------

GLOBAL = Stage(
    "graphemb",
    Opt("workdir", "graphemb-out", "Workspace folder (or GRAPHEMB_WORKDIR).", kind="dir",
        envvar="GRAPHEMB_WORKDIR"),
    Opt("quiet", False, "No progress bars or summaries.", kind=bool, short="-q"),
    Opt("verbose", False, "On an internal error, show the traceback (as GRAPHEMB_DEBUG=1).",
        kind=bool, short="-v"),
)
# -q and -v after a verb too (`graphemb walk -q`)
AFTER_VERB = Stage(
    "after the verb",
    GLOBAL.quiet.but(help="No progress bars or summaries (also before the command)."),
    GLOBAL.verbose.but(help="Traceback on an internal error (also before the command)."),
)

GRAPH = Stage(
    "build-graph",
    Opt("from_edges", None, "Read an edge list (src,dst[,weight]) instead of a log; lines "
        "starting with # or % are comments.", kind="file", manifest="edges"),
    Opt("user_col", None, "User column (default: guessed, e.g. user_id, userId)."),
    Opt("item_col", None, "Item column (default: guessed, e.g. item_id, movieId)."),
    Opt("time_col", None, "Time column: epoch seconds or ISO-8601 (default: guessed, e.g. "
        "timestamp)."),
    Opt("no_header", False, "The CSV/TSV has no header line: name its fields with --columns.",
        kind=bool),
    Opt("columns", None, "With --no-header: every field's name in order, e.g. "
        "user,item,category,behavior,ts.", manifest="columns"),
    Opt("time_unit", "auto", "Unit of numeric timestamps; auto: epoch s, ms, us or ns by "
        "magnitude (~1e9, 1e12, 1e15, 1e18 today).", choices=("auto", "s", "ms", "us", "ns"),
        manifest="time_unit_option"),
    Opt("weight_col", None, "Numeric event weight column (default: each event 1).",
        manifest="weight_col"),
    Opt("event_col", None, "Event type column; needs --event-weights.", manifest="event_col"),
    Opt("event_weights", None, "Weights per event type, e.g. view=1,cart=3,buy=5; other types "
        "are dropped.", manifest="event_weights"),
    Opt("session_gap", "30m", "Split a user's events where the gap exceeds this (s, m, h, d).",
        manifest="session_gap_seconds"),
    Opt("end_session_on", None, "Event types that close a session, e.g. buy or buy,booking: no "
        "edge leaves such an event, the next one starts a new session; needs --event-col.",
        manifest="end_session_on"),
    Opt("min_dwell", None, "Drop events whose dwell is shorter, e.g. 30s (before "
        "sessionizing; an empty dwell or a --end-session-on event is kept).",
        manifest="min_dwell_seconds"),
    Opt("dwell_col", None, "Dwell column in seconds, for --min-dwell (default: guessed: dwell, "
        "duration, dwell_time).", manifest="dwell_col"),
    Opt("undirected", False, "Undirected graph. A symmetric listing (every u v also listed as "
        "v u with the same weight) keeps its weights; otherwise both directions are summed. "
        "Self-loops keep their weight.", kind=bool, manifest="undirected"),
    Opt("min_item_count", 1, "Drop items with fewer events.", kind=int, min=1,
        manifest="min_item_count"),
    Opt("max_user_events", None, "Drop users with more events (bots, spam).", kind=int, min=1,
        manifest="max_user_events"),
    Opt("delimiter", None, "Field separator (default: by file name, comma or tab, unless the "
        "first line shows another: tab, ; or |)."),
    Opt("engine", "auto", "numpy: in memory; duckdb: out-of-core for logs larger than memory; "
        "spark: Apache Spark via pyspark; auto: duckdb above 2 GB.", choices=_engines,
        manifest="engine"),
    Opt("memory_limit", "8GB", "duckdb engine: memory to use before spilling to disk."),
)
GRAPH_VERB = Stage(
    "build-graph (verb only)",
    Opt("append", False, "Add this log's graph to the workspace's graph (weights summed, event "
        "counts summed, sessions kept) instead of replacing it.", kind=bool),
    Opt("decay", None, "With --append: multiply the old edge weights by this first, in (0, 1] "
        "(default 1).", kind=float, min=0, min_open=True, max=1, manifest="decay"),
)

WALK = Stage(
    "walk",
    Opt("num_walks", 10, "Walks started from each node.", kind=int, min=1,
        manifest="num_walks"),
    Opt("walk_length", 80, "Nodes per walk (at least 2: a pair to train on).", kind=int, min=2,
        manifest="walk_length"),
    # 1/p and 1/q finite, and the rejection sampler's acceptance ratio min(alpha)/max(alpha)
    # far from underflow, so the walks are exactly node2vec's.
    Opt("p", 1.0, "node2vec return parameter (1/p weights going back); 1e-6..1e6.", kind=float,
        min=1e-6, max=1e6, manifest="p"),
    Opt("q", 1.0, "node2vec in-out parameter (1/q weights moving away); 1e-6..1e6.",
        kind=float, min=1e-6, max=1e6, manifest="q"),
    Opt("seed", 0, "Walks are identical for the same seed, whatever --workers.", kind=int,
        manifest="seed"),
    Opt("workers", None, "Threads (default, or -1: all cores).", kind="workers",
        manifest="workers"),
)
WALK_VERB = Stage(
    "walk (verb only)",
    Opt("shard", None, "Walk only shard i of N (i/N, 1-based) into walks-shard-i-of-N/."),
)

TRAIN = Stage(
    "train",
    Opt("dim", 128, "Vector size.", kind=int, min=1, manifest="dim"),
    Opt("window", 5, "Context window; 'session' with --on sessions: every other item of the "
        "session (item2vec).", kind="window", manifest="window"),
    Opt("epochs", 5, None, kind=int, min=1, manifest="epochs"),
    Opt("negative", 5, "Negative samples per pair (0 with --hs).", kind=int, min=0,
        manifest="negative"),
    Opt("sg", True, "Skip-gram or CBOW.", kind=bool, off="--cbow", manifest="sg"),
    Opt("hs", False, "Hierarchical softmax.", kind=bool, manifest="hs"),
    # Caselles-Dupré et al. (2018) tune it over -1..1 for recommendation; 1: by frequency,
    # 0: uniform, < 0: rare nodes drawn more often.
    Opt("ns_exponent", 0.75, "Negative sampling: node counts raised to this power (1: by "
        "frequency, 0: uniform, < 0: rare nodes more).", kind=float, min=-1, max=1,
        manifest="ns_exponent"),
    Opt("sample", 1e-3, "Down-sampling threshold for frequent nodes (0 = off).", kind=float,
        min=0, manifest="sample"),
    Opt("min_count", 1, "Ignore nodes seen fewer times in the walks (gensim).", kind=int,
        min=1, manifest="min_count"),
    Opt("alpha", 0.025, "Initial learning rate.", kind=float, min=0, min_open=True,
        manifest="alpha", cli=False),
    Opt("workers", None, "Threads (default, or -1: all cores). Only 1 is deterministic in "
        "gensim.", kind="workers", manifest="workers"),
    Opt("seed", 0, None, kind=int, manifest="seed"),
    Opt("model", "skipgram", "skipgram: on walks or sessions; line1/line2: LINE first/second "
        "order on the graph's edges (no walks).", choices=("skipgram", "line1", "line2"),
        ),
    Opt("on", "walks", "Skip-gram's sentences: the walks, or the log's sessions as "
        "build-graph kept them (item2vec; no walk stage needed).", choices=("walks", "sessions")),
    Opt("samples_per_node", None, "LINE: edges sampled per node (default 1000).", kind=float,
        min=0, min_open=True, max=1e6),
    Opt("warm_start", False, "Start from the previous model (graphemb's trainer), carried over "
        "to a graph grown by build-graph --append.", kind=bool),
)
# `run` and `evaluate` take --seed and --workers once, for the walks and the training.
TRAIN_SHARED = TRAIN.without("workers", "seed", "model", "on", "samples_per_node", "warm_start")
TRAIN_VERB = Stage(
    "train (verb only)",
    Opt("walk_dirs", None, "Walk folder(s) to train on (repeat for shards); default: the "
        "workspace's.", kind="dir", flag="--walks", multiple=True),
)
SIDE = Stage(
    "train: side information (EGES)",
    Opt("side_info", None, "Item table (CSV/TSV/Parquet: item id + categorical columns): train "
        "EGES and give cold-start items (in the table, not the graph) vectors too.",
        kind="file"),
    Opt("side_cols", None, "Side-information columns, e.g. genre,year (default: every column "
        "whose values are shared by several items)."),
    # `run` spells it --side-item-col (its --item-col is the log's)
    Opt("item_col", None, "Item id column of --side-info (default: guessed, e.g. item_id, "
        "movieId).", dest="side_item_col"),
    Opt("fusion", "eges", "eges: learned per-item weights; ges: plain average.",
        choices=("eges", "ges")),
    Opt("multi_value", "whole", "A value like A|B: as one category (whole) or as A.",
        choices=("whole", "first")),
    Opt("side_update", "mean", "Step of a side-value embedding: divided by the number of "
        "items sharing the value (mean), by its square root, or not (sum, as in the EGES "
        "paper, where a popular category swamps the item ids).", choices=("mean", "sqrt", "sum")),
    Opt("attention_lr", 0.1, "EGES attention learning rate, as a multiple of --alpha's (0.1 "
        "measured better than 1 on MovieLens and Taobao).", kind=float, min=0, min_open=True),
    Opt("trainer", None, "Skip-gram on walks with gensim (default) or graphemb's Numba "
        "trainer; --side-info and --on sessions always use the latter.",
        choices=("gensim", "numba"), manifest="trainer"),
)
# How the input is read (recorded for `graphemb status`, not carried to a rebuilt graph).
GRAPH_INPUT = ("from_edges", "columns", "time_unit")
# Options of EGES alone: refused without --side-info (they would do nothing).
SIDE_ONLY = ("side_cols", "fusion", "multi_value", "side_update", "attention_lr", "item_col")

EXPORT = Stage(
    "export",
    Opt("format", None, "Default: from the file name (.parquet, .txt, .bin, .npy, .csv).",
        choices=_formats, dest="fmt"),
    Opt("what", "vectors", "Item vectors (EGES: with cold-start items, column cold_start), or "
        "an EGES model's side-information embeddings or attention weights.",
        choices=("vectors", "side-info", "attention")),
)
RUN = Stage(
    "run",
    Opt("output", None, "Export the vectors here as well.", kind="file", short="-o"),
)

_CENTER = Opt("center", True, "Subtract the mean item vector before cosine (removes the "
              "direction that rare items share).", kind=bool, off="--no-center")
_COLD = "cold-start items (EGES/GES side information, no events)"

# --min-count: neighbours need this many events (node table `count`) by default. Measured on
# MovieLens (450 films with >= 50 ratings, their 50 nearest neighbours, README "similar"):
# neighbours with 1 rating share genres with the query barely more than random films do
# (Jaccard 0.168 vs 0.144) yet make up 28% of the lists; agreement rises with the count (2:
# 0.189, 3-4: 0.230, 5-9: 0.262) and levels off from 10 on (10-19: 0.298, 20-49: 0.307).
SIMILAR = Stage(
    "similar",
    Opt("k", 10, "Neighbours per item.", kind=int, min=1, flag="-k"),
    Opt("items_file", None, "One item id per line (first column of a CSV).", kind="file"),
    Opt("min_count", 10, "Neighbours must have at least this many events (node table count): "
        "rarer items have noisy vectors. Queries can be any item.", kind=int, min=1),
    Opt("names", None, "Table of item names (e.g. movies.csv: movieId,title,...) to print "
        "beside the ids.", kind="file", dest="names_path"),
    Opt("name_col", None, "Name column of --names (default: its first text column)."),
    Opt("names_id_col", None, "Id column of --names (default: guessed, e.g. item_id, movieId, "
        "id)."),
    Opt("index", "exact", "Exact blocked search, a random-projection LSH index, or hnswlib "
        "(optional dependency); approximate ones report their recall against exact.",
        choices=_indexes),
    Opt("tables", 16, "LSH hash tables (OR: more finds more).", kind=int, min=1),
    Opt("bits", 12, "LSH bits per table (AND: more makes buckets smaller).", kind=int, min=1,
        max=62),
    Opt("probes", 0, "LSH multi-probe: also visit buckets one uncertain bit away.", kind=int,
        min=0),
    Opt("cold", False, f"Also return {_COLD} as neighbours, flagged in a cold_start column.",
        kind=bool),
    _CENTER,
)
LSH_ONLY = ("tables", "bits", "probes")

USER_VECTORS = Stage(
    "user-vectors",
    Opt("output", None, "Parquet file (default: WORKDIR/user_vectors.parquet).", kind="file",
        short="-o"),
    Opt("half_life", None, "Exponential time decay from the user's latest event, e.g. 7d."),
    GRAPH.user_col.but(help="User column (default: guessed)."),
    GRAPH.item_col.but(help="Item column (default: guessed)."),
    GRAPH.time_col.but(help="Time column (default: guessed)."),
    GRAPH.delimiter.but(help="Field separator (default: by file name)."),
    _CENTER,
)
RECOMMEND = Stage(
    "recommend",
    SIMILAR.k.but(help=None),
    Opt("user_vectors_path", None, "Default: WORKDIR/user_vectors.parquet.", kind="file",
        flag="--user-vectors"),
    Opt("logs", None, "Log of seen items (default: the one user-vectors read).", kind="file"),
    Opt("keep_seen", False, "Also rank items the user has seen.", kind=bool),
    SIMILAR.cold.but(help=f"Also rank {_COLD}, flagged in a cold_start column."),
)

# evaluate: walk and train options not given come from the workspace's manifests
EVAL_TRAINER = SIDE.trainer.but(default=None, help="Retrain with gensim or graphemb's Numba "
                                "skip-gram trainer (default: the workspace model's trainer, "
                                "else gensim).")


EVAL_PLOT = Opt("plot", None, "Also draw the results into this PNG (needs matplotlib: "
                "graphemb[plot]).", kind="file")

PLOT = Stage(
    "plot",
    Opt("method", "auto", "2-D projection: UMAP (umap-learn, graphemb[umap]), PCA, or auto: "
        "UMAP if installed, else PCA.", choices=("auto", "pca", "umap")),
    Opt("color_by", None, "Side-information column to colour by (first value of A|B); from "
        "--side, else the table the EGES/GES model was trained with."),
    Opt("side", None, "Table keyed by item id (CSV/TSV/Parquet) holding the --color-by column.",
        kind="file"),
    Opt("item_col", None, "Item id column of the --color-by table (default: guessed, e.g. "
        "item_id, movieId)."),
    Opt("top", 10, "The most common values get colours, the others grey.", kind=int, min=1,
        max=20),
    Opt("names", None, "Table of item names (e.g. movies.csv) for the HTML hover labels.",
        kind="file", dest="names_path"),
    Opt("name_col", None, "Name column of --names (default: its first text column)."),
    Opt("names_id_col", None, "Id column of --names (default: guessed)."),
    Opt("max_points", 20_000, "Plot at most this many items, a uniform random sample (--seed).",
        kind=int, min=2),
    Opt("min_count", 10, "Leave out items with fewer events (noisy vectors, as in similar); "
        "cold-start items stay.", kind=int, min=1),
    Opt("seed", 0, "Seed of the sample and of UMAP.", kind=int),
    Opt("size", "1200x900", "Picture size in pixels, WIDTHxHEIGHT (PNG exactly; the HTML's "
        "SVG)."),
)


def _eval_output(task):
    return Opt("output", None, f"JSON file (default: WORKDIR/eval/{task}.json).", kind="file",
               short="-o")


LINK_PREDICTION = Stage(
    "evaluate link-prediction",
    Opt("test_fraction", 1 / 3, "Share of the edges held out, never one of a random spanning "
        "forest (the residual graph keeps the full graph's connected components).", kind=float,
        min=0, max=1, min_open=True, max_open=True, show_default="1/3"),
    Opt("negatives", "uniform", "Test non-edges (not word2vec's --negative): endpoints drawn "
        "uniformly, or in proportion to their degree among the held-out edges (then "
        "popularity alone cannot tell them from the held-out edges).",
        choices=("uniform", "degree")),
)
NODE_CLASSIFICATION = Stage(
    "evaluate node-classification",
    Opt("labels", None, "node,label rows (comma, tab or space separated; several per node "
        "allowed), or a .mat file with `network` and `group` (the graph is then taken from "
        "the file).", kind="file", required=True),
    Opt("ratios", "0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9", "Train ratios, comma separated."),
    Opt("repeats", 10, "Random splits averaged per ratio.", kind=int, min=1),
)
NEXT_ITEM = Stage(
    "evaluate next-item",
    Opt("holdout", 1, "Last events held out per user.", kind=int, min=1),
    Opt("exclude_history", False, "Never rank items the user already had (for all methods).",
        kind=bool),
    _CENTER,
    USER_VECTORS.half_life.but(help="Time decay of the user vector, e.g. 7d (default: none)."),
)

# --- Which options each verb shows, in --help order ---------------------------------------------

_EVAL = (*WALK, *TRAIN_SHARED, EVAL_TRAINER)
VERBS: dict[str, tuple[Opt, ...]] = {
    "graphemb": (*GLOBAL,),              # before the verb
    "build-graph": (*GRAPH, *GRAPH_VERB),
    "walk": (*WALK, *WALK_VERB),
    "train": (*TRAIN, *TRAIN_VERB, *SIDE),
    "export": (*EXPORT,),
    "run": (*GRAPH, *WALK, *TRAIN_SHARED, *SIDE.but("item_col", flag="--side-item-col"), *RUN),
    "evaluate link-prediction": (*LINK_PREDICTION, *_EVAL, _eval_output("link-prediction"), EVAL_PLOT),
    "evaluate node-classification": (*NODE_CLASSIFICATION, *_EVAL,
                                     _eval_output("node-classification"), EVAL_PLOT),
    "evaluate next-item": (*NEXT_ITEM, *GRAPH.without("from_edges"), *_EVAL,
                           _eval_output("next-item"), EVAL_PLOT),
    "similar": (*SIMILAR,),
    "plot": (*PLOT,),
    "user-vectors": (*USER_VECTORS,),
    "recommend": (*RECOMMEND,),
    "status": (),
}
