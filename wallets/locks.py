"""Wallet row locks, in one place (as Saleor keeps its `lock_objects.py`).

Every writer locks the user wallets it touches through `lock_user_wallets` (a movement from
senders to receivers: `lock_for_sending`), in one statement in id order, so two
movements over the same wallets take their locks in the same order and cannot deadlock. The lock
is `FOR NO KEY UPDATE` (`select_for_update(no_key=True)`): it serializes the writers of a wallet but
does not block the foreign-key checks of ledger entries inserted elsewhere that reference it. After
the lock, writes are version-checked (`ledger_writes.write_movement`): a lost lock is a loud bug,
never a silent overwrite.

An end user's movement locks through `lock_for_sending`: the statement itself leaves out a sending
wallet that is not theirs (`WHERE id IN (all) AND (user_id = owner OR id IN (receivers))`), so
naming another user's wallet as a sender never locks it, nor waits for it: the movement then finds
no sender and answers not found. Its receivers are locked whoever owns them (a movement must lock
the wallet it pays). No query is added: the ownership is checked in the lock's own statement.

The statements are compiled once per process (`common.compiled`): the same ORM querysets, without
the 0.4 ms of Python it cost to build on every movement. `lock_for_sending`'s id lists are padded
to a power of two (repeating the last id: the same rows), so the shapes it compiles stay few.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from common.compiled import CompiledQuery

from .models import Wallet


def user_wallets_for_update(wallet_ids: list[uuid.UUID]) -> QuerySet[Wallet]:
    """The lock: the user wallets among `wallet_ids`, `FOR NO KEY UPDATE`, in id order."""
    return (
        Wallet.objects.filter(id__in=wallet_ids, kind=Wallet.Kind.USER)
        .order_by("id")
        .select_for_update(no_key=True)
    )


_LOCK = CompiledQuery(Wallet, user_wallets_for_update)


def owned_or_received_for_update(
    wallet_ids: list[uuid.UUID], receivers: list[uuid.UUID], owner: str
) -> QuerySet[Wallet]:
    """The lock of an end user's movement: the user wallets among `wallet_ids` (its senders and
    receivers) that `owner` owns or that are among `receivers`, `FOR NO KEY UPDATE`, in id order.
    The ids are the index condition (the plan of `user_wallets_for_update`); owner and receivers
    filter the rows before they are locked."""
    return (
        Wallet.objects.filter(id__in=wallet_ids, kind=Wallet.Kind.USER)
        .filter(Q(user_id=owner) | Q(id__in=receivers))
        .order_by("id")
        .select_for_update(no_key=True)
    )


_LOCK_FOR_SENDING = CompiledQuery(Wallet, owned_or_received_for_update)


def _padded(wallet_ids: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    """The distinct ids in order, the last repeated up to a power of two (at most ~11 lengths for
    a batch's 1,000, so at most ~121 compiled shapes of two lists)."""
    ids = sorted(set(wallet_ids))
    size = 1 << max(len(ids) - 1, 0).bit_length()
    return ids + ids[-1:] * (size - len(ids))


def lock_user_wallets(wallet_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Wallet]:
    """Lock and read the user wallets among `wallet_ids` (missing and system wallets are absent).
    Must run inside a transaction; the locks are held until it ends."""
    return {wallet.id: wallet for wallet in _LOCK.run(sorted(set(wallet_ids)))}


def lock_for_sending(
    senders: Iterable[uuid.UUID], receivers: Iterable[uuid.UUID], owner: str | None
) -> dict[uuid.UUID, Wallet]:
    """Lock and read the user wallets of a movement from `senders` to `receivers`. With `owner` (an
    end user's movement) a sender that is not theirs is neither locked nor waited for, and is absent
    (unless it is also a receiver: the caller still checks each sender's owner); without (staff),
    as `lock_user_wallets`. Must run inside a transaction."""
    if owner is None:
        return lock_user_wallets([*senders, *receivers])
    receivers = list(receivers)
    rows = _LOCK_FOR_SENDING.run(_padded([*senders, *receivers]), _padded(receivers), owner)
    return {wallet.id: wallet for wallet in rows}


def change_time(locked: Iterable[Wallet]) -> datetime:
    """The time of a change to wallets whose locks are held: now, taken after the locks (not before
    the wait for them), and never earlier than any of their last changes (`updated_at`), so each
    wallet's entries and events carry times that never decrease in version order (the balance at
    a moment reads the last entry by time). Another host's clock a little ahead cannot reorder."""
    return max([timezone.now(), *(wallet.updated_at for wallet in locked)])
