"""Runs the schemathesis fuzzing (tests/isolated/fuzz_api.py) in a process of its own.

Why a separate process: the fuzzer drives the WSGI app in-process for ~1,000 requests, including
/metrics, which talks to Kafka through librdkafka. One CI run died of a segmentation fault inside
it that never reproduced; in its own process a crash cannot take the rest of the suite with it,
and its faulthandler traceback lands in this test's output for diagnosis.
"""

from __future__ import annotations

import os
import subprocess
import sys

from .conftest import ROOT


def test_schemathesis_fuzzing_in_its_own_process():
    # A database of its own, named after this run's, so two checkouts' runs never share one.
    env = {**os.environ, "TEST_DATABASE_NAME": os.environ.get("TEST_DATABASE_NAME", "test_wallet") + "_fuzz"}
    result = subprocess.run(
        [
            sys.executable,
            "-X",
            "faulthandler",
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--create-db",
            "tests/isolated/fuzz_api.py",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    print(result.stdout[-6000:], result.stderr[-6000:])
    assert result.returncode == 0, f"fuzzing failed (exit {result.returncode}); output above"
    assert "1 passed" in result.stdout
