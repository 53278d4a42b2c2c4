"""The staff adjustments (with the approval threshold in front) and the approvals; `/?$` accepts
each path with or without a trailing slash, as the wallets' routes do."""

from django.urls import re_path

from . import views

WALLET = r"(?P<wallet_id>[^/]+)"
TRANSACTION = r"(?P<transaction_id>[^/]+)"
APPROVAL = r"(?P<approval_id>[^/]+)"

urlpatterns = [
    re_path(rf"^wallets/{WALLET}/fund/?$", views.StaffFundView.as_view(), name="wallet-fund"),
    re_path(rf"^wallets/{WALLET}/withdraw/?$", views.StaffWithdrawView.as_view(), name="wallet-withdraw"),
    re_path(
        rf"^transactions/{TRANSACTION}/reverse/?$",
        views.StaffReverseView.as_view(),
        name="transaction-reverse",
    ),
    re_path(r"^approvals/?$", views.ApprovalListView.as_view(), name="approval-list"),
    re_path(rf"^approvals/{APPROVAL}/?$", views.ApprovalDetailView.as_view(), name="approval-detail"),
    re_path(
        rf"^approvals/{APPROVAL}/approve/?$", views.ApprovalApproveView.as_view(), name="approval-approve"
    ),
    re_path(rf"^approvals/{APPROVAL}/reject/?$", views.ApprovalRejectView.as_view(), name="approval-reject"),
]
