from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.batch_item_output import BatchItemOutput


T = TypeVar("T", bound="BatchOutput")


@_attrs_define
class BatchOutput:
    """
    Attributes:
        completed (int):
        failed (int):
        items (list[BatchItemOutput]): One per transfer, in the request's order.
    """

    completed: int
    failed: int
    items: list[BatchItemOutput]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        completed = self.completed

        failed = self.failed

        items = []
        for items_item_data in self.items:
            items_item = items_item_data.to_dict()
            items.append(items_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "completed": completed,
                "failed": failed,
                "items": items,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.batch_item_output import BatchItemOutput  # noqa: PLC0415

        d = dict(src_dict)
        completed = d.pop("completed")

        failed = d.pop("failed")

        items = []
        _items = d.pop("items")
        for items_item_data in _items:
            items_item = BatchItemOutput.from_dict(items_item_data)

            items.append(items_item)

        batch_output = cls(
            completed=completed,
            failed=failed,
            items=items,
        )

        batch_output.additional_properties = d
        return batch_output

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
