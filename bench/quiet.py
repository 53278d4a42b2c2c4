"""Wait for a quiet machine before a measured run.

Why: the benchmarks compare runs taken minutes apart on a 2-core machine that also runs the whole
stack. Work that is not the benchmark's own lands in whichever run it overlaps and skews that run's
ratio: the hourly reconcile (Celery beat also runs it when the stack starts; over this machine's
benchmark database it keeps a core busy for about a minute), the relay and the history consumer
still draining the previous run's events, autovacuum. So before each run the harness waits until
the machine's busy time over one second falls below a limit, and reports how long it waited.

Standard library only: `bench/before_after.py` imports it next to the previous release's code.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

# An idle stack (relay and consumer polling, Kafka, beat) keeps ~0.05 core busy here.
QUIET_BUSY_CORES = 0.3
QUIET_TIMEOUT_SECONDS = 300.0


def cpu_times() -> tuple[int, int]:
    """(busy, total) clock ticks of all cores since boot, from /proc/stat's first line."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])  # user nice system idle iowait irq softirq steal (guest is in user)
    return total - idle, total


def cores_busy_between(before: tuple[int, int], after: tuple[int, int]) -> float:
    """How many cores were busy, on average, between two `cpu_times()` readings."""
    total = after[1] - before[1]
    return (after[0] - before[0]) / total * (os.cpu_count() or 1) if total else 0.0


def cpu_seconds_of(pids: set[int] | list[int]) -> float:
    """CPU seconds (user + system) the processes used so far; a process gone counts nothing."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def process_group_cpu(pgid: int) -> float:
    """CPU seconds (user + system) of every live process in a process group."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def busy_cores(seconds: float = 1.0) -> float:
    """How many cores were busy, on average, over the next `seconds`."""
    before = cpu_times()
    time.sleep(seconds)
    return cores_busy_between(before, cpu_times())


def wait_for_quiet(
    say: Callable[[str], None] = print,
    limit: float = QUIET_BUSY_CORES,
    timeout: float = QUIET_TIMEOUT_SECONDS,
) -> float:
    """Block until fewer than `limit` cores are busy over a second; the seconds waited. After
    `timeout` it says so and returns: a run on a busy machine is reported, not skipped."""
    started = time.monotonic()
    announced = False
    while (busy := busy_cores()) >= limit:
        waited = time.monotonic() - started
        if waited >= timeout:
            say(f"the machine is still busy ({busy:.2f} cores) after {waited:.0f}s; measuring anyway")
            break
        if not announced:
            say(f"waiting for a quiet machine: {busy:.2f} cores busy (limit {limit})")
            announced = True
    return round(time.monotonic() - started, 1)
