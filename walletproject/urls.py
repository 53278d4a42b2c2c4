"""URL routes. The seed's paths have no trailing slash; `re_path(...'/?$')` accepts both forms."""

from django.contrib import admin
from django.contrib.auth.views import LoginView
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from . import api_root, health, metrics

# The operators' overview above the app list (walletproject/overview.py gathers the figures).
admin.site.index_template = "admin/operator_index.html"

urlpatterns = [
    re_path(r"^health/?$", health.health, name="health"),
    re_path(r"^health/ready/?$", health.ready, name="health-ready"),
    re_path(r"^metrics/?$", metrics.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    # The browsable API's login lands on the API root unless `?next=` says where (before DRF's
    # own route of the same path, which keeps its name for the login links; logout is DRF's).
    path(
        "api-auth/login/",
        LoginView.as_view(template_name="rest_framework/login.html", next_page="api-root"),
        name="api-login",
    ),
    path("api-auth/", include("rest_framework.urls")),
    path("", api_root.ApiRootView.as_view(), name="api-root"),
    path("", include("wallets.api.urls")),
    # The staff fund, withdraw and reverse (the approval threshold in front) and the approvals.
    path("", include("approvals.api.urls")),
    path("", include("history.api.urls")),
    path("", include("webhooks.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI and Redoc from drf-spectacular-sidecar's static files; our templates add a policy
    # that lets the pages load nothing from another host (walletproject/templates/docs/).
    path(
        "api/docs/",
        SpectacularSwaggerView.as_view(url_name="schema", template_name="docs/swagger_ui.html"),
        name="docs",
    ),
    path(
        "api/redoc/",
        SpectacularRedocView.as_view(url_name="schema", template_name="docs/redoc.html"),
        name="redoc",
    ),
]

handler404 = "common.errors.not_found"
handler500 = "common.errors.server_error"
