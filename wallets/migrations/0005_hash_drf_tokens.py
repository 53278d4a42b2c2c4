"""Carry DRF authtoken keys over to knox's hashed tokens, then drop the plain-text table.

Why a migration and not only a re-issue: every client keeps working through the deploy. Why the
carried-over tokens expire (30 days after this runs): their keys were stored readable, so every
backup taken before now holds them; each client gets a new key (`issue_token`) within that window.

Each key becomes a knox row exactly as knox would make it: digest = SHA-512 of the key, token_key =
its first 15 characters (so the 40-character key authenticates unchanged). The issue is recorded in
the token audit. Then `authtoken_token` is dropped and the authtoken app's migration records are
removed (it is no longer installed); `manage.py remove_stale_contenttypes` clears its permissions.
A database that never had the table (a new one) is left as it is. Not reversible: the keys are gone.
"""

import hashlib
from datetime import timedelta

from django.db import migrations
from django.utils import timezone

GRACE = timedelta(days=30)
TOKEN_KEY_LENGTH = 15  # knox.settings.CONSTANTS.TOKEN_KEY_LENGTH


def hash_drf_tokens(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('authtoken_token') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return
        cursor.execute(
            "SELECT t.key, t.user_id, t.created, u.username, u.is_staff"
            " FROM authtoken_token t JOIN auth_user u ON u.id = t.user_id"
        )
        rows = cursor.fetchall()
        expiry = timezone.now() + GRACE
        for key, user_id, created, username, is_staff in rows:
            digest = hashlib.sha512(key.encode()).hexdigest()
            cursor.execute(
                "INSERT INTO knox_authtoken (digest, token_key, user_id, created, expiry)"
                " VALUES (%s, %s, %s, %s, %s)",
                [digest, key[:TOKEN_KEY_LENGTH], user_id, created, expiry],
            )
            cursor.execute(
                "INSERT INTO wallets_tokenevent"
                " (action, username, owner_is_staff, token_prefix, expires_at, actor, via, at)"
                " VALUES ('issued', %s, %s, %s, %s, 'wallets.0005_hash_drf_tokens', 'migration', now())",
                [username, is_staff, key[:TOKEN_KEY_LENGTH], expiry],
            )
        cursor.execute("DROP TABLE authtoken_token")
        cursor.execute("DELETE FROM django_migrations WHERE app = 'authtoken'")


class Migration(migrations.Migration):
    dependencies = [
        ("wallets", "0004_tokens"),
        ("knox", "0009_extend_authtoken_field"),
    ]

    operations = [migrations.RunPython(hash_drf_tokens, migrations.RunPython.noop, elidable=False)]
