"""One management command on the database of DATABASE_URL, with its wall time and CPU, and its
database backend's CPU (read from /proc: PostgreSQL runs on this machine). Prints one JSON line.

    DATABASE_URL=... .venv/bin/python bench/volume_child.py reconcile --full

Why a process of its own: the command runs as it does in production (its own Django, its own
connection), and the backend it talks to is known (`pg_backend_pid()`), so its CPU is that
backend's alone, not the whole server's.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "walletproject.settings")

sys.path.insert(0, str(ROOT / "bench"))

from quiet import cpu_seconds_of  # noqa: E402  (standard library only)


def main() -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.core.management.base import CommandError
    from django.db import connection

    def backend() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            return int(cursor.fetchone()[0])

    pids = {backend()}
    before_backend = cpu_seconds_of(pids)
    before = os.times()
    started = time.monotonic()
    out, err = io.StringIO(), io.StringIO()
    exit_code = 0
    try:
        call_command(*sys.argv[1:], stdout=out, stderr=err)
    except CommandError as exc:
        exit_code = exc.returncode
        err.write(f"{exc}\n")
    wall = time.monotonic() - started
    after = os.times()
    with contextlib.suppress(Exception):  # then the figure is the first backend's only
        pids.add(backend())  # the command may have opened a new connection
    spent_backend = cpu_seconds_of(pids) - before_backend
    backend_peak = 0
    for pid in pids:  # the backend's peak resident memory (PostgreSQL runs on this machine)
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    backend_peak = max(backend_peak, int(line.split()[1]))
    print(
        json.dumps(
            {
                "command": sys.argv[1:],
                "exit": exit_code,
                "wall_s": round(wall, 3),
                "process_cpu_s": round((after.user - before.user) + (after.system - before.system), 3),
                "backend_cpu_s": round(spent_backend, 3),
                "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "backend_peak_rss_mib": round(backend_peak / 1024, 1),
                "stdout": out.getvalue(),
                "stderr": err.getvalue(),
            }
        )
    )


if __name__ == "__main__":
    main()
