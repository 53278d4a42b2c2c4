"""`manage.py revoke_token <username|key> [--by NAME]`: revoke one token (given its key) or every
token of a user (given a username).

A revoked token is deleted at once; a web worker that cached it accepts it for at most
`API_TOKEN_CACHE_SECONDS` more. Each revocation is recorded (admin: Token events) with who did it:
`--by`, else the operating-system user. Prints what it revoked by prefix, never a key.
"""

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from common.auth import KEY_PATTERN
from wallets.tokens import command_actor, tokens_of_key, tokens_of_user, tokens_revoke


class Command(BaseCommand):
    help = "Revoke an API token by its key, or every token of a user."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("target", metavar="username|key")
        parser.add_argument("--by", help="who revokes, for the audit (default: the OS user)")

    def handle(self, *args: Any, **options: Any) -> None:
        target: str = options["target"]
        tokens = tokens_of_key(target) if KEY_PATTERN.fullmatch(target) else None
        if tokens is None or not tokens.exists():
            user = get_user_model().objects.filter(username=target).first()
            if user is None:
                raise CommandError("no such token or user")
            tokens = tokens_of_user(user)
        events = tokens_revoke(tokens=tokens, actor=command_actor(options["by"]), via="revoke_token")
        for event in events:
            self.stdout.write(f"revoked {event.token_prefix}… of {event.username}")
        if not events:
            self.stdout.write(f"{target} has no tokens")
        else:
            self.stdout.write(
                f"{len(events)} token(s) revoked; web workers refuse them within "
                f"{settings.API_TOKEN_CACHE_SECONDS} s"
            )
