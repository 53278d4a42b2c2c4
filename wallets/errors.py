"""The wallet domain's refusals, each with the status and code of ../shared/spec/api.md."""

from common.errors import ApplicationError


class InvalidAmount(ApplicationError):
    code = "invalid_amount"
    default_message = "The amount is not valid."


class InsufficientFunds(ApplicationError):
    code = "insufficient_funds"
    default_message = "The wallet does not hold enough money for this operation."


class SameWallet(ApplicationError):
    code = "same_wallet"
    default_message = "A transfer needs two different wallets."


class CurrencyMismatch(ApplicationError):
    code = "currency_mismatch"
    default_message = "Both wallets of a transfer must hold the same currency."


class WalletNotFound(ApplicationError):
    status_code = 404
    code = "wallet_not_found"
    default_message = "Wallet not found."


class WalletFrozen(ApplicationError):
    status_code = 409
    code = "wallet_frozen"
    default_message = "The wallet is frozen."


class IdempotencyKeyReused(ApplicationError):
    status_code = 422
    code = "idempotency_key_reused"
    default_message = "This Idempotency-Key was already used with a different request."


class IdempotencyKeyInUse(ApplicationError):
    status_code = 409
    code = "idempotency_key_in_use"
    default_message = "A request with this Idempotency-Key is still being processed; retry shortly."


class HoldNotFound(ApplicationError):
    status_code = 404
    code = "hold_not_found"
    default_message = "Hold not found."


class HoldNotPending(ApplicationError):
    status_code = 409
    code = "hold_not_pending"
    default_message = "The hold is no longer pending: it was captured, voided or has expired."


class HoldExpired(ApplicationError):
    status_code = 409
    code = "hold_expired"
    default_message = "The hold has expired and can no longer be captured."


class TransactionNotFound(ApplicationError):
    status_code = 404
    code = "transaction_not_found"
    default_message = "Transaction not found."


class AlreadyReversed(ApplicationError):
    status_code = 409
    code = "already_reversed"
    default_message = "The transaction has already been reversed."


class NotReversible(ApplicationError):
    status_code = 409
    code = "not_reversible"
    default_message = "A reversal cannot itself be reversed."
