"""History routes; `/?$` accepts them with or without a trailing slash, like the wallet routes."""

from django.urls import re_path

from wallets.permissions import USER_ID

from . import views

urlpatterns = [
    re_path(
        r"^wallets/(?P<wallet_id>[^/]+)/history/?$", views.WalletHistoryView.as_view(), name="wallet-history"
    ),
    re_path(
        rf"^users/(?P<user_id>{USER_ID})/activity/?$", views.UserActivityView.as_view(), name="user-activity"
    ),
]
