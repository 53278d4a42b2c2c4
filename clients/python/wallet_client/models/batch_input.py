from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.leg_input import LegInput


T = TypeVar("T", bound="BatchInput")


@_attrs_define
class BatchInput:
    """A leg list's errors as top-level details (`{"legs[1].amount": [...]}`), not nested under
    the list's name.

        Attributes:
            transfers (list[LegInput]): 1-1,000 transfers, in order.
            atomic (bool | Unset): true: all or none, as one MULTI_LEG transaction (at most 100 transfers). Default: False.
    """

    transfers: list[LegInput]
    atomic: bool | Unset = False
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        transfers = []
        for transfers_item_data in self.transfers:
            transfers_item = transfers_item_data.to_dict()
            transfers.append(transfers_item)

        atomic = self.atomic

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "transfers": transfers,
            }
        )
        if atomic is not UNSET:
            field_dict["atomic"] = atomic

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.leg_input import LegInput  # noqa: PLC0415

        d = dict(src_dict)
        transfers = []
        _transfers = d.pop("transfers")
        for transfers_item_data in _transfers:
            transfers_item = LegInput.from_dict(transfers_item_data)

            transfers.append(transfers_item)

        atomic = d.pop("atomic", UNSET)

        batch_input = cls(
            transfers=transfers,
            atomic=atomic,
        )

        batch_input.additional_properties = d
        return batch_input

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
