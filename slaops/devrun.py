"""Run web, Celery worker and Celery beat together in one terminal (`make run`).

Each process's output is prefixed with its name. Ctrl-C (or SIGTERM) stops all three;
if one dies, the others are stopped too, so a half-running app never looks healthy.
"""

import argparse
import errno
import os
import signal
import socket
import subprocess
import sys
import threading
import time

COLOURS = {"web": "\033[36m", "worker": "\033[33m", "beat": "\033[35m"}
RESET = "\033[0m"


def port_is_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def _pump(name: str, stream, lock: threading.Lock, colour: bool) -> None:
    prefix = f"{COLOURS[name]}{name:>6} |{RESET} " if colour else f"{name:>6} | "
    for line in iter(stream.readline, ""):
        with lock:
            sys.stdout.write(prefix + line)
            sys.stdout.flush()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    args = parser.parse_args(argv)

    if not port_is_free(args.host, args.port):
        print(
            f"Port {args.port} on {args.host} is already in use (is slaops already running?).\n"
            f"Stop whatever holds it, or choose another port: make run PORT={args.port + 1}",
            file=sys.stderr,
        )
        return 2

    python = sys.executable
    var_dir = os.environ.get("SLAOPS_VAR_DIR", os.path.join(os.getcwd(), "var"))
    commands = {
        "web": [python, "manage.py", "runserver", f"{args.host}:{args.port}", "--noreload"],
        "worker": [
            python,
            "-m",
            "celery",
            "-A",
            "slaops",
            "worker",
            "-l",
            "info",
            "--concurrency",
            "2",
            "-n",
            "worker@%h",
        ],
        "beat": [
            python,
            "-m",
            "celery",
            "-A",
            "slaops",
            "beat",
            "-l",
            "info",
            "--schedule",
            os.path.join(var_dir, "celerybeat-schedule"),
        ],
    }
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    colour = sys.stdout.isatty()
    lock = threading.Lock()
    procs: dict[str, subprocess.Popen] = {}
    for name, cmd in commands.items():
        # Own process group: Ctrl-C reaches this runner, which then stops each child once.
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            start_new_session=True,
        )
        procs[name] = proc
        threading.Thread(target=_pump, args=(name, proc.stdout, lock, colour), daemon=True).start()
    print(
        f"slaops is starting on http://{args.host}:{args.port}/ (Ctrl-C stops web, worker and beat)"
    )

    stopping = threading.Event()

    def stop(*_):
        stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    while not stopping.is_set():
        for name, proc in procs.items():
            if proc.poll() is not None:
                print(
                    f"{name} exited with code {proc.returncode}; stopping the others.",
                    file=sys.stderr,
                )
                exit_code = proc.returncode or 1
                stopping.set()
                break
        stopping.wait(0.5)

    for proc in procs.values():
        if proc.poll() is None:
            proc.terminate()  # each stops its own children (Celery's pool) cleanly
    deadline = time.monotonic() + 10
    for proc in procs.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    print("slaops stopped.")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
