"""The command line: a thin click skin over graphemb's Python API (same verbs)."""
from __future__ import annotations

import errno
import functools
import os
import signal
import sys

import click

from . import __version__, pipeline
from .errors import GraphembError
from .search import INDEXES
from .vectors import DEFAULT_MIN_COUNT as DEFAULT_SIMILAR_MIN_COUNT    # measured there



class _Workers(click.ParamType):
    """--workers: N >= 1 threads, or -1 for all cores (as in scikit-learn/joblib)."""

    name = "N|-1"

    def convert(self, value, param, ctx):
        if value is None or isinstance(value, int) and value >= 1:
            return value
        try:
            n = int(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a whole number; give N >= 1, or -1 for all cores.",
                      param, ctx)
        if n == -1:
            return None                      # all cores
        if n < 1:
            self.fail(f"{n} threads: give N >= 1, or -1 for all cores.", param, ctx)
        return n


WORKERS = _Workers()


class _Window(click.ParamType):
    """--window: N >= 1 positions, or 'session' (with --on sessions: the whole session)."""

    name = "N|session"

    def convert(self, value, param, ctx):
        if value == "session" or isinstance(value, int) and value >= 1:
            return value
        try:
            n = int(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is neither a whole number nor 'session'.", param, ctx)
        if n < 1:
            self.fail(f"{n} is not at least 1.", param, ctx)
        return n


WINDOW = _Window()
# p and q: 1/p and 1/q must be finite and the rejection sampler's acceptance ratio
# (min(alpha) / max(alpha)) stay far from underflow, so the walks are exactly node2vec's.
class _FiniteRange(click.FloatRange):
    """click.FloatRange lets NaN through (every comparison with it is false)."""

    def convert(self, value, param, ctx):
        value = super().convert(value, param, ctx)
        if value != value:
            self.fail("nan is not a number in the range.", param, ctx)
        return value


PQ_RANGE = _FiniteRange(1e-6, 1e6)


class _Group(click.Group):
    """Turns GraphembError (and a few others) into one line on stderr and exit status 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except GraphembError as exc:
            raise click.ClickException(str(exc)) from None
        except MemoryError:
            raise click.ClickException("out of memory; try a smaller batch, fewer walks or "
                                       "--min-item-count to shrink the graph.") from None
        except KeyboardInterrupt:
            click.echo("interrupted; earlier artifacts are unchanged.", err=True)
            raise click.exceptions.Exit(130) from None
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except OSError as exc:          # disk full, file too large, permission denied...
            if errno_of(exc) == errno.EPIPE:
                # The reader went away (`graphemb export - | head`): stop quietly, as cat
                # does; stdout goes to devnull so Python's own flush at exit stays silent.
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                raise click.exceptions.Exit(141) from None
            raise click.ClickException(os_error_line(exc)) from None
        except Exception as exc:
            if os.environ.get("GRAPHEMB_DEBUG"):
                raise
            raise click.ClickException(
                f"internal error ({type(exc).__name__}: {exc}); this is a bug in graphemb, "
                "please report it with GRAPHEMB_DEBUG=1 set to see the traceback.") from None


def errno_of(exc: OSError) -> int | None:
    """The errno of an OSError; pyarrow and others put "[Errno 28]" in the text only."""
    import re

    if exc.errno is not None:
        return exc.errno
    found = re.search(r"[Ee]rrno:? ?(\d+)", str(exc))
    return int(found.group(1)) if found else None


def os_error_line(exc: OSError) -> str:
    """'PATH: No space left on device (ENOSPC); earlier artifacts are unchanged.'"""
    import errno as errno_mod
    import re

    code = errno_of(exc)
    text = os.strerror(code) if code else (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    name = f" ({errno_mod.errorcode[code]})" if code in errno_mod.errorcode else ""
    paths = [p for p in (exc.filename, exc.filename2) if p is not None]
    where = " -> ".join(os.fsdecode(p) for p in paths) + ": " if paths else ""
    return f"{where}{text}{name}; earlier artifacts are unchanged."


def _say(ctx, text: str) -> None:
    if not ctx.obj["quiet"]:
        click.echo(text)


def _tsv(value) -> str:
    """A TSV field: backslash, tab and line breaks escaped (as PostgreSQL's text COPY does)."""
    return (str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r"))


def _table(rows) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"  {k:<{width}}  {v}" for k, v in rows)


@click.group(cls=_Group, epilog="""\b
Example:
  graphemb build-graph examples/movielens/ratings.csv
  graphemb walk --p 0.5 --q 2
  graphemb train
  graphemb export vectors.parquet
""")
@click.version_option(__version__, prog_name="graphemb")
@click.option("--workdir", envvar="GRAPHEMB_WORKDIR", default="graphemb-out", show_default=True,
              type=click.Path(file_okay=False), help="Workspace folder (or GRAPHEMB_WORKDIR).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars or summaries.")
@click.option("--verbose", "-v", is_flag=True,
              help="On an internal error, show the traceback (as GRAPHEMB_DEBUG=1).")
@click.pass_context
def main(ctx, workdir, quiet, verbose):
    """Item embeddings from behaviour logs: graph, random walks, word2vec, export."""
    import shlex

    from . import workspace

    ctx.ensure_object(dict)
    ctx.obj.update(workdir=workdir, quiet=quiet)
    if verbose:
        os.environ["GRAPHEMB_DEBUG"] = "1"
    if hasattr(signal, "SIGXFSZ"):
        # Over `ulimit -f` a write then fails with EFBIG (reported with its path) instead of
        # the signal killing the process with a core dump.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    # Named by the workspace lock to a second stage started meanwhile.
    workspace.COMMAND = "graphemb " + shlex.join(sys.argv[1:])


def graph_options(f, from_edges=True):
    """Log-reading options; from_edges=False for commands that need a behaviour log."""
    options = [
        click.option("--from-edges", type=click.Path(dir_okay=False),
                     help="Read an edge list (src,dst[,weight]) instead of a log; lines "
                          "starting with # or % are comments."),
        click.option("--user-col", help="User column (default: guessed, e.g. user_id, userId)."),
        click.option("--item-col", help="Item column (default: guessed, e.g. item_id, movieId)."),
        click.option("--time-col", help="Time column: epoch seconds or ISO-8601 (default: "
                                        "guessed, e.g. timestamp)."),
        click.option("--no-header", is_flag=True,
                     help="The CSV/TSV has no header line: name its fields with --columns."),
        click.option("--columns", help="With --no-header: every field's name in order, e.g. "
                                       "user,item,category,behavior,ts."),
        click.option("--time-unit", type=click.Choice(["auto", "s", "ms", "us", "ns"]),
                     default="auto", show_default=True,
                     help="Unit of numeric timestamps; auto: epoch s, ms, us or ns by "
                          "magnitude (~1e9, 1e12, 1e15, 1e18 today)."),
        click.option("--weight-col", help="Numeric event weight column (default: each event 1)."),
        click.option("--event-col", help="Event type column; needs --event-weights."),
        click.option("--event-weights", help="Weights per event type, e.g. view=1,cart=3,buy=5; "
                                             "other types are dropped."),
        click.option("--session-gap", default="30m", show_default=True,
                     help="Split a user's events where the gap exceeds this (s, m, h, d)."),
        click.option("--undirected", is_flag=True,
                     help="Undirected graph. A symmetric listing (every u v also listed as v u "
                          "with the same weight) keeps its weights; otherwise both directions "
                          "are summed. Self-loops keep their weight."),
        click.option("--min-item-count", default=1, show_default=True,
                     type=click.IntRange(min=1),
                     help="Drop items with fewer events."),
        click.option("--max-user-events", type=click.IntRange(min=1),
                     help="Drop users with more events (bots, spam)."),
        click.option("--delimiter", help="Field separator (default: by file name, comma or tab, "
                                         "unless the first line shows another: tab, ; or |)."),
        click.option("--engine", type=click.Choice(pipeline.ENGINES), default="auto",
                     show_default=True,
                     help="numpy: in memory; duckdb: out-of-core for logs larger than memory; "
                          "spark: Apache Spark via pyspark; auto: duckdb above 2 GB."),
        click.option("--memory-limit", default="8GB", show_default=True,
                     help="duckdb engine: memory to use before spilling to disk."),
    ]
    if not from_edges:
        options = options[1:]
    for option in reversed(options):
        f = option(f)
    return f


def _graph_kwargs(kw):
    keys = ("from_edges", "no_header", "columns", "user_col", "item_col", "time_col",
            "time_unit", "weight_col",
            "event_col",
            "event_weights", "session_gap", "undirected", "min_item_count", "max_user_events",
            "delimiter", "engine", "memory_limit")
    return {k: kw.pop(k, None) for k in keys}


def walk_options(f):
    options = [
        click.option("--num-walks", default=10, show_default=True,
                     type=click.IntRange(min=1), help="Walks started from each node."),
        click.option("--walk-length", default=80, show_default=True,
                     type=click.IntRange(min=2),
                     help="Nodes per walk (at least 2: a pair to train on)."),
        click.option("--p", "p", default=1.0, show_default=True, type=PQ_RANGE,
                     help="node2vec return parameter (1/p weights going back); 1e-6..1e6."),
        click.option("--q", "q", default=1.0, show_default=True, type=PQ_RANGE,
                     help="node2vec in-out parameter (1/q weights moving away); 1e-6..1e6."),
        click.option("--seed", "seed", default=0, show_default=True, type=int,
                     help="Walks are identical for the same seed, whatever --workers."),
        click.option("--workers", type=WORKERS,
                     help="Threads (default, or -1: all cores)."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _walk_kwargs(kw):
    return {k: kw.pop(k) for k in ("num_walks", "walk_length", "p", "q", "seed", "workers")}


def train_options(f, shared_seed=False):
    """Training options; with shared_seed (for `run`), --seed and --workers come from walk."""
    options = [
        click.option("--dim", default=128, show_default=True, type=click.IntRange(min=1),
                     help="Vector size."),
        click.option("--window", default=5, show_default=True, type=WINDOW,
                     help="Context window; 'session' with --on sessions: every other item of "
                          "the session (item2vec)."),
        click.option("--epochs", default=5, show_default=True, type=click.IntRange(min=1)),
        click.option("--negative", default=5, show_default=True, type=click.IntRange(min=0),
                     help="Negative samples per pair (0 with --hs)."),
        click.option("--sg/--cbow", default=True, show_default=True,
                     help="Skip-gram or CBOW."),
        click.option("--hs", is_flag=True, help="Hierarchical softmax."),
        click.option("--ns-exponent", default=0.75, show_default=True, type=float),
        click.option("--sample", default=1e-3, show_default=True, type=click.FloatRange(min=0),
                     help="Down-sampling threshold for frequent nodes (0 = off)."),
        click.option("--min-count", default=1, show_default=True, type=click.IntRange(min=1),
                     help="Ignore nodes seen fewer times in the walks (gensim)."),
    ]
    if not shared_seed:
        options += [
            click.option("--workers", "train_workers", type=WORKERS,
                         help="Threads (default, or -1: all cores). Only 1 is deterministic "
                              "in gensim."),
            click.option("--seed", "train_seed", default=0, show_default=True, type=int),
        ]
    for option in reversed(options):
        f = option(f)
    return f


def _train_kwargs(kw, seed=None, workers=None):
    out = {k: kw.pop(k) for k in ("dim", "window", "epochs", "negative", "sg", "hs",
                                  "ns_exponent", "sample", "min_count")}
    out["workers"] = kw.pop("train_workers", workers)
    out["seed"] = kw.pop("train_seed", seed)
    return out


def side_info_options(f, item_flag="--item-col"):
    """EGES options; `run` names the id column --side-item-col (--item-col is the log's)."""
    options = [
        click.option("--side-info", type=click.Path(dir_okay=False),
                     help="Item table (CSV/TSV/Parquet: item id + categorical columns): train "
                          "EGES and give cold-start items (in the table, not the graph) "
                          "vectors too."),
        click.option("--side-cols", help="Side-information columns, e.g. genre,year (default: "
                                         "every column whose values are shared by several "
                                         "items)."),
        click.option(item_flag, "side_item_col",
                     help="Item id column of --side-info (default: guessed, e.g. item_id, "
                          "movieId)."),
        click.option("--fusion", type=click.Choice(["eges", "ges"]), default="eges",
                     show_default=True, help="eges: learned per-item weights; ges: plain "
                                             "average."),
        click.option("--multi-value", type=click.Choice(["whole", "first"]), default="whole",
                     show_default=True, help="A value like A|B: as one category (whole) or "
                                             "as A."),
        click.option("--side-update", type=click.Choice(["mean", "sqrt", "sum"]), default="mean",
                     show_default=True,
                     help="Step of a side-value embedding: divided by the number of items "
                          "sharing the value (mean), by its square root, or not (sum, as in "
                          "the EGES paper, where a popular category swamps the item ids)."),
        click.option("--attention-lr", type=click.FloatRange(min=0, min_open=True),
                     default=0.1, show_default=True,
                     help="EGES attention learning rate, as a multiple of --alpha's (0.1 "
                          "measured better than 1 on MovieLens and Taobao)."),
        click.option("--trainer", type=click.Choice(["gensim", "numba"]), default=None,
                     help="Skip-gram on walks with gensim (default) or graphemb's Numba "
                          "trainer; --side-info and --on sessions always use the latter."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def model_options(f):
    """What to train: skip-gram on walks or sessions (item2vec), or LINE on the edges."""
    options = [
        click.option("--model", type=click.Choice(["skipgram", "line1", "line2"]),
                     default="skipgram", show_default=True,
                     help="skipgram: on walks or sessions; line1/line2: LINE first/second "
                          "order on the graph's edges (no walks)."),
        click.option("--on", "on", type=click.Choice(["walks", "sessions"]), default="walks",
                     show_default=True,
                     help="Skip-gram's sentences: the walks, or the log's sessions as "
                          "build-graph kept them (item2vec; no walk stage needed)."),
        click.option("--samples-per-node", type=click.FloatRange(min=0, min_open=True),
                     help="LINE: edges sampled per node (default 1000)."),
        click.option("--warm-start", is_flag=True,
                     help="Start from the previous model (graphemb's trainer), carried over "
                          "to a graph grown by build-graph --append."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _model_kwargs(kw):
    return {k: kw.pop(k) for k in ("model", "on", "samples_per_node", "warm_start")}


def _side_kwargs(kw, ctx=None):
    out = {k: kw.pop(k) for k in ("side_info", "side_cols", "fusion", "multi_value", "trainer",
                                  "side_update", "attention_lr")}
    out["item_col"] = kw.pop("side_item_col")
    if ctx is not None and out["side_info"] is None:
        # Options of EGES alone would do nothing without its table: refuse them.
        idle = [ctx.command.params[[p.name for p in ctx.command.params].index(k)].opts[0]
                for k in ("side_cols", "fusion", "multi_value", "side_update", "attention_lr",
                          "side_item_col") if _given(ctx, {k: None})]
        if idle:
            raise click.UsageError(f"{', '.join(idle)} only apply with --side-info (EGES); "
                                   "add the item table or drop them.")
    return out


@main.command("build-graph", epilog="""\b
Examples:
  graphemb build-graph logs.csv
  graphemb build-graph logs.parquet --user-col uid --item-col sku --time-col ts --session-gap 1h
  graphemb build-graph --from-edges edges.csv --undirected
  graphemb build-graph today.csv --append --decay 0.9   # add a day to the graph so far
""")
@click.argument("logs", required=False, type=click.Path(dir_okay=False))
@graph_options
@click.option("--append", is_flag=True,
              help="Add this log's graph to the workspace's graph (weights summed, event "
                   "counts summed, sessions kept) instead of replacing it.")
@click.option("--decay", type=float,
              help="With --append: multiply the old edge weights by this first, in (0, 1] "
                   "(default 1).")
@click.pass_context
def build_graph_cmd(ctx, logs, append, decay, **kw):
    """Build the weighted item graph from a behaviour log (CSV, TSV or Parquet, optionally .gz)."""
    m = pipeline.build_graph(logs, workdir=ctx.obj["workdir"], quiet=ctx.obj["quiet"],
                             append=append, decay=decay, **_graph_kwargs(kw))
    c = m["counts"]
    _say(ctx, _table([(k.replace("_", " "), f"{v:,}") for k, v in c.items()]))
    if m["params"].get("time_unit"):
        from .ingest.times import TIME_UNIT_NAMES
        how = ("detected from their magnitude; --time-unit to override"
               if m["params"].get("time_unit_option", "auto") == "auto" else "--time-unit")
        _say(ctx, f"timestamps read as {TIME_UNIT_NAMES[m['params']['time_unit']]} ({how})")
    if "symmetric_input" in m["params"]:
        from .graph import undirected_rule
        _say(ctx, f"undirected: {undirected_rule(m['params']['symmetric_input'])}")
    _say(ctx, f"wrote {ctx.obj['workdir']}/graph/")


@main.command("walk", epilog="""\b
Examples:
  graphemb walk                      # weighted DeepWalk
  graphemb walk --p 0.5 --q 2        # node2vec
  graphemb walk --shard 2/4          # the 2nd quarter of the walks (for N machines)
""")
@walk_options
@click.option("--shard", help="Walk only shard i of N (i/N, 1-based) into walks-shard-i-of-N/.")
@click.pass_context
def walk_cmd(ctx, shard, **kw):
    """Random walks on the graph: DeepWalk (p = q = 1) or node2vec."""
    m = pipeline.walk(workdir=ctx.obj["workdir"], quiet=ctx.obj["quiet"], shard=shard,
                      **_walk_kwargs(kw))
    c, t = m["counts"], m["timings"]
    folder = "walks" if not shard else "walks-shard-{}-of-{}".format(*m["params"]["shard"])
    _say(ctx, f"{c['walks']:,} walks, {c['steps']:,} steps in {t['walk_seconds']:.2f}s "
              f"({t['steps_per_second'] / 1e6:.2f} M steps/s); wrote "
              f"{ctx.obj['workdir']}/{folder}/")


@main.command("train", epilog="""\b
Examples:
  graphemb train
  graphemb train --dim 64 --window 10 --epochs 3
  graphemb train --walks a/walks-shard-1-of-2 --walks b/walks-shard-2-of-2
  graphemb train --side-info movies.csv --side-cols genres --multi-value first   # EGES
  graphemb train --side-info items.parquet --fusion ges
  graphemb train --trainer numba         # plain skip-gram, graphemb's own trainer
  graphemb train --on sessions --window session   # item2vec on the log's sessions
  graphemb train --model line2 --samples-per-node 2000   # LINE, second order
""")
@train_options
@click.option("--walks", "walk_dirs", multiple=True, type=click.Path(file_okay=False),
              help="Walk folder(s) to train on (repeat for shards); default: the workspace's.")
@side_info_options
@model_options
@click.pass_context
def train_cmd(ctx, walk_dirs, **kw):
    """Train word2vec on the walks (EGES/GES with --side-info, item2vec with --on sessions,
    LINE with --model line1|line2)."""
    model = _model_kwargs(kw)
    if model["model"] != "skipgram":
        # The API sees only values; here a LINE run also refuses a typed default (--window 5).
        idle = [o for o, k in (("--window", "window"), ("--epochs", "epochs"),
                               ("--sample", "sample")) if _given(ctx, {k: None})]
        if idle:
            raise pipeline.not_for_line(idle)
    m = pipeline.train(workdir=ctx.obj["workdir"], quiet=ctx.obj["quiet"],
                       walk_dirs=walk_dirs or None, **_side_kwargs(kw, ctx),
                       **_train_kwargs(kw), **model)
    _say_trained(ctx, m)


def _say_trained(ctx, m):
    c = m["counts"]
    _say(ctx, f"{c['vectors']:,} vectors of dim {m['params']['dim']} in "
              f"{m['timings']['total_seconds']:.1f}s; wrote {ctx.obj['workdir']}/model/")
    if "cold_start_items" in c:
        _say(ctx, f"{m['params']['method'].upper()} on {', '.join(m['params']['side_cols'])}: "
                  f"{c['side_info_items_in_graph']:,} items of the table in the graph, "
                  f"{c['cold_start_items']:,} cold-start items, "
                  f"{c['graph_items_without_side_info']:,} graph items without side information")


@main.command("export", epilog="""\b
Examples:
  graphemb export vectors.parquet
  graphemb export vectors.txt            # word2vec text, loads with gensim KeyedVectors
  graphemb export vectors.bin --format word2vec-binary
  graphemb export side.parquet --what side-info     # EGES: per column and value
  graphemb export attention.csv --what attention    # EGES: weights per item
  graphemb export - --format word2vec | head        # to stdout
""")
@click.argument("output", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--format", "fmt", type=click.Choice(pipeline.FORMATS),
              help="Default: from the file name (.parquet, .txt, .bin, .npy, .csv).")
@click.option("--what", type=click.Choice(["vectors", "side-info", "attention"]),
              default="vectors", show_default=True,
              help="Item vectors (EGES: with cold-start items, column cold_start), or an EGES "
                   "model's side-information embeddings or attention weights.")
@click.pass_context
def export_cmd(ctx, output, fmt, what):
    """Write the item vectors (item_id, vector) to a file, or to stdout with - (CSV unless
    --format says; word2vec text with --format word2vec). Onto a symlink, the link's target is
    written; a device or FIFO is written into."""
    r = pipeline.export(output, workdir=ctx.obj["workdir"], format=fmt, what=what)
    to = "stdout" if output == "-" else ", ".join(r["files"])
    if ctx.obj["quiet"]:
        return
    if what == "attention":
        text = f"wrote attention weights of {r['rows']:,} items to {to}"
    else:
        text = f"wrote {r['rows']:,} vectors of dim {r['dim']} to {to}"
    click.echo(text, err=output == "-")      # stdout holds the vectors


@main.command("run", epilog="""\b
Example:
  graphemb run examples/movielens/ratings.csv --p 0.5 --q 2 --output vectors.parquet
  graphemb run ratings.csv --side-info movies.csv --side-cols genres --multi-value first -o v.parquet
""")
@click.argument("logs", required=False, type=click.Path(dir_okay=False))
@graph_options
@walk_options
@functools.partial(train_options, shared_seed=True)
@functools.partial(side_info_options, item_flag="--side-item-col")
@click.option("--output", "-o", type=click.Path(dir_okay=False),
              help="Export the vectors here as well.")
@click.pass_context
def run_cmd(ctx, logs, output, **kw):
    """Run build-graph, walk, train (and export) with one set of options (LOGS, or an edge
    list with --from-edges)."""
    side = _side_kwargs(kw, ctx)
    g, w = _graph_kwargs(kw), _walk_kwargs(kw)
    t = {**_train_kwargs(kw, seed=w["seed"], workers=w["workers"]), **side}
    r = pipeline.run(logs, output, workdir=ctx.obj["workdir"], graph_options=g, walk_options=w,
                     train_options=t, quiet=ctx.obj["quiet"])
    c = r["graph"]["counts"]
    read = (f"{c['events_read']:,} events" if "events_read" in c
            else f"{c['edges_read']:,} listed edges")
    _say(ctx, f"graph: {c['nodes']:,} nodes, {c['edges']:,} edges from {read}")
    _say(ctx, f"walks: {r['walks']['counts']['walks']:,}")
    _say_trained(ctx, r["model"])
    if output:
        _say(ctx, f"wrote {output}")


# --- Using the vectors: evaluate, similar, user-vectors, recommend -----------------------------

def _given(ctx, values: dict) -> dict:
    """Only the options typed on the command line (the rest come from the workspace)."""
    from click.core import ParameterSource

    defaults = (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP, None)
    return {k: v for k, v in values.items() if ctx.get_parameter_source(k) not in defaults}


def _trainer_option(f):
    """--trainer for the evaluate commands that retrain (default: as the workspace model)."""
    return click.option("--trainer", type=click.Choice(["gensim", "numba"]), default=None,
                        help="Retrain with gensim or graphemb's Numba skip-gram trainer "
                             "(default: the workspace model's trainer, else gensim).")(f)


def _options_given(ctx, kw):
    trainer = kw.pop("trainer", None)
    w = _walk_kwargs(kw)
    t = _train_kwargs(kw, seed=w["seed"], workers=w["workers"])
    t_src = {k: v for k, v in t.items() if k not in ("seed", "workers")}
    t_given = _given(ctx, t_src)
    w_given = _given(ctx, w)
    for k in ("seed", "workers"):
        if k in w_given:
            t_given[k] = w_given[k]
    if trainer is not None:
        t_given["trainer"] = trainer
    return w_given, t_given


def _eval_output(ctx, task, output, result):
    from .workspace import write_json
    from .workspace import Workspace

    path = output or Workspace(ctx.obj["workdir"]).root / "eval" / f"{task}.json"
    write_json(path, result)
    _say(ctx, f"wrote {path}")


@main.group("evaluate", cls=_Group, epilog="""\b
Examples:
  graphemb evaluate link-prediction
  graphemb evaluate node-classification --labels labels.csv
  graphemb --workdir ppi evaluate node-classification --labels Homo_sapiens.mat --p 4 --q 1
  graphemb evaluate next-item examples/movielens/ratings.csv
""")
@click.pass_context
def evaluate_group(ctx):
    """Measure the vectors: link prediction, node classification, next-item recall.

    Walk and train options not given are taken from the workspace (walks/ and model/
    manifests), else the defaults. Results are printed and written as JSON to
    WORKDIR/eval/TASK.json.
    """
    from .workspace import locked

    if not ctx.resilient_parsing:       # (shell completion)
        ctx.with_resource(locked(ctx.obj["workdir"], "evaluate"))


@evaluate_group.command("link-prediction", epilog="""\b
Examples:
  graphemb evaluate link-prediction
  graphemb evaluate link-prediction --negatives degree --trainer numba
""")
@click.option("--test-fraction", default=1 / 3, show_default="1/3",
              type=click.FloatRange(0, 1, min_open=True, max_open=True),
              help="Share of the edges held out, never one of a random spanning forest (the "
                   "residual graph keeps the full graph's connected components).")
@click.option("--negatives", type=click.Choice(["uniform", "degree"]), default="uniform",
              show_default=True,
              help="Test non-edges (not word2vec's --negative): endpoints drawn uniformly, "
                   "or in proportion to their degree among the held-out edges (then "
                   "popularity alone cannot tell them from the held-out edges).")
@walk_options
@functools.partial(train_options, shared_seed=True)
@_trainer_option
@click.option("--output", "-o", type=click.Path(dir_okay=False),
              help="JSON file (default: WORKDIR/eval/link-prediction.json).")
@click.pass_context
def evaluate_link_prediction_cmd(ctx, test_fraction, negatives, output, **kw):
    """Hold out edges (node2vec protocol), retrain on the residual graph, and report the AUC
    of embedding scorers (centred cosine, dot, Hadamard + logistic regression) and graph
    baselines (popularity, common neighbours, Adamic-Adar) on the same held-out pairs.

    The held-out edges and as many non-edges are split in two halves: the logistic
    regression is fitted on one, and every scorer is measured on the other.
    """
    from . import evaluate

    w, t = _options_given(ctx, kw)
    r = evaluate.link_prediction(workdir=ctx.obj["workdir"], test_fraction=test_fraction,
                                 negatives=negatives, seed=w.get("seed", 0), walk_options=w,
                                 train_options=t, quiet=ctx.obj["quiet"])
    c = r["counts"]
    click.echo(f"link prediction: {c['held_out_edges']:,} of {c['undirected_edges']:,} edges "
               f"held out and as many {negatives} non-edges; AUC on {c['test_edges']:,} + "
               f"{c['test_non_edges']:,} of them (the rest fit the logistic regression)")
    if c["held_out_edges"] < c["held_out_requested"]:
        click.echo(f"note: only {c['held_out_edges']:,} edges lie outside a spanning forest, "
                   f"fewer than the {c['held_out_requested']:,} asked for")
    click.echo(evaluate.link_prediction_table(r))
    _eval_output(ctx, "link-prediction", output, r)


@evaluate_group.command("node-classification")
@click.option("--labels", required=True, type=click.Path(dir_okay=False),
              help="node,label rows (comma, tab or space separated; several per node "
                   "allowed), or a .mat file with `network` and `group` (the graph is then "
                   "taken from the file).")
@click.option("--ratios", default="0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9", show_default=True,
              help="Train ratios, comma separated.")
@click.option("--repeats", default=10, show_default=True, type=int,
              help="Random splits averaged per ratio.")
@walk_options
@functools.partial(train_options, shared_seed=True)
@_trainer_option
@click.option("--output", "-o", type=click.Path(dir_okay=False),
              help="JSON file (default: WORKDIR/eval/node-classification.json).")
@click.pass_context
def evaluate_node_classification_cmd(ctx, labels, ratios, repeats, output, **kw):
    """One-vs-rest logistic regression on the vectors; Micro/Macro-F1 per train ratio."""
    from . import evaluate

    try:
        ratio_list = [float(x) for x in ratios.split(",") if x.strip()]
    except ValueError:
        raise click.BadParameter("write ratios like 0.1,0.5,0.9", param_hint="--ratios") \
            from None
    if not ratio_list or not all(0 < x < 1 for x in ratio_list):
        raise click.BadParameter("each ratio must be between 0 and 1", param_hint="--ratios")
    if repeats < 1:
        raise click.BadParameter("must be at least 1", param_hint="--repeats")
    w, t = _options_given(ctx, kw)
    if not str(labels).lower().endswith(".mat") and (w or t):
        given = sorted({f"--{k.replace('_', '-')}" for k in (*w, *t)})
        raise click.UsageError(
            f"{', '.join(given)}: node-classification with a label file classifies the "
            "workspace's trained vectors and would ignore walk and train options; run "
            "`graphemb walk`/`graphemb train` with them first (only a .mat file is retrained).")
    r = evaluate.node_classification(labels, workdir=ctx.obj["workdir"], ratios=ratio_list,
                                     repeats=repeats, seed=w.get("seed", 0), walk_options=w,
                                     train_options=t, quiet=ctx.obj["quiet"])
    c = r["counts"]
    click.echo(f"node classification: {c['labelled_nodes']:,} nodes, {c['labels']} labels, "
               f"{repeats} splits per ratio")
    click.echo(evaluate.node_classification_table(r))
    _eval_output(ctx, "node-classification", output, r)


@evaluate_group.command("next-item")
@click.argument("logs", required=False, type=click.Path(dir_okay=False))
@click.option("--holdout", default=1, show_default=True, type=int,
              help="Last events held out per user.")
@click.option("--exclude-history", is_flag=True,
              help="Never rank items the user already had (for all methods).")
@click.option("--center/--no-center", default=True, show_default=True,
              help="Subtract the mean item vector before cosine (removes the direction that "
                   "rare items share).")
@click.option("--half-life", help="Time decay of the user vector, e.g. 7d (default: none).")
@functools.partial(graph_options, from_edges=False)
@walk_options
@functools.partial(train_options, shared_seed=True)
@_trainer_option
@click.option("--output", "-o", type=click.Path(dir_okay=False),
              help="JSON file (default: WORKDIR/eval/next-item.json).")
@click.pass_context
def evaluate_next_item_cmd(ctx, logs, holdout, exclude_history, center, half_life, output,
                           **kw):
    """Hold out each user's last event, build/walk/train on the rest, rank the whole catalogue
    (HitRate, Recall@10/20/50, MRR) against a most-popular baseline.

    LOGS defaults to the log the workspace graph was built from.
    """
    from . import evaluate

    g = _graph_kwargs(kw)
    g.pop("from_edges")
    g = _given(ctx, g)
    w, t = _options_given(ctx, kw)
    r = evaluate.next_item(logs, workdir=ctx.obj["workdir"], holdout=holdout,
                           exclude_history=exclude_history, center=center,
                           half_life=half_life, graph_options=g, walk_options=w,
                           train_options=t, quiet=ctx.obj["quiet"])
    c = r["counts"]
    click.echo(f"next item: {c['test_users']:,} users, catalogue of {c['catalogue']:,} items "
               f"({c['catalogue_with_vector']:,} with a vector)")
    click.echo(evaluate.next_item_table(r))
    _eval_output(ctx, "next-item", output, r)


@main.command("similar", epilog="""\b
Examples:
  graphemb similar 260 -k 5 --names examples/movielens/movies.csv
  graphemb similar --items-file items.txt
  graphemb similar 318 --min-count 1          # rare items may be neighbours too
  graphemb similar 318 --index lsh --tables 16 --bits 12
""")
@click.argument("items", nargs=-1)
@click.option("-k", "k", default=10, show_default=True, type=click.IntRange(min=1),
              help="Neighbours per item.")
@click.option("--items-file", type=click.Path(dir_okay=False),
              help="One item id per line (first column of a CSV).")
@click.option("--min-count", default=DEFAULT_SIMILAR_MIN_COUNT, show_default=True,
              type=click.IntRange(min=1),
              help="Neighbours must have at least this many events (node table count): "
                   "rarer items have noisy vectors. Queries can be any item.")
@click.option("--names", "names_path", type=click.Path(dir_okay=False),
              help="Table of item names (e.g. movies.csv: movieId,title,...) to print beside "
                   "the ids.")
@click.option("--name-col", help="Name column of --names (default: its first text column).")
@click.option("--names-id-col", help="Id column of --names (default: guessed, e.g. item_id, "
                                     "movieId, id).")
@click.option("--index", type=click.Choice(list(INDEXES)), default="exact",
              show_default=True,
              help="Exact blocked search, a random-projection LSH index, or hnswlib (optional "
                   "dependency); approximate ones report their recall against exact.")
@click.option("--tables", default=16, show_default=True, type=click.IntRange(min=1),
              help="LSH hash tables (OR: more finds more).")
@click.option("--bits", default=12, show_default=True, type=click.IntRange(1, 62),
              help="LSH bits per table (AND: more makes buckets smaller).")
@click.option("--probes", default=0, show_default=True, type=click.IntRange(min=0),
              help="LSH multi-probe: also visit buckets one uncertain bit away.")
@click.option("--cold", is_flag=True,
              help="Also return cold-start items (EGES/GES side information, no events) as "
                   "neighbours, flagged in a cold_start column.")
@click.option("--center/--no-center", default=True, show_default=True,
              help="Subtract the mean item vector before cosine (removes the direction that "
                   "rare items share).")
@click.pass_context
def similar_cmd(ctx, items, k, items_file, min_count, names_path, name_col, names_id_col, index,
                tables, bits, probes, cold, center):
    """Most similar items by cosine, with scores (and names with --names)."""
    from .vectors import read_items_file, read_names, similar

    items = list(items) + (read_items_file(items_file) if items_file else [])
    if not items:
        raise click.UsageError("give ITEM ids or --items-file FILE.")
    names, name_header = {}, None
    if names_path:
        names, name_header = read_names(names_path, names_id_col, name_col)
    lsh = _given(ctx, {"tables": tables, "bits": bits, "probes": probes})
    if lsh and index != "lsh":
        raise click.UsageError(f"{', '.join('--' + k for k in lsh)} only apply with --index "
                               "lsh; add it or drop them.")
    r = similar(items, workdir=ctx.obj["workdir"], k=k, index=index, tables=tables, bits=bits,
                probes=probes, center=center, min_count=min_count, cold=cold)
    click.echo("query\trank\titem\tscore" + (f"\t{name_header}" if names_path else "") +
               ("\tcold_start" if cold else ""))
    for q, nb, sc, cq, flags in zip(r["items"], r["neighbors"], r["scores"], r["cold_query"],
                                    r["cold_neighbor"]):
        if names_path and not ctx.obj["quiet"]:
            click.echo(f"# {q}: {names.get(str(q), '?')}", err=True)   # stdout stays a table
        if cq and not ctx.obj["quiet"]:
            click.echo(f"# {q} is a cold-start item (side information only): neighbours by "
                       "the model's co-occurrence score, not cosine", err=True)
        for rank, (item, score, flag) in enumerate(zip(nb, sc, flags), 1):
            name = f"\t{_tsv(names.get(str(item), ''))}" if names_path else ""
            tail = ("\tyes" if flag else "\tno") if cold else ""
            click.echo(f"{_tsv(q)}\t{rank}\t{_tsv(item)}\t{score:.4f}{name}{tail}")
    if min_count > 1 and not ctx.obj["quiet"]:
        click.echo(f"neighbours among the {r['candidates']:,} items with >= {min_count} events "
                   "(--min-count 1 for all)", err=True)
    if index == "hnsw":
        _say(ctx, f"hnsw: recall@{k} {r['recall_at_k']:.3f} vs exact, query "
                  f"{r['query_seconds'] * 1e3:.1f} ms vs exact {r['exact_seconds'] * 1e3:.1f} ms, "
                  f"build {r['build_seconds']:.2f}s")
    if index == "lsh":
        _say(ctx, f"lsh ({tables} tables x {bits} bits, {probes} probes): recall@{k} "
                  f"{r['recall_at_k']:.3f} vs exact, {r['mean_candidates']:.0f} candidates per "
                  f"query, query {r['query_seconds'] * 1e3:.1f} ms vs exact "
                  f"{r['exact_seconds'] * 1e3:.1f} ms ({r['speedup']:.1f}x), build "
                  f"{r['build_seconds']:.2f}s")


@main.command("user-vectors", epilog="""\b
Examples:
  graphemb user-vectors examples/movielens/ratings.csv
  graphemb user-vectors logs.csv --half-life 7d -o users.parquet
""")
@click.argument("logs", type=click.Path(dir_okay=False))
@click.option("--output", "-o", type=click.Path(dir_okay=False),
              help="Parquet file (default: WORKDIR/user_vectors.parquet).")
@click.option("--half-life", help="Exponential time decay from the user's latest event, e.g. 7d.")
@click.option("--user-col", help="User column (default: guessed).")
@click.option("--item-col", help="Item column (default: guessed).")
@click.option("--time-col", help="Time column (default: guessed).")
@click.option("--delimiter", help="Field separator (default: by file name).")
@click.option("--center/--no-center", default=True, show_default=True,
              help="Subtract the mean item vector before cosine (removes the direction that "
                   "rare items share).")
@click.pass_context
def user_vectors_cmd(ctx, logs, output, half_life, user_col, item_col, time_col, delimiter,
                     center):
    """A vector per user: the mean of the item vectors of their history."""
    from .recommendation import user_vectors

    r = user_vectors(logs, output, workdir=ctx.obj["workdir"], half_life=half_life,
                     user_col=user_col, item_col=item_col, time_col=time_col,
                     delimiter=delimiter, center=center)
    _say(ctx, f"wrote {r['users']:,} user vectors of dim {r['dim']} to {r['output']} "
              f"({r['events_used']:,} events; {r['events_without_vector']:,} events on items "
              f"without a vector skipped; {r['users_without_vector']:,} users left out)")


@main.command("recommend", epilog="""\b
Examples:
  graphemb recommend 42 -k 10
  graphemb recommend 42 --user-vectors users.parquet --keep-seen
""")
@click.argument("user")
@click.option("-k", "k", default=10, show_default=True, type=click.IntRange(min=1))
@click.option("--user-vectors", "user_vectors_path", type=click.Path(dir_okay=False),
              help="Default: WORKDIR/user_vectors.parquet.")
@click.option("--logs", type=click.Path(dir_okay=False),
              help="Log of seen items (default: the one user-vectors read).")
@click.option("--keep-seen", is_flag=True, help="Also rank items the user has seen.")
@click.option("--cold", is_flag=True,
              help="Also rank cold-start items (EGES/GES side information, no events), "
                   "flagged in a cold_start column.")
@click.pass_context
def recommend_cmd(ctx, user, k, user_vectors_path, logs, keep_seen, cold):
    """Top-k items for USER by cosine to the user vector, items seen left out."""
    from .recommendation import recommend

    r = recommend(user, workdir=ctx.obj["workdir"], k=k, user_vectors_path=user_vectors_path,
                  logs=logs, keep_seen=keep_seen, cold=cold)
    click.echo("rank\titem\tscore" + ("\tcold_start" if cold else ""))
    for rank, (item, score, flag) in enumerate(zip(r["items"], r["scores"], r["cold_start"]), 1):
        tail = ("\tyes" if flag else "\tno") if cold else ""
        click.echo(f"{rank}\t{item}\t{score:.4f}{tail}")


@main.command("status", epilog="""\b
Example:
  graphemb status
  graphemb --workdir ml status
""")
@click.pass_context
def status_cmd(ctx):
    """Each stage of the workspace: parameters, fresh or stale, and the command to rerun.

    Exit status 0 when every stage is fresh, 1 otherwise."""
    from .freshness import status

    rows = status(ctx.obj["workdir"])
    for r in rows:
        click.echo(f"{r['stage']:<6} {r['state']:<10} {r['folder']}")
        if r["params"]:
            click.echo(f"       {r['params']}")
        if r["why"] and r["state"] != "fresh":
            click.echo(f"       {r['why']}")
        click.echo(f"       {'rerun' if r['state'] != 'missing' else 'run'}: {r['command']}")
    if any(r["state"] != "fresh" for r in rows):
        ctx.exit(1)


# -q/--quiet and -v/--verbose after the subcommand too (`graphemb walk -q`), as before it.

def _set_quiet(ctx, param, value):
    if value:
        ctx.ensure_object(dict)["quiet"] = True


def _set_verbose(ctx, param, value):
    if value:
        os.environ["GRAPHEMB_DEBUG"] = "1"


def _add_verbosity(group: click.Group) -> None:
    for command in group.commands.values():
        if isinstance(command, click.Group):
            _add_verbosity(command)
            continue
        taken = {o for p in command.params for o in getattr(p, "opts", [])}
        if not taken & {"-q", "--quiet"}:
            command.params.append(click.Option(
                ["--quiet", "-q"], is_flag=True, expose_value=False, callback=_set_quiet,
                help="No progress bars or summaries (also before the command)."))
        if not taken & {"-v", "--verbose"}:
            command.params.append(click.Option(
                ["--verbose", "-v"], is_flag=True, expose_value=False, callback=_set_verbose,
                help="Traceback on an internal error (also before the command)."))


_add_verbosity(main)     # keep last: it reaches only the commands defined above

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
