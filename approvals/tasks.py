"""Housekeeping for the approvals, run by Celery beat: pending approvals past their expiry become
`expired` (every APPROVAL_EXPIRY_INTERVAL_SECONDS)."""

from celery import shared_task

from .services import approvals_expire_due


@shared_task(name="approvals.expire_approvals", ignore_result=True)
def expire_approvals() -> int:
    return approvals_expire_due()
