"""Which staff adjustments need a second operator (issue #23): the one place the rule is written.

A fund or withdrawal needs approval when its amount is strictly above its currency's threshold
(`APPROVAL_THRESHOLDS`, else `APPROVAL_THRESHOLD_DEFAULT`, 1000.0000); a reversal always
(`APPROVAL_ALL_REVERSALS`, the default), or, with that off, when the reversed amount is above the
threshold. Amounts are Decimal; so are the settings (walletproject/settings.py parses them).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings


def threshold(currency: str) -> Decimal:
    """The most a staff fund or withdrawal in `currency` may move without a second operator."""
    value: Decimal = settings.APPROVAL_THRESHOLDS.get(currency, settings.APPROVAL_THRESHOLD_DEFAULT)
    return value


def movement_needs_approval(*, currency: str, amount: Decimal) -> bool:
    return amount > threshold(currency)


def reversal_needs_approval(*, currency: str, amount: Decimal) -> bool:
    return bool(settings.APPROVAL_ALL_REVERSALS) or amount > threshold(currency)
