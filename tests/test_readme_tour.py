"""The README's tour runs as written (issue #35): its shell block, against a web server of the test's
own on the test database, every command in order in one bash. Each output is checked against the
comment printed under its command: every `"key":value` pair shown there (values elided with `…`
left out) is in what the command printed, so the tour and the API cannot drift apart silently."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from common.postgresql.url import database_url
from tests.conftest import ROOT

README = ROOT / "README.md"
SHOWN_PAIR = re.compile(r'"(\w+)":("[^"]*"|-?\d+(?:\.\d+)?|true|false|null)')


def tour_commands() -> list[tuple[str, list[str]]]:
    """The tour's commands (continuation lines joined) with the comment lines that follow each."""
    block = re.search(r"^## Tour\n.*?^```bash\n(.*?)^```", README.read_text(), re.M | re.S)
    assert block, "README.md has no ## Tour with a bash block"
    commands: list[tuple[str, list[str]]] = []
    pending = ""
    for line in block.group(1).splitlines():
        if not pending and line.lstrip().startswith("#"):
            if commands:
                commands[-1][1].append(line)
            continue
        if not line.strip():
            continue
        pending += line[:-1] + " " if line.endswith("\\") else line
        if not line.endswith("\\"):
            commands.append((pending, []))
            pending = ""
    return commands


def shown_pairs(comments: list[str]) -> list[str]:
    """The `"key":value` pairs a command's comment shows in full."""
    text = " ".join(c.lstrip("# ") for c in comments if c.lstrip("# ").startswith(("{", '"')))
    return [f'"{k}":{v}' for k, v in SHOWN_PAIR.findall(text) if "…" not in v]


@pytest.fixture
def server(live_server_url: str) -> str:
    return live_server_url


def test_the_readme_tour_runs_verbatim_and_answers_what_it_shows(server):
    commands = tour_commands()
    host = server.removeprefix("http://")
    script = "\n".join(
        f"{command.replace('127.0.0.1:3000', host)}\necho '@@@ {i}'"
        for i, (command, _) in enumerate(commands)
    )
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}",
    }
    run = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, f"the tour failed:\n{run.stdout}\n{run.stderr}"
    outputs = re.split(r"^@@@ \d+\n", run.stdout, flags=re.M)[: len(commands)]
    checked = 0
    for (command, comments), output in zip(commands, outputs, strict=True):
        missing = [pair for pair in shown_pairs(comments) if pair not in output]
        assert missing == [], f"{command}\nprinted {output}\nwithout {missing}"
        checked += len(shown_pairs(comments))
    assert checked >= 8, "the tour shows too little to check"
