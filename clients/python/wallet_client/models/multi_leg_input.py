from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.leg_input import LegInput
    from ..models.multi_leg_input_metadata import MultiLegInputMetadata


T = TypeVar("T", bound="MultiLegInput")


@_attrs_define
class MultiLegInput:
    """A leg list's errors as top-level details (`{"legs[1].amount": [...]}`), not nested under
    the list's name.

        Attributes:
            legs (list[LegInput]): 1-100 legs, moved in this order, all or none.
            description (None | str | Unset): Optional: your text, up to 255 characters (no NUL).
            metadata (MultiLegInputMetadata | Unset): Optional: your references, a JSON object such as {"order_id":
                "A-1001"}: up to 20 keys of 1-40 characters, string values of up to 500 characters (no NUL). Anything else is
                400. Example: {'order_id': 'A-1001'}.
    """

    legs: list[LegInput]
    description: None | str | Unset = UNSET
    metadata: MultiLegInputMetadata | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        legs = []
        for legs_item_data in self.legs:
            legs_item = legs_item_data.to_dict()
            legs.append(legs_item)

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
                "legs": legs,
            }
        )
        if description is not UNSET:
            field_dict["description"] = description
        if metadata is not UNSET:
            field_dict["metadata"] = metadata

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.leg_input import LegInput  # noqa: PLC0415
        from ..models.multi_leg_input_metadata import MultiLegInputMetadata  # noqa: PLC0415

        d = dict(src_dict)
        legs = []
        _legs = d.pop("legs")
        for legs_item_data in _legs:
            legs_item = LegInput.from_dict(legs_item_data)

            legs.append(legs_item)

        def _parse_description(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        description = _parse_description(d.pop("description", UNSET))

        _metadata = d.pop("metadata", UNSET)
        metadata: MultiLegInputMetadata | Unset
        if isinstance(_metadata, Unset):
            metadata = UNSET
        else:
            metadata = MultiLegInputMetadata.from_dict(_metadata)

        multi_leg_input = cls(
            legs=legs,
            description=description,
            metadata=metadata,
        )

        multi_leg_input.additional_properties = d
        return multi_leg_input

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
