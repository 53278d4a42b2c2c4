"""Admin for the approvals (issue #23): the list of approvals with *Approve* / *Reject* actions
(a reason in the actions bar, required to reject) for operators holding
`approvals.approve_adjustment`, never on their own requests; each approval's page with its audit.

The list is ordered by `approval_requested_idx` (newest first) and sorts by that column only;
filters are fixed choices; search is an id (the approval's, its wallet's or its transaction's,
exact) or part of the requester's username.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from common.admin import ReadOnlyAdminMixin, ReadOnlyModelAdmin, search_by_uuid_or_text
from common.errors import ApplicationError

from . import services
from .models import Approval, ApprovalEvent


class DecisionForm(ActionForm):
    reason = forms.CharField(required=False, label="Reason", max_length=500)


class ApprovalEventInline(ReadOnlyAdminMixin, admin.TabularInline):  # type: ignore[type-arg]
    model = ApprovalEvent
    extra = 0
    can_delete = False
    ordering = ("id",)
    verbose_name_plural = "Audit"


@admin.register(Approval)
class ApprovalAdmin(ReadOnlyModelAdmin):
    list_display = (
        "id",
        "kind",
        "status",
        "target",
        "amount",
        "currency",
        "requested_by",
        "requested_at",
        "expires_at",
        "decided_by",
        "movement",
        "last_error_code",
    )
    list_filter = ("status", "kind")
    list_select_related = ("requested_by", "decided_by")
    search_fields = ("requested_by__username",)
    search_help_text = "An approval, wallet or transaction id (exact), or part of the requester's username."
    ordering = ("-requested_at", "-id")  # approval_requested_idx
    sortable_by = ("requested_at",)
    readonly_fields = ("target", "movement")
    inlines = (ApprovalEventInline,)
    action_form = DecisionForm
    actions = ("approve_approvals", "reject_approvals")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Approval], search_term: str
    ) -> tuple[QuerySet[Approval], bool]:
        return search_by_uuid_or_text(
            queryset,
            search_term,
            by_uuid=lambda v: Q(id=v) | Q(wallet_id=v) | Q(reverses_id=v) | Q(transaction_id=v),
            by_text=lambda text: Q(requested_by__username__icontains=text),
        )

    @admin.display(description="wallet or transaction")
    def target(self, approval: Approval) -> SafeString:
        if approval.wallet_id is not None:
            url = reverse("admin:wallets_wallet_change", args=[approval.wallet_id])
            return format_html('wallet <a href="{}">{}</a>', url, approval.wallet_id)
        if approval.reverses_id is not None:
            url = reverse("admin:wallets_ledgertransaction_change", args=[approval.reverses_id])
            return format_html('reverse <a href="{}">{}</a>', url, approval.reverses_id)
        items = approval.request.get("legs") or approval.request.get("transfers") or []
        return format_html("{} of {} movement(s): see the request", approval.kind, len(items))

    @admin.display(description="movement")
    def movement(self, approval: Approval) -> SafeString | str:
        if approval.transaction_id is None:
            return "—"
        url = reverse("admin:wallets_ledgertransaction_change", args=[approval.transaction_id])
        return format_html('<a href="{}" class="approval-movement">{}</a>', url, approval.transaction_id)

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return services.may_decide(request.user)

    def _decide(self, request: HttpRequest, queryset: QuerySet[Approval], *, approve: bool) -> None:
        reason = (request.POST.get("reason") or "").strip()
        if not approve and not reason:
            self.message_user(request, "Give a reason: it is recorded with the rejection.", messages.ERROR)
            return
        decided = 0
        actor = request.user.get_username()
        for approval in queryset.order_by("requested_at"):
            try:
                with services.failures_recorded(actor=actor, via="admin"), transaction.atomic(durable=True):
                    decide = services.approval_approve if approve else services.approval_reject
                    decide(approval_id=approval.id, approver=request.user, reason=reason, via="admin")
                decided += 1
            except ApplicationError as refusal:
                self.message_user(
                    request, f"{approval.kind} {approval.id}: {refusal.message}", messages.ERROR
                )
        verb = "Approved" if approve else "Rejected"
        self.message_user(request, f"{verb} {decided} approval(s).", messages.SUCCESS)

    @admin.action(description="Approve selected (runs the movement now)", permissions=["approve"])
    def approve_approvals(self, request: HttpRequest, queryset: QuerySet[Approval]) -> None:
        self._decide(request, queryset, approve=True)

    @admin.action(description="Reject selected (reason required)", permissions=["approve"])
    def reject_approvals(self, request: HttpRequest, queryset: QuerySet[Approval]) -> None:
        self._decide(request, queryset, approve=False)


@admin.register(ApprovalEvent)
class ApprovalEventAdmin(ReadOnlyModelAdmin):
    list_display = ("at", "action", "approval", "actor", "via", "error_code", "note", "transaction_id")
    list_filter = ("action", "via")
    search_fields = ("actor",)
    search_help_text = "An approval id (exact), or part of the actor's name."
    ordering = ("-id",)  # newest first, on the primary key
    sortable_by = ()

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[ApprovalEvent], search_term: str
    ) -> tuple[QuerySet[ApprovalEvent], bool]:
        return search_by_uuid_or_text(
            queryset,
            search_term,
            by_uuid=lambda v: Q(approval_id=v),
            by_text=lambda text: Q(actor__icontains=text),
        )
