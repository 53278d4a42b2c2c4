"""Admin for the approvals (issue #23): the list, and each approval's page saying what the movement
is (kind, wallets, amount, currency, who asked and when) with *Approve* and *Reject* buttons and a
reason on the page itself; the list keeps its actions for deciding several at once.

Four eyes: only operators holding `approvals.approve_adjustment` see the buttons, never on their
own requests, and every decision goes through `approvals.services` (which refuses the requester
and a second decision whatever the page showed). Each decision form carries a one-time token
(`common.admin.run_once`): a reload or a second click shows the first outcome instead of
deciding again.

The list is ordered by `approval_requested_idx` (newest first) and sorts by that column only;
filters are fixed choices; search is an id (the approval's, its wallet's or its transaction's,
exact) or part of the requester's username; `?wallet=<id>` lists one wallet's (from its page).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from common.admin import (
    IdFilter,
    OnceField,
    Outcome,
    ReadOnlyAdminMixin,
    ReadOnlyModelAdmin,
    compact_time,
    once_input,
    outcome,
    run_once,
    search_by_uuid_or_text,
    short_id_link,
)
from common.errors import ApplicationError
from wallets.models import Hold, LedgerEntry
from wallets.money import format_money

from . import services
from .models import Approval, ApprovalEvent

SHOWN_LEGS = 10  # of a split or a batch on an approval's page


class DecisionForm(ActionForm):
    reason = forms.CharField(required=False, label="Reason", max_length=500)
    once = OnceField()


class WalletApprovalsFilter(IdFilter):
    title = "wallet"
    parameter_name = "wallet"

    def condition(self, value: uuid.UUID) -> Q:
        return Q(wallet_id=value)


class ApprovalEventInline(ReadOnlyAdminMixin, admin.TabularInline):  # type: ignore[type-arg]
    model = ApprovalEvent
    extra = 0
    can_delete = False
    ordering = ("id",)
    verbose_name_plural = "Audit"


def _wallet(wallet_id: object) -> SafeString:
    return short_id_link(reverse("admin:wallets_wallet_change", args=[wallet_id]), wallet_id)


def _transaction(transaction_id: object) -> SafeString:
    url = reverse("admin:wallets_ledgertransaction_change", args=[transaction_id])
    return short_id_link(url, transaction_id)


def movement_lines(approval: Approval) -> list[SafeString]:
    """What the approval moves, one line per movement: "from → to: amount currency"."""
    amount = f"{format_money(approval.amount)} {approval.currency}"
    request: dict[str, Any] = approval.request or {}
    if approval.kind == Approval.Kind.FUND:
        return [format_html("system account → wallet {}: {}", _wallet(approval.wallet_id), amount)]
    if approval.kind == Approval.Kind.WITHDRAW:
        return [format_html("wallet {} → system account: {}", _wallet(approval.wallet_id), amount)]
    if approval.kind == Approval.Kind.REVERSE:
        entries = LedgerEntry.objects.filter(transaction_id=approval.reverses_id).order_by("amount")
        sides = [
            "system account" if entry.balance_after is None else _wallet(entry.wallet_id) for entry in entries
        ]
        # The reversal moves the original's money back: from its credited wallet to its debited one.
        back = format_html("{} → {}", sides[-1], sides[0]) if len(sides) >= 2 else "—"
        return [
            format_html("reverses transaction {}: {}: {}", _transaction(approval.reverses_id), back, amount)
        ]
    if approval.kind in (Approval.Kind.TRANSFER, Approval.Kind.HOLD_CREATE):
        what = "transfer" if approval.kind == Approval.Kind.TRANSFER else "hold"
        return [
            format_html(
                "{} wallet {} → wallet {}: {}",
                what,
                _wallet(request.get("from_wallet_id")),
                _wallet(request.get("to_wallet_id")),
                amount,
            )
        ]
    if approval.kind == Approval.Kind.HOLD_CAPTURE:
        hold = Hold.objects.filter(id=str(request.get("hold_id"))).first()
        if hold is None:
            return [format_html("capture of hold {}: {}", request.get("hold_id"), amount)]
        url = reverse("admin:wallets_hold_change", args=[hold.id])
        return [
            format_html(
                "capture of hold {}: wallet {} → wallet {}: {}",
                short_id_link(url, hold.id),
                _wallet(hold.from_wallet_id),
                _wallet(hold.to_wallet_id),
                amount,
            )
        ]
    items: list[dict[str, Any]] = request.get("legs") or request.get("transfers") or []
    lines = [
        format_html(
            "wallet {} → wallet {}: {} {}",
            _wallet(item.get("from_wallet_id")),
            _wallet(item.get("to_wallet_id")),
            format_money(Decimal(str(item.get("amount")))),
            item.get("currency") or approval.currency,
        )
        for item in items[:SHOWN_LEGS]
    ]
    if len(items) > SHOWN_LEGS:
        lines.append(format_html("and {} more (see the request below)", len(items) - SHOWN_LEGS))
    return lines


@admin.register(Approval)
class ApprovalAdmin(ReadOnlyModelAdmin):
    list_display = (
        "approval",
        "kind",
        "status",
        "target",
        "money",
        "requested_by",
        "requested",
        "decided_by",
        "movement",
    )
    list_display_links = None
    list_filter = ("status", "kind", WalletApprovalsFilter)
    list_select_related = ("requested_by", "decided_by")
    search_fields = ("requested_by__username",)
    search_help_text = "An approval, wallet or transaction id (exact), or part of the requester's username."
    ordering = ("-requested_at", "-id")  # approval_requested_idx
    sortable_by = ("requested",)
    readonly_fields = ("target", "movement")
    inlines = (ApprovalEventInline,)
    action_form = DecisionForm
    actions = ("approve_approvals", "reject_approvals")
    change_form_template = "admin/approvals/approval/change_form.html"

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Approval], search_term: str
    ) -> tuple[QuerySet[Approval], bool]:
        return search_by_uuid_or_text(
            queryset,
            search_term,
            by_uuid=lambda v: Q(id=v) | Q(wallet_id=v) | Q(reverses_id=v) | Q(transaction_id=v),
            by_text=lambda text: Q(requested_by__username__icontains=text),
        )

    @admin.display(description="approval")
    def approval(self, approval: Approval) -> SafeString:
        return short_id_link(reverse("admin:approvals_approval_change", args=[approval.id]), approval.id)

    @admin.display(description="requested (UTC)", ordering="requested_at")
    def requested(self, approval: Approval) -> str:
        return compact_time(approval.requested_at)

    @admin.display(description="amount")
    def money(self, approval: Approval) -> str:
        return f"{format_money(approval.amount)} {approval.currency}"

    @admin.display(description="wallet or transaction")
    def target(self, approval: Approval) -> SafeString:
        if approval.wallet_id is not None:
            return format_html("wallet {}", _wallet(approval.wallet_id))
        if approval.reverses_id is not None:
            return format_html("reverse {}", _transaction(approval.reverses_id))
        items = approval.request.get("legs") or approval.request.get("transfers") or []
        return format_html("{} of {} movement(s)", approval.kind, len(items))

    @admin.display(description="movement")
    def movement(self, approval: Approval) -> SafeString | str:
        if approval.transaction_id is None:
            return "—"
        url = reverse("admin:wallets_ledgertransaction_change", args=[approval.transaction_id])
        return short_id_link(url, approval.transaction_id, css="short-id approval-movement")

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return services.may_decide(request.user)

    # --- an approval's page ----------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        decide = path(
            "<uuid:approval_id>/decide/",
            self.admin_site.admin_view(self.decide_view),
            name="approvals_approval_decide",
        )
        return [decide, *super().get_urls()]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        context = dict(extra_context or {})
        approval_id = _uuid(object_id)
        approval = (
            None
            if approval_id is None
            else Approval.objects.select_related("requested_by").filter(pk=approval_id).first()
        )
        if approval is not None:
            own = approval.requested_by_id == request.user.pk
            may = services.may_decide(request.user)
            context.update(
                approval_summary=movement_lines(approval),
                approval_obj=approval,
                may_decide=may and not own and approval.status == Approval.Status.PENDING,
                own_request=own,
                lacks_permission=not may,
                once=once_input(),
            )
        return super().change_view(request, object_id, form_url, context)

    def decide_view(self, request: HttpRequest, approval_id: uuid.UUID) -> HttpResponse:
        """Approve or reject one approval from its page (POST only): the services decide."""
        approval = get_object_or_404(Approval, id=approval_id)
        back = redirect("admin:approvals_approval_change", approval.id)
        decision = request.POST.get("decision")
        if request.method != "POST" or decision not in ("approve", "reject"):
            return back
        reason = (request.POST.get("reason") or "").strip()
        if decision == "reject" and not reason:
            self.message_user(request, "Give a reason: it is recorded with the rejection.", messages.ERROR)
            return back
        run_once(
            request, lambda: self._decide_one(request, approval, approve=decision == "approve", reason=reason)
        )
        return back

    def _decide_one(
        self, request: HttpRequest, approval: Approval, *, approve: bool, reason: str
    ) -> list[Outcome]:
        actor = request.user.get_username()
        try:
            with services.failures_recorded(actor=actor, via="admin"), transaction.atomic(durable=True):
                decide = services.approval_approve if approve else services.approval_reject
                decided = decide(approval_id=approval.id, approver=request.user, reason=reason, via="admin")
        except ApplicationError as refusal:
            return [outcome(messages.ERROR, f"{approval.kind} {approval.id}: {refusal.message}")]
        if not approve:
            return [outcome(messages.SUCCESS, f"Rejected {approval.kind} {approval.id}: nothing moved.")]
        if decided.transaction_id is None:
            return [outcome(messages.SUCCESS, f"Approved {approval.kind} {approval.id}: it ran.")]
        return [
            outcome(
                messages.SUCCESS,
                format_html(
                    "Approved {} {}: it ran as transaction {}.",
                    approval.kind,
                    approval.id,
                    _transaction(decided.transaction_id),
                ),
            )
        ]

    # --- the list's actions ----------------------------------------------------------------------

    def _decide(self, request: HttpRequest, queryset: QuerySet[Approval], *, approve: bool) -> None:
        reason = (request.POST.get("reason") or "").strip()
        if not approve and not reason:
            self.message_user(request, "Give a reason: it is recorded with the rejection.", messages.ERROR)
            return
        chosen = list(queryset.order_by("requested_at"))

        def act() -> list[Outcome]:
            found: list[Outcome] = []
            decided = 0
            actor = request.user.get_username()
            for approval in chosen:
                try:
                    with (
                        services.failures_recorded(actor=actor, via="admin"),
                        transaction.atomic(durable=True),
                    ):
                        decide = services.approval_approve if approve else services.approval_reject
                        decide(approval_id=approval.id, approver=request.user, reason=reason, via="admin")
                    decided += 1
                except ApplicationError as refusal:
                    found.append(outcome(messages.ERROR, f"{approval.kind} {approval.id}: {refusal.message}"))
            verb = "Approved" if approve else "Rejected"
            level = messages.SUCCESS if decided else messages.WARNING
            return [outcome(level, f"{verb} {decided} approval(s)."), *found]

        run_once(request, act)

    @admin.action(description="Approve selected (runs the movement now)", permissions=["approve"])
    def approve_approvals(self, request: HttpRequest, queryset: QuerySet[Approval]) -> None:
        self._decide(request, queryset, approve=True)

    @admin.action(description="Reject selected (reason required)", permissions=["approve"])
    def reject_approvals(self, request: HttpRequest, queryset: QuerySet[Approval]) -> None:
        self._decide(request, queryset, approve=False)


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(text))
    except ValueError:
        return None


@admin.register(ApprovalEvent)
class ApprovalEventAdmin(ReadOnlyModelAdmin):
    list_display = ("at", "action", "of_approval", "actor", "via", "error_code", "note", "made")
    list_display_links = None
    list_filter = ("action", "via")
    search_fields = ("actor",)
    search_help_text = "An approval id (exact), or part of the actor's name."
    ordering = ("-id",)  # newest first, on the primary key
    sortable_by = ()

    @admin.display(description="approval")
    def of_approval(self, event: ApprovalEvent) -> SafeString:
        return short_id_link(
            reverse("admin:approvals_approval_change", args=[event.approval_id]), event.approval_id
        )

    @admin.display(description="transaction")
    def made(self, event: ApprovalEvent) -> SafeString | str:
        return "—" if event.transaction_id is None else _transaction(event.transaction_id)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[ApprovalEvent], search_term: str
    ) -> tuple[QuerySet[ApprovalEvent], bool]:
        return search_by_uuid_or_text(
            queryset,
            search_term,
            by_uuid=lambda v: Q(approval_id=v),
            by_text=lambda text: Q(actor__icontains=text),
        )
