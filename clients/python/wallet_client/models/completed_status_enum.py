from enum import StrEnum


class CompletedStatusEnum(StrEnum):
    COMPLETED = "COMPLETED"

    def __str__(self) -> str:
        return str(self.value)
