"""Run a command in a subprocess and return (seconds, peak RSS in MiB) of that process alone."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


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


def publish(lines: list[str], out) -> str:
    """Print a benchmark's table and write it to ``out`` (e.g. benchmarks/results/NAME.md)."""
    text = "\n".join(lines)
    print(text)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(text + "\n")
    return text


def graphemb_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "graphemb", "--quiet", *args]


MEMRUN = str(Path(__file__).resolve().parent / "memrun.py")


def _status_kib(pid: int) -> dict:
    out = {}
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key in ("VmHWM", "RssAnon", "RssFile"):
                    out[key] = int(value.split()[0])
    except (FileNotFoundError, ProcessLookupError, ValueError):
        pass
    return out


def measure_memory(args: list[str], env: dict | None = None, cpu: str | None = "0",
                   interval: float = 0.005) -> dict:
    """Run ``python -m graphemb ARGS`` (through memrun.py, pinned with taskset to ``cpu``)
    and return its memory in bytes and its time:

    hwm: the kernel's VmHWM of the process (peak RSS since exec, exact: read by the process
    itself as it ends; unlike ru_maxrss it does not carry over the parent's RSS at fork);
    anon / file: the largest RssAnon (heap, arrays) and RssFile (mapped files: libraries,
    memory-mapped .npy) seen by sampling /proc/PID/status every ``interval`` s (a peak
    shorter than that can be missed); seconds (wall) and cpu_seconds (user + system).
    """
    with tempfile.TemporaryDirectory() as tmp:
        status_file = Path(tmp) / "status.json"
        cmd = [sys.executable, MEMRUN, str(status_file), "--quiet", *args]
        if cpu is not None:
            cmd = ["taskset", "-c", cpu, *cmd]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        peak = {"RssAnon": 0, "RssFile": 0}
        err = []
        reader = threading.Thread(target=lambda: err.append(proc.stderr.read()), daemon=True)
        reader.start()
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            for key, value in _status_kib(proc.pid).items():
                if key in peak:
                    peak[key] = max(peak[key], value)
            time.sleep(interval)
        seconds = time.perf_counter() - t0
        reader.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            text = b"".join(err).decode(errors="replace")
            raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}): {text[-2000:]}")
        final = json.loads(status_file.read_text())
    kib = 1024
    return {"hwm": final["VmHWM"] * kib,
            "anon": max(peak["RssAnon"], final["RssAnon"]) * kib,
            "file": max(peak["RssFile"], final["RssFile"]) * kib,
            "seconds": seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime}
