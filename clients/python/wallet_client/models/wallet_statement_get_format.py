from enum import StrEnum


class WalletStatementGetFormat(StrEnum):
    CSV = "csv"
    JSON = "json"
    PDF = "pdf"

    def __str__(self) -> str:
        return str(self.value)
