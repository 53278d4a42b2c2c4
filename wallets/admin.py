"""Admin for operators: look at wallets and the ledger, freeze and unfreeze. Nobody edits money here.

Every field is read-only and nothing can be added or deleted: balances change only through the
services, which write the ledger and the events. Freezing and unfreezing go through services too,
with a reason (on the wallet's page, or as a list action), and leave a `WalletStatusChange` row
(who, when, why). Who moved money is each ledger transaction's `initiated_by`. Reversing a
transaction is an action: its page asks for the reason and says what happens: it passes the staff
gate (`wallets.staff_gate`) as the API's reversal does, so it becomes a pending approval that
another operator must approve. Each of these forms runs once (`common.admin.run_once`).

A wallet's page shows its newest entries (each linking to its transaction), its pending holds, and
links to its entries, transactions, money history, holds and approvals: each list filtered to the
wallet (`?wallet=<id>`, on an index of that table). Lists show ids short (`short_id_link`).

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

import contextlib
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.urls import reverse as reverse_url
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from knox.models import AuthToken

from common.admin import (
    DateRangeFilter,
    IdFilter,
    OnceField,
    Outcome,
    ReadOnlyAdminMixin,
    ReadOnlyModelAdmin,
    ValuesListFilter,
    compact_time,
    once_input,
    outcome,
    run_once,
    search_by_uuid_or_text,
    short_id,
    short_id_link,
    short_id_text,
)
from common.errors import ApplicationError

from . import reversals, services, staff_gate, statements, token_use, tokens
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
from .statement_downloads import download_response
from .statement_pdf import StatementTooLongForPdf

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


class WalletEntriesFilter(IdFilter):
    title = "wallet"
    parameter_name = "wallet"

    def condition(self, value: uuid.UUID) -> Q:
        return Q(wallet_id=value)  # entry_wallet_version_unique


class WalletTransactionsFilter(IdFilter):
    title = "wallet"
    parameter_name = "wallet"

    def condition(self, value: uuid.UUID) -> Q:
        # The wallet's entries (entry_wallet_version_unique), then their transactions by key.
        return Q(id__in=LedgerEntry.objects.filter(wallet_id=value).values("transaction_id"))


class WalletHoldsFilter(IdFilter):
    title = "wallet"
    parameter_name = "wallet"

    def condition(self, value: uuid.UUID) -> Q:
        return Q(from_wallet_id=value) | Q(to_wallet_id=value)  # hold_from_created_idx, hold_to_created_idx


class StatusReasonForm(ActionForm):
    reason = forms.CharField(required=False, label="Reason", max_length=500)
    once = OnceField()


class StatusForm(forms.Form):
    reason = forms.CharField(
        label="Reason (recorded)", max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )


class StatementForm(forms.Form):
    """A statement's period and format for an operator (issue #33): times in UTC, the period
    half-open as the API's (docs/statements.md)."""

    _WIDGET = {"type": "datetime-local", "step": "1"}

    start = forms.DateTimeField(
        label="From (UTC, inclusive)",
        widget=forms.DateTimeInput(attrs=_WIDGET, format="%Y-%m-%dT%H:%M:%S"),
    )
    end = forms.DateTimeField(
        label="To (UTC, exclusive; empty: now)",
        required=False,
        widget=forms.DateTimeInput(attrs=_WIDGET, format="%Y-%m-%dT%H:%M:%S"),
    )
    format = forms.ChoiceField(choices=[("csv", "CSV"), ("pdf", "PDF")], initial="csv")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("start"), cleaned.get("end") or timezone.now()
        cleaned["end"] = end
        if start is not None and start >= end:
            raise forms.ValidationError(
                "From must be before To (the period is From inclusive, To exclusive)."
            )
        return cleaned


def month_start() -> datetime:
    return timezone.now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)


class StatusChangeInline(ReadOnlyAdminMixin, admin.TabularInline):  # type: ignore[type-arg]
    model = WalletStatusChange
    fk_name = "wallet"
    extra = 0
    can_delete = False
    verbose_name_plural = "Freeze / unfreeze history"


def wallet_link(wallet_id: object) -> SafeString:
    return short_id_link(reverse_url("admin:wallets_wallet_change", args=[wallet_id]), wallet_id)


def transaction_link(transaction_id: object) -> SafeString:
    return short_id_link(
        reverse_url("admin:wallets_ledgertransaction_change", args=[transaction_id]), transaction_id
    )


def wallet_lists(wallet_id: uuid.UUID) -> list[tuple[str, str, str]]:
    """The admin lists filtered to one wallet: (css class, label, url)."""
    lists = [
        ("wallet-entries", "Entries", "admin:wallets_ledgerentry_changelist"),
        ("wallet-transactions", "Transactions", "admin:wallets_ledgertransaction_changelist"),
        ("wallet-history", "Money history", "admin:history_historyevent_changelist"),
        ("wallet-holds", "Holds", "admin:wallets_hold_changelist"),
        ("wallet-approvals", "Approvals", "admin:approvals_approval_changelist"),
    ]
    return [(css, label, f"{reverse_url(name)}?wallet={wallet_id}") for css, label, name in lists]


@admin.register(Wallet)
class WalletAdmin(ReadOnlyModelAdmin):
    list_display = (
        "wallet",
        "user_id",
        "currency",
        "balance",
        "held",
        "available",
        "version",
        "status",
        "kind",
        "created",
    )
    list_display_links = None
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

    @admin.display(description="wallet")
    def wallet(self, wallet: Wallet) -> SafeString:
        return wallet_link(wallet.id)

    @admin.display(description="created (UTC)")
    def created(self, wallet: Wallet) -> str:
        return compact_time(wallet.created_at)

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
        statement = path(
            "<uuid:wallet_id>/statement/",
            self.admin_site.admin_view(self.statement_view),
            name="wallets_wallet_statement",
        )
        return [status, statement, *super().get_urls()]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        context = {
            **(extra_context or {}),
            "has_freeze_permission": self.has_freeze_permission(request),
            "once": once_input(),
            "statement_form": StatementForm(initial={"start": month_start()}),
        }
        with contextlib.suppress(ValueError):  # not a wallet id: Django says it does not exist
            context["wallet_lists"] = wallet_lists(uuid.UUID(str(object_id)))
        return super().change_view(request, object_id, form_url, context)

    def statement_view(self, request: HttpRequest, wallet_id: Any) -> HttpResponseBase:
        """A user wallet's statement as CSV or PDF, the customer's very download
        (`wallets.statement_downloads`): the form on the wallet's page GETs here; a refusal (a
        bad period, a PDF over its cap) shows the form again with the reason."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        wallet = get_object_or_404(Wallet, id=wallet_id, kind=Wallet.Kind.USER)
        form = StatementForm(request.GET or None, initial={"start": month_start()})
        if form.is_valid():
            header = statements.statement_header(
                wallet=wallet, start=form.cleaned_data["start"], end=form.cleaned_data["end"]
            )
            try:
                return download_response(form.cleaned_data["format"], header)
            except StatementTooLongForPdf as refused:
                form.add_error(None, refused.message)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Statement of wallet {wallet.id}",
            "wallet": wallet,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(
            request, "admin/wallets/wallet_statement.html", context, status=400 if form.is_bound else 200
        )

    def status_view(self, request: HttpRequest, wallet_id: Any) -> HttpResponse:
        """Freeze or unfreeze one wallet, with a reason (the service locks it): the form on the
        wallet's page posts here; a GET shows the same form on a page of its own."""
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
            reason = form.cleaned_data["reason"]
            run_once(request, lambda: self._change_one(request, wallet.id, to_status, reason))
            return redirect("admin:wallets_wallet_change", wallet.id)
        context = {
            **self.admin_site.each_context(request),
            "title": f"{'Freeze' if to_status == Wallet.Status.FROZEN else 'Unfreeze'} wallet",
            "wallet": wallet,
            "to_status": to_status,
            "form": form,
            "once": once_input(),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/wallets/wallet_status.html", context)

    def _change_one(
        self, request: HttpRequest, wallet_id: uuid.UUID, to_status: str, reason: str
    ) -> list[Outcome]:
        freeze = to_status == Wallet.Status.FROZEN
        change = services.wallet_freeze if freeze else services.wallet_unfreeze
        if change(wallet_id=wallet_id, reason=reason, actor=request.user):
            return [outcome(messages.SUCCESS, f"{'Froze' if freeze else 'Unfroze'} wallet {wallet_id}.")]
        return [outcome(messages.WARNING, f"Wallet {wallet_id} was already {to_status}: nothing changed.")]

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
                    short_id_link(reverse_url("admin:wallets_hold_change", args=[hold.id]), hold.id),
                    "out" if hold.from_wallet_id == wallet.id else "in",
                    format_money(hold.amount),
                    compact_time(hold.expires_at),
                    hold.description or "",
                )
                for hold in holds.order_by("-created_at")[:RECENT_ENTRIES]
            ),
        )
        if not rows:
            return format_html("<em>{}</em>", "No pending holds.")
        header = format_html_join(
            "", "<th>{}</th>", ((h,) for h in ("hold", "direction", "amount", "expires (UTC)", "description"))
        )
        return format_html("<table><tr>{}</tr>{}</table>", header, rows)

    @admin.display(description=f"Recent ledger entries (newest {RECENT_ENTRIES} first)")
    def recent_entries(self, wallet: Wallet) -> SafeString:
        # A user wallet's entries newest first are its versions (entry_wallet_version_unique). The
        # system account's have no version: newest first through the transactions' index
        # (ledger_txn_created_idx), a walk that stops at the 20th, never a sort of all its entries.
        newest_first = "-wallet_version" if wallet.kind == Wallet.Kind.USER else "-transaction__created_at"
        entries = wallet.entries.order_by(newest_first)[:RECENT_ENTRIES]
        rows = format_html_join(
            "",
            '<tr class="recent-entry">' + "<td>{}</td>" * 6 + "</tr>",
            (
                (
                    compact_time(e.created_at),
                    e.type,
                    format_money(e.amount),
                    format_money(e.balance_after) if e.balance_after is not None else "—",
                    e.wallet_version if e.wallet_version is not None else "—",
                    transaction_link(e.transaction_id),
                )
                for e in entries
            ),
        )
        if not rows:
            return format_html("<em>{}</em>", "No ledger entries yet.")
        header = format_html_join(
            "",
            "<th>{}</th>",
            ((h,) for h in ("when (UTC)", "type", "amount", "balance after", "version", "transaction")),
        )
        return format_html("<table><tr>{}</tr>{}</table>", header, rows)

    def _change_status(self, request: HttpRequest, queryset: QuerySet[Wallet], *, freeze: bool) -> None:
        reason = (request.POST.get("reason") or "").strip()
        if not reason:
            self.message_user(request, "Give a reason: it is recorded with the change.", messages.ERROR)
            return
        wallet_ids = list(queryset.filter(kind=Wallet.Kind.USER).values_list("id", flat=True))

        def act() -> list[Outcome]:
            change = services.wallet_freeze if freeze else services.wallet_unfreeze
            changed = sum(
                change(wallet_id=wallet_id, reason=reason, actor=request.user) for wallet_id in wallet_ids
            )
            verb = "Froze" if freeze else "Unfroze"
            unchanged = len(wallet_ids) - changed
            found = [
                outcome(messages.SUCCESS if changed else messages.WARNING, f"{verb} {changed} wallet(s).")
            ]
            if unchanged:
                state = "frozen" if freeze else "active"
                found.append(outcome(messages.WARNING, f"{unchanged} wallet(s) were already {state}."))
            return found

        run_once(request, act)

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
    once = OnceField()


SHOWN_WALLETS = 2  # per side of a transaction in the list; "+N" for the rest


def _side(entries: list[LedgerEntry]) -> SafeString:
    """The wallets of one side of a transaction: short links, the system account by name."""
    ids: list[Any] = []
    for entry in entries:
        key = "system" if entry.balance_after is None else entry.wallet_id
        if key not in ids:
            ids.append(key)
    shown = [
        format_html("{}", "system") if key == "system" else wallet_link(key) for key in ids[:SHOWN_WALLETS]
    ]
    more = f" +{len(ids) - SHOWN_WALLETS}" if len(ids) > SHOWN_WALLETS else ""
    return format_html("{}{}", format_html_join(", ", "{}", ((item,) for item in shown)), more)


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(ReadOnlyModelAdmin):
    list_display = ("transaction", "created", "kind", "amount", "currency", "wallets", "initiated_by", "note")
    list_display_links = None
    list_filter = ("kind", ("created_at", DateRangeFilter), WalletTransactionsFilter)
    search_fields = ("initiated_by",)
    search_help_text = "A transaction id (exact) or part of the initiator's name."
    ordering = ("-created_at",)  # ledger_txn_created_idx
    sortable_by = ("created",)
    inlines = (LegInline, EntryInline)
    actions = ("reverse_transactions",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[LedgerTransaction]:
        # The page's entries in one query (entry_transaction_idx), for amount, currency and wallets.
        entries = LedgerEntry.objects.only(
            "transaction_id", "wallet_id", "currency", "amount", "balance_after"
        )
        return super().get_queryset(request).prefetch_related(Prefetch("entries", queryset=entries))

    @admin.display(description="transaction")
    def transaction(self, txn: LedgerTransaction) -> SafeString:
        return transaction_link(txn.id)

    @admin.display(description="time (UTC)", ordering="created_at")
    def created(self, txn: LedgerTransaction) -> str:
        return compact_time(txn.created_at)

    @staticmethod
    def _credits(txn: LedgerTransaction) -> list[LedgerEntry]:
        return [entry for entry in txn.entries.all() if entry.amount > 0]

    @admin.display(description="amount")
    def amount(self, txn: LedgerTransaction) -> str:
        """What moved: the sum of the credits (a transfer's amount, a split's legs together)."""
        credits = self._credits(txn)
        if len({entry.currency for entry in credits}) != 1:
            return "—"
        return format_money(sum((entry.amount for entry in credits), Decimal(0)))

    @admin.display(description="currency")
    def currency(self, txn: LedgerTransaction) -> str:
        return ", ".join(sorted({entry.currency for entry in self._credits(txn)})) or "—"

    @admin.display(description="from → to")
    def wallets(self, txn: LedgerTransaction) -> SafeString:
        entries = list(txn.entries.all())
        debits = [entry for entry in entries if entry.amount < 0]
        return format_html("{} → {}", _side(debits), _side(self._credits(txn)))

    @admin.display(description="description or reason")
    def note(self, txn: LedgerTransaction) -> str:
        text = txn.reason if txn.kind == LedgerTransaction.Kind.REVERSAL else txn.description or ""
        return text if len(text) <= 40 else f"{text[:39]}…"

    def has_reverse_permission(self, request: HttpRequest) -> bool:
        # The reverse action; the page itself stays read-only (the ledger is append-only).
        return request.user.has_perm("wallets.change_ledgertransaction")

    @admin.action(
        description="Reverse selected transactions (another operator must approve)", permissions=["reverse"]
    )
    def reverse_transactions(
        self, request: HttpRequest, queryset: QuerySet[LedgerTransaction]
    ) -> HttpResponse | None:
        form = ReverseForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            context = {
                **self.admin_site.each_context(request),
                "title": "Request reversals of ledger transactions",
                "transactions": queryset.order_by("-created_at"),
                "form": form,
                "opts": self.model._meta,
            }
            return TemplateResponse(request, "admin/wallets/reverse_transactions.html", context)
        chosen = list(queryset.order_by("created_at"))
        run_once(request, lambda: self._reverse(request, chosen, form.cleaned_data["reason"]))
        return None

    def _reverse(self, request: HttpRequest, chosen: list[LedgerTransaction], reason: str) -> list[Outcome]:
        found: list[Outcome] = []
        pending: list[SafeString] = []
        reversed_now = 0
        for txn in chosen:
            try:
                approval_id = self.reverse_one(request, txn, reason)
            except ApplicationError as refusal:
                found.append(outcome(messages.ERROR, f"{txn.kind} {short_id(txn.id)}: {refusal.message}"))
                continue
            if approval_id is None:
                reversed_now += 1
            else:
                url = reverse_url("admin:approvals_approval_change", args=[approval_id])
                pending.append(
                    format_html(
                        '{} {} (<a href="{}" class="reversal-approval">approval {}</a>)',
                        txn.kind,
                        short_id(txn.id),
                        url,
                        short_id(approval_id),
                    )
                )
        if pending:
            found.insert(
                0,
                outcome(
                    messages.WARNING,
                    format_html(
                        "{} reversal(s) awaiting approval: nothing moves until another operator "
                        "approves each: {}.",
                        len(pending),
                        format_html_join("; ", "{}", ((item,) for item in pending)),
                    ),
                ),
            )
        if reversed_now:
            found.insert(0, outcome(messages.SUCCESS, f"Reversed {reversed_now} transaction(s)."))
        if not found:
            found.append(outcome(messages.WARNING, "Nothing was reversed."))
        return found

    def reverse_one(self, request: HttpRequest, txn: LedgerTransaction, reason: str) -> uuid.UUID | None:
        """Reverse one chosen transaction through the staff gate, as the API does: None if it was
        reversed now, else the pending approval's id (it waits for a second operator)."""

        def reverse() -> tuple[int, Any]:
            reversals.transaction_reverse(
                transaction_id=txn.id, reason=reason, initiated_by=request.user.get_username()
            )
            return 201, None

        movement = staff_gate.reversal_movement(txn, reason)
        status, pending = staff_gate.submit(request.user, movement, reverse, via="admin")
        if status != 202:
            return None
        return uuid.UUID(str(pending["approval_id"]))

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
    list_display = ("hold", "payer", "payee", "amount", "captured_amount", "status", "expires")
    list_display_links = None
    list_filter = ("status", CurrencyFilter, WalletHoldsFilter)
    search_help_text = "A hold, wallet or transaction id (exact), or part of the creator's name."
    search_fields = ("created_by",)
    ordering = ("from_wallet", "-created_at", "-id")  # hold_from_created_idx: newest first per payer
    sortable_by = ("payer", "payee")

    @admin.display(description="hold")
    def hold(self, hold: Hold) -> SafeString:
        return short_id_link(reverse_url("admin:wallets_hold_change", args=[hold.id]), hold.id)

    @admin.display(description="from wallet", ordering="from_wallet")
    def payer(self, hold: Hold) -> SafeString:
        return wallet_link(hold.from_wallet_id)

    @admin.display(description="to wallet", ordering="to_wallet")
    def payee(self, hold: Hold) -> SafeString:
        return wallet_link(hold.to_wallet_id)

    @admin.display(description="expires (UTC)")
    def expires(self, hold: Hold) -> str:
        return compact_time(hold.expires_at)

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
    list_display = (
        "entry",
        "type",
        "in_wallet",
        "amount",
        "balance_after",
        "wallet_version",
        "of_transaction",
        "created",
    )
    list_display_links = None
    list_filter = ("type", CurrencyFilter, WalletEntriesFilter)
    search_fields = ("type",)
    search_help_text = "An entry, wallet or transaction id (exact)."
    # entry_transaction_idx, a transaction's legs together: the table has no index on created_at
    # (each one is kept up by every transfer); newest first is the ledger transactions' page.
    ordering = ("transaction", "id")
    sortable_by = ()

    def get_ordering(self, request: HttpRequest) -> Any:
        if request.GET.get(WalletEntriesFilter.parameter_name):
            return ("-wallet_version", "-id")  # one wallet's, newest first: entry_wallet_version_unique
        return super().get_ordering(request)

    @admin.display(description="entry")
    def entry(self, entry: LedgerEntry) -> SafeString:
        return short_id_link(reverse_url("admin:wallets_ledgerentry_change", args=[entry.id]), entry.id)

    @admin.display(description="wallet")
    def in_wallet(self, entry: LedgerEntry) -> SafeString:
        return wallet_link(entry.wallet_id)

    @admin.display(description="transaction")
    def of_transaction(self, entry: LedgerEntry) -> SafeString:
        return transaction_link(entry.transaction_id)

    @admin.display(description="created (UTC)")
    def created(self, entry: LedgerEntry) -> str:
        return compact_time(entry.created_at)

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
    list_display = ("of_wallet", "from_status", "to_status", "reason", "changed_by", "changed")
    list_filter = (ToStatusFilter,)
    ordering = ("-id",)  # newest first, on the primary key

    @admin.display(description="wallet")
    def of_wallet(self, change: WalletStatusChange) -> SafeString:
        return short_id_text(change.wallet_id)

    @admin.display(description="changed (UTC)")
    def changed(self, change: WalletStatusChange) -> str:
        return compact_time(change.changed_at)


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
    """Live tokens, never a key (stored nowhere) nor a digest; their last use from
    wallets/token_use.py (written at most once a minute per token and web process, so it lags by up
    to API_TOKEN_USE_SECONDS)."""

    fields = ("token_key", "user", "created", "expiry", "last_used", "last_used_from")
    list_display = ("prefix", "user", "created", "expiry", "state", "last_used")
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

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApiToken]:
        return token_use.with_last_use(super().get_queryset(request))  # one LEFT JOIN

    @admin.display(description="last used", ordering="last_used_at", empty_value="never")
    def last_used(self, token: ApiToken) -> Any:
        return token.last_used_at  # annotated by with_last_use

    @admin.display(description="last used from", empty_value="-")
    def last_used_from(self, token: ApiToken) -> Any:
        return token.last_used_from

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
