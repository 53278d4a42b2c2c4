"""`manage.py grant_approver <username> [--revoke]`: let a staff user approve and reject other
operators' funds, withdrawals and reversals (issue #23), or stop them.

The permission is `approvals.approve_adjustment`, held through the `approvers` group; it is not
part of `issue_token --operator`'s group, so a second role is given on purpose, by name. The user
must exist and be staff (an operator); nobody ever approves their own request, whatever they hold.
"""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand, CommandError

APPROVER_GROUP = "approvers"


def approvers_group() -> Group:
    group, _ = Group.objects.get_or_create(name=APPROVER_GROUP)
    group.permissions.add(
        Permission.objects.get(content_type__app_label="approvals", codename="approve_adjustment"),
        Permission.objects.get(content_type__app_label="approvals", codename="view_approval"),
        Permission.objects.get(content_type__app_label="approvals", codename="view_approvalevent"),
    )
    return group


class Command(BaseCommand):
    help = "Let an operator approve or reject other operators' adjustments (or, with --revoke, stop it)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")
        parser.add_argument("--revoke", action="store_true", help="take the role away")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"no user {options['username']!r} (issue_token --operator makes one)")
        if not user.is_staff:
            raise CommandError(
                f"{user.get_username()} is not staff (issue_token --operator makes an operator)"
            )
        if options["revoke"]:
            user.groups.remove(approvers_group())
            self.stdout.write(f"{user.get_username()} may no longer approve adjustments")
        else:
            user.groups.add(approvers_group())
            self.stdout.write(f"{user.get_username()} may approve other operators' adjustments")
