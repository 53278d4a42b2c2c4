"""A benchmark's copy of an earlier commit's code: a detached git worktree, made once and moved to
the commit asked for afterwards, so a before/after run measures both commits' code in one run."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def checkout(ref: str, where: Path) -> Path:
    """Commit `ref`'s code in `where` (a worktree made, or moved to `ref`); `where` is returned."""
    commit = subprocess.run(
        ["git", "rev-parse", f"{ref}^{{commit}}"], check=True, capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    if not (where / ".git").exists():
        where.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(where), commit],
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
    else:
        subprocess.run(["git", "checkout", "--quiet", "--detach", commit], check=True, cwd=where)
    return where
