"""The seed's paths; `/?$` accepts them with or without a trailing slash."""

from django.urls import re_path

from . import views

WALLET = r"(?P<wallet_id>[^/]+)"

urlpatterns = [
    re_path(r"^wallets/?$", views.WalletCreateView.as_view(), name="wallet-create"),
    re_path(rf"^wallets/{WALLET}/?$", views.WalletDetailView.as_view(), name="wallet-detail"),
    re_path(rf"^wallets/{WALLET}/fund/?$", views.WalletFundView.as_view(), name="wallet-fund"),
    re_path(rf"^wallets/{WALLET}/withdraw/?$", views.WalletWithdrawView.as_view(), name="wallet-withdraw"),
    re_path(rf"^wallets/{WALLET}/transfer/?$", views.TransferView.as_view(), name="wallet-transfer"),
    re_path(
        rf"^wallets/{WALLET}/transactions/?$",
        views.WalletTransactionsView.as_view(),
        name="wallet-transactions",
    ),
    re_path(r"^users/(?P<user_id>[^/]+)/wallets/?$", views.UserWalletsView.as_view(), name="user-wallets"),
]
