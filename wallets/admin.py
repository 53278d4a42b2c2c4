"""Admin for operators: look at wallets and the ledger, freeze and unfreeze. Nobody edits money here.

Every field is read-only and nothing can be added or deleted: balances change only through the
services, which write the ledger and the events. Freezing and unfreezing go through services too,
with a reason, and leave a `WalletStatusChange` row (who, when, why). Who moved money is each
ledger transaction's `initiated_by`. Reversing a transaction is an action too: an intermediate page
asks for the reason, recorded on the REVERSAL transaction with who made it; it passes the staff
gate (`wallets.staff_gate`) as the API's reversal does, so it may wait for a second operator. Holds
are listed by status; a wallet's page shows its held and available money and its pending holds.

API tokens: knox's own page (which shows digests and makes tokens in the browser) is replaced by a
read-only list of prefix, owner, created and expiry (`ApiToken`, a proxy of knox's model), with a
*Revoke* action that is recorded like `revoke_token`; tokens are issued only by `manage.py
issue_token`. Token events are the audit.

Every change list is ordered by an index (the wallets by user, the ledger transactions newest first,
the holds by sending wallet, the entries by transaction), and only indexed columns sort: at 10
million rows any other order sorts the whole table for each page. Currencies are filtered by the
configured list (`WALLET_CURRENCIES`), not by asking the table for its distinct values.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.urls import reverse as reverse_url
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from knox.models import AuthToken

from common.admin import ReadOnlyAdminMixin, ReadOnlyModelAdmin, ValuesListFilter, search_by_uuid_or_text
from common.errors import ApplicationError

from . import reversals, services, staff_gate, tokens
from .models import (
    ApiToken,
    Hold,
    IdempotencyRecord,
    LedgerEntry,
    LedgerTransaction,
    TokenEvent,
    TransactionLeg,
    Wallet,
    WalletStatusChange,
)
from .money import format_money

RECENT_ENTRIES = 20


class CurrencyFilter(ValuesListFilter):
    title = "currency"
    parameter_name = "currency__exact"

    def values(self) -> list[str]:
        return list(settings.WALLET_CURRENCIES)


class ToStatusFilter(ValuesListFilter):
    title = "to status"
    parameter_name = "to_status__exact"

    def values(self) -> list[str]:
        return list(Wallet.Status.values)


class StatusReasonForm(ActionForm):
    reason = forms.CharField(required=False, label="Reason", max_length=500)


class StatusForm(forms.Form):
    reason = forms.CharField(
        label="Reason (recorded)", max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )


class StatusChangeInline(ReadOnlyAdminMixin, admin.TabularInline):  # type: ignore[type-arg]
    model = WalletStatusChange
    fk_name = "wallet"
    extra = 0
    can_delete = False
    verbose_name_plural = "Freeze / unfreeze history"


@admin.register(Wallet)
class WalletAdmin(ReadOnlyModelAdmin):
    list_display = (
        "id",
        "user_id",
        "currency",
        "balance",
        "held",
        "available",
        "version",
        "status",
        "kind",
        "created_at",
    )
    list_filter = (CurrencyFilter, "status", "kind")
    search_fields = ("user_id",)
    search_help_text = "A wallet id (exact) or part of a user id."
    ordering = ("user_id", "-created_at")  # wallet_user_created_idx
    sortable_by = ("user_id",)
    readonly_fields = ("available", "pending_holds", "recent_entries")
    inlines = (StatusChangeInline,)
    action_form = StatusReasonForm
    actions = ("freeze_wallets", "unfreeze_wallets")

    change_form_template = "admin/wallets/wallet/change_form.html"

    def has_freeze_permission(self, request: HttpRequest) -> bool:
        # Operators hold `change_wallet` for the freeze actions; the page itself stays read-only
        # (no Save: a save would write the money columns from a read taken without the lock).
        return request.user.has_perm("wallets.change_wallet")

    def get_urls(self) -> list[URLPattern]:
        status = path(
            "<uuid:wallet_id>/status/",
            self.admin_site.admin_view(self.status_view),
            name="wallets_wallet_status",
        )
        return [status, *super().get_urls()]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        context = {**(extra_context or {}), "has_freeze_permission": self.has_freeze_permission(request)}
        return super().change_view(request, object_id, form_url, context)

    def status_view(self, request: HttpRequest, wallet_id: Any) -> HttpResponse:
        """Freeze or unfreeze one wallet from its page, with a reason (the service locks it)."""
        if not self.has_freeze_permission(request):
            raise PermissionDenied
        wallet = get_object_or_404(Wallet, id=wallet_id, kind=Wallet.Kind.USER)
        to_status = request.POST.get("to_status") or (
            Wallet.Status.FROZEN if wallet.status == Wallet.Status.ACTIVE else Wallet.Status.ACTIVE
        )
        if to_status not in Wallet.Status.values:
            raise PermissionDenied
        form = StatusForm(request.POST if request.method == "POST" else None)
        if form.is_valid():
            change = services.wallet_freeze if to_status == Wallet.Status.FROZEN else services.wallet_unfreeze
            changed = change(wallet_id=wallet.id, reason=form.cleaned_data["reason"], actor=request.user)
            verb = "Froze" if to_status == Wallet.Status.FROZEN else "Unfroze"
            self.message_user(
                request,
                f"{verb} wallet {wallet.id}." if changed else f"Wallet {wallet.id} was already {to_status}.",
                messages.SUCCESS if changed else messages.WARNING,
            )
            return redirect("admin:wallets_wallet_change", wallet.id)
        context = {
            **self.admin_site.each_context(request),
            "title": f"{'Freeze' if to_status == Wallet.Status.FROZEN else 'Unfreeze'} wallet",
            "wallet": wallet,
            "to_status": to_status,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/wallets/wallet_status.html", context)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Wallet], search_term: str
    ) -> tuple[QuerySet[Wallet], bool]:
        return search_by_uuid_or_text(
            queryset, search_term, by_uuid=lambda v: Q(id=v), by_text=lambda text: Q(user_id__icontains=text)
        )

    @admin.display(description="available")
    def available(self, wallet: Wallet) -> str:
        return format_money(wallet.available)

    @admin.display(description=f"Pending holds (newest {RECENT_ENTRIES})")
    def pending_holds(self, wallet: Wallet) -> SafeString:
        holds = Hold.objects.filter(Q(from_wallet=wallet) | Q(to_wallet=wallet), status=Hold.Status.PENDING)
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    hold.id,
                    "out" if hold.from_wallet_id == wallet.id else "in",
                    format_money(hold.amount),
                    hold.expires_at.strftime("%Y-%m-%d %H:%M:%S"),
                    hold.description or "",
                )
                for hold in holds.order_by("-created_at")[:RECENT_ENTRIES]
            ),
        )
        if not rows:
            return format_html("<em>{}</em>", "No pending holds.")
        header = format_html_join(
            "", "<th>{}</th>", ((h,) for h in ("hold", "direction", "amount", "expires", "description"))
        )
        return format_html("<table><tr>{}</tr>{}</table>", header, rows)

    @admin.display(description=f"Recent ledger entries (last {RECENT_ENTRIES})")
    def recent_entries(self, wallet: Wallet) -> SafeString:
        # A user wallet's entries newest first are its versions (entry_wallet_version_unique). The
        # system account's have no version: newest first through the transactions' index
        # (ledger_txn_created_idx), a walk that stops at the 20th, never a sort of all its entries.
        newest_first = "-wallet_version" if wallet.kind == Wallet.Kind.USER else "-transaction__created_at"
        entries = wallet.entries.order_by(newest_first)[:RECENT_ENTRIES]
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    e.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                    e.type,
                    format_money(e.amount),
                    format_money(e.balance_after) if e.balance_after is not None else "—",
                    e.wallet_version if e.wallet_version is not None else "—",
                    e.transaction_id,
                )
                for e in entries
            ),
        )
        if not rows:
            return format_html("<em>{}</em>", "No ledger entries yet.")
        header = format_html_join(
            "",
            "<th>{}</th>",
            ((h,) for h in ("when", "type", "amount", "balance after", "version", "transaction")),
        )
        return format_html("<table><tr>{}</tr>{}</table>", header, rows)

    def _change_status(self, request: HttpRequest, queryset: QuerySet[Wallet], *, freeze: bool) -> None:
        reason = (request.POST.get("reason") or "").strip()
        if not reason:
            self.message_user(request, "Give a reason: it is recorded with the change.", messages.ERROR)
            return
        change = services.wallet_freeze if freeze else services.wallet_unfreeze
        changed = sum(
            change(wallet_id=wallet_id, reason=reason, actor=request.user)
            for wallet_id in queryset.filter(kind=Wallet.Kind.USER).values_list("id", flat=True)
        )
        verb = "Froze" if freeze else "Unfroze"
        self.message_user(request, f"{verb} {changed} wallet(s).", messages.SUCCESS)

    @admin.action(description="Freeze selected wallets (reason required)", permissions=["freeze"])
    def freeze_wallets(self, request: HttpRequest, queryset: QuerySet[Wallet]) -> None:
        self._change_status(request, queryset, freeze=True)

    @admin.action(description="Unfreeze selected wallets (reason required)", permissions=["freeze"])
    def unfreeze_wallets(self, request: HttpRequest, queryset: QuerySet[Wallet]) -> None:
        self._change_status(request, queryset, freeze=False)


class EntryInline(ReadOnlyAdminMixin, admin.TabularInline):  # type: ignore[type-arg]
    model = LedgerEntry
    extra = 0
    can_delete = False


class LegInline(ReadOnlyAdminMixin, admin.TabularInline):  # type: ignore[type-arg]
    """A MULTI_LEG transaction's legs (and its reversal's), in order (issue #22)."""

    model = TransactionLeg
    extra = 0
    can_delete = False
    fields = ("index", "from_wallet", "to_wallet", "currency", "amount", "description", "metadata")
    ordering = ("index",)  # leg_transaction_index_unique

    def get_queryset(self, request: HttpRequest) -> QuerySet[TransactionLeg]:
        return super().get_queryset(request).select_related("from_wallet", "to_wallet")


class ReverseForm(forms.Form):
    reason = forms.CharField(
        label="Reason (recorded)", max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(ReadOnlyModelAdmin):
    list_display = ("id", "kind", "initiated_by", "description", "reverses", "created_at")
    list_filter = ("kind",)
    search_fields = ("initiated_by",)
    search_help_text = "A transaction id (exact) or part of the initiator's name."
    ordering = ("-created_at",)  # ledger_txn_created_idx
    sortable_by = ("created_at",)
    inlines = (LegInline, EntryInline)
    actions = ("reverse_transactions",)

    def has_reverse_permission(self, request: HttpRequest) -> bool:
        # The reverse action; the page itself stays read-only (the ledger is append-only).
        return request.user.has_perm("wallets.change_ledgertransaction")

    @admin.action(description="Reverse selected transactions (reason required)", permissions=["reverse"])
    def reverse_transactions(
        self, request: HttpRequest, queryset: QuerySet[LedgerTransaction]
    ) -> HttpResponse | None:
        form = ReverseForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            context = {
                **self.admin_site.each_context(request),
                "title": "Reverse ledger transactions",
                "transactions": queryset.order_by("-created_at"),
                "form": form,
                "opts": self.model._meta,
            }
            return TemplateResponse(request, "admin/wallets/reverse_transactions.html", context)
        reversed_count = 0
        for txn in queryset.order_by("created_at"):
            try:
                if self.reverse_one(request, txn, form.cleaned_data["reason"]):
                    reversed_count += 1
            except ApplicationError as refusal:
                self.message_user(request, f"{txn.kind} {txn.id}: {refusal.message}", messages.ERROR)
        self.message_user(request, f"Reversed {reversed_count} transaction(s).", messages.SUCCESS)
        return None

    def reverse_one(self, request: HttpRequest, txn: LedgerTransaction, reason: str) -> bool:
        """Reverse one chosen transaction through the staff gate, as the API does; True if it was
        reversed now, False if it waits for a second operator's approval."""

        def reverse() -> tuple[int, Any]:
            reversals.transaction_reverse(
                transaction_id=txn.id, reason=reason, initiated_by=request.user.get_username()
            )
            return 201, None

        movement = staff_gate.reversal_movement(txn, reason)
        status, pending = staff_gate.submit(request.user, movement, reverse, via="admin")
        if status != 202:
            return True
        url = reverse_url("admin:approvals_approval_change", args=[pending["approval_id"]])
        self.message_user(
            request,
            format_html(
                '{} {}: waits for a second operator\'s approval (<a href="{}">approval {}</a>).',
                txn.kind,
                txn.id,
                url,
                pending["approval_id"],
            ),
            messages.WARNING,
        )
        return False

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[LedgerTransaction], search_term: str
    ) -> tuple[QuerySet[LedgerTransaction], bool]:
        return search_by_uuid_or_text(
            queryset,
            search_term,
            by_uuid=lambda v: Q(id=v),
            by_text=lambda text: Q(initiated_by__icontains=text),
        )


@admin.register(Hold)
class HoldAdmin(ReadOnlyModelAdmin):
    list_display = ("id", "from_wallet", "to_wallet", "amount", "captured_amount", "status", "expires_at")
    list_filter = ("status", CurrencyFilter)
    search_help_text = "A hold, wallet or transaction id (exact), or part of the creator's name."
    search_fields = ("created_by",)
    ordering = ("from_wallet", "-created_at", "-id")  # hold_from_created_idx: newest first per payer
    sortable_by = ("from_wallet", "to_wallet")
    list_select_related = ("from_wallet", "to_wallet")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Hold], search_term: str
    ) -> tuple[QuerySet[Hold], bool]:
        return search_by_uuid_or_text(
            queryset,
            search_term,
            by_uuid=lambda v: Q(id=v) | Q(from_wallet_id=v) | Q(to_wallet_id=v) | Q(transaction_id=v),
            by_text=lambda text: Q(created_by__icontains=text),
        )


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyModelAdmin):
    list_display = ("id", "type", "wallet", "amount", "balance_after", "wallet_version", "created_at")
    list_filter = ("type", CurrencyFilter)
    search_fields = ("type",)
    search_help_text = "An entry, wallet or transaction id (exact)."
    # entry_transaction_idx, a transaction's legs together: the table has no index on created_at
    # (each one is kept up by every transfer); newest first is the ledger transactions' page.
    ordering = ("transaction", "id")
    sortable_by = ()
    list_select_related = ("wallet",)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[LedgerEntry], search_term: str
    ) -> tuple[QuerySet[LedgerEntry], bool]:
        return search_by_uuid_or_text(
            queryset,
            search_term,
            by_uuid=lambda v: Q(id=v) | Q(wallet_id=v) | Q(transaction_id=v),
            by_text=lambda text: Q(type__icontains=text),
        )


@admin.register(WalletStatusChange)
class WalletStatusChangeAdmin(ReadOnlyModelAdmin):
    list_display = ("wallet", "from_status", "to_status", "reason", "changed_by", "changed_at")
    list_filter = (ToStatusFilter,)
    ordering = ("-id",)  # newest first, on the primary key


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyModelAdmin):
    list_display = ("principal", "key", "status_code", "created_at")
    sortable_by = ("principal", "created_at")  # idempotency_principal_key, idempotency_created_idx
    search_fields = ("key",)
    exclude = ("response_body",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in IdempotencyRecord._meta.fields if f.name != "response_body"]


if admin.site.is_registered(AuthToken):
    admin.site.unregister(AuthToken)


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyModelAdmin):
    """Live tokens, never a key (stored nowhere) nor a digest. knox keeps no last-used time."""

    fields = ("token_key", "user", "created", "expiry")
    list_display = ("prefix", "user", "created", "expiry", "state")
    list_display_links = None
    list_filter = (("expiry", admin.EmptyFieldListFilter),)
    list_select_related = ("user",)
    search_fields = ("user__username", "token_key")
    search_help_text = "Part of a username, or a token prefix."
    ordering = ("-created",)
    actions = ("revoke_tokens",)

    @admin.display(description="prefix", ordering="token_key")
    def prefix(self, token: ApiToken) -> str:
        return f"{token.token_key}…"

    @admin.display(description="state")
    def state(self, token: ApiToken) -> str:
        return "expired" if token.expiry is not None and token.expiry <= timezone.now() else "active"

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("wallets.delete_apitoken")

    @admin.action(description="Revoke selected tokens (recorded)", permissions=["revoke"])
    def revoke_tokens(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        events = tokens.tokens_revoke(tokens=queryset, actor=request.user.get_username(), via="admin")
        self.message_user(request, f"Revoked {len(events)} token(s).", messages.SUCCESS)


@admin.register(TokenEvent)
class TokenEventAdmin(ReadOnlyModelAdmin):
    list_display = (
        "at",
        "action",
        "username",
        "owner_is_staff",
        "token_prefix",
        "expires_at",
        "actor",
        "via",
    )
    list_filter = ("action", "via", "owner_is_staff")
    search_fields = ("username", "actor", "token_prefix")
    search_help_text = "Part of the owner's or the actor's name, or a token prefix."
    ordering = ("-at",)
