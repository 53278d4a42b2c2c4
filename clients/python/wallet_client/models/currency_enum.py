from enum import StrEnum


class CurrencyEnum(StrEnum):
    AUD = "AUD"
    BRL = "BRL"
    CAD = "CAD"
    CHF = "CHF"
    CNY = "CNY"
    CZK = "CZK"
    DKK = "DKK"
    EUR = "EUR"
    GBP = "GBP"
    HKD = "HKD"
    HUF = "HUF"
    INR = "INR"
    JPY = "JPY"
    KES = "KES"
    MXN = "MXN"
    NGN = "NGN"
    NOK = "NOK"
    NZD = "NZD"
    PLN = "PLN"
    SEK = "SEK"
    SGD = "SGD"
    USD = "USD"
    ZAR = "ZAR"

    def __str__(self) -> str:
        return str(self.value)
