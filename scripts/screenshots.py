"""`make screenshots`: PNGs of the main pages at 1366x768 in docs/screenshots/, for a reviewer who
does not run the stack.

Why a database and a web server of its own: the pictures show this checkout's pages (the stack's web
server may still run older code) on the same demo data every run, and the demo users and movements
never land in the live `wallet` database. The database (`wallet_screenshots` on the stack's
PostgreSQL) is created on first use and migrated; the demo data is `manage.py seed_demo`'s (made
once; a pending approval again whenever none is left pending); the web server is
`walletproject.serve` on free loopback ports, as the stack runs it. The browser is Debian's
chromium through Playwright, headless.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--database wallet_screenshots]
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
from contextlib import AbstractContextManager
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "walletproject.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connections  # noqa: E402

from common.postgresql.url import database_url  # noqa: E402
from walletproject import serve  # noqa: E402

WIDTH, HEIGHT = 1366, 768
OPERATOR, CUSTOMER = "demo-ops", "demo-alice"  # seed_demo's
PASSWORD = "demo-password-1"  # noqa: S105 -- a demo user in the screenshots' own database


def say(message: str) -> None:
    print(f"screenshots: {message}", flush=True)


def use_database(name: str) -> str:
    """Create `name` next to the live database if missing, point Django at it, migrate it; its URL."""
    import psycopg

    with psycopg.connect(database_url("postgres"), autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            say(f"creating database {name}")
            admin.execute(f'CREATE DATABASE "{name}"')
    connection = connections["default"]
    connection.close()
    connection.settings_dict["NAME"] = name
    call_command("migrate", "--noinput", verbosity=0)
    return database_url(name)


def seed() -> dict[str, str]:
    """The demo data (`manage.py seed_demo`, made once; the operators' password set every run), a
    pending approval again when none is left pending; the ids the pages need."""
    from django.utils import timezone

    from approvals import services as approvals
    from approvals.models import Approval
    from approvals.thresholds import threshold
    from wallets import services
    from wallets.models import Wallet

    call_command("seed_demo", "--password", PASSWORD, stdout=io.StringIO())
    wallet = Wallet.objects.filter(user_id=CUSTOMER, currency="USD").order_by("created_at").first()
    if wallet is None:
        raise SystemExit(f"seed_demo made no USD wallet for {CUSTOMER}")
    pending = Approval.objects.filter(status=Approval.Status.PENDING, expires_at__gt=timezone.now())
    approval = pending.order_by("-requested_at").first()
    if approval is None:
        say("requesting a fund above the approval threshold (the last one is no longer pending)")
        approval = approvals.movement_request(
            wallet_id=wallet.id,
            amount=threshold(wallet.currency) + Decimal("500"),
            withdraw=False,
            note=services.Note("goodwill credit"),
            requested_by=get_user_model().objects.get(username=OPERATOR),
            via="screenshots",
        )
    return {"wallet": str(wallet.id), "approval": str(approval.id)}


def pages(ids: dict[str, str]) -> list[tuple[str, str]]:
    """(file name, path) of every page pictured, in a reviewer's reading order."""
    wallet, approval = ids["wallet"], ids["approval"]
    return [
        ("01-api-root", "/"),
        ("02-api-wallet", f"/wallets/{wallet}"),
        ("03-api-transfer-form", f"/wallets/{wallet}/transfer"),
        ("04-admin-overview", "/admin/"),
        ("05-admin-wallets", "/admin/wallets/wallet/"),
        ("06-admin-wallet", f"/admin/wallets/wallet/{wallet}/change/"),
        ("07-admin-ledger-transactions", "/admin/wallets/ledgertransaction/"),
        ("08-admin-approval", f"/admin/approvals/approval/{approval}/change/"),
    ]


def web_server(url: str, log: Path) -> AbstractContextManager[str]:
    """`walletproject.serve` (the stack's launcher) on the screenshots' database and two free
    ports, one worker, until the block ends; a fresh log each run."""
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_bytes(b"")
    return serve.in_background({**os.environ, "DATABASE_URL": url}, log, workers=1)


def photograph(base: str, shots: list[tuple[str, str]], out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if executable is None:
        raise SystemExit("chromium is missing: `make setup` installs it")
    out.mkdir(parents=True, exist_ok=True)
    saved = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        try:
            context = browser.new_context(base_url=base, viewport={"width": WIDTH, "height": HEIGHT})
            page = context.new_page()
            page.goto("/admin/login/")
            page.fill("input[name=username]", OPERATOR)
            page.fill("input[name=password]", PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_load_state()
            if "/admin/login/" in page.url:
                raise SystemExit(f"could not log in as {OPERATOR}")
            for name, path in shots:
                response = page.goto(path)
                page.wait_for_load_state("networkidle")
                target = out / f"{name}.png"
                page.screenshot(path=str(target))
                status = response.status if response is not None else "?"
                say(f"{target.relative_to(ROOT)}  {path}  HTTP {status}  {target.stat().st_size // 1024} KiB")
                saved.append(target)
        finally:
            browser.close()
    return saved


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--database", default="wallet_screenshots")
    args = parser.parse_args()
    url = use_database(args.database)
    ids = seed()
    connections.close_all()  # the server's workers and the browser run with Django's ORM idle here
    call_command("collectstatic", "--noinput", verbosity=0)
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's loop; no ORM call from here on
    with web_server(url, ROOT / ".stack" / "screenshots" / "web.log") as base:
        photograph(base, pages(ids), args.out.resolve())


if __name__ == "__main__":
    main()
