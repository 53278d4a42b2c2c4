"""`manage.py issue_token <username> [--operator] [--ttl SECONDS | --no-expiry] [--by NAME]`: print a
new API token key, and only that.

Creates the user if needed (no password: tokens only). `--operator` makes the user staff and a
member of the `operators` group, which may view everything in the admin (the approvals too), freeze
wallets, reverse ledger transactions (a reversal waits for a second operator's approval: issue #23)
and revoke tokens; approving is a role of its own (`manage.py grant_approver`). Every run makes a
new token (only its digest is stored, so an old key cannot be shown again); earlier tokens stay
valid until they expire or `revoke_token` ends them. The token lives `--ttl` seconds, else
`API_TOKEN_TTL_DAYS`. The issue is recorded (admin: Token events) with who did it: `--by`, else the
operating-system user.
"""

import re
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Q

from wallets.permissions import USER_ID_PATTERN
from wallets.tokens import command_actor, token_issue

OPERATOR_GROUP = "operators"
OPERATOR_APPS = ("wallets", "approvals", "history", "kafka_bridge", "axes")


def operators_group() -> Group:
    group, _ = Group.objects.get_or_create(name=OPERATOR_GROUP)
    permissions = Permission.objects.filter(
        Q(content_type__app_label__in=OPERATOR_APPS, codename__startswith="view_")
        | Q(content_type__app_label="wallets", codename="change_wallet")  # freeze / unfreeze
        | Q(content_type__app_label="wallets", codename="change_ledgertransaction")  # reverse (recorded)
        | Q(content_type__app_label="wallets", codename="delete_apitoken")  # revoke (recorded)
    )
    group.permissions.add(*permissions)
    return group


class Command(BaseCommand):
    help = "Create the user if needed, issue a new API token and print its key."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")
        parser.add_argument("--operator", action="store_true", help="staff: may act on any wallet")
        lifetime = parser.add_mutually_exclusive_group()
        lifetime.add_argument(
            "--ttl", type=int, metavar="SECONDS", help="lifetime (default API_TOKEN_TTL_DAYS)"
        )
        lifetime.add_argument("--no-expiry", action="store_true", help="a token that never expires")
        parser.add_argument("--by", help="who issues it, for the audit (default: the OS user)")

    def handle(self, *args: Any, **options: Any) -> None:
        username = options["username"]
        if not re.fullmatch(USER_ID_PATTERN, username):
            raise CommandError("username must be 1-100 characters of [A-Za-z0-9_.@+-]")
        ttl: timedelta | None = settings.API_TOKEN_TTL
        if options["no_expiry"]:
            ttl = None
        elif options["ttl"] is not None:
            if options["ttl"] <= 0:
                raise CommandError("--ttl must be a positive number of seconds")
            ttl = timedelta(seconds=options["ttl"])
        with transaction.atomic():
            user, created = get_user_model().objects.get_or_create(username=username)
            if created:
                user.set_unusable_password()
            if options["operator"]:
                user.is_staff = True
                user.groups.add(operators_group())
            user.save()
            key = token_issue(user=user, ttl=ttl, actor=command_actor(options["by"]), via="issue_token")
        self.stdout.write(key)
