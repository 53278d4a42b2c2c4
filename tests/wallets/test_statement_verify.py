"""The statements this service writes are the ones verify_statement.py accepts (issue #33): a
customer's CSV and JSON pages verify offline, consecutive statements chain with --previous, and a
changed amount in a downloaded statement is caught."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from rest_framework.test import APIClient

from common.times import format_timestamp
from tests.conftest import ROOT
from wallets.models import Wallet

from .test_statement import busy_wallet


def verify(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "verify_statement.py"), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def save_csv(client: APIClient, wallet: Wallet, path: Path, **query: str) -> Path:
    response: Any = client.get(f"/wallets/{wallet.id}/statement", {**query, "format": "csv"})
    assert response.status_code == 200
    path.write_bytes(b"".join(response.streaming_content))
    return path


def save_pages(client: APIClient, wallet: Wallet, directory: Path, **query: str) -> list[Path]:
    paths: list[Path] = []
    cursor = None
    while True:
        body = client.get(
            f"/wallets/{wallet.id}/statement",
            {**query, "limit": "3", **({"cursor": cursor} if cursor else {})},
        ).json()
        path = directory / f"page{len(paths) + 1}.json"
        path.write_text(json.dumps(body))
        paths.append(path)
        cursor = body["next_cursor"]
        if cursor is None:
            return paths


def test_downloaded_statements_verify_offline(
    alice: APIClient, make_wallet: Callable[..., Wallet], tmp_path: Path
):
    wallet, entries = busy_wallet(make_wallet)
    cut = format_timestamp(entries[4].created_at)
    whole = {"from": format_timestamp(wallet.created_at)}
    first = {"from": format_timestamp(wallet.created_at), "to": cut}
    second = {"from": cut}

    checked = verify(save_csv(alice, wallet, tmp_path / "whole.csv", **whole))
    assert checked.returncode == 0 and checked.stdout.startswith("OK"), checked.stdout + checked.stderr

    pages = save_pages(alice, wallet, tmp_path, **whole)
    assert len(pages) == 3
    checked = verify(*pages)
    assert checked.returncode == 0 and checked.stdout.startswith("OK"), checked.stdout + checked.stderr

    earlier = save_csv(alice, wallet, tmp_path / "first.csv", **first)
    later = save_csv(alice, wallet, tmp_path / "second.csv", **second)
    checked = verify("--previous", earlier, later)
    assert checked.returncode == 0 and checked.stdout.startswith("OK"), checked.stdout + checked.stderr
    assert verify("--previous", later, earlier).returncode == 1  # the wrong order does not chain

    lines = (tmp_path / "whole.csv").read_bytes().decode().split("\r\n")
    tampered_line = lines[3].split(",")
    tampered_line[6] = tampered_line[6].replace("-12.5000", "-2.5000")
    assert tampered_line != lines[3].split(",")
    lines[3] = ",".join(tampered_line)
    (tmp_path / "tampered.csv").write_bytes("\r\n".join(lines).encode())
    refused = verify(tmp_path / "tampered.csv")
    assert refused.returncode == 1, refused.stdout


def test_an_empty_statement_verifies(alice: APIClient, make_wallet: Callable[..., Wallet], tmp_path: Path):
    wallet, entries = busy_wallet(make_wallet)
    later = entries[-1].created_at + timedelta(days=1)
    path = save_csv(
        alice,
        wallet,
        tmp_path / "empty.csv",
        **{"from": format_timestamp(later), "to": format_timestamp(later + timedelta(days=30))},
    )
    assert path.read_bytes().count(b"\r\n") == 3  # the header, OPENING and CLOSING
    checked = verify(path)
    assert checked.returncode == 0 and checked.stdout.startswith("OK"), checked.stdout + checked.stderr
