"""`manage.py issue_token` prints only a new key; --operator makes staff; --ttl and the default
lifetime; `revoke_token` by key or by user; both recorded in the token audit with who did it."""

import getpass
import io
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone
from knox.crypto import hash_token
from knox.models import AuthToken

from wallets.models import TokenEvent

pytestmark = pytest.mark.django_db


def issue(*args: str) -> str:
    out = io.StringIO()
    call_command("issue_token", *args, stdout=out)
    return out.getvalue()


def revoke(*args: str) -> str:
    out = io.StringIO()
    call_command("revoke_token", *args, stdout=out)
    return out.getvalue()


def test_prints_only_a_new_key_each_time():
    first = issue("ivy")
    key = first.strip()
    assert first == key + "\n"
    assert len(key) == 64 and set(key) <= set("0123456789abcdef")
    token = AuthToken.objects.get(user__username="ivy")
    assert token.digest == hash_token(key), "only the digest is stored"
    assert token.token_key == key[:15]
    second = issue("ivy")
    assert second != first, "a key is shown once: a second run makes a second token"
    assert AuthToken.objects.filter(user__username="ivy").count() == 2
    user = get_user_model().objects.get(username="ivy")
    assert not user.is_staff
    assert not user.has_usable_password()


def test_operator_is_staff_with_admin_view_permissions():
    issue("olga", "--operator")
    user = get_user_model().objects.get(username="olga")
    assert user.is_staff and not user.is_superuser
    assert user.has_perm("wallets.view_wallet")
    assert user.has_perm("wallets.change_wallet")
    assert user.has_perm("wallets.view_tokenevent")
    assert user.has_perm("wallets.view_apitoken")
    assert user.has_perm("wallets.delete_apitoken"), "operators may revoke tokens (recorded)"
    assert not user.has_perm("wallets.add_apitoken")
    assert not user.has_perm("knox.add_authtoken")
    assert not user.has_perm("wallets.delete_wallet")


def test_bad_username_is_refused():
    with pytest.raises(CommandError):
        issue("not a valid name!")


@pytest.mark.parametrize("ttl", ["0", "-5"])
def test_a_ttl_must_be_positive(ttl):
    with pytest.raises(CommandError):
        issue("ivy", "--ttl", ttl)
    assert not AuthToken.objects.exists()


def test_lifetime_default_setting_ttl_and_no_expiry(settings):
    settings.API_TOKEN_TTL = timedelta(days=7)
    before = timezone.now()
    issue("ann")
    issue("ann", "--ttl", "60")
    issue("ann", "--no-expiry")
    settings.API_TOKEN_TTL = None
    issue("ann")
    expiries = [t.expiry for t in AuthToken.objects.filter(user__username="ann").order_by("created")]
    assert before + timedelta(days=7) <= expiries[0] <= timezone.now() + timedelta(days=7)
    assert before + timedelta(seconds=60) <= expiries[1] <= timezone.now() + timedelta(seconds=60)
    assert expiries[2:] == [None, None]


def test_issue_is_recorded_with_who_did_it():
    key = issue("ivy", "--by", "carol").strip()
    issue("olga", "--operator", "--ttl", "60")
    ivy, olga = TokenEvent.objects.order_by("at")
    assert (ivy.action, ivy.username, ivy.actor, ivy.via) == ("issued", "ivy", "carol", "issue_token")
    assert ivy.token_prefix == key[:15] and not ivy.owner_is_staff and ivy.expires_at is not None
    assert (olga.username, olga.owner_is_staff, olga.actor) == ("olga", True, getpass.getuser())


def test_token_authenticates_the_api(client, make_wallet):
    key = issue("jack").strip()
    wallet = make_wallet("jack", "1")
    response = client.get(f"/wallets/{wallet.id}", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200
    assert response.json()["data"]["balance"] == "1.0000"


def test_revoke_one_key_leaves_the_users_other_tokens(client, make_wallet):
    wallet = make_wallet("kim", "1")
    doomed, kept = issue("kim").strip(), issue("kim").strip()
    output = revoke(doomed, "--by", "dan")
    assert doomed not in output, "never echo a key"
    assert f"revoked {doomed[:15]}… of kim" in output
    assert client.get(f"/wallets/{wallet.id}", HTTP_AUTHORIZATION=f"Token {doomed}").status_code == 401
    assert client.get(f"/wallets/{wallet.id}", HTTP_AUTHORIZATION=f"Token {kept}").status_code == 200
    event = TokenEvent.objects.get(action="revoked")
    assert (event.username, event.token_prefix, event.actor, event.via) == (
        "kim",
        doomed[:15],
        "dan",
        "revoke_token",
    )


def test_revoke_a_user_ends_all_their_tokens_and_no_one_elses():
    issue("lee")
    issue("lee")
    other = issue("max").strip()
    output = revoke("lee")
    assert "2 token(s) revoked" in output
    assert not AuthToken.objects.filter(user__username="lee").exists()
    assert AuthToken.objects.get(user__username="max").digest == hash_token(other)
    assert TokenEvent.objects.filter(action="revoked", username="lee").count() == 2
    assert revoke("lee") == "lee has no tokens\n"


def test_revoke_unknown_target_is_an_error():
    with pytest.raises(CommandError):
        revoke("nobody")
    with pytest.raises(CommandError):
        revoke("0" * 64)
    assert not TokenEvent.objects.exists()
