"""wallets' migration 0005: DRF authtoken keys become knox digests (the old key keeps working, for
30 days), the plain-text table is dropped, and a database that never had it is left alone."""

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from knox.crypto import hash_token
from knox.models import AuthToken
from rest_framework.test import APIClient

from wallets import services
from wallets.models import TokenEvent

pytestmark = pytest.mark.django_db

migration = importlib.import_module("wallets.migrations.0005_hash_drf_tokens")
LEGACY_KEY = "3f2a9c0d5e6b7a8f9e0d1c2b3a4f5e6d7c8b9a0f"  # DRF's shape: 40 hex characters


def run_migration() -> None:
    with connection.schema_editor() as editor:
        migration.hash_drf_tokens(apps, editor)


def table_exists() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('authtoken_token') IS NOT NULL")
        return bool(cursor.fetchone()[0])


@pytest.fixture
def legacy_database():
    """What a database migrated before this change holds: DRF's table with a readable key."""
    user = get_user_model().objects.create(username="legacy", is_staff=True)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created timestamptz NOT NULL,"
            " user_id integer NOT NULL UNIQUE REFERENCES auth_user (id))"
        )
        cursor.execute(
            "INSERT INTO authtoken_token VALUES (%s, now() - interval '400 days', %s)", [LEGACY_KEY, user.id]
        )
        cursor.execute(
            "INSERT INTO django_migrations (app, name, applied) VALUES ('authtoken', '0001_initial', now())"
        )
    return user


def test_legacy_keys_become_digests_and_keep_working(legacy_database):
    before = timezone.now()
    run_migration()
    assert not table_exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM django_migrations WHERE app = 'authtoken'")
        assert cursor.fetchone() == (0,)
    token = AuthToken.objects.get(user=legacy_database)
    assert token.digest == hash_token(LEGACY_KEY)
    assert token.token_key == LEGACY_KEY[:15]
    assert before + timedelta(days=30) <= token.expiry <= timezone.now() + timedelta(days=30)
    assert token.created < before - timedelta(days=399), "the original creation time is kept"
    event = TokenEvent.objects.get()
    assert (event.action, event.username, event.via, event.owner_is_staff) == (
        "issued",
        "legacy",
        "migration",
        True,
    )

    wallet = services.wallet_create(user_id="someone", currency=None)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {LEGACY_KEY}")
    assert client.get(f"/wallets/{wallet.id}").status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Token {LEGACY_KEY[:-1]}0")
    assert client.get(f"/wallets/{wallet.id}").status_code == 401


def test_a_database_without_the_table_is_left_alone():
    assert not table_exists()
    run_migration()
    assert not AuthToken.objects.exists()
    assert not TokenEvent.objects.exists()
