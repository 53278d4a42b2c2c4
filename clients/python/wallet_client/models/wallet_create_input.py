from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.currency_enum import CurrencyEnum
from ..types import UNSET, Unset

T = TypeVar("T", bound="WalletCreateInput")


@_attrs_define
class WalletCreateInput:
    """
    Attributes:
        user_id (str):
        currency (CurrencyEnum | Unset): * `USD` - USD
            * `EUR` - EUR
            * `GBP` - GBP
            * `JPY` - JPY
            * `CHF` - CHF
            * `CAD` - CAD
            * `AUD` - AUD
            * `NZD` - NZD
            * `SEK` - SEK
            * `NOK` - NOK
            * `DKK` - DKK
            * `PLN` - PLN
            * `CZK` - CZK
            * `HUF` - HUF
            * `CNY` - CNY
            * `HKD` - HKD
            * `SGD` - SGD
            * `INR` - INR
            * `BRL` - BRL
            * `MXN` - MXN
            * `ZAR` - ZAR
            * `NGN` - NGN
            * `KES` - KES
    """

    user_id: str
    currency: CurrencyEnum | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        user_id = self.user_id

        currency: str | Unset = UNSET
        if not isinstance(self.currency, Unset):
            currency = self.currency.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "user_id": user_id,
            }
        )
        if currency is not UNSET:
            field_dict["currency"] = currency

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        user_id = d.pop("user_id")

        _currency = d.pop("currency", UNSET)
        currency: CurrencyEnum | Unset
        if isinstance(_currency, Unset):
            currency = UNSET
        else:
            currency = CurrencyEnum(_currency)

        wallet_create_input = cls(
            user_id=user_id,
            currency=currency,
        )

        wallet_create_input.additional_properties = d
        return wallet_create_input

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
