from enum import StrEnum


class WalletStatusEnum(StrEnum):
    ACTIVE = "active"
    FROZEN = "frozen"

    def __str__(self) -> str:
        return str(self.value)
