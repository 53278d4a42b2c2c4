"""A statement or balance up to a recent moment waits for the wallet's write in flight (issue #33):
a writer times its entry under the wallet's lock and commits a little later, so a statement to "now"
read in between would miss an entry timed before its end, and the next statement would not chain to
it (wallets.statements.settle). Real commits: a transactional test with a second connection."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from wallets import services, statements
from wallets.balance_at import balance_at
from wallets.locks import change_time, lock_user_wallets
from wallets.models import Wallet
from wallets.statements import statement_header

HOLD_S = 1.0


def writer_in_flight(wallet: Wallet, locked: threading.Event, wrote: list[Any], hold: float = HOLD_S) -> None:
    """What a writer does: lock, take the change's time, write, then commit HOLD_S later."""
    try:
        with transaction.atomic():
            sender = lock_user_wallets([wallet.id])[wallet.id]
            wrote.append(change_time([sender]))
            locked.set()
            time.sleep(hold)
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("read", ["statement", "balance"])
def test_a_recent_end_waits_for_the_write_in_flight(
    make_wallet: Callable[..., Wallet], read: str, monkeypatch: pytest.MonkeyPatch
):
    wallet = make_wallet("alice", "10.00")
    services.transfer_create(
        from_wallet_id=wallet.id, to_wallet_id=make_wallet("bob").id, amount=Decimal("1"), initiated_by="t"
    )
    locked = threading.Event()
    wrote: list[Any] = []
    thread = threading.Thread(target=writer_in_flight, args=(wallet, locked, wrote))
    thread.start()
    assert locked.wait(10)
    now = timezone.now()
    assert wrote[0] <= now  # the writer's time is before the read's end

    def ask(moment: Any) -> None:
        if read == "statement":
            statement_header(wallet=wallet, start=wallet.created_at, end=moment)
        else:
            balance_at(wallet=wallet, at=moment)

    started = time.monotonic()
    ask(now)
    recent = time.monotonic() - started
    assert recent >= 0.6 * HOLD_S, recent  # it waited for the writer's commit
    thread.join(10)
    locked.clear()
    thread = threading.Thread(target=writer_in_flight, args=(wallet, locked, wrote, 4 * HOLD_S))
    thread.start()
    assert locked.wait(10)
    # A moment older than the window (here made a second long) reads without waiting.
    monkeypatch.setattr(statements, "SETTLE_WINDOW", timedelta(seconds=1))
    time.sleep(1.1)
    started = time.monotonic()
    ask(now)
    past = time.monotonic() - started
    assert thread.is_alive()  # the writer still holds the wallet: the read did not wait for it
    thread.join(10)
    assert past < 0.5 * HOLD_S, past
