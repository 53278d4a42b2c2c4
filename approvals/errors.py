"""The approvals' refusals, in the error envelope (common.errors). A refused approval of a movement
is answered with the movement's own error (insufficient_funds, wallet_frozen, already_reversed, ...),
not one of these."""

from common.errors import ApplicationError


class ApprovalNotFound(ApplicationError):
    status_code = 404
    code = "approval_not_found"
    default_message = "Approval not found."


class ApprovalNotPending(ApplicationError):
    status_code = 409
    code = "approval_not_pending"
    default_message = "The approval is no longer pending: it was approved, rejected or has expired."


class ApprovalExpired(ApplicationError):
    status_code = 409
    code = "approval_expired"
    default_message = "The approval has expired; request the adjustment again."


class ApprovalAlreadyPending(ApplicationError):
    status_code = 409
    code = "approval_pending"
    default_message = "A reversal of this transaction is already waiting for approval."


class OwnApproval(ApplicationError):
    status_code = 403
    code = "own_approval"
    default_message = "You requested this adjustment: another operator must approve or reject it."


class MayNotApprove(ApplicationError):
    status_code = 403
    code = "permission_denied"
    default_message = "Approving or rejecting needs the approvals.approve_adjustment permission."
