"""`GET /`: the API root, where the browsable API's login lands: what this user may use, as links.

An end user sees their wallets and the actions open to them; an operator also the newest wallets,
the approvals, the admin and the docs. The same links answer an API client as JSON. Here, in the
wiring layer, because it names every app's pages. Not in the OpenAPI document: it is a map of the
documented operations, not one of them.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from common import browsable
from common.api import ApiView
from wallets import selectors
from wallets.models import Wallet
from wallets.money import format_money

LISTED = 20  # wallets shown on the root (the rest: the user's wallets page, paginated)


def _wallet(request: Request, wallet: Wallet) -> dict[str, Any]:
    return {
        "id": str(wallet.id),
        "user_id": wallet.user_id,
        "currency": wallet.currency,
        "balance": format_money(wallet.balance),
        "url": request.build_absolute_uri(f"/wallets/{wallet.id}"),
    }


def root_data(request: Request) -> dict[str, Any]:
    user = request.user
    url = request.build_absolute_uri
    if not user.is_authenticated:
        return {
            "user": None,
            "links": {"log_in": url("/api-auth/login/"), "docs": url("/api/docs/")},
            "wallets": [],
        }
    name = user.get_username()
    own = selectors.wallets_for_user(user_id=name)[:LISTED]
    links = {
        "my_wallets": url(f"/users/{name}/wallets"),
        "my_activity": url(f"/users/{name}/activity"),
        "create_wallet": url("/wallets"),
        "split_transaction": url("/transactions"),
        "batch_transfer": url("/transactions/batch"),
        "docs": url("/api/docs/"),
    }
    data: dict[str, Any] = {"user": name, "staff": bool(user.is_staff), "links": links}
    data["wallets"] = [_wallet(request, wallet) for wallet in own]
    if user.is_staff:
        links.update(
            pending_approvals=url("/approvals?status=pending"),
            approvals=url("/approvals"),
            admin=url("/admin/"),
            schema=url("/api/schema/"),
        )
        newest = Wallet.objects.filter(kind=Wallet.Kind.USER).order_by("-created_at", "-id")[:LISTED]
        data["newest_wallets"] = [_wallet(request, wallet) for wallet in newest]
    return data


class ApiRootView(ApiView):
    """What you may use here. Follow a link; every page links on to what is related."""

    permission_classes = [AllowAny]
    crumb = "API"
    id_link = "wallet-detail"

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        return Response({"success": True, "data": root_data(request)})

    def links(self, request: Request, data: Any) -> list[browsable.Link]:
        body = data.get("data", {}) if isinstance(data, dict) else {}
        labels = {
            "log_in": "Log in",
            "my_wallets": "My wallets",
            "my_activity": "My activity",
            "create_wallet": "Create a wallet",
            "split_transaction": "Split transaction",
            "batch_transfer": "Batch of transfers",
            "pending_approvals": "Pending approvals",
            "approvals": "Approvals",
            "admin": "Admin",
            "docs": "Docs",
            "schema": "OpenAPI schema",
        }
        found = [browsable.Link(labels.get(key, key), url) for key, url in body.get("links", {}).items()]
        for group, prefix in (("wallets", "My wallet"), ("newest_wallets", "Wallet")):
            for wallet in body.get(group, []):
                label = (
                    f"{prefix} {browsable.short(wallet['id'])} ({wallet['user_id']}, {wallet['currency']})"
                )
                found.append(browsable.Link(label, wallet["url"]))
        return found
