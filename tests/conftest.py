"""Shared fixtures. The suite runs against the real services that `scripts/stack up --infra` started."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STACK = ROOT / "scripts" / "stack"


def stack(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run scripts/stack and return its output; fail the test with that output if it failed."""
    result = subprocess.run([str(STACK), *args], capture_output=True, text=True, cwd=ROOT, timeout=300)
    if check and result.returncode != 0:
        pytest.fail(
            f"scripts/stack {' '.join(args)} exited {result.returncode}:\n{result.stdout}{result.stderr}"
        )
    return result


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that stop and start services run last, so they cannot disturb the others."""
    items.sort(key=lambda item: item.get_closest_marker("stack") is not None)
