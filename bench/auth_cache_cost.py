"""CPU time of one authentication served from the web worker's token cache (common/auth.py).

    .venv/bin/python bench/auth_cache_cost.py [--calls 200000] [--rounds 7]
    (needs PostgreSQL: `scripts/stack up --infra`; writes nothing that outlives the run)

Issues a token inside a transaction that is rolled back at the end, looks it up once (the database
round trip that fills the cache), then times `authenticate_credentials` on the cached key with
time.process_time: the best round's CPU per call, which is what the hot path pays per request.
Run it on two checkouts (or before and after a change) to compare.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "walletproject.settings")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=7)
    options = parser.parse_args()

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from common.auth import CachedTokenAuthentication
    from wallets.tokens import token_issue

    with transaction.atomic():
        user, _ = get_user_model().objects.get_or_create(username="bench-auth-cache")
        key = token_issue(user=user, ttl=None, actor="bench", via="bench").encode()
        auth = CachedTokenAuthentication()
        auth.authenticate_credentials(key)  # the one database lookup; the rest are cache hits
        rounds = []
        for _ in range(options.rounds):
            started = time.process_time()
            for _ in range(options.calls):
                auth.authenticate_credentials(key)
            rounds.append((time.process_time() - started) / options.calls)
        transaction.set_rollback(True)
    best = min(rounds)
    print(f"{options.calls} cached authentications x {options.rounds} rounds")
    print("per call (ns), each round:", " ".join(f"{r * 1e9:.0f}" for r in rounds))
    print(f"best: {best * 1e9:.0f} ns = {best * 1e3:.5f} ms of CPU per request")


if __name__ == "__main__":
    main()
