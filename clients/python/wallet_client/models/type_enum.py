from enum import StrEnum


class TypeEnum(StrEnum):
    FUND = "FUND"
    REVERSAL_IN = "REVERSAL_IN"
    REVERSAL_OUT = "REVERSAL_OUT"
    TRANSFER_IN = "TRANSFER_IN"
    TRANSFER_OUT = "TRANSFER_OUT"
    WITHDRAW = "WITHDRAW"

    def __str__(self) -> str:
        return str(self.value)
