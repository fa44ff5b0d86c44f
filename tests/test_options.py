"""graphemb.options is the one source of every option: the CLI is generated from it, the API
checks with it, and status / evaluate read the manifest keys it names."""
import inspect
import json
import shlex

import click
import numpy as np
import pytest
from click.testing import CliRunner

import graphemb
from graphemb import options as O
from graphemb.cli import SpecOption, main
from graphemb.ingest.times import parse_duration

from helpers import write_csv


def _commands(group, prefix=()):
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, prefix + (name,))
        else:
            yield " ".join(prefix + (name,)), cmd


COMMANDS = dict(_commands(main))


def test_every_verb_has_an_option_list_and_every_list_a_verb():
    assert set(O.VERBS) == set(COMMANDS) | {"graphemb"}


@pytest.mark.parametrize("verb", sorted(COMMANDS) + ["graphemb"])
def test_every_cli_option_comes_from_options_py(verb):
    cmd = main if verb == "graphemb" else COMMANDS[verb]
    params = [p for p in cmd.params if isinstance(p, click.Option)
              and p.name not in ("help", "version")]
    assert all(isinstance(p, SpecOption) for p in params), \
        [p.opts for p in params if not isinstance(p, SpecOption)]
    expected = [s for s in O.VERBS[verb] if s.cli]
    if verb != "graphemb":
        expected += list(O.AFTER_VERB)          # -q/-v after the verb, added to every command
    assert [p.spec for p in params] == expected
    for p in params:                            # what click shows is what the spec says
        spec = p.spec
        assert p.opts[0] == spec.cli_flag and p.name == spec.param
        assert p.help == spec.help and p.multiple == spec.multiple
        if spec.kind != bool:
            assert p.default == spec.default
        if spec.range_text():
            assert f"{spec.range_text()}" in p.get_help_extra(click.Context(cmd))["range"]


def _log(tmp_path):
    rows = [(f"u{u}", f"i{(u + k) % 7}", 1_700_000_000 + 60 * k) for u in range(6)
            for k in range(6)]
    return write_csv(tmp_path / "log.csv", ["user_id", "item_id", "timestamp"], rows)


# (CLI words, API function, its positional arguments, keyword arguments) with the same bad value
def _cases():
    ev = graphemb.evaluate
    return [
        (["walk", "--p", "0"], graphemb.walk, (), {"p": 0}),
        (["walk", "--q", "2e6"], graphemb.walk, (), {"q": 2e6}),
        (["walk", "--q", "nan"], graphemb.walk, (), {"q": float("nan")}),
        (["walk", "--walk-length", "1"], graphemb.walk, (), {"walk_length": 1}),
        (["walk", "--num-walks", "0"], graphemb.walk, (), {"num_walks": 0}),
        (["walk", "--workers", "0"], graphemb.walk, (), {"workers": 0}),
        (["walk", "--seed", "x"], graphemb.walk, (), {"seed": "x"}),
        (["train", "--dim", "0"], graphemb.train, (), {"dim": 0}),
        (["train", "--negative", "-1"], graphemb.train, (), {"negative": -1}),
        (["train", "--ns-exponent", "1.5"], graphemb.train, (), {"ns_exponent": 1.5}),
        (["train", "--sample", "-0.1"], graphemb.train, (), {"sample": -0.1}),
        (["train", "--workers", "-2"], graphemb.train, (), {"workers": -2}),
        (["train", "--fusion", "mean"], graphemb.train, (), {"fusion": "mean"}),
        (["train", "--attention-lr", "0"], graphemb.train, (), {"attention_lr": 0}),
        (["train", "--trainer", "torch"], graphemb.train, (), {"trainer": "torch"}),
        (["build-graph", "LOG", "--min-item-count", "0"], graphemb.build_graph, ("LOG",),
         {"min_item_count": 0}),
        (["build-graph", "LOG", "--max-user-events", "0"], graphemb.build_graph, ("LOG",),
         {"max_user_events": 0}),
        (["build-graph", "LOG", "--engine", "polars"], graphemb.build_graph, ("LOG",),
         {"engine": "polars"}),
        (["build-graph", "LOG", "--time-unit", "h"], graphemb.build_graph, ("LOG",),
         {"time_unit": "h"}),
        (["run", "LOG", "--p", "0"], graphemb.run, ("LOG",), {"walk_options": {"p": 0}}),
        (["run", "LOG", "--epochs", "0"], graphemb.run, ("LOG",),
         {"train_options": {"epochs": 0}}),
        (["export", "v.csv", "--what", "all"], graphemb.export, ("v.csv",), {"what": "all"}),
        (["export", "v.csv", "--format", "xls"], graphemb.export, ("v.csv",),
         {"format": "xls"}),
        (["similar", "1", "-k", "0"], graphemb.similar, (["1"],), {"k": 0}),
        (["similar", "1", "--bits", "70"], graphemb.similar, (["1"],), {"bits": 70}),
        (["similar", "1", "--index", "faiss"], graphemb.similar, (["1"],), {"index": "faiss"}),
        (["similar", "1", "--min-count", "0"], graphemb.similar, (["1"],), {"min_count": 0}),
        (["recommend", "u1", "-k", "0"], graphemb.recommend, ("u1",), {"k": 0}),
        (["evaluate", "link-prediction", "--test-fraction", "1"], ev.link_prediction, (),
         {"test_fraction": 1}),
        (["evaluate", "link-prediction", "--negatives", "hard"], ev.link_prediction, (),
         {"negatives": "hard"}),
        (["evaluate", "node-classification", "--labels", "l.csv", "--repeats", "0"],
         ev.node_classification, ("l.csv",), {"repeats": 0}),
        (["evaluate", "next-item", "LOG", "--holdout", "0"], ev.next_item, ("LOG",),
         {"holdout": 0}),
    ]


CASES = _cases()


@pytest.mark.parametrize("args,fn,fn_args,fn_kwargs", CASES,
                         ids=[" ".join(c[0][:1] + c[0][-2:]) for c in CASES])
def test_cli_and_api_refuse_a_bad_value_with_the_same_message(tmp_path, args, fn, fn_args,
                                                             fn_kwargs):
    log = str(_log(tmp_path))
    ws = tmp_path / "ws"
    args = [log if a == "LOG" else a for a in args]
    fn_args = tuple(log if a == "LOG" else a for a in fn_args)
    r = CliRunner().invoke(main, ["--workdir", str(ws), *args])
    assert r.exit_code == 2, r.output                     # refused while parsing
    cli_line = [ln for ln in r.output.splitlines() if ln.startswith("Error: ")][-1]
    with pytest.raises(graphemb.GraphembError) as exc:
        fn(*fn_args, workdir=ws, **fn_kwargs)
    assert cli_line == f"Error: {exc.value}"
    assert f"'{args[-2]}'" in cli_line                        # it names the option
    assert not (ws / "graph").exists()                     # and nothing ran


def test_api_defaults_are_the_specs():
    import graphemb.evaluation.next_item as ni
    import graphemb.evaluation.link_prediction as lp
    import graphemb.evaluation.node_classification as nc
    from graphemb import pipeline, recommendation, vectors

    functions = [pipeline.build_graph, pipeline.walk, pipeline.train, pipeline.export,
                 vectors.similar, recommendation.user_vectors, recommendation.recommend,
                 lp.link_prediction, nc.node_classification, ni.next_item]
    for fn in functions:
        stages = getattr(fn, "stages", None) or fn.__wrapped__.stages
        signature = inspect.signature(fn)
        for stage in stages:
            for spec in stage:
                if spec.name in signature.parameters and spec.default is not None:
                    default = signature.parameters[spec.name].default
                    if spec.name == "ratios":                  # the CLI's text, as numbers
                        default = ",".join(f"{r:g}" for r in default)
                    assert default == spec.default, (fn.__name__, spec.name)


def test_a_value_in_range_passes_converted():
    assert O.WALK.p.check("0.5") == 0.5 and O.WALK.num_walks.check(3.0) == 3
    assert O.WALK.workers.check(-1) is None and O.WALK.workers.check(2) == 2
    assert O.WALK.p.check(None) == 1.0 and O.GRAPH.time_unit.check(None) == "auto"  # default
    assert O.TRAIN.ns_exponent.check(-1) == -1.0 and O.TRAIN.ns_exponent.check(1) == 1.0
    with pytest.raises(graphemb.GraphembError, match="not a valid integer"):
        O.WALK.num_walks.check(2.5)                           # no silent truncation
    with pytest.raises(graphemb.GraphembError, match="not a valid integer"):
        O.WALK.num_walks.check(True)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A workspace built with options away from their defaults."""
    tmp = tmp_path_factory.mktemp("opts")
    log = _log(tmp)
    ws = tmp / "ws"
    for args in (["build-graph", str(log), "--session-gap", "2h", "--min-item-count", "2",
                  "--undirected", "--max-user-events", "50"],
                 ["walk", "--num-walks", "3", "--walk-length", "7", "--p", "0.5", "--q", "2",
                  "--seed", "4"],
                 ["train", "--dim", "8", "--window", "2", "--epochs", "2", "--negative", "3",
                  "--ns-exponent", "0.5", "--sample", "0", "--workers", "1", "--seed", "3",
                  "--cbow"]):
        r = CliRunner().invoke(main, ["--workdir", str(ws), "-q", *args])
        assert r.exit_code == 0, r.output
    return ws


def _params(ws, folder):
    return json.loads((ws / folder / "manifest.json").read_text())["params"]


def test_the_stages_record_every_manifest_key_of_the_spec(workspace):
    graph, walks, model = (_params(workspace, f) for f in ("graph", "walks", "model"))
    assert set(O.GRAPH.manifest_keys.values()) - {"edges"} <= set(graph)   # a log, not edges
    assert set(O.WALK.manifest_keys.values()) <= set(walks)
    assert set(O.TRAIN.manifest_keys.values()) <= set(model)
    assert graph["session_gap_seconds"] == 7200 and graph["min_item_count"] == 2
    assert (walks["p"], walks["q"], walks["num_walks"], walks["seed"]) == (0.5, 2.0, 3, 4)
    assert (model["ns_exponent"], model["sample"], model["sg"]) == (0.5, 0.0, False)


def test_evaluation_keys_are_the_specs_and_carry_the_recorded_values(workspace):
    from graphemb.evaluation import common

    assert common.WALK_KEYS == O.WALK.manifest_keys
    assert common.TRAIN_KEYS == {**O.TRAIN.manifest_keys, "trainer": "trainer"}
    assert common.GRAPH_KEYS == {k: v for k, v in O.GRAPH.manifest_keys.items()
                                 if k not in O.GRAPH_INPUT}
    assert "engine" in common.GRAPH_KEYS                  # the key that had drifted away
    force = common.current_options(workspace)
    for stage, folder, keys in (("graph", "graph", common.GRAPH_KEYS),
                                ("walk", "walks", common.WALK_KEYS),
                                ("train", "model", common.TRAIN_KEYS)):
        recorded = _params(workspace, folder)
        for name, key in keys.items():
            if key in recorded and name != "trainer":
                assert force[stage][name] == recorded[key], (stage, name)
    assert force["walk"]["p"] == 0.5 and force["train"]["ns_exponent"] == 0.5


def test_status_rerun_commands_give_back_the_recorded_options(workspace):
    rows = {r["stage"]: r for r in graphemb.status(workspace)}
    for stage, folder, spec in (("graph", "graph", O.GRAPH), ("walks", "walks", O.WALK),
                                ("model", "model", O.TRAIN)):
        words = shlex.split(rows[stage]["command"])
        words = words[words.index("--workdir") + 2:] if "--workdir" in words else words[1:]
        verb = COMMANDS[words[0]]
        given = verb.make_context(words[0], words[1:]).params
        recorded = _params(workspace, folder)
        for opt in spec:
            # workers: the threads used; engine: the one auto chose
            if not opt.cli or not opt.manifest or opt.name in ("workers", "engine") \
                    or opt.manifest not in recorded:
                continue
            value = given[opt.param]
            if opt.name == "session_gap":
                value = parse_duration(value)
            assert value == recorded[opt.manifest], (stage, opt.name, rows[stage]["command"])
    assert "--ns-exponent 0.5" in rows["model"]["command"]
    assert "--cbow" in rows["model"]["command"]


def test_a_new_option_is_one_entry(monkeypatch):
    """An Opt added to a stage appears in every verb that shows the stage, with its check."""
    spec = O.Opt("max_dwell", 0, "Drop events followed within this many seconds.", kind=int,
                 min=0, manifest="max_dwell")
    assert spec.cli_flag == "--max-dwell" and spec.decls == ["--max-dwell"]
    stage = O.Stage("build-graph", *O.GRAPH, spec)
    assert stage.max_dwell is spec and stage.defaults.max_dwell == 0
    assert stage.manifest_keys["max_dwell"] == "max_dwell"
    from graphemb import cli

    monkeypatch.setitem(O.VERBS, "build-graph", tuple(stage))

    @click.command()
    @cli.options_for("build-graph")
    def cmd(**kw):
        click.echo(kw["max_dwell"])
    assert CliRunner().invoke(cmd, ["--max-dwell", "3"]).output == "3\n"
    r = CliRunner().invoke(cmd, ["--max-dwell", "-1"])
    assert r.exit_code == 2 and "Invalid value for '--max-dwell': -1 is not in the range " \
                                "x>=0." in r.output
    assert "--max-dwell INTEGER RANGE" in CliRunner().invoke(cmd, ["--help"]).output
    np.testing.assert_equal(stage.check(max_dwell=5)["max_dwell"], 5)
