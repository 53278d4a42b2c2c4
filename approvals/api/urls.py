"""The approvals; `/?$` accepts each path with or without a trailing slash, as the wallets'
routes do."""

from django.urls import re_path

from . import views

APPROVAL = r"(?P<approval_id>[^/]+)"

urlpatterns = [
    re_path(r"^approvals/?$", views.ApprovalListView.as_view(), name="approval-list"),
    re_path(rf"^approvals/{APPROVAL}/?$", views.ApprovalDetailView.as_view(), name="approval-detail"),
    re_path(
        rf"^approvals/{APPROVAL}/approve/?$", views.ApprovalApproveView.as_view(), name="approval-approve"
    ),
    re_path(rf"^approvals/{APPROVAL}/reject/?$", views.ApprovalRejectView.as_view(), name="approval-reject"),
]
