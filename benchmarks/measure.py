"""Run a command in a subprocess and return (seconds, peak RSS in MiB) of that process alone."""
from __future__ import annotations

import os
import subprocess
import sys
import time


def measure(args: list[str], env: dict | None = None, quiet: bool = True) -> tuple[float, float]:
    return measure_cpu(args, env, quiet)[:2]


def measure_cpu(args: list[str], env: dict | None = None,
                quiet: bool = True) -> tuple[float, float, float]:
    """(wall seconds, peak RSS MiB, CPU seconds: user + system of all its threads)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL if quiet else None,
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    err = proc.stderr.read().decode(errors="replace")
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}): {err.strip()[-2000:]}")
    return seconds, usage.ru_maxrss / 1024.0, usage.ru_utime + usage.ru_stime  # RSS in KiB


def graphemb_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "graphemb", "--quiet", *args]
