"""The structure ARCHITECTURE.md describes holds: imports run one way, wallet locks are the ORM's.

The import contracts live in pyproject.toml ([tool.importlinter]); import-linter checks them.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_are_kept():
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_wallet_locks_are_select_for_update_in_one_module():
    locks = ROOT / "wallets" / "locks.py"
    text = locks.read_text()
    assert "select_for_update(no_key=True)" in text
    assert 'order_by("id")' in text, "locks are taken in id order"
    assert "cursor" not in text and ".raw(" not in text, "no hand-written SQL in the lock module"
    hand_written = [
        path.relative_to(ROOT)
        for path in (ROOT / "wallets").rglob("*.py")
        if path != locks and re.search(r"FOR\s+(NO\s+KEY\s+)?UPDATE", path.read_text())
    ]
    assert hand_written == [], "wallet locks go through wallets/locks.py"
