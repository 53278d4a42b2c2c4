"""Group commit for a hot wallet (wallets/group_commit.py), on the real PostgreSQL and Redis: many
concurrent transfers on one wallet, each with its own answer and ledger transaction, a refused one
failing alone, and a combiner SIGKILLed before or after its commit losing and doubling nothing."""

from __future__ import annotations

import io
import signal
import subprocess
import sys
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db.models import Sum

from kafka_bridge.models import OutboxEvent
from tests.conftest import test_database_env as database_env
from tests.wallets.test_concurrency import run_in_threads
from wallets import group_commit, services
from wallets.errors import InsufficientFunds, WalletNotFound
from wallets.models import LedgerEntry, LedgerTransaction, Wallet

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("without_approvals")]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def cold_wallets() -> Any:
    group_commit.forget_hot_wallets()
    yield
    group_commit.forget_hot_wallets()


def hot_transfer(source: uuid.UUID, target: uuid.UUID, amount: str, owner: str, hot: uuid.UUID) -> Any:
    """A transfer as the view makes it, with the wallet `hot` marked hot in this process."""
    group_commit._keep_hot(hot, time.monotonic())
    return group_commit.transfer_create(
        from_wallet_id=source,
        to_wallet_id=target,
        amount=Decimal(amount),
        initiated_by=owner,
        owner_user_id=owner,
    )


def ledger_is_valid() -> str:
    out = io.StringIO()
    call_command("verify_ledger", stdout=out)
    return out.getvalue()


def test_64_concurrent_transfers_on_a_hot_wallet_each_get_their_own_answer(make_wallet, monkeypatch):
    hot = make_wallet("shop", "1000").id
    others = [make_wallet(f"user{i}", "10").id for i in range(8)]
    poor = make_wallet("poor", "0").id
    sizes: list[int] = []
    original = group_commit.apply_batch

    def recording(intents: list[group_commit.Intent]) -> list[group_commit.Outcome]:
        sizes.append(len(intents))
        return original(intents)

    monkeypatch.setattr(group_commit, "apply_batch", recording)
    answers: list[Any] = [None] * 64

    def work(index: int, barrier: Any) -> None:
        barrier.wait()
        try:
            if index % 8 == 7:  # the poor wallet pays: refused alone
                answers[index] = hot_transfer(poor, hot, "1.00", "poor", hot)
            elif index % 2 == 0:  # into the hot wallet
                answers[index] = hot_transfer(others[index % 8], hot, "0.0100", f"user{index % 8}", hot)
            else:  # out of it
                answers[index] = hot_transfer(hot, others[index % 8], "2.0000", "shop", hot)
        except InsufficientFunds as refused:
            answers[index] = refused

    run_in_threads(64, work)

    assert max(sizes) > 1, sizes  # batches were combined
    refused = [answer for answer in answers if isinstance(answer, InsufficientFunds)]
    made = [answer for answer in answers if not isinstance(answer, InsufficientFunds)]
    assert len(refused) == 8 and len(made) == 56
    assert len({result.transaction_id for result in made}) == 56
    assert set(LedgerTransaction.objects.filter(kind="TRANSFER").values_list("id", flat=True)) == {
        result.transaction_id for result in made
    }
    for result in made:  # each answer is its own transaction's entries, as the ledger holds them
        stored = {
            (row.wallet_id, row.amount, row.balance_after, row.wallet_version)
            for row in LedgerEntry.objects.filter(transaction_id=result.transaction_id)
            if row.wallet_version is not None
        }
        answered = {(e.wallet_id, e.amount, e.balance_after, e.wallet_version) for e in result.entries}
        assert stored == answered
    shop = Wallet.objects.get(id=hot)
    assert shop.balance == Decimal("1000") + 32 * Decimal("0.01") - 24 * Decimal("2")  # 32 in, 24 out
    assert shop.version == 1 + 56
    versions = list(
        LedgerEntry.objects.filter(wallet_id=hot, wallet_version__isnull=False)
        .order_by("wallet_version")
        .values_list("wallet_version", flat=True)
    )
    assert versions == list(range(1, 58))
    for wallet in Wallet.objects.filter(kind="user"):
        total = LedgerEntry.objects.filter(wallet=wallet).aggregate(total=Sum("amount"))["total"]
        assert wallet.balance == (total or 0)
    assert Wallet.objects.get(id=poor).version == 0
    # one event per wallet version, none for a refusal
    events = OutboxEvent.objects.filter(aggregateid=str(hot), type__in=["TRANSFER_IN", "TRANSFER_OUT"])
    assert sorted(event.payload["wallet_version"] for event in events) == list(range(2, 58))
    assert ledger_is_valid().startswith("OK: ")


def test_a_refused_transfer_in_a_batch_fails_alone_and_changes_nothing(make_wallet):
    hot = make_wallet("shop", "5").id
    payer = make_wallet("payer", "3").id
    stranger = make_wallet("stranger", "100").id

    def intent(source: uuid.UUID, target: uuid.UUID, amount: str, owner: str) -> group_commit.Intent:
        return group_commit.Intent(
            uuid.uuid4(), source, target, Decimal(amount), owner, owner, services.NO_NOTE
        )

    intents = [
        intent(hot, payer, "4", "shop"),
        intent(hot, payer, "4", "shop"),  # only 1 left: refused
        intent(payer, hot, "7", "payer"),
        intent(stranger, hot, "1", "payer"),  # not payer's wallet: not found, and never locked
    ]
    outcomes = group_commit.apply_batch(intents)
    assert outcomes[0].result is not None and outcomes[2].result is not None
    assert outcomes[1].error is not None and outcomes[1].error[0] is InsufficientFunds
    assert outcomes[3].error is not None and outcomes[3].error[0] is WalletNotFound
    with pytest.raises(InsufficientFunds):
        outcomes[1].unwrap(intents[1])
    assert Wallet.objects.get(id=hot).balance == Decimal("8")
    assert Wallet.objects.get(id=payer).balance == Decimal("0")
    assert Wallet.objects.get(id=stranger).version == 1
    assert LedgerTransaction.objects.filter(id__in=[i.transaction_id for i in intents]).count() == 2
    assert [o.batch_size for o in outcomes] == [4, 4, 4, 4]


def test_keyed_and_staff_transfers_take_the_ordinary_path(settings):
    settings.WALLET_HOT_PATH = True
    user = type("User", (), {"is_staff": False})()
    staff = type("Staff", (), {"is_staff": True})()
    assert group_commit.applies(user, None)
    assert not group_commit.applies(user, "key-1")
    assert not group_commit.applies(staff, None)
    settings.WALLET_HOT_PATH = False
    assert not group_commit.applies(user, None)


def test_a_cold_wallet_takes_the_ordinary_path_until_its_lock_is_waited_for(
    make_wallet, settings, monkeypatch
):
    settings.WALLET_HOT_PATH_WAIT_MS = 0.0  # every transfer counts as slow
    a, b = make_wallet("a", "10").id, make_wallet("b", "0").id
    calls: list[int] = []
    original = group_commit.apply_batch

    def recording(intents: list[group_commit.Intent]) -> list[group_commit.Outcome]:
        calls.append(len(intents))
        return original(intents)

    monkeypatch.setattr(group_commit, "apply_batch", recording)
    for _ in range(3):
        group_commit.transfer_create(
            from_wallet_id=a, to_wallet_id=b, amount=Decimal("1"), initiated_by="a", owner_user_id="a"
        )
    assert calls == [1]  # two slow transfers made the wallets hot; the third was combined
    assert Wallet.objects.get(id=b).balance == Decimal("3")


def test_the_api_answers_a_combined_transfer_as_it_answers_any(make_wallet, settings, alice):
    settings.WALLET_HOT_PATH = True
    source, target = make_wallet("alice", "10").id, make_wallet("bob", "0").id
    now = time.monotonic()
    group_commit._keep_hot(source, now)
    response = alice.post(
        f"/wallets/{source}/transfer", {"to_wallet_id": str(target), "amount": "2.5"}, format="json"
    )
    assert response.status_code == 200, response.content
    out, into = response.json()["data"]
    assert (out["type"], out["amount"], out["balance_after"]) == ("TRANSFER_OUT", "2.5000", "7.5000")
    assert (into["type"], into["balance_after"]) == ("TRANSFER_IN", None)  # bob's balance is not alice's
    assert out["reference_id"] == into["reference_id"]  # one ledger transaction
    refused = alice.post(
        f"/wallets/{source}/transfer", {"to_wallet_id": str(target), "amount": "20"}, format="json"
    )
    assert refused.status_code == 400
    assert refused.json()["code"] == "insufficient_funds"
    assert Wallet.objects.get(id=source).balance == Decimal("7.5")


KILLER = """
import os, signal, sys, time, uuid
import django
django.setup()
from wallets import group_commit
where, wallet, token = sys.argv[1], uuid.UUID(sys.argv[2]), sys.argv[3]
if where == "before-commit":
    original = group_commit.write_many
    def write_then_die(**kwargs):
        original(**kwargs)
        os.kill(os.getpid(), signal.SIGKILL)
    group_commit.write_many = write_then_die
else:
    original = group_commit._apply_batch
    def commit_then_die(intents):
        original(intents)
        os.kill(os.getpid(), signal.SIGKILL)
    group_commit._apply_batch = commit_then_die
client = group_commit._redis()
print("ready", flush=True)
while client.llen(group_commit._QUEUE.format(wallet)) < int(sys.argv[4]):
    time.sleep(0.01)
group_commit._combine(client, wallet, token)
"""


@pytest.mark.parametrize("where", ["before-commit", "after-commit"])
def test_a_combiner_killed_mid_batch_loses_and_doubles_nothing(make_wallet, monkeypatch, where):
    monkeypatch.setattr(group_commit, "WAIT_SECONDS", 2.0)
    hot = make_wallet("shop", "0").id
    payers = [make_wallet(f"payer{i}", "10").id for i in range(6)]
    client = group_commit._redis()
    lease = group_commit._LEASE.format(hot)
    answers: list[Any] = [None] * 6

    def work(index: int, barrier: Any) -> None:
        barrier.wait()
        answers[index] = hot_transfer(payers[index], hot, "1", f"payer{index}", hot)

    killer = subprocess.Popen(
        [sys.executable, "-c", KILLER, where, str(hot), "killer", "6"],
        cwd=ROOT,
        env={**database_env(), "DJANGO_SETTINGS_MODULE": "walletproject.settings"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert killer.stdout is not None
    assert killer.stdout.readline().strip() == b"ready"  # set up before the waiters' clocks start
    client.set(lease, "killer", px=30_000)  # the killer is the combiner (its take renews the lease)
    threads = threading.Thread(target=run_in_threads, args=(6, work))
    threads.start()
    output = killer.communicate(timeout=60)[0]
    assert killer.returncode == -signal.SIGKILL, output.decode()[-3000:]
    threads.join(30)
    assert not threads.is_alive()
    assert all(answer is not None for answer in answers)
    ids = {answer.transaction_id for answer in answers}
    assert len(ids) == 6
    assert (
        LedgerTransaction.objects.filter(kind="TRANSFER").count() == 6
    )  # each once: none lost, none doubled
    assert Wallet.objects.get(id=hot).balance == Decimal("6")
    assert Wallet.objects.get(id=hot).version == 6
    assert ledger_is_valid().startswith("OK: ")
