from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.transfer_input_metadata import TransferInputMetadata


T = TypeVar("T", bound="TransferInput")


@_attrs_define
class TransferInput:
    """`description` and `metadata`, accepted by every movement and hold.

    Attributes:
        to_wallet_id (UUID): The receiving wallet's id.
        amount (float | str): A decimal string such as "100.00" (or a JSON number), at most 4 places.
        description (None | str | Unset): Optional: your text, up to 255 characters (no NUL).
        metadata (TransferInputMetadata | Unset): Optional: your references, a JSON object such as {"order_id":
            "A-1001"}: up to 20 keys of 1-40 characters, string values of up to 500 characters (no NUL). Anything else is
            400. Example: {'order_id': 'A-1001'}.
    """

    to_wallet_id: UUID
    amount: float | str
    description: None | str | Unset = UNSET
    metadata: TransferInputMetadata | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        to_wallet_id = str(self.to_wallet_id)

        amount: float | str
        amount = self.amount

        description: None | str | Unset
        if isinstance(self.description, Unset):
            description = UNSET
        else:
            description = self.description

        metadata: dict[str, Any] | Unset = UNSET
        if not isinstance(self.metadata, Unset):
            metadata = self.metadata.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "to_wallet_id": to_wallet_id,
                "amount": amount,
            }
        )
        if description is not UNSET:
            field_dict["description"] = description
        if metadata is not UNSET:
            field_dict["metadata"] = metadata

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.transfer_input_metadata import TransferInputMetadata  # noqa: PLC0415

        d = dict(src_dict)
        to_wallet_id = UUID(d.pop("to_wallet_id"))

        def _parse_amount(data: object) -> float | str:
            return cast(float | str, data)

        amount = _parse_amount(d.pop("amount"))

        def _parse_description(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        description = _parse_description(d.pop("description", UNSET))

        _metadata = d.pop("metadata", UNSET)
        metadata: TransferInputMetadata | Unset
        if isinstance(_metadata, Unset):
            metadata = UNSET
        else:
            metadata = TransferInputMetadata.from_dict(_metadata)

        transfer_input = cls(
            to_wallet_id=to_wallet_id,
            amount=amount,
            description=description,
            metadata=metadata,
        )

        transfer_input.additional_properties = d
        return transfer_input

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
