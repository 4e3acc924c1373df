"""The fault tests' scaffolding: real processes to start and kill, and local receivers
that count real deliveries.

- `Proc`: a Celery worker, a beat, gunicorn or a Redis server run as a subprocess in its
  own process group, its output in a log file; `kill()` sends SIGKILL (a crash),
  `stop()` a SIGTERM then SIGKILL; `Procs.stop_all()` (a finalizer) ends every one.
- `SmtpCatcher`: a tiny SMTP server (asyncio, in a thread) keeping every message it
  accepted, counted by the `X-Slaops-Key` header the outbox writes.
- `WebhookReceiver`: an HTTP server on 127.0.0.1 counting POSTs by `Idempotency-Key`.
Both can answer slowly (`delay`), so a test can kill a sender in the middle of a batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CELERY = [sys.executable, "-m", "celery", "-A", "slaops"]


def wait_for(predicate, seconds: float = 30, every: float = 0.2):
    """Poll `predicate` until it returns something truthy; fail naming its docstring."""
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds}s: {predicate.__doc__ or predicate}")
        time.sleep(every)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Proc:
    """One subprocess in its own session, its output in `log`."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path):
        self.name, self.argv, self.env, self.log = name, argv, env, log
        self.proc: subprocess.Popen | None = None

    def start(self) -> Proc:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def succeeded(self, task: str) -> int:
        """How many runs of `task` this worker logged as succeeded."""
        return sum(
            1 for line in self.output().splitlines() if f"{task}[" in line and "succeeded" in line
        )

    def wait_output(self, text: str, seconds: float = 60) -> None:
        def seen():
            if not self.alive():
                raise AssertionError(f"{self.name} exited:\n{self.output()[-3000:]}")
            return text in self.output()

        seen.__doc__ = f"{self.name} printed {text!r}"
        wait_for(seen, seconds)

    def _signal_group(self, sig) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)

    def kill(self) -> None:
        """SIGKILL the whole group: a crash, no cleanup."""
        if self.proc is None:
            return
        self._signal_group(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self, seconds: float = 5) -> None:
        if not self.alive():
            return
        self._signal_group(signal.SIGTERM)
        try:
            self.proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            self.kill()


class Procs:
    """Every process a test started, so its finalizer can end them all."""

    def __init__(self, env: dict[str, str], folder: Path):
        self.env, self.folder = env, folder
        self.started: list[Proc] = []

    def start(self, name: str, argv: list[str], **env) -> Proc:
        log = self.folder / f"{name}-{len(self.started)}.log"
        proc = Proc(name, argv, {**self.env, **{k: str(v) for k, v in env.items()}}, log).start()
        self.started.append(proc)
        return proc

    def worker(self, name: str = "worker", *, pool: str = "solo", **env) -> Proc:
        """A worker running one task at a time, so a kill lands inside a known task: the
        solo pool (the task runs in the worker's own process), or `pool="prefork"` with
        one child (as production runs it: Celery may cancel the child's task when the
        broker connection drops)."""
        argv = [
            *CELERY,
            "worker",
            f"--pool={pool}",
            *(["--concurrency=1"] if pool == "prefork" else []),
            "-l",
            "info",
            "-n",
            f"{name}-{len(self.started)}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        proc = self.start(name, argv, **env)
        proc.wait_output(" ready.", 60)
        return proc

    def beat(self, name: str = "beat", **env) -> Proc:
        schedule = self.folder / f"{name}-{len(self.started)}-schedule"
        argv = [*CELERY, "beat", "-l", "info", "--max-interval", "1", "--schedule", str(schedule)]
        proc = self.start(name, argv, **env)
        proc.wait_output("beat: Starting", 60)
        return proc

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} ---\n{p.output()[-4000:]}" for p in self.started)

    def stop_all(self) -> None:
        for proc in reversed(self.started):
            proc.stop()


# --- SMTP ---------------------------------------------------------------------------------


class SmtpCatcher:
    """An SMTP server on 127.0.0.1 that keeps what it accepts (enough SMTP for smtplib)."""

    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.messages: list[email.message.EmailMessage] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.port = 0

    def start(self) -> SmtpCatcher:
        self._thread.start()
        server = asyncio.start_server(self._session, "127.0.0.1", 0)
        self._server = asyncio.run_coroutine_threadsafe(server, self._loop).result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        async def close():
            self._server.close()
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def keys(self) -> Counter:
        with self._lock:
            return Counter(message["X-Slaops-Key"] for message in self.messages)

    async def _session(self, reader, writer) -> None:
        writer.write(b"220 faults catcher\r\n")
        data: list[bytes] | None = None
        try:
            while line := await reader.readline():
                if data is not None:
                    if line.rstrip(b"\r\n") == b".":
                        self._keep(b"".join(data))
                        data = None
                        if self.delay:
                            await asyncio.sleep(self.delay)
                        writer.write(b"250 OK queued\r\n")
                    else:
                        data.append(line[1:] if line.startswith(b"..") else line)
                    continue
                verb = line[:4].upper()
                if verb == b"EHLO":
                    writer.write(b"250-faults\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                elif verb == b"DATA":
                    writer.write(b"354 go ahead\r\n")
                    data = []
                elif verb == b"QUIT":
                    writer.write(b"221 bye\r\n")
                    await writer.drain()
                    break
                else:  # HELO, MAIL, RCPT, RSET, NOOP
                    writer.write(b"250 OK\r\n")
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    def _keep(self, raw: bytes) -> None:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)


# --- webhooks -----------------------------------------------------------------------------


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 counting the POSTs it answered, by Idempotency-Key."""

    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.posts: list[tuple[str, dict]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.posts.append((self.headers.get("Idempotency-Key"), json.loads(body)))
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)

    def keys(self) -> Counter:
        with self._lock:
            return Counter(key for key, _ in self.posts)
