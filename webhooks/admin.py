"""Admin for the webhooks: endpoints (create, edit, disable, enable, rotate the secret, delete) and
deliveries with every attempt inline (resend). Every change goes through webhooks.services, as the
API's do. A secret is shown once, in the message after create or rotate, never on a page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse

from common.admin import ReadOnlyAdminMixin, ReadOnlyModelAdmin, compact_time, short_id_link
from common.errors import ApplicationError
from wallets.events import EVENT_TYPES

from . import services
from .models import Attempt, Delivery, Endpoint


class EndpointForm(forms.ModelForm):  # type: ignore[type-arg]
    event_types = forms.MultipleChoiceField(
        choices=[(t, t) for t in EVENT_TYPES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None checked: every event type.",
    )

    class Meta:
        model = Endpoint
        fields = ["owner", "url", "event_types", "description"]
        help_texts = {"owner": "A user id; empty: every user's events."}

    def clean_url(self) -> str:
        try:
            return services.check_url(self.cleaned_data["url"])
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message) from None

    def clean_owner(self) -> str | None:
        return self.cleaned_data.get("owner") or None


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = EndpointForm
    list_display = ["url", "owner", "status", "event_list", "created_at"]
    list_filter = ["status"]
    search_fields = ["url", "owner"]
    readonly_fields = ["status", "disabled_reason", "disabled_at", "previous_secret_expires_at", "created_by"]
    actions = ["disable", "enable", "rotate_secret"]
    show_full_result_count = False

    @admin.display(description="event types")
    def event_list(self, endpoint: Endpoint) -> str:
        return ", ".join(endpoint.event_types) or "all"

    def save_model(self, request: HttpRequest, obj: Endpoint, form: Any, change: bool) -> None:
        if change:
            services.endpoint_update(
                endpoint=obj, url=obj.url, event_types=obj.event_types, description=obj.description
            )
            return
        try:
            created = services.endpoint_create(
                owner=obj.owner,
                url=obj.url,
                event_types=list(obj.event_types or []),
                description=obj.description,
                actor=request.user.get_username(),
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
            raise
        obj.pk, obj.secret, obj.created_at = created.pk, created.secret, created.created_at
        messages.warning(request, f"Signing secret (shown once, copy it now): {created.secret}")

    @admin.action(description="Disable the selected endpoints")
    def disable(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> None:
        for endpoint in queryset:
            services.endpoint_disable(endpoint=endpoint, reason=f"disabled by {request.user.get_username()}")
        messages.success(request, f"{queryset.count()} endpoint(s) disabled.")

    @admin.action(description="Enable the selected endpoints (pending deliveries resume)")
    def enable(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> None:
        for endpoint in queryset:
            services.endpoint_enable(endpoint=endpoint)
        messages.success(request, f"{queryset.count()} endpoint(s) enabled.")

    @admin.action(description="Rotate the signing secret (the old one stays valid 24 hours)")
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> None:
        for endpoint in queryset:
            rotated = services.endpoint_rotate_secret(endpoint=endpoint)
            messages.warning(request, f"New secret of {endpoint.url} (shown once): {rotated.secret}")


class AttemptInline(ReadOnlyAdminMixin, admin.TabularInline):  # type: ignore[type-arg]
    model = Attempt
    extra = 0
    can_delete = False
    fields = ["at", "status_code", "error", "latency_ms", "response_excerpt"]
    ordering = ("at", "id")


class DeliveryStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status__exact"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(value, value) for value in Delivery.Status.values]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset if self.value() is None else queryset.filter(status=self.value())


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyModelAdmin):
    list_display = ["id", "endpoint_link", "event_type", "wallet_version", "status", "attempts", "next_try"]
    list_filter = [DeliveryStatusFilter]
    search_fields = ["=event_id", "=wallet_id"]
    inlines = [AttemptInline]
    actions = ["resend"]
    list_select_related = ["endpoint"]

    @admin.display(description="endpoint")
    def endpoint_link(self, delivery: Delivery) -> Any:
        return short_id_link(
            reverse("admin:webhooks_endpoint_change", args=[delivery.endpoint_id]), delivery.endpoint_id
        )

    @admin.display(description="next try")
    def next_try(self, delivery: Delivery) -> str:
        if delivery.waits_behind:
            return "after the wallet's earlier version"
        return compact_time(delivery.next_attempt_at) if delivery.status == Delivery.Status.PENDING else ""

    @admin.action(description="Resend the selected deliveries now (same webhook-id)")
    def resend(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        for delivery in queryset:
            services.delivery_resend(delivery=delivery)
        messages.success(request, f"{queryset.count()} delivery(ies) queued again.")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
