"""The seed's paths; `/?$` accepts them with or without a trailing slash.

A wallet id is any segment (a malformed one is 404 `wallet_not_found` from the view); a user id
that breaks the user-id rule matches no route (404 `not_found`).

Every staff movement (fund, withdraw, transfer, split, batch, hold create and capture, reversal)
passes `wallets.staff_gate`, the approvals' policy (approvals/policy.py).
"""

from django.urls import re_path

from wallets.permissions import USER_ID

from . import hold_views, multi_leg_views, statement_views, views

WALLET = r"(?P<wallet_id>[^/]+)"
HOLD = r"(?P<hold_id>[^/]+)"
TRANSACTION = r"(?P<transaction_id>[^/]+)"
USER = rf"(?P<user_id>{USER_ID})"

urlpatterns = [
    re_path(r"^wallets/?$", views.WalletCreateView.as_view(), name="wallet-create"),
    re_path(rf"^wallets/{WALLET}/?$", views.WalletDetailView.as_view(), name="wallet-detail"),
    re_path(rf"^wallets/{WALLET}/transfer/?$", views.TransferView.as_view(), name="wallet-transfer"),
    re_path(rf"^wallets/{WALLET}/fund/?$", views.WalletFundView.as_view(), name="wallet-fund"),
    re_path(rf"^wallets/{WALLET}/withdraw/?$", views.WalletWithdrawView.as_view(), name="wallet-withdraw"),
    re_path(
        rf"^wallets/{WALLET}/transactions/?$",
        views.WalletTransactionsView.as_view(),
        name="wallet-transactions",
    ),
    re_path(
        rf"^wallets/{WALLET}/balance/?$", statement_views.BalanceAtView.as_view(), name="wallet-balance-at"
    ),
    re_path(
        rf"^wallets/{WALLET}/statement/?$", statement_views.StatementView.as_view(), name="wallet-statement"
    ),
    re_path(rf"^users/{USER}/wallets/?$", views.UserWalletsView.as_view(), name="user-wallets"),
    re_path(rf"^wallets/{WALLET}/holds/?$", hold_views.WalletHoldsView.as_view(), name="wallet-holds"),
    re_path(rf"^holds/{HOLD}/?$", hold_views.HoldDetailView.as_view(), name="hold-detail"),
    re_path(rf"^holds/{HOLD}/capture/?$", hold_views.HoldCaptureView.as_view(), name="hold-capture"),
    re_path(rf"^holds/{HOLD}/void/?$", hold_views.HoldVoidView.as_view(), name="hold-void"),
    re_path(r"^transactions/?$", multi_leg_views.MultiLegTransactionView.as_view(), name="transactions"),
    # Before the detail route, whose id segment would match "batch".
    re_path(r"^transactions/batch/?$", multi_leg_views.BatchTransferView.as_view(), name="transaction-batch"),
    re_path(
        rf"^transactions/{TRANSACTION}/?$",
        hold_views.TransactionDetailView.as_view(),
        name="transaction-detail",
    ),
    re_path(
        rf"^transactions/{TRANSACTION}/reverse/?$",
        hold_views.TransactionReverseView.as_view(),
        name="transaction-reverse",
    ),
]
