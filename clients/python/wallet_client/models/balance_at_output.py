from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="BalanceAtOutput")


@_attrs_define
class BalanceAtOutput:
    """
    Attributes:
        wallet_id (UUID):
        currency (str):
        at (datetime.datetime): The moment asked for, in UTC.
        balance (str): After the last change at or before `at`: "100.0000".
        held (str): The pending holds at that moment.
        available (str): balance - held at that moment.
        version (int): The wallet's version at that moment (0: no change yet).
    """

    wallet_id: UUID
    currency: str
    at: datetime.datetime
    balance: str
    held: str
    available: str
    version: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        wallet_id = str(self.wallet_id)

        currency = self.currency

        at = self.at.isoformat()

        balance = self.balance

        held = self.held

        available = self.available

        version = self.version

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "wallet_id": wallet_id,
                "currency": currency,
                "at": at,
                "balance": balance,
                "held": held,
                "available": available,
                "version": version,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        wallet_id = UUID(d.pop("wallet_id"))

        currency = d.pop("currency")

        at = datetime.datetime.fromisoformat(d.pop("at"))

        balance = d.pop("balance")

        held = d.pop("held")

        available = d.pop("available")

        version = d.pop("version")

        balance_at_output = cls(
            wallet_id=wallet_id,
            currency=currency,
            at=at,
            balance=balance,
            held=held,
            available=available,
            version=version,
        )

        balance_at_output.additional_properties = d
        return balance_at_output

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
