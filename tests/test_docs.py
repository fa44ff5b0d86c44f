"""The CLI, the package API and the README say the same things (as sqlite-utils' test_docs)."""
import re
from pathlib import Path

import click
import pytest

import graphemb
from graphemb.cli import main

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def _commands(group, prefix=()):
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, prefix + (name,))
        else:
            yield prefix + (name,), cmd


COMMANDS = sorted(_commands(main), key=lambda c: c[0])


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=" ".join)
def test_every_cli_verb_is_a_package_function(path):
    *group, verb = path
    owner = graphemb
    for g in group:                       # `evaluate link-prediction` -> graphemb.evaluate
        owner = getattr(graphemb, g)
    assert callable(getattr(owner, verb.replace("-", "_")))


def test_package_api_is_listed_and_importable():
    for name in graphemb.__all__:
        assert name in dir(graphemb)
        assert getattr(graphemb, name) is not None


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=" ".join)
def test_every_cli_verb_and_option_is_in_the_readme(path):
    cmd = dict(COMMANDS)[path]
    assert re.search(r"graphemb[^\n`]*\b" + re.escape(path[-1]) + r"\b", README), \
        f"README never shows `graphemb {' '.join(path)}`"
    missing = _undocumented(cmd)
    assert not missing, f"`graphemb {' '.join(path)}` options missing from README: {missing}"


def test_global_options_are_in_the_readme():
    assert not _undocumented(main)


def _undocumented(cmd) -> list[str]:
    """Long options of ``cmd`` that README never mentions (a flag pair counts once)."""
    def shown(opt):
        return re.search(re.escape(opt) + r"(?![\w-])", README)
    def names(p):                   # long names, or the short one if that is all there is
        return [o for o in p.opts + p.secondary_opts if o.startswith("--")] or p.opts
    return [p.opts[-1] for p in cmd.params if isinstance(p, click.Option)
            and p.name not in ("help", "version") and not any(map(shown, names(p)))]


def test_architecture_lists_every_module_once():
    root = Path(__file__).resolve().parents[1]
    listed = re.findall(r"^\| `([\w/]+\.py)` \|", (root / "ARCHITECTURE.md").read_text(), re.M)
    present = sorted(str(p.relative_to(root / "graphemb")) for p in (root / "graphemb").rglob("*.py"))
    assert sorted(listed) == present
