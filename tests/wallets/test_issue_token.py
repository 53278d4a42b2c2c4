"""`manage.py issue_token` prints only the key; --operator makes staff."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db


def issue(*args: str) -> str:
    out = io.StringIO()
    call_command("issue_token", *args, stdout=out)
    return out.getvalue()


def test_prints_only_the_key_and_is_stable():
    first = issue("ivy")
    key = Token.objects.get(user__username="ivy").key
    assert first == key + "\n"
    assert issue("ivy") == first
    user = get_user_model().objects.get(username="ivy")
    assert not user.is_staff
    assert not user.has_usable_password()


def test_operator_is_staff_with_admin_view_permissions():
    issue("olga", "--operator")
    user = get_user_model().objects.get(username="olga")
    assert user.is_staff and not user.is_superuser
    assert user.has_perm("wallets.view_wallet")
    assert user.has_perm("wallets.change_wallet")
    assert not user.has_perm("wallets.delete_wallet")


def test_bad_username_is_refused():
    with pytest.raises(CommandError):
        issue("not a valid name!")


def test_token_authenticates_the_api(client, make_wallet):
    key = issue("jack").strip()
    wallet = make_wallet("jack", "1")
    response = client.get(f"/wallets/{wallet.id}", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200
    assert response.json()["data"]["balance"] == "1.0000"
