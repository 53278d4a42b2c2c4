from enum import StrEnum


class ApprovalsListKind(StrEnum):
    BATCH = "batch"
    FUND = "fund"
    HOLD_CAPTURE = "hold_capture"
    HOLD_CREATE = "hold_create"
    REVERSE = "reverse"
    SPLIT = "split"
    TRANSFER = "transfer"
    WITHDRAW = "withdraw"

    def __str__(self) -> str:
        return str(self.value)
