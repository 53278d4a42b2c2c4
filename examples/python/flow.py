"""The wallet API's happy path with the generated Python client (clients/python) and its errors as
exceptions (clients/python_extras): create two wallets, fund one, transfer with an idempotency key
(and retry it safely), page through the ledger, and catch a refusal.

    pip install ./clients/python                      # the client: wallet_client
    export PYTHONPATH=clients/python_extras           # wallet_client_extras: expect, ApiError
    WALLET_API_URL=http://127.0.0.1:3000 WALLET_TOKEN=<an operator's key> python examples/python/flow.py

An operator's token (`manage.py issue_token <name> --operator`), as funding is staff-only.
tests/test_client.py runs `run` against a live server.
"""

from __future__ import annotations

import os
import uuid
from decimal import Decimal

from wallet_client import AuthenticatedClient
from wallet_client.api.money import transfer_create, wallet_fund
from wallet_client.api.wallets import wallet_create, wallet_get, wallet_transactions_list
from wallet_client.models import (
    AmountInput,
    TransactionPage,
    TransferEnvelope,
    TransferInput,
    WalletCreateInput,
    WalletEnvelope,
)
from wallet_client.types import UNSET, Unset
from wallet_client_extras import ApiError, expect


def run(base_url: str, token: str, customer: str = "alice", payee: str = "bob") -> dict[str, object]:
    # `Authorization: Token <key>`: the API's scheme word is Token, not Bearer.
    client = AuthenticatedClient(base_url=base_url, token=token, prefix="Token")

    # Create a wallet for each user, and fund the first (staff only).
    body = WalletCreateInput(user_id=customer)
    sender = expect(wallet_create.sync_detailed(client=client, body=body), WalletEnvelope).data
    receiver = expect(
        wallet_create.sync_detailed(client=client, body=WalletCreateInput(user_id=payee)), WalletEnvelope
    ).data
    funded = wallet_fund.sync_detailed(sender.id, client=client, body=AmountInput(amount="100.00"))
    print("funded:", expect(funded, WalletEnvelope).data.balance)

    # Transfer with an idempotency key: the same request again (a retry after a timeout) is
    # answered with the first answer and moves nothing twice.
    key = f"invoice-1001-{uuid.uuid4()}"
    payment = TransferInput(to_wallet_id=receiver.id, amount="30.00", description="Invoice 1001")
    first = expect(
        transfer_create.sync_detailed(sender.id, client=client, body=payment, idempotency_key=key),
        TransferEnvelope,
    )
    retry = expect(
        transfer_create.sync_detailed(sender.id, client=client, body=payment, idempotency_key=key),
        TransferEnvelope,
    )
    out_leg = first.data[0]
    assert retry.data[0].reference_id == out_leg.reference_id  # the same transfer, once
    print("transferred:", out_leg.amount, "balance after:", out_leg.balance_after)

    # Pagination: newest first, a page at a time, `next_cursor` as the next `cursor`.
    entries = []
    cursor: str | Unset = UNSET
    while True:
        listed = wallet_transactions_list.sync_detailed(sender.id, client=client, limit=1, cursor=cursor)
        page = expect(listed, TransactionPage)
        entries += page.data
        if not page.has_more or page.next_cursor is None:
            break
        cursor = page.next_cursor
    print("entries:", [(entry.type_.value, entry.amount) for entry in entries])

    # Errors are exceptions: more than the balance is 400 insufficient_funds.
    refused = None
    try:
        expect(
            transfer_create.sync_detailed(
                sender.id, client=client, body=TransferInput(to_wallet_id=receiver.id, amount="1000.00")
            ),
            TransferEnvelope,
        )
    except ApiError as error:
        refused = error.code
        print("refused:", error.status, error.code, "-", error.message)

    balance = expect(wallet_get.sync_detailed(sender.id, client=client), WalletEnvelope).data.balance
    return {
        "balance": Decimal(balance),
        "entries": [entry.type_.value for entry in entries],
        "replayed": retry.data[0].reference_id == out_leg.reference_id,
        "refused": refused,
    }


if __name__ == "__main__":
    print(run(os.environ.get("WALLET_API_URL", "http://127.0.0.1:3000"), os.environ["WALLET_TOKEN"]))
