"""The web server: granian serving the WSGI app on PORT and on HISTORY_PORT.

    python -m walletproject.serve            (what `scripts/stack`, `make run` and the image run)

Why granian and not gunicorn's sync workers: it parses HTTP in Rust and keeps connections alive,
and the hot path is CPU-bound in Python, so the CPU gunicorn spent per request (a new connection,
its parser, its access log) went straight to throughput (README, Performance: the same app served
both ways in one run).

Why this launcher: one granian server binds one address, and the app answers on two ports (the
seed's wallet and history services were two). It runs one granian per port as its children,
forwards SIGHUP (graceful reload: granian starts new workers, then retires the old ones after
their requests), SIGTERM and SIGINT to them, and exits as soon as either child exits, so the
supervisor above (`scripts/stack supervise web`, or the container's restart policy) restarts the
whole web service rather than leaving half of it running.

Settings (environment): PORT (3000), HISTORY_PORT (3001), WEB_HOST (127.0.0.1), WEB_CONCURRENCY
(workers on PORT, 4), WEB_HISTORY_WORKERS (workers on HISTORY_PORT, 1), WEB_ACCESS_LOG (off).

A reload (SIGHUP) replaces one worker every RESPAWN_INTERVAL_SECONDS: granian starts the new one,
waits that long, then stops the old one without checking that the new one listens. At 1 s the
history port's single worker left a gap under load (8 clients, 4 reloads: 52 refused or reset
connections); at 3 s none. Each worker has its own listening socket, so `scripts/stack` also sets
net.ipv4.tcp_migrate_req (connections queued on a retiring worker move instead of being reset).
Left: a connection a retiring worker has accepted but not yet read is closed unanswered; clients
resend it (README, Operations).

Not set on purpose: granian's `--backpressure` (requests a worker admits at once). Set below the
number of keep-alive connections a worker holds, it starves some of them: with 1 (or 4), 64
clients saw connections served once in 10 s next to others served 3,900 times, while wrk's p99
*improved*, because wrk only times the requests that were answered. The default shares a worker
fairly (a test in tests/test_stack.py holds it to that).

`in_background` starts this launcher on two free loopback ports for the tests and for
`scripts/screenshots.py`: the server the stack runs, on a database of the caller's.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType

GRANIAN = Path(sys.executable).with_name("granian")
FORWARDED = (signal.SIGHUP, signal.SIGTERM, signal.SIGINT)
STOP_GRACE_SECONDS = 15
HEAD_BUFFER_BYTES = 131_072
RESPAWN_INTERVAL_SECONDS = 3


def granian_command(port: int, workers: int) -> list[str]:
    command = [
        str(GRANIAN),
        "walletproject.wsgi:application",
        "--interface",
        "wsgi",
        "--host",
        os.environ.get("WEB_HOST", "127.0.0.1"),
        "--port",
        str(port),
        "--workers",
        str(workers),
        # One thread per worker process: Django's views are blocking and CPU-bound, so more threads
        # would only contend for the GIL; concurrency comes from processes (workers).
        "--blocking-threads",
        "1",
        "--no-ws",
        # Bounds what a request may bring before the app sees it (the schema's 414 and 431): a
        # request target over 65,534 bytes is 414 (hyper's fixed limit); more than 100 header fields,
        # or a request head over this buffer, is 431. Both with an empty body.
        "--http1-buffer-size",
        str(HEAD_BUFFER_BYTES),
        "--respawn-failed-workers",
        "--respawn-interval",
        str(RESPAWN_INTERVAL_SECONDS),
        "--workers-kill-timeout",
        "10",
        "--log-level",
        "warning",
    ]
    if os.environ.get("WEB_ACCESS_LOG", "").lower() in ("1", "true", "yes", "on"):
        command.append("--access-log")
    return command


class NotHealthy(RuntimeError):
    """`in_background`'s server never answered `/health` (the message ends with its log's tail)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def in_background(
    env: dict[str, str], log: Path, *, workers: int = 2, source: Path | None = None
) -> Iterator[str]:
    """This launcher in a process group of its own, on PORT and HISTORY_PORT two free loopback
    ports, its output appended to `log`; yields the base URL of PORT once `/health` answers on
    both, and stops it on the way out; NotHealthy if it never answers. `source`: the checkout
    whose code it serves (a benchmark's worktree of an earlier commit), this one by default."""
    port, history_port = free_port(), free_port()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "walletproject.serve"],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=source or Path(__file__).resolve().parent.parent,
            env={
                "PYTHONUNBUFFERED": "1",
                "DJANGO_SETTINGS_MODULE": "walletproject.settings",
                **env,
                "PORT": str(port),
                "HISTORY_PORT": str(history_port),
                "WEB_CONCURRENCY": str(workers),
            },
            start_new_session=True,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        pending = [base_url, f"http://127.0.0.1:{history_port}"]
        while pending:
            try:
                with urllib.request.urlopen(f"{pending[0]}/health", timeout=1) as response:  # noqa: S310 -- loopback
                    if response.read() == b"OK":
                        pending.pop(0)
                        continue
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-4000:]
                raise NotHealthy(f"the web server did not become healthy:\n{tail}")
            time.sleep(0.2)
        yield base_url
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


def main() -> int:
    servers = [
        (int(os.environ.get("PORT", "3000")), int(os.environ.get("WEB_CONCURRENCY", "4"))),
        (int(os.environ.get("HISTORY_PORT", "3001")), int(os.environ.get("WEB_HISTORY_WORKERS", "1"))),
    ]
    env = {"DJANGO_SETTINGS_MODULE": "walletproject.settings", **os.environ}
    children = [subprocess.Popen(granian_command(port, workers), env=env) for port, workers in servers]
    stopping = False

    def forward(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        if signum != signal.SIGHUP:
            stopping = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    for signum in FORWARDED:
        signal.signal(signum, forward)

    while all(child.poll() is None for child in children):
        time.sleep(0.2)
    exited = next(child for child in children if child.poll() is not None)
    if not stopping:
        print(f"serve: granian {exited.pid} exited ({exited.returncode}); stopping the other", flush=True)
    for child in children:
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
    return 0 if stopping else (exited.returncode or 1)


if __name__ == "__main__":
    sys.exit(main())
