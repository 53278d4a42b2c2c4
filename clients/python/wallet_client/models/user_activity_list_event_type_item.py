from enum import StrEnum


class UserActivityListEventTypeItem(StrEnum):
    HOLD_CREATED = "HOLD_CREATED"
    HOLD_RELEASED = "HOLD_RELEASED"
    REVERSAL_IN = "REVERSAL_IN"
    REVERSAL_OUT = "REVERSAL_OUT"
    TRANSFER_IN = "TRANSFER_IN"
    TRANSFER_OUT = "TRANSFER_OUT"
    WALLET_CREATED = "WALLET_CREATED"
    WALLET_FUNDED = "WALLET_FUNDED"
    WALLET_WITHDRAWN = "WALLET_WITHDRAWN"

    def __str__(self) -> str:
        return str(self.value)
