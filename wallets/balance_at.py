"""A user wallet's balance, held amount and version at a moment (issue #33).

Why here and how: every change of a wallet is one version of it, made under its lock. A ledger entry
records the balance after it (`balance_after`, `wallet_version`); a hold's change records only its
version (`Hold.created_version`, `released_version`) and a capture's is its ledger entry's. So the
state as of a moment `t` is the state after the last of those changes at or before `t`:

- the balance: the last entry at or before `t` (`created_at <= t`, then the highest version), one
  probe of the partial index `entry_wallet_created_idx (wallet, created_at, wallet_version)`;
- the version: the highest of that entry's, of the holds created at or before `t` and of the holds
  released (voided, expired, or the rest of a partial capture) at or before `t` (a hold's
  `updated_at` is the time of its release: nothing changes a hold after it);
- the held amount: the running sum of the holds' changes up to that version, as the history's
  `held_after` is (history/ledger_rebuild.py): `+amount` at `created_version`, `-captured_amount`
  at the capture's entry, `-(amount - captured_amount)` at `released_version`.

One statement reads all three, so they are consistent with each other; a recent moment first waits
for the wallet's write in flight (`statements.settle`), so an answer never changes afterwards.
Before the wallet existed (`t < created_at`) there is no state: `WalletNotYetOpen` (404).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection

from common.errors import ApplicationError

from .models import Hold, LedgerEntry, Wallet
from .statements import settle, utc_text

ENTRIES = LedgerEntry._meta.db_table
HOLDS = Hold._meta.db_table


class WalletNotYetOpen(ApplicationError):
    status_code = 404
    code = "wallet_not_yet_open"
    default_message = "The wallet did not exist yet at that moment: it was created later."


@dataclass(frozen=True)
class BalanceAt:
    wallet_id: str
    currency: str
    at: datetime
    balance: Decimal
    held: Decimal
    version: int

    @property
    def available(self) -> Decimal:
        return self.balance - self.held


# %(w)s the wallet, %(t)s the moment. The entry probe is an index-only range scan of one row; the
# holds' are the wallet's holds (hold_from_created_idx), few per wallet.
_STATE_AT = f"""
WITH last_entry AS (
    SELECT e.balance_after, e.wallet_version
      FROM {ENTRIES} AS e
     WHERE e.wallet_id = %(w)s AND e.wallet_version IS NOT NULL AND e.created_at <= %(t)s
     ORDER BY e.created_at DESC, e.wallet_version DESC
     LIMIT 1
),
hold_versions AS (
    SELECT max(h.created_version) FILTER (WHERE h.created_at <= %(t)s) AS created,
           max(h.released_version) FILTER (WHERE h.updated_at <= %(t)s) AS released
      FROM {HOLDS} AS h
     WHERE h.from_wallet_id = %(w)s AND h.created_at <= %(t)s
),
v AS (
    SELECT greatest(coalesce((SELECT wallet_version FROM last_entry), 0),
                    coalesce(hold_versions.created, 0),
                    coalesce(hold_versions.released, 0)) AS version
      FROM hold_versions
)
SELECT coalesce((SELECT balance_after FROM last_entry), 0) AS balance,
       v.version,
       coalesce((
           SELECT sum(CASE WHEN h.created_version <= v.version THEN h.amount ELSE 0 END)
                - sum(CASE WHEN c.wallet_version <= v.version THEN h.captured_amount ELSE 0 END)
                - sum(CASE WHEN h.released_version <= v.version THEN h.amount - h.captured_amount
                           ELSE 0 END)
             FROM {HOLDS} AS h
             LEFT JOIN {ENTRIES} AS c
                    ON c.transaction_id = h.transaction_id AND c.wallet_id = h.from_wallet_id
            WHERE h.from_wallet_id = %(w)s AND h.created_version <= v.version
       ), 0) AS held
  FROM v
"""  # noqa: S608 -- table names from model metadata


def balance_at(*, wallet: Wallet, at: datetime) -> BalanceAt:
    """The wallet's state after its last change at or before `at`; WalletNotYetOpen before it was
    created."""
    if at < wallet.created_at:
        raise WalletNotYetOpen(
            f"The wallet did not exist yet at {utc_text(at)}: it was created at "
            f"{utc_text(wallet.created_at)}.",
            details={"at": utc_text(at), "created_at": utc_text(wallet.created_at)},
        )
    settle(wallet=wallet, moment=at)
    with connection.cursor() as cursor:
        cursor.execute(_STATE_AT, {"w": wallet.id, "t": at})
        balance, version, held = cursor.fetchone()
    return BalanceAt(
        wallet_id=str(wallet.id),
        currency=wallet.currency,
        at=at,
        balance=Decimal(balance),
        held=Decimal(held),
        version=int(version),
    )
