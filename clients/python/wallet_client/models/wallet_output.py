from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.wallet_status_enum import WalletStatusEnum

T = TypeVar("T", bound="WalletOutput")


@_attrs_define
class WalletOutput:
    """
    Attributes:
        id (UUID):
        user_id (str):
        currency (str):
        balance (str): Four decimal places: "100.0000".
        held (str): The sum of the wallet's pending holds.
        available (str): balance - held: what withdrawals, transfers and holds may use.
        version (int):
        status (WalletStatusEnum): * `active` - active
            * `frozen` - frozen
        created_at (datetime.datetime):
        updated_at (datetime.datetime):
    """

    id: UUID
    user_id: str
    currency: str
    balance: str
    held: str
    available: str
    version: int
    status: WalletStatusEnum
    created_at: datetime.datetime
    updated_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = str(self.id)

        user_id = self.user_id

        currency = self.currency

        balance = self.balance

        held = self.held

        available = self.available

        version = self.version

        status = self.status.value

        created_at = self.created_at.isoformat()

        updated_at = self.updated_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "user_id": user_id,
                "currency": currency,
                "balance": balance,
                "held": held,
                "available": available,
                "version": version,
                "status": status,
                "created_at": created_at,
                "updated_at": updated_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = UUID(d.pop("id"))

        user_id = d.pop("user_id")

        currency = d.pop("currency")

        balance = d.pop("balance")

        held = d.pop("held")

        available = d.pop("available")

        version = d.pop("version")

        status = WalletStatusEnum(d.pop("status"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        wallet_output = cls(
            id=id,
            user_id=user_id,
            currency=currency,
            balance=balance,
            held=held,
            available=available,
            version=version,
            status=status,
            created_at=created_at,
            updated_at=updated_at,
        )

        wallet_output.additional_properties = d
        return wallet_output

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
