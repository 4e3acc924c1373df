"""What every path shares: statistics, result rows, rolled-back timing, memory, servers.

Figures are never asserted here: each path returns rows with its median, p95, the
reference measured in the same run, the ratio between them and the target, and
`run.py` prints and saves them.
"""

from __future__ import annotations

import http.client
import math
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PASS, FAIL, NOT_AVAILABLE, ERROR = "pass", "FAIL", "not available", "error"


# --- statistics ------------------------------------------------------------------------------


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def p95(values: list[float]) -> float | None:
    """Nearest-rank 95th percentile (of few samples: the largest or next to it)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def ratio(value: float | None, reference: float | None) -> float | None:
    if value is None or not reference:
        return None
    return value / reference


def ms(seconds: list[float]) -> list[float]:
    return [s * 1000 for s in seconds]


def row(
    path: str,
    *,
    unit: str,
    samples: list[float] | None = None,
    median_value: float | None = None,
    p95_value: float | None = None,
    reference: float | None = None,
    ratio_value: float | None = None,
    target: str,
    passed: bool | None,
    status: str | None = None,
    detail: dict | None = None,
) -> dict:
    """One line of the table and of the JSON; `samples` gives median and p95 at once."""
    if samples is not None:
        median_value, p95_value = median(samples), p95(samples)
    if status is None:
        status = PASS if passed else FAIL
    return {
        "path": path,
        "unit": unit,
        "median": _round(median_value),
        "p95": _round(p95_value),
        "reference": _round(reference),
        "ratio": _round(ratio_value, 3),
        "target": target,
        "pass": passed,
        "status": status,
        "samples": len(samples) if samples is not None else None,
        "detail": detail or {},
    }


def missing_row(path: str, *, unit: str, target: str, status: str, why: str) -> dict:
    """The row of a path that could not be measured (not available, or an error)."""
    return row(path, unit=unit, target=target, passed=None, status=status, detail={"reason": why})


def _round(value, digits: int = 2):
    return None if value is None else round(float(value), digits)


# --- timing ------------------------------------------------------------------------------------


def timed(run: Callable[[], object]) -> tuple[float, object]:
    began = time.perf_counter()
    result = run()
    return time.perf_counter() - began, result


def rolled_back(run: Callable[[], object]) -> tuple[float, object]:
    """Seconds `run` takes inside a transaction that is then rolled back (not timed)."""
    from django.db import transaction

    with transaction.atomic():
        seconds, result = timed(run)
        transaction.set_rollback(True)
    return seconds, result


BUDGET_SECONDS = 90.0
MIN_SAMPLES = 5


def alternate(
    runs: dict[str, Callable[[], object]],
    count: int,
    warm_up: int = 1,
    budget: float = BUDGET_SECONDS,
) -> dict:
    """Seconds of each run, `count` times, taking turns so a busy neighbour slows all alike.

    Slow runs (a large scale) stop after `budget` seconds, with MIN_SAMPLES at least.
    """
    for _ in range(warm_up):
        for run in runs.values():
            run()
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    began = time.perf_counter()
    for done in range(count):
        if done >= MIN_SAMPLES and time.perf_counter() - began > budget:
            break
        for name, run in runs.items():
            seconds[name].append(timed(run)[0])
    return seconds


# --- memory ------------------------------------------------------------------------------------


def _status_kb(key: str) -> int | None:
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    found = re.search(rf"^{key}:\s+(\d+) kB", text, re.MULTILINE)
    return int(found.group(1)) if found else None


def release_memory() -> None:
    """Collect garbage and hand freed heap back to the system (glibc), so the resident
    size before a measured block is what the process holds, not what it once held."""
    import ctypes
    import gc

    gc.collect()
    with suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


@contextmanager
def peak_memory() -> Iterator[dict]:
    """Peak resident memory above what the process held when the block began, in MB.

    Linux: the peak (VmHWM) is reset to the current size first (/proc/self/clear_refs),
    so the figure is this block's own. Elsewhere ru_maxrss only says something when the
    block went above every earlier peak of the process.
    """
    import resource

    release_memory()
    found: dict = {}
    before = _status_kb("VmRSS")
    try:
        Path("/proc/self/clear_refs").write_text("5")
        method = "VmHWM after clear_refs"
    except OSError:
        method = "ru_maxrss"
    if before is None or method == "ru_maxrss":
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        yield found
    finally:
        peak = _status_kb("VmHWM") if method != "ru_maxrss" else None
        if peak is None:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        found.update(
            idle_mb=round(before / 1024, 1),
            peak_mb=round(peak / 1024, 1),
            delta_mb=round(max(0, peak - before) / 1024, 1),
            method=method,
        )


# --- servers -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_env(settings_module: str) -> dict[str, str]:
    """The harness's own environment (bench DATABASE_URL), DEBUG off, the given settings."""
    env = dict(os.environ)
    env.update(
        DEBUG="0",
        DJANGO_SETTINGS_MODULE=settings_module,
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    env.setdefault("SECRET_KEY", "bench-only-secret")
    return env


@contextmanager
def gunicorn(app: str, *, settings_module: str, workers: int = 2) -> Iterator[int]:
    """Serve `app` with gunicorn on a free port of 127.0.0.1; yields the port.

    Only the master this started is stopped (it stops its own workers).
    """
    port = free_port()
    log = tempfile.NamedTemporaryFile("w+", prefix="bench-gunicorn-", suffix=".log")  # noqa: SIM115
    command = [sys.executable, "-m", "gunicorn", app, "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(workers), "--timeout", "300", "--log-level", "warning"]
    proc = subprocess.Popen(
        command,
        cwd=ROOT,
        env=server_env(settings_module),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_ready(proc, port, log)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


def _wait_ready(proc: subprocess.Popen, port: int, log, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"gunicorn exited {proc.returncode}:\n{log.read()[-3000:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/api/me/")
            connection.getresponse().read()
            connection.close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer on 127.0.0.1:{port} within {seconds:.0f} s")


# --- HTTP load ---------------------------------------------------------------------------------


@dataclass
class Load:
    """What a burst of requests gave: per-request seconds, statuses, wall time."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    wall: float = 0.0
    failures: list[str] = field(default_factory=list)  # the first few unexpected answers
    bodies: list[bytes] = field(default_factory=list)  # answers kept when asked

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def per_second(self) -> float | None:
        return self.count / self.wall if self.wall else None

    def merge(self, other: Load) -> None:
        self.latencies += other.latencies
        self.statuses.update(other.statuses)
        self.wall += other.wall
        self.failures += other.failures[: max(0, 5 - len(self.failures))]
        self.bodies += other.bodies


def post_load(
    port: int,
    path: str,
    bodies: list[bytes],
    *,
    headers: dict[str, str],
    threads: int,
    expect: tuple[int, ...] = (200, 201),
    keep_bodies: bool = False,
) -> Load:
    """POST each body once to 127.0.0.1:port from `threads` threads; all start together."""
    load = Load()
    lock = threading.Lock()
    position = iter(range(len(bodies)))
    start = threading.Barrier(threads + 1)
    sent = {"Content-Type": "application/json", **headers}

    def worker():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        start.wait()
        while True:
            with lock:
                index = next(position, None)
            if index is None:
                break
            began = time.perf_counter()
            try:
                connection.request("POST", path, body=bodies[index], headers=sent)
                response = connection.getresponse()
                answer = response.read()
                status = response.status
                if response.will_close:
                    connection.close()
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                status, answer = 0, repr(exc).encode()
            elapsed = time.perf_counter() - began
            with lock:
                load.latencies.append(elapsed)
                load.statuses[status] += 1
                if status not in expect and len(load.failures) < 5:
                    load.failures.append(f"{status}: {answer[:300].decode('utf-8', 'replace')}")
                if keep_bodies:
                    load.bodies.append(answer)
        connection.close()

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in pool:
        thread.join()
    load.wall = time.perf_counter() - began
    return load
