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
import sys
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
        except BaseException as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            if isinstance(exc, OSError) and exc.filename is None:
                raise named_os_error(exc, self.stage_dir(stage)) from None
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


    def remove_orphans(self) -> int:
        """Delete what a killed stage of any kind left in the workspace: its temporary
        folders (`.STAGE.tmp-PID-*` of a dead PID, `eval/.TASK-PID-*`), replaced folders
        not yet deleted (`.STAGE.old-*`) and DuckDB spill folders. Called with the workspace
        lock held, so no live stage owns them. Returns how many were removed."""
        removed = 0
        candidates = [*self.root.glob(".*.tmp-*"), *self.root.glob(".*.old-*"),
                      *self.root.glob(".duckdb-spill-*"), *(self.root / "eval").glob(".*-*-*")]
        for path in candidates:
            if not path.is_dir() or path.is_symlink():
                continue
            pid = _pid_in(path.name) if ".tmp-" in path.name or path.parent.name == "eval" \
                else None
            if pid is not None and _alive(pid):
                continue
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
        return removed

    def _remove_orphans(self, stage: str) -> None:
        """Delete temporary folders left by a process of this stage that died mid-write."""
        for path in self.root.glob(f".{stage}.tmp-*"):
            try:
                pid = int(path.name.split("-")[1])
            except (IndexError, ValueError):
                continue
            if not _alive(pid):
                shutil.rmtree(path, ignore_errors=True)


def named_os_error(exc: OSError, path) -> OSError:
    """A write error that names no file (write(), numpy's short writes, Arrow's IOError) as
    one naming ``path``, with its errno when the text carries one."""
    import re

    code = exc.errno
    if code is None:
        found = re.search(r"[Ee]rrno:? ?(\d+)", str(exc))
        code = int(found.group(1)) if found else None
    if code:
        return OSError(code, os.strerror(code), str(path))
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if "requested and" in text and "written" in text:       # numpy: a short write
        text = (f"write failed ({text}): the disk is full or the file size limit "
                "(ulimit -f) was reached")
    return OSError(f"{path}: {text}")


def _pid_in(name: str) -> int | None:
    """The PID in '.walks.tmp-PID-xyz' or '.next-item-PID-xyz'; None if there is none."""
    for part in name.split("-")[1:]:
        if part.isdigit():
            return int(part)
    return None


# --- One stage at a time per workspace ---------------------------------------------------------
# A stage holds an exclusive flock on WORKDIR/.lock for its whole run; a second stage started
# meanwhile fails at once, naming the holder. The kernel releases the lock when the holder
# exits, however it exits. The file is removed on release (and re-checked after locking, so a
# process that opened the removed file retries on the new one).

COMMAND = None          # set by the CLI to the command line; else the Python API is named
_HELD: dict[str, list] = {}


def _holder_text(stage: str) -> str:
    command = COMMAND or f"{Path(sys.argv[0]).name or 'python'} (Python API: graphemb.{stage})"
    return f"pid {os.getpid()} (`{command}`, since {time.strftime('%H:%M:%S')})"


@contextmanager
def locked(workdir=None, stage: str = "stage"):
    """Hold the workspace lock (re-entrant in one process: `run` calls every stage)."""
    import fcntl

    root = resolve_workdir(workdir)
    created = [d for d in (root, *root.parents) if not os.path.lexists(d)]  # deepest first
    root.mkdir(parents=True, exist_ok=True)
    key = str(root.resolve())
    if key in _HELD:
        yield
        return
    path = root / ".lock"
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                holder = os.read(fd, 4096).decode("utf-8", "replace").strip() or "another stage"
            finally:
                os.close(fd)
            raise GraphembError(f"{root}: workspace in use by {holder}; wait for it to finish "
                                "or use another --workdir.") from None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, (_holder_text(stage) + "\n").encode())
        _HELD[key] = [fd]
        Workspace(root).remove_orphans()
        yield
    finally:
        _HELD.pop(key, None)
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        os.close(fd)
        for folder in created:      # a stage that failed before writing leaves no empty folder
            try:
                folder.rmdir()
            except OSError:
                break


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
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def temporary_name(path: Path) -> Path:
    """A hidden name beside ``path`` (same file system, so the rename is atomic); the pid
    tells a live writer's file from an orphan."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


@contextmanager
def atomic_file(path):
    """Yield a temporary path to write; rename it onto ``path`` only if the block succeeds
    (otherwise remove it), so readers see the old file or the whole new one."""
    path = Path(path)
    tmp = temporary_name(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_json(path, obj: dict) -> Path:
    """Atomically write ``obj`` as indented JSON (creating the folder)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, default=_jsonable) + "\n")
    return path


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
    return {"path": os.path.abspath(folder),
            "manifest_sha": file_hash(Path(folder) / "manifest.json")}


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
    """The array, memory-mapped copy-on-write: pages are read on demand and the file is never
    written, yet the array is writable, so Numba compiles one signature for it and for an
    in-memory array (a read-only map would be a second type and a second compile)."""
    path = Path(folder) / f"{name}.npy"
    try:
        return np.load(path, mmap_mode="c" if mmap else None, allow_pickle=False)
    except FileNotFoundError:
        raise GraphembError(f"{path}: missing; the artifact is incomplete, rerun the stage "
                            "that writes it.") from None
    except ValueError as exc:
        raise GraphembError(f"{path}: unreadable ({exc}); rerun the stage that writes it.") from None
