from enum import StrEnum


class BatchItemOutputStatusEnum(StrEnum):
    COMPLETED = "completed"
    FAILED = "failed"

    def __str__(self) -> str:
        return str(self.value)
