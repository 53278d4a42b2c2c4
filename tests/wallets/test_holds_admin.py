"""Holds where operators look: the admin (holds by status; the wallet page's held, available and
pending holds) and /metrics (pending holds count and amount per currency)."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model

from tests.conftest import make_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def held(alice, make_wallet):
    """alice's wallet (100) with a pending hold of 30 and a voided one of 10, to bob's."""
    payer, payee = make_wallet("alice", "100"), make_wallet("bob")
    body = {"to_wallet_id": str(payee.id), "amount": "30", "description": "pending one"}
    pending = alice.post(f"/wallets/{payer.id}/holds", body, format="json").json()["data"]["id"]
    voided = alice.post(
        f"/wallets/{payer.id}/holds", {**body, "amount": "10", "description": "voided one"}, format="json"
    ).json()["data"]["id"]
    assert make_client("ops", staff=True).post(f"/holds/{voided}/void").status_code == 200
    return payer, pending, voided


@pytest.fixture
def admin_client(client):
    client.force_login(get_user_model().objects.create_superuser("holdadmin"))
    return client


def test_the_holds_list_filters_by_status(admin_client, held):
    _, pending, voided = held
    everything = admin_client.get("/admin/wallets/hold/").content.decode()
    assert pending in everything and voided in everything
    only_pending = admin_client.get("/admin/wallets/hold/", {"status__exact": "pending"}).content.decode()
    assert pending in only_pending and voided not in only_pending
    assert admin_client.get("/admin/wallets/hold/add/").status_code == 403


def test_the_wallet_page_shows_held_available_and_pending_holds(admin_client, held):
    payer, pending, voided = held
    html = admin_client.get(f"/admin/wallets/wallet/{payer.id}/change/").content.decode()
    assert re.search(r"Held:.*?30\.0000", html, re.S)
    assert re.search(r"Available:.*?70\.0000", html, re.S)
    section = html.split("Pending holds", 1)[1]
    assert pending in section and "pending one" in section
    assert voided not in section
    listing = admin_client.get("/admin/wallets/wallet/", {"q": str(payer.id)}).content.decode()
    assert "70.0000" in listing


def test_metrics_show_pending_holds_per_currency(held):
    scraped = make_client("metrics-ops", staff=True).get("/metrics").content.decode()
    assert 'wallet_pending_holds{currency="USD"} 1.0' in scraped
    assert 'wallet_pending_holds_amount{currency="USD"} 30.0' in scraped
