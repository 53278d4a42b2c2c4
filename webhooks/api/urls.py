"""The webhooks; `/?$` accepts each path with or without a trailing slash, as the other apps' do."""

from django.urls import re_path

from . import views

ENDPOINT = r"(?P<endpoint_id>[^/]+)"
DELIVERY = r"(?P<delivery_id>[^/]+)"

urlpatterns = [
    re_path(r"^webhooks/endpoints/?$", views.EndpointListView.as_view(), name="webhook-endpoint-list"),
    re_path(
        rf"^webhooks/endpoints/{ENDPOINT}/?$",
        views.EndpointDetailView.as_view(),
        name="webhook-endpoint-detail",
    ),
    re_path(
        rf"^webhooks/endpoints/{ENDPOINT}/disable/?$",
        views.EndpointDisableView.as_view(),
        name="webhook-endpoint-disable",
    ),
    re_path(
        rf"^webhooks/endpoints/{ENDPOINT}/enable/?$",
        views.EndpointEnableView.as_view(),
        name="webhook-endpoint-enable",
    ),
    re_path(
        rf"^webhooks/endpoints/{ENDPOINT}/rotate-secret/?$",
        views.EndpointRotateSecretView.as_view(),
        name="webhook-endpoint-rotate-secret",
    ),
    re_path(
        rf"^webhooks/endpoints/{ENDPOINT}/deliveries/?$",
        views.EndpointDeliveriesView.as_view(),
        name="webhook-endpoint-deliveries",
    ),
    re_path(
        rf"^webhooks/deliveries/{DELIVERY}/?$",
        views.DeliveryDetailView.as_view(),
        name="webhook-delivery-detail",
    ),
    re_path(
        rf"^webhooks/deliveries/{DELIVERY}/resend/?$",
        views.DeliveryResendView.as_view(),
        name="webhook-delivery-resend",
    ),
]
