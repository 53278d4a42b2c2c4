"""What the chain catches (docs/ledger-chain.md): a changed amount, a deleted entry, two entries'
versions swapped and an entry inserted with the ledger's triggers off, as only a superuser could,
are each found by `manage.py verify_ledger` and by reconcile (`--full`, and the periodic run for
what is new since its checkpoint), naming the first broken entry of the wallet."""

from __future__ import annotations

import io
import uuid
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from history.reconcile import reconcile
from tests.wallets.test_chain import superuser
from wallets import chain, holds, services
from wallets.models import LedgerEntry, Wallet

pytestmark = pytest.mark.django_db


@pytest.fixture
def ledger(make_wallet) -> tuple[Wallet, Wallet]:
    """alice with six entries and a hold's version (3) between them; bob with five."""
    alice, bob = make_wallet("alice", "100"), make_wallet("bob", "50")
    services.transfer_create(
        from_wallet_id=alice.id, to_wallet_id=bob.id, amount=Decimal(1), initiated_by="t"
    )
    hold = holds.hold_create(
        from_wallet_id=alice.id, to_wallet_id=bob.id, amount=Decimal(2), initiated_by="t"
    )
    holds.hold_void(hold=hold, initiated_by="t")
    for amount in ("2", "3.5", "0.25"):
        services.transfer_create(
            from_wallet_id=bob.id, to_wallet_id=alice.id, amount=Decimal(amount), initiated_by="t"
        )
    services.wallet_withdraw(wallet_id=alice.id, amount=Decimal(1), initiated_by="t")
    return alice, bob


def entry(wallet: Wallet, version: int) -> LedgerEntry:
    return LedgerEntry.objects.get(wallet_id=wallet.id, wallet_version=version)


def verify(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify_ledger", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return exc.returncode, out.getvalue(), err.getvalue() + str(exc)
    return 0, out.getvalue(), err.getvalue()


def chain_check(*, full: bool) -> list[str]:
    result = reconcile(full=full, skip_history=True)
    (check,) = [check for check in result.checks if check.name == "ledger_chain"]
    assert check.count == len(check.examples)
    return check.examples


def test_an_untouched_ledger_verifies(ledger):
    alice, _ = ledger
    assert [
        e.wallet_version for e in LedgerEntry.objects.filter(wallet_id=alice.id).order_by("wallet_version")
    ] == [
        1,
        2,
        5,
        6,
        7,
        8,
    ]
    code, out, _ = verify()
    assert code == 0
    assert out.strip() == "OK: 11 entries of 2 wallet(s), every chain recomputes"
    assert (
        verify("--wallet", str(alice.id))[1].strip() == "OK: 6 entries of 1 wallet(s), every chain recomputes"
    )
    assert chain_check(full=True) == []
    assert chain_check(full=False) == []


def test_verify_ledger_refuses_an_unknown_wallet(ledger):
    assert verify("--wallet", "nope")[0] == 1
    code, _, err = verify("--wallet", str(uuid.uuid4()))
    assert code == 1 and "no user wallet" in err


def tamper_amount(alice: Wallet, bob: Wallet) -> LedgerEntry:
    target = entry(alice, 5)
    superuser("UPDATE wallets_ledgerentry SET amount = amount + 1 WHERE id = %s", [target.id])
    return target


def tamper_delete(alice: Wallet, bob: Wallet) -> LedgerEntry:
    superuser("DELETE FROM wallets_ledgerentry WHERE id = %s", [entry(alice, 5).id])
    return entry(alice, 6)  # the first entry whose previous hash is not the one it was chained to


def tamper_swap(alice: Wallet, bob: Wallet) -> LedgerEntry:
    first, second = entry(alice, 5), entry(alice, 6)
    for entry_id, version in ((first.id, 1000), (second.id, 5), (first.id, 6)):
        superuser("UPDATE wallets_ledgerentry SET wallet_version = %s WHERE id = %s", [version, entry_id])
    return LedgerEntry.objects.get(id=second.id)  # now at version 5: its hash was computed at 6


def tamper_insert(alice: Wallet, bob: Wallet) -> LedgerEntry:
    """An entry at version 3 (the hold's, which has no entry), hashed correctly from version 2's:
    the forger's best. It verifies itself; the entry after it no longer does."""
    before = entry(alice, 2)
    new_id = uuid.uuid4()
    canonical = chain.canonical_bytes(
        wallet_id=alice.id,
        wallet_version=3,
        entry_id=new_id,
        transaction_id=before.transaction_id,
        type="TRANSFER_IN",
        amount=Decimal(5),
        currency="USD",
        balance_after=before.balance_after + 5,
        created_at=before.created_at,
    )
    forged = chain.next_hash(bytes(before.chain_hash), canonical)
    superuser(
        "INSERT INTO wallets_ledgerentry (id, transaction_id, wallet_id, currency, amount, type, "
        "balance_after, wallet_version, created_at, chain_hash) VALUES (%s, %s, %s, 'USD', 5, 'TRANSFER_IN', "
        "%s, 3, %s, %s)",
        [new_id, before.transaction_id, alice.id, before.balance_after + 5, before.created_at, forged],
    )
    return entry(alice, 5)


def tamper_insert_unhashed(alice: Wallet, bob: Wallet) -> LedgerEntry:
    """The same without a valid hash: the inserted entry itself is named."""
    before = entry(alice, 2)
    new_id = uuid.uuid4()
    superuser(
        "INSERT INTO wallets_ledgerentry (id, transaction_id, wallet_id, currency, amount, type, "
        "balance_after, wallet_version, created_at, chain_hash) VALUES (%s, %s, %s, 'USD', 5, 'TRANSFER_IN', "
        "%s, 3, %s, %s)",
        [new_id, before.transaction_id, alice.id, before.balance_after + 5, before.created_at, b"\0" * 32],
    )
    return LedgerEntry.objects.get(id=new_id)


TAMPERS = [tamper_amount, tamper_delete, tamper_swap, tamper_insert, tamper_insert_unhashed]


@pytest.mark.parametrize("tamper", TAMPERS, ids=lambda tamper: tamper.__name__)
def test_verify_ledger_and_the_full_reconcile_name_the_first_broken_entry(ledger, tamper):
    alice, bob = ledger
    broken = tamper(alice, bob)
    named = f"wallet {alice.id}: entry {broken.id} (version {broken.wallet_version}) stores"

    code, _, err = verify()
    assert code == 1
    assert named in err
    assert "1 of 2 wallet chain(s) broken" in err
    assert str(bob.id) not in err
    assert verify("--wallet", str(bob.id))[0] == 0
    assert verify("--wallet", str(alice.id))[0] == 1

    examples = chain_check(full=True)
    assert len(examples) == 1 and examples[0].startswith(named)


def test_the_periodic_reconcile_checks_the_chains_of_what_changed_since_its_checkpoint(ledger):
    alice, bob = ledger
    reconcile(full=False, skip_history=True)  # the checkpoint: both wallets up to their versions now
    services.transfer_create(
        from_wallet_id=alice.id, to_wallet_id=bob.id, amount=Decimal(1), initiated_by="t"
    )
    old = tamper_amount(alice, bob)  # behind the checkpoint: the full run's to find
    newest = LedgerEntry.objects.filter(wallet_id=bob.id).order_by("-wallet_version").first()
    assert newest is not None
    superuser(
        "UPDATE wallets_ledgerentry SET created_at = created_at + interval '1 microsecond' WHERE id = %s",
        [newest.id],
    )
    examples = chain_check(full=False)
    assert len(examples) == 1
    assert examples[0].startswith(
        f"wallet {bob.id}: entry {newest.id} (version {newest.wallet_version}) stores"
    )
    full = chain_check(full=True)
    assert [example.split(" stores")[0] for example in full] == sorted(
        [
            f"wallet {alice.id}: entry {old.id} (version 5)",
            f"wallet {bob.id}: entry {newest.id} (version {newest.wallet_version})",
        ]
    )
    # A wallet in breach keeps its checkpoint: the periodic runs keep naming it.
    assert len(chain_check(full=False)) == 2
