"""`manage.py issue_token <username> [--operator]`: print an API token key, and only that.

Creates the user if needed (no password: tokens only). `--operator` makes the user staff and a
member of the `operators` group, which may view everything in the admin and freeze wallets.
Running it again prints the same key.
"""

import re
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from rest_framework.authtoken.models import Token

from wallets.permissions import USER_ID_PATTERN

OPERATOR_GROUP = "operators"
OPERATOR_APPS = ("wallets", "history", "kafka_bridge")


def operators_group() -> Group:
    group, _ = Group.objects.get_or_create(name=OPERATOR_GROUP)
    permissions = Permission.objects.filter(
        content_type__app_label__in=OPERATOR_APPS, codename__startswith="view_"
    )
    group.permissions.add(*permissions, *Permission.objects.filter(codename="change_wallet"))
    return group


class Command(BaseCommand):
    help = "Create the user if needed and print its API token key."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")
        parser.add_argument("--operator", action="store_true", help="staff: may act on any wallet")

    def handle(self, *args: Any, **options: Any) -> None:
        username = options["username"]

        if not re.fullmatch(USER_ID_PATTERN, username):
            raise CommandError("username must be 1-100 characters of [A-Za-z0-9_.@+-]")
        with transaction.atomic():
            user, created = get_user_model().objects.get_or_create(username=username)
            if created:
                user.set_unusable_password()
            if options["operator"]:
                user.is_staff = True
                user.groups.add(operators_group())
            user.save()
            token, _ = Token.objects.get_or_create(user=user)
        self.stdout.write(token.key)
