"""Workspace layout, manifests, atomic writes and staleness checks.

Each stage writes one folder (graph/, walks/, model/) under the workspace. The folder is
first written under a temporary name and renamed into place only when complete, so a stage
that is interrupted leaves the previous good artifact untouched.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from . import __version__
from .errors import GraphembError

# Bumped when an artifact's on-disk layout changes incompatibly.
FORMAT_VERSION = 1
DEFAULT_WORKDIR = "graphemb-out"

# What to run to (re)create each stage's artifact; used in error messages.
RERUN = {
    "graph": "graphemb build-graph LOGS",
    "walks": "graphemb walk",
    "model": "graphemb train",
}


def resolve_workdir(workdir: str | os.PathLike | None) -> Path:
    if workdir is None:
        workdir = os.environ.get("GRAPHEMB_WORKDIR") or DEFAULT_WORKDIR
    return Path(workdir)


class Workspace:
    """Paths of the artifacts of one pipeline run."""

    def __init__(self, workdir: str | os.PathLike | None = None):
        self.root = resolve_workdir(workdir)

    def stage_dir(self, stage: str) -> Path:
        return self.root / stage

    @property
    def graph(self) -> Path:
        return self.stage_dir("graph")

    @property
    def walks(self) -> Path:
        return self.stage_dir("walks")

    @property
    def model(self) -> Path:
        return self.stage_dir("model")

    @contextmanager
    def writing(self, stage: str):
        """Yield a fresh temporary folder; on success it replaces ``stage``'s folder.

        On any exception the temporary folder is removed and the old artifact stays.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        self._remove_orphans(stage)
        tmp = Path(tempfile.mkdtemp(prefix=f".{stage}.tmp-{os.getpid()}-", dir=self.root))
        try:
            yield tmp
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        final = self.stage_dir(stage)
        old = None
        if final.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{stage}.old-", dir=self.root))
            old.rmdir()
            os.replace(final, old)
        os.replace(tmp, final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


    def _remove_orphans(self, stage: str) -> None:
        """Delete temporary folders left by a process of this stage that died mid-write."""
        for path in self.root.glob(f".{stage}.tmp-*"):
            try:
                pid = int(path.name.split("-")[1])
            except (IndexError, ValueError):
                continue
            if not _alive(pid):
                shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def file_hash(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def write_manifest(folder: Path, stage: str, params: dict, inputs: dict, counts: dict,
                   timings: dict) -> dict:
    manifest = {
        "stage": stage,
        "graphemb_version": __version__,
        "format_version": FORMAT_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "params": params,
        "inputs": inputs,
        "counts": counts,
        "timings": {k: round(v, 4) for k, v in timings.items()},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, default=_jsonable) + "\n")
    return manifest


def _jsonable(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def read_manifest(folder: Path, stage: str) -> dict:
    """Read and check a stage's manifest; raise a GraphembError that says what to rerun."""
    path = Path(folder) / "manifest.json"
    rerun = RERUN.get(stage, "the previous stage")
    if not path.exists():
        raise GraphembError(f"{path}: not found; run `{rerun}` first (or pass --workdir).")
    try:
        manifest = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError):
        raise GraphembError(f"{path}: unreadable manifest; rerun `{rerun}`.") from None
    if manifest.get("stage") != stage:
        raise GraphembError(f"{path}: holds a {manifest.get('stage')!r} artifact, not {stage!r}; "
                            f"rerun `{rerun}`.")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise GraphembError(
            f"{path}: written by graphemb {manifest.get('graphemb_version')} in format "
            f"{manifest.get('format_version')}, this graphemb ({__version__}) reads format "
            f"{FORMAT_VERSION}; rerun `{rerun}`.")
    return manifest


def input_record(folder: Path) -> dict:
    """How a stage remembers one of its inputs: the hash of that input's manifest."""
    return {"path": str(folder), "manifest_sha": file_hash(Path(folder) / "manifest.json")}


def check_fresh(manifest: dict, stage_folder: Path, stage: str, input_name: str,
                input_folder: Path) -> None:
    """Refuse an artifact whose input changed after it was written."""
    recorded = manifest.get("inputs", {}).get(input_name, {}).get("manifest_sha")
    current = file_hash(Path(input_folder) / "manifest.json")
    if recorded != current:
        raise GraphembError(
            f"{stage_folder}: stale, {input_folder} was rewritten after it was made; "
            f"rerun `{RERUN[stage]}`.")


def save_npy(folder: Path, name: str, array: np.ndarray) -> None:
    np.save(folder / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)


def load_npy(folder: Path, name: str, mmap: bool = True) -> np.ndarray:
    path = Path(folder) / f"{name}.npy"
    try:
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except FileNotFoundError:
        raise GraphembError(f"{path}: missing; the artifact is incomplete, rerun the stage "
                            "that writes it.") from None
    except ValueError as exc:
        raise GraphembError(f"{path}: unreadable ({exc}); rerun the stage that writes it.") from None
