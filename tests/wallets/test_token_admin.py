"""The admin's token pages: live tokens without keys or digests, a recorded *Revoke*, the token audit
read-only, and who moved money on each ledger transaction."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from knox.models import AuthToken

from wallets.models import TokenEvent

pytestmark = pytest.mark.django_db

TOKENS = "/admin/wallets/apitoken/"
EVENTS = "/admin/wallets/tokenevent/"


def issue(*args: str) -> str:
    out = io.StringIO()
    call_command("issue_token", *args, stdout=out)
    return out.getvalue().strip()


@pytest.fixture
def operator_browser(client):
    issue("opsadmin", "--operator")
    client.force_login(get_user_model().objects.get(username="opsadmin"))
    return client


def test_the_token_list_shows_prefix_owner_and_dates_never_a_key_or_digest(operator_browser):
    keys = [issue("tina"), issue("ursula", "--ttl", "600")]
    page = operator_browser.get(TOKENS)
    html = page.content.decode()
    assert page.status_code == 200
    for key in keys:
        assert f"{key[:15]}…" in html
        assert key not in html
        assert key[15:] not in html
    for token in AuthToken.objects.all():
        # Only as the form's value of the row's checkbox (the primary key), never shown as text.
        assert html.count(token.digest) == html.count(f'value="{token.digest}"') == 1
    assert "tina" in html and "ursula" in html
    assert "active" in html
    assert operator_browser.get(TOKENS, {"q": "ursula"}).content.decode().count("ursula") >= 1
    assert keys[0][:15] not in operator_browser.get(TOKENS, {"q": "ursula"}).content.decode()


def test_tokens_cannot_be_made_or_edited_in_the_admin(operator_browser):
    issue("tina")
    digest = AuthToken.objects.get(user__username="tina").digest
    assert operator_browser.get(f"{TOKENS}add/").status_code == 403
    assert operator_browser.post(f"{TOKENS}{digest}/delete/", {"post": "yes"}).status_code == 403
    assert AuthToken.objects.filter(digest=digest).exists()
    assert operator_browser.get("/admin/knox/authtoken/").status_code == 404, "knox's own page is gone"


def test_revoke_action_is_recorded_with_the_admin_user(operator_browser):
    doomed, kept = issue("vera"), issue("walt")
    digest = AuthToken.objects.get(user__username="vera").digest
    response = operator_browser.post(TOKENS, {"action": "revoke_tokens", "_selected_action": [digest]})
    assert response.status_code == 302
    assert not AuthToken.objects.filter(user__username="vera").exists()
    assert AuthToken.objects.filter(user__username="walt").exists()
    event = TokenEvent.objects.get(action="revoked")
    assert (event.username, event.token_prefix, event.actor, event.via) == (
        "vera",
        doomed[:15],
        "opsadmin",
        "admin",
    )
    assert kept[:15] != doomed[:15]


def test_staff_without_the_revoke_permission_cannot_revoke(client):
    viewer = get_user_model().objects.create(username="viewer", is_staff=True)
    from django.contrib.auth.models import Permission

    viewer.user_permissions.add(Permission.objects.get(codename="view_apitoken"))
    client.force_login(viewer)
    issue("xena")
    digest = AuthToken.objects.get(user__username="xena").digest
    assert client.get(TOKENS).status_code == 200
    response = client.post(TOKENS, {"action": "revoke_tokens", "_selected_action": [digest]})
    assert response.status_code == 200  # the list again, "no action selected"
    assert AuthToken.objects.filter(digest=digest).exists()
    assert not TokenEvent.objects.filter(action="revoked").exists()


def test_token_events_are_visible_and_read_only(operator_browser):
    issue("yuri", "--by", "carol")
    call_command("revoke_token", "yuri", "--by", "dave", stdout=io.StringIO())
    page = operator_browser.get(EVENTS)
    html = page.content.decode()
    assert page.status_code == 200
    assert "carol" in html and "dave" in html and "yuri" in html
    event = TokenEvent.objects.get(action="issued", username="yuri")
    assert operator_browser.get(f"{EVENTS}add/").status_code == 403
    assert operator_browser.get(f"{EVENTS}{event.pk}/delete/").status_code == 403
    operator_browser.post(f"{EVENTS}{event.pk}/change/", {"actor": "someone else"})
    event.refresh_from_db()
    assert event.actor == "carol"


def test_who_funded_and_withdrew_is_on_the_ledger_pages(operator_browser, operator, make_wallet):
    wallet = make_wallet("zoe")
    assert operator.post(f"/wallets/{wallet.id}/fund", {"amount": "7.00"}, format="json").status_code == 200
    assert (
        operator.post(f"/wallets/{wallet.id}/withdraw", {"amount": "2.00"}, format="json").status_code == 200
    )
    html = operator_browser.get("/admin/wallets/ledgertransaction/", {"q": "ops"}).content.decode()
    assert html.count(">ops<") >= 2, "initiated_by is a column: the staff user who called the API"
    assert ">FUND<" in html.replace("Fund", "FUND") and ">WITHDRAW<" in html.replace("Withdraw", "WITHDRAW")
