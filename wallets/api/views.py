"""The seed's wallet endpoints (../shared/spec/api.md): thin views over services and selectors.

A view's `serializer_class` is its body's input serializer: the browsable API renders it as an HTML
form (create, fund, withdraw, transfer), which a logged-in operator's browser may post as a form
(see common/api.py: session and CSRF only; every other client sends JSON). Each view's `crumb` names
its page, and `links` what the page links to (common/browsable.py).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.request import Request
from rest_framework.response import Response

from common import browsable
from common.api import ApiView, parse_uuid
from common.pagination import Keyset, paginate, read_int, read_time_and_uuid
from common.schema import PAGE_PARAMETERS
from common.times import format_timestamp
from wallets import group_commit, selectors, services, staff_gate
from wallets.errors import WalletNotFound
from wallets.openapi import USER_ID, WALLET_ID
from wallets.permissions import balances_hidden_from, require_may_act_for, sending_owner

from . import examples, schema
from .idempotency import respond_once, submitted_key
from .serializers import (
    AmountInput,
    TransferInput,
    WalletCreateInput,
    entry_data,
    movement_legs,
    wallet_data,
)

WALLETS_NEWEST_FIRST = Keyset(
    position=lambda wallet: [wallet.created_at.isoformat(), str(wallet.id)], read=read_time_and_uuid
)
ENTRIES_NEWEST_FIRST = Keyset(position=lambda entry: entry.wallet_version, read=read_int)

# The browsable API shows these JSON fields' ids as links to their pages.
browsable.link_ids(
    wallet_id="wallet-detail",
    from_wallet_id="wallet-detail",
    to_wallet_id="wallet-detail",
    transaction_id="transaction-detail",
    reference_id="transaction-detail",
    reverses="transaction-detail",
    reversed_by="transaction-detail",
    hold_id="hold-detail",
)


def body_of(data: Any) -> Any:
    """A success envelope's `data` (None for an error): what a page's links are made from."""
    return data.get("data") if isinstance(data, dict) and data.get("success") else None


def wallet_links(request: Request, wallet_id: Any, user_id: str | None = None) -> list[browsable.Link]:
    """A wallet's related pages and forms (the money forms a user may use)."""

    def to(name: str) -> str:
        return reverse(name, kwargs={"wallet_id": wallet_id})

    links = [browsable.Link("Wallet", to("wallet-detail"))]
    if request.user.is_staff:
        links += [
            browsable.Link("Fund", to("wallet-fund")),
            browsable.Link("Withdraw", to("wallet-withdraw")),
        ]
    links += [
        browsable.Link("Transfer", to("wallet-transfer")),
        browsable.Link("Transactions", to("wallet-transactions")),
        browsable.Link("Holds (and a new hold)", to("wallet-holds")),
        browsable.Link("History", to("wallet-history")),
    ]
    # The balance now and this month's statement so far (issue #33); other moments and periods
    # are the query's `at`, `from` and `to`.
    now = timezone.now()
    month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    links += [
        browsable.Link("Balance at a moment (now)", f"{to('wallet-balance-at')}?at={format_timestamp(now)}"),
        browsable.Link("Statement (this month)", f"{to('wallet-statement')}?from={format_timestamp(month)}"),
    ]
    if user_id is not None:
        links.append(
            browsable.Link(f"Wallets of {user_id}", reverse("user-wallets", kwargs={"user_id": user_id}))
        )
    return links


def _path_wallet_id(raw: str) -> uuid.UUID:
    wallet_id = parse_uuid(raw)
    if wallet_id is None:
        raise WalletNotFound()
    return wallet_id


class WalletCreateView(ApiView):
    serializer_class = WalletCreateInput
    crumb = "Wallets"
    id_link = "wallet-detail"

    def form_intro(self) -> str:
        return "POST the form below to create a wallet for a user (staff: any user; you: your own)."

    @extend_schema(
        operation_id="wallet_create",
        summary="Create a wallet",
        description=(
            "A new wallet for `user_id` in `currency` (default: the configured default currency), "
            "balance 0. Staff create wallets for any user; an end user only for their own user id."
        ),
        request=WalletCreateInput,
        parameters=[schema.IDEMPOTENCY_KEY],
        responses=schema.responses(201, schema.WALLET, schema.CREATE_ERRORS),
        examples=examples.WALLET_CREATE,
        tags=["wallets"],
    )
    def post(self, request: Request) -> Response | HttpResponse:
        data = self.validated(request)
        require_may_act_for(request.user, data["user_id"])

        def create() -> tuple[int, Any]:
            return 201, wallet_data(
                services.wallet_create(user_id=data["user_id"], currency=data.get("currency"))
            )

        return respond_once(request, create)


class WalletDetailView(ApiView):
    crumb = "Wallet {wallet_id}"
    id_link = "wallet-detail"

    def links(self, request: Request, data: Any) -> list[browsable.Link]:
        wallet = body_of(data)
        if wallet is None:
            return []
        return wallet_links(request, wallet["id"], wallet["user_id"])[1:]

    @extend_schema(
        operation_id="wallet_get",
        summary="Get a wallet",
        description=(
            "The wallet's balance, held amount (pending holds), available balance, version and "
            "status. An end user sees only their own wallets: another's is 404."
        ),
        parameters=[WALLET_ID],
        responses=schema.responses(200, schema.WALLET, schema.DETAIL_ERRORS),
        examples=examples.WALLET_GET,
        tags=["wallets"],
    )
    def get(self, request: Request, wallet_id: str) -> Response:
        wallet = selectors.wallet_get_visible(principal=request.user, wallet_id=wallet_id)
        return Response({"success": True, "data": wallet_data(wallet)})


class UserWalletsView(ApiView):
    crumb = "Wallets of {user_id}"
    id_link = "wallet-detail"

    def links(self, request: Request, data: Any) -> list[browsable.Link]:
        return [browsable.Link("Create a wallet", reverse("wallet-create"))]

    @extend_schema(
        operation_id="user_wallets_list",
        summary="List a user's wallets",
        description=(
            "The user's wallets, newest first, a cursor page at a time: pass `next_cursor` as "
            "`cursor` while `has_more`. An end user lists only their own (another's is 403)."
        ),
        parameters=[USER_ID, *PAGE_PARAMETERS],
        responses=schema.responses(200, schema.WALLET_PAGE, schema.USER_WALLETS_ERRORS),
        examples=examples.USER_WALLETS,
        tags=["wallets"],
    )
    def get(self, request: Request, user_id: str) -> Response:
        require_may_act_for(request.user, user_id)
        page = paginate(
            request,
            WALLETS_NEWEST_FIRST,
            lambda after: selectors.wallets_for_user(user_id=user_id, after=after),
        )
        return Response(page.body(wallet_data))


class _SystemMovementView(ApiView):
    """Fund or withdraw (staff only): money enters from or leaves to outside, through the system
    account of the wallet's currency, through the staff gate (`wallets.staff_gate`: it runs now or
    waits for a second operator, answered 202 with the approval)."""

    service: Any  # staticmethod(services.wallet_fund) or staticmethod(services.wallet_withdraw)
    withdraw = False
    serializer_class = AmountInput
    id_link = "wallet-detail"

    def form_intro(self) -> str:
        verb = "withdraw from" if self.withdraw else "fund"
        return f"POST the form below to {verb} wallet {browsable.short(self.kwargs['wallet_id'])}."

    def links(self, request: Request, data: Any) -> list[browsable.Link]:
        return wallet_links(request, self.kwargs["wallet_id"])

    @extend_schema(
        operation_id="wallet_fund",
        summary="Fund a wallet (staff)",
        description=(
            "Staff only: money enters the wallet from outside, through the system account of its "
            "currency; the answer is the wallet after it. Above the approval policy's limits it "
            "waits for a second operator instead (202 with the pending approval)."
        ),
        request=AmountInput,
        parameters=[WALLET_ID, schema.IDEMPOTENCY_KEY],
        responses=schema.responses(200, schema.WALLET, schema.FUND_ERRORS),
        examples=examples.FUND,
        tags=["money"],
    )
    def post(self, request: Request, wallet_id: str) -> Response | HttpResponse:
        self.require_staff(request)
        target = _path_wallet_id(wallet_id)
        data = self.validated(request)
        amount, note = data["amount"], services.Note.of(data)

        def move() -> tuple[int, Any]:
            return 200, wallet_data(
                self.service(
                    wallet_id=target, amount=amount, initiated_by=request.user.get_username(), note=note
                )
            )

        def describe() -> staff_gate.StaffMovement:
            return staff_gate.StaffMovement(
                kind=staff_gate.WITHDRAW if self.withdraw else staff_gate.FUND,
                moves={target: amount},
                request={"wallet_id": str(target), "amount": str(amount), **note.fields()},
                wallet_id=target,
            )

        return respond_once(request, staff_gate.gated(request.user, move, describe))


class WalletFundView(_SystemMovementView):
    service = staticmethod(services.wallet_fund)
    crumb = "Fund"


@extend_schema_view(
    post=extend_schema(
        operation_id="wallet_withdraw",
        summary="Withdraw from a wallet (staff)",
        description=(
            "Staff only: money leaves the wallet to outside, through the system account of its "
            "currency; at most its available balance. The answer is the wallet after it. Above the "
            "approval policy's limits it waits for a second operator instead (202)."
        ),
        responses=schema.responses(200, schema.WALLET, schema.WITHDRAW_ERRORS),
        examples=examples.WITHDRAW,
    )
)
class WalletWithdrawView(_SystemMovementView):
    service = staticmethod(services.wallet_withdraw)
    withdraw = True
    crumb = "Withdraw"


class TransferView(ApiView):
    serializer_class = TransferInput
    crumb = "Transfer"

    def form_intro(self) -> str:
        return f"POST the form below to transfer from wallet {browsable.short(self.kwargs['wallet_id'])}."

    def links(self, request: Request, data: Any) -> list[browsable.Link]:
        return wallet_links(request, self.kwargs["wallet_id"])

    @extend_schema(
        operation_id="transfer_create",
        summary="Transfer to another wallet",
        description=(
            "Move `amount` from this wallet to `to_wallet_id` (same currency) as one ledger "
            "transaction; the answer is its two entries, out then in (another user's receiving "
            "wallet without its balance). Send an `Idempotency-Key` to retry safely. An end user "
            "sends only from their own wallets; a staff transfer may wait for approval (202)."
        ),
        request=TransferInput,
        parameters=[WALLET_ID, schema.IDEMPOTENCY_KEY],
        responses=schema.responses(200, schema.TRANSFER, schema.TRANSFER_ERRORS),
        examples=examples.TRANSFER,
        tags=["money"],
    )
    def post(self, request: Request, wallet_id: str) -> Response | HttpResponse:
        sender = _path_wallet_id(wallet_id)
        data = self.validated(request)
        owner = sending_owner(request.user)
        note = services.Note.of(data)
        # A hot wallet's transfers may be committed together (WALLET_HOT_PATH): an end user's
        # without an Idempotency-Key, in a transaction of its own (wallets/group_commit.py).
        batched = owner is not None and group_commit.applies(request.user, submitted_key(request)[0])
        service: Any = group_commit.transfer_create if batched else services.transfer_create

        def move() -> tuple[int, Any]:
            result = service(
                from_wallet_id=sender,
                to_wallet_id=data["to_wallet_id"],
                amount=data["amount"],
                initiated_by=request.user.get_username(),
                owner_user_id=owner,
                note=note,
            )
            # The seed's [out_txn, in_txn]; another user's receiving wallet without its balance.
            hidden = balances_hidden_from(request.user, result.wallets.values())
            return 200, movement_legs(result, note, hidden)

        def describe() -> staff_gate.StaffMovement:
            return staff_gate.sending_movement(
                staff_gate.TRANSFER, sender, data["to_wallet_id"], data["amount"], **note.fields()
            )

        if batched:
            status, body = move()
            return Response({"success": True, "data": body}, status=status)
        return respond_once(request, staff_gate.gated(request.user, move, describe))


class WalletTransactionsView(ApiView):
    crumb = "Transactions"

    def links(self, request: Request, data: Any) -> list[browsable.Link]:
        return wallet_links(request, self.kwargs["wallet_id"])

    @extend_schema(
        operation_id="wallet_transactions_list",
        summary="List a wallet's ledger entries",
        description=(
            "The wallet's ledger entries, newest first, a cursor page at a time: the immediate, "
            "authoritative record (the history is its eventually consistent, filterable view)."
        ),
        parameters=[WALLET_ID, *PAGE_PARAMETERS],
        responses=schema.responses(200, schema.TRANSACTION_PAGE, schema.TRANSACTIONS_ERRORS),
        examples=examples.TRANSACTIONS,
        tags=["wallets"],
    )
    def get(self, request: Request, wallet_id: str) -> Response:
        wallet = selectors.wallet_get_visible(principal=request.user, wallet_id=wallet_id)
        page = paginate(
            request,
            ENTRIES_NEWEST_FIRST,
            lambda before: selectors.entries_for_wallet(wallet=wallet, before_version=before).select_related(
                "transaction"
            ),
        )
        legs = selectors.legs_for_entries(page.items)
        return Response(page.body(lambda entry: entry_data(entry, legs.get(entry.transaction_id))))
