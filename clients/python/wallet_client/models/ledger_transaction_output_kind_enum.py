from enum import StrEnum


class LedgerTransactionOutputKindEnum(StrEnum):
    CAPTURE = "CAPTURE"
    FUND = "FUND"
    MULTI_LEG = "MULTI_LEG"
    REVERSAL = "REVERSAL"
    TRANSFER = "TRANSFER"
    WITHDRAW = "WITHDRAW"

    def __str__(self) -> str:
        return str(self.value)
