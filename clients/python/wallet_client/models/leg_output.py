from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.leg_output_metadata import LegOutputMetadata


T = TypeVar("T", bound="LegOutput")


@_attrs_define
class LegOutput:
    """
    Attributes:
        index (int):
        from_wallet_id (UUID):
        to_wallet_id (UUID):
        currency (str):
        amount (str):
        description (None | str):
        metadata (LegOutputMetadata):
    """

    index: int
    from_wallet_id: UUID
    to_wallet_id: UUID
    currency: str
    amount: str
    description: None | str
    metadata: LegOutputMetadata
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        index = self.index

        from_wallet_id = str(self.from_wallet_id)

        to_wallet_id = str(self.to_wallet_id)

        currency = self.currency

        amount = self.amount

        description: None | str
        description = self.description

        metadata = self.metadata.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "index": index,
                "from_wallet_id": from_wallet_id,
                "to_wallet_id": to_wallet_id,
                "currency": currency,
                "amount": amount,
                "description": description,
                "metadata": metadata,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.leg_output_metadata import LegOutputMetadata  # noqa: PLC0415

        d = dict(src_dict)
        index = d.pop("index")

        from_wallet_id = UUID(d.pop("from_wallet_id"))

        to_wallet_id = UUID(d.pop("to_wallet_id"))

        currency = d.pop("currency")

        amount = d.pop("amount")

        def _parse_description(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        description = _parse_description(d.pop("description"))

        metadata = LegOutputMetadata.from_dict(d.pop("metadata"))

        leg_output = cls(
            index=index,
            from_wallet_id=from_wallet_id,
            to_wallet_id=to_wallet_id,
            currency=currency,
            amount=amount,
            description=description,
            metadata=metadata,
        )

        leg_output.additional_properties = d
        return leg_output

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
