"""The seed's wallet endpoints (../shared/spec/api.md): thin views over services and selectors."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Q
from django.http import HttpResponse
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from walletproject.errors import ValidationFailed
from wallets import selectors, services
from wallets.errors import WalletNotFound

from . import schema
from .idempotency import respond_once
from .pagination import decode_cursor, page_body, page_limit
from .parsers import ExactJSONParser
from .serializers import AmountInput, TransferInput, WalletCreateInput, transaction_data, wallet_data


class ApiView(APIView):
    parser_classes = [ExactJSONParser]
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if request.method == "POST" and not (request.content_type or "").split(";")[0].strip().endswith(
            ("/json", "+json")
        ):
            raise exceptions.UnsupportedMediaType(request.content_type or "none")

    def validated(self, serializer_class: type[Any], request: Request) -> dict[str, Any]:
        if not isinstance(request.data, dict):
            raise exceptions.ValidationError({"non_field_errors": ["The body must be a JSON object."]})
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def require_staff(self, request: Request) -> None:
        if not request.user.is_staff:
            raise exceptions.PermissionDenied()


def _path_wallet_id(raw: str) -> uuid.UUID:
    wallet_id = selectors.parse_wallet_id(raw)
    if wallet_id is None:
        raise WalletNotFound()
    return wallet_id


class WalletCreateView(ApiView):
    @extend_schema(
        request=WalletCreateInput, responses=schema.responses(201, schema.WALLET), tags=["wallets"]
    )
    def post(self, request: Request) -> Response | HttpResponse:
        data = self.validated(WalletCreateInput, request)
        if not selectors.may_act_for(request.user, data["user_id"]):
            raise exceptions.PermissionDenied()

        def create() -> tuple[int, Any]:
            return 201, wallet_data(
                services.wallet_create(user_id=data["user_id"], currency=data.get("currency"))
            )

        return respond_once(request, create)


class WalletDetailView(ApiView):
    @extend_schema(responses=schema.responses(200, schema.WALLET), tags=["wallets"])
    def get(self, request: Request, wallet_id: str) -> Response:
        wallet = selectors.wallet_get_visible(principal=request.user, wallet_id=wallet_id)
        return Response({"success": True, "data": wallet_data(wallet)})


class UserWalletsView(ApiView):
    @extend_schema(
        parameters=schema.PAGE_PARAMETERS,
        responses=schema.responses(200, schema.WALLET_PAGE),
        tags=["wallets"],
    )
    def get(self, request: Request, user_id: str) -> Response:
        if not selectors.may_act_for(request.user, user_id):
            raise exceptions.PermissionDenied()
        limit, cursor = page_limit(request), decode_cursor(request)
        wallets = selectors.wallets_for_user(user_id=user_id)
        if cursor is not None:
            created_at, last_id = _wallet_cursor(cursor)
            # Keyset: strictly after (created_at, id) in the descending order.
            wallets = wallets.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=last_id))
        page = list(wallets[: limit + 1])
        has_more = len(page) > limit
        page = page[:limit]
        next_position = [page[-1].created_at.isoformat(), str(page[-1].id)] if has_more else None
        return Response(page_body([wallet_data(w) for w in page], has_more, next_position))


def _wallet_cursor(cursor: Any) -> tuple[Any, uuid.UUID]:
    if isinstance(cursor, list) and len(cursor) == 2 and isinstance(cursor[0], str):
        try:
            created_at = parse_datetime(cursor[0])
        except ValueError:  # well formed but impossible, e.g. month 13
            created_at = None
        last_id = selectors.parse_wallet_id(cursor[1])
        if created_at is not None and last_id is not None:
            return created_at, last_id
    raise ValidationFailed("The cursor is not valid.")


class WalletFundView(ApiView):
    withdraw = False

    @extend_schema(request=AmountInput, responses=schema.responses(200, schema.WALLET), tags=["money"])
    def post(self, request: Request, wallet_id: str) -> Response | HttpResponse:
        self.require_staff(request)
        target = _path_wallet_id(wallet_id)
        amount = self.validated(AmountInput, request)["amount"]
        service = services.wallet_withdraw if self.withdraw else services.wallet_fund

        def move() -> tuple[int, Any]:
            return 200, wallet_data(
                service(wallet_id=target, amount=amount, initiated_by=request.user.get_username())
            )

        return respond_once(request, move)


class WalletWithdrawView(WalletFundView):
    withdraw = True


class TransferView(ApiView):
    @extend_schema(request=TransferInput, responses=schema.responses(200, schema.TRANSFER), tags=["money"])
    def post(self, request: Request, wallet_id: str) -> Response | HttpResponse:
        sender = _path_wallet_id(wallet_id)
        data = self.validated(TransferInput, request)
        owner = None if request.user.is_staff else request.user.get_username()

        def move() -> tuple[int, Any]:
            result = services.transfer_create(
                from_wallet_id=sender,
                to_wallet_id=data["to_wallet_id"],
                amount=data["amount"],
                initiated_by=request.user.get_username(),
                owner_user_id=owner,
            )
            return 200, [
                transaction_data(e, result.transaction_id, result.created_at) for e in result.entries
            ]

        return respond_once(request, move)


class WalletTransactionsView(ApiView):
    @extend_schema(
        parameters=schema.PAGE_PARAMETERS,
        responses=schema.responses(200, schema.TRANSACTION_PAGE),
        tags=["wallets"],
    )
    def get(self, request: Request, wallet_id: str) -> Response:
        wallet = selectors.wallet_get_visible(principal=request.user, wallet_id=wallet_id)
        limit, cursor = page_limit(request), decode_cursor(request)
        if cursor is not None and (not isinstance(cursor, int) or isinstance(cursor, bool)):
            raise ValidationFailed("The cursor is not valid.")
        entries = selectors.entries_for_wallet(wallet=wallet, before_version=cursor)
        page = list(entries[: limit + 1])
        has_more = len(page) > limit
        page = page[:limit]
        items = [transaction_data(e, e.transaction_id, e.created_at) for e in page]
        return Response(page_body(items, has_more, page[-1].wallet_version if has_more else None))
