"""History routes; `/?$` accepts them with or without a trailing slash, like the wallet routes."""

from django.urls import re_path

from . import views

urlpatterns = [
    re_path(
        r"^wallets/(?P<wallet_id>[^/]+)/history/?$", views.WalletHistoryView.as_view(), name="wallet-history"
    ),
    re_path(r"^users/(?P<user_id>[^/]+)/activity/?$", views.UserActivityView.as_view(), name="user-activity"),
]
