"""The generated Python client (clients/python) is current, installs with pip, and works against a
live server: examples/python/flow.py's happy path, errors as exceptions (clients/python_extras),
pagination, a staff movement waiting for approval. The TypeScript example names only operations
the document has, compiles in strict mode and runs the same happy path against a live server.

The committed client must be what `make client` makes from this checkout's schema: a change to the
API without `make client` fails here. The generator runs from its own virtualenv
(.stack/tools/openapi-python-client, made on first use from clients/generator-requirements.txt).
"""

from __future__ import annotations

import filecmp
import os
import re
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from common.postgresql.url import database_url
from tests.conftest import ROOT

CLIENTS = ROOT / "clients"
TYPESCRIPT = ROOT / "examples" / "typescript"
for path in (CLIENTS / "python", CLIENTS / "python_extras", ROOT / "examples" / "python"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from wallet_client import AuthenticatedClient  # noqa: E402
from wallet_client.api.money import transfer_create, wallet_fund  # noqa: E402
from wallet_client.api.wallets import user_wallets_list, wallet_create, wallet_get  # noqa: E402
from wallet_client.models import (  # noqa: E402
    AmountInput,
    TransferEnvelope,
    TransferInput,
    WalletCreateInput,
    WalletEnvelope,
    WalletPage,
)
from wallet_client.types import UNSET, Unset  # noqa: E402
from wallet_client_extras import ApiError, ApprovalPending, expect  # noqa: E402


def differences(left: Path, right: Path) -> list[str]:
    """Files that differ, or exist on one side only, between two trees (caches ignored)."""
    ignore = ["__pycache__", ".ruff_cache", ".mypy_cache"]
    compared = filecmp.dircmp(left, right, ignore=ignore)
    found = [f"only in {left / name}" for name in compared.left_only]
    found += [f"only in {right / name}" for name in compared.right_only]
    found += [str(left / name) for name in compared.diff_files + compared.funny_files]
    for name in compared.common_dirs:
        found += differences(left / name, right / name)
    return found


def test_the_committed_client_is_what_make_client_generates(tmp_path):
    subprocess.run(
        [sys.executable, str(CLIENTS / "generate.py"), "--into", str(tmp_path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=600,
    )
    assert (tmp_path / "openapi.yaml").read_text() == (CLIENTS / "openapi.yaml").read_text(), (
        "clients/openapi.yaml is stale: run `make client` and commit the result"
    )
    stale = differences(CLIENTS / "python", tmp_path / "python")
    assert not stale, f"clients/python is stale (run `make client` and commit): {stale[:10]}"


def test_the_client_installs_with_pip(tmp_path):
    """`pip install ./clients/python` in a virtualenv of its own (its dependencies from the registry,
    as `make venv` gets the app's), then the package imports with its typed marker."""
    venv, source = tmp_path / "venv", tmp_path / "wallet-client"
    # A copy: pip builds in the source tree (build/, *.egg-info), which must stay as generated.
    shutil.copytree(CLIENTS / "python", source, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    install = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    check = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import importlib.resources as r, wallet_client\n"
            "from wallet_client.api.money import transfer_create\n"
            "typed = r.files('wallet_client').joinpath('py.typed').is_file()\n"
            "print(wallet_client.AuthenticatedClient.__name__, typed)",
        ],
        cwd=tmp_path,  # not the checkout: the installed package
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.stdout.split() == ["AuthenticatedClient", "True"], check.stdout + check.stderr


@pytest.fixture
def server(live_server_url: str) -> str:
    return live_server_url


def issue_token(username: str, *options: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", "issue_token", username, *options],
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": database_url(),
            "DJANGO_SETTINGS_MODULE": "walletproject.settings",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout.strip()


def test_the_python_example_runs_against_a_live_server(server):
    import flow  # examples/python/flow.py

    result = flow.run(server, issue_token("client-ops", "--operator"), customer="ann", payee="ben")
    assert result == {
        "balance": Decimal("70"),
        "entries": ["TRANSFER_OUT", "FUND"],  # newest first, one page each
        "replayed": True,
        "refused": "insufficient_funds",
    }


def test_errors_are_exceptions_and_pages_follow_the_cursor(server):
    operator = AuthenticatedClient(
        base_url=server, token=issue_token("client-ops2", "--operator"), prefix="Token"
    )
    user = AuthenticatedClient(base_url=server, token=issue_token("cleo"), prefix="Token")
    made = [
        expect(
            wallet_create.sync_detailed(client=user, body=WalletCreateInput(user_id="cleo")), WalletEnvelope
        ).data
        for _ in range(3)
    ]

    # An end user's own wallets, two pages of 2 then 1, newest first.
    seen: list[list[Any]] = []
    cursor: str | Unset = UNSET
    while True:
        page = expect(
            user_wallets_list.sync_detailed("cleo", client=user, limit=2, cursor=cursor), WalletPage
        )
        seen.append([wallet.id for wallet in page.data])
        if not page.has_more:
            break
        assert page.next_cursor is not None
        cursor = page.next_cursor
    assert seen == [[made[2].id, made[1].id], [made[0].id]]

    # Another user's wallet: 404 wallet_not_found, as an exception with the envelope's code.
    other = expect(
        wallet_create.sync_detailed(client=operator, body=WalletCreateInput(user_id="dan")), WalletEnvelope
    )
    with pytest.raises(ApiError) as caught:
        expect(wallet_get.sync_detailed(other.data.id, client=user), WalletEnvelope)
    assert (caught.value.status, caught.value.code) == (404, "wallet_not_found")

    # Funding is staff-only: 403 for an end user.
    with pytest.raises(ApiError) as caught:
        expect(
            wallet_fund.sync_detailed(made[0].id, client=user, body=AmountInput(amount="5")), WalletEnvelope
        )
    assert (caught.value.status, caught.value.code) == (403, "permission_denied")

    # A bad body names the field in details.
    with pytest.raises(ApiError) as caught:
        expect(
            transfer_create.sync_detailed(
                made[0].id, client=user, body=TransferInput(to_wallet_id=made[1].id, amount="1.23456")
            ),
            TransferEnvelope,
        )
    assert caught.value.status == 400 and "amount" in str(caught.value.details) + caught.value.message

    # A wrong token: 401 not_authenticated.
    stranger = AuthenticatedClient(base_url=server, token="0" * 64, prefix="Token")
    with pytest.raises(ApiError) as caught:
        expect(wallet_get.sync_detailed(made[0].id, client=stranger), WalletEnvelope)
    assert (caught.value.status, caught.value.code) == (401, "not_authenticated")

    # A fund above the approval threshold waits for a second operator: ApprovalPending, nothing moved.
    with pytest.raises(ApprovalPending) as pending:
        expect(
            wallet_fund.sync_detailed(made[0].id, client=operator, body=AmountInput(amount="5000")),
            WalletEnvelope,
        )
    assert pending.value.approval.status.value == "pending"
    assert expect(wallet_get.sync_detailed(made[0].id, client=user), WalletEnvelope).data.balance == "0.0000"


def test_the_typescript_example_calls_only_operations_of_the_document():
    """examples/typescript/flow.ts uses plain fetch (no dependencies): every call it makes is an
    operation of the document."""
    document = yaml.safe_load((CLIENTS / "openapi.yaml").read_text())
    source = (TYPESCRIPT / "flow.ts").read_text()
    calls = re.findall(r'call(?:<[^>]*>)?\(\s*"(GET|POST)",\s*`([^`]+)`', source)
    assert len(calls) >= 6
    patterns = {
        (method.lower(), re.sub(r"\{[^}]+\}", "[^/?]+", path) + r"(\?.*)?")
        for path, item in document["paths"].items()
        for method in item
    }
    for method, url in calls:
        concrete = re.sub(r"\$\{[^}]+\}", "x", url)
        assert any(m == method.lower() and re.fullmatch(p, concrete) for m, p in patterns), (method, url)
    assert "Token ${" in source, "the Authorization header is `Token <key>`"
    assert "Idempotency-Key" in source


def test_the_typescript_example_compiles_strictly_and_runs_against_a_live_server(server, tmp_path):
    """Node here is 20, which runs no TypeScript itself: the example's own pinned compiler
    (examples/typescript/package.json, installed from its lock file on first use) checks it in strict
    mode and compiles it; node runs the result against the server."""
    if not (TYPESCRIPT / "node_modules" / ".bin" / "tsc").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=TYPESCRIPT, check=True, timeout=300)
    out = tmp_path / "build"
    compiled = subprocess.run(
        [str(TYPESCRIPT / "node_modules" / ".bin" / "tsc"), "-p", str(TYPESCRIPT), "--outDir", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    (out / "package.json").write_text('{"type": "module"}')
    ran = subprocess.run(
        ["node", str(out / "flow.js")],
        env={**os.environ, "WALLET_API_URL": server, "WALLET_TOKEN": issue_token("ts-ops", "--operator")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stdout.splitlines() == [
        "funded: 100.0000",
        "transferred: 30.0000 once: true",
        "entries: [ 'TRANSFER_OUT 30.0000', 'FUND 100.0000' ]",
        "refused: 400 insufficient_funds",
        "balance: 70.0000",
    ]
