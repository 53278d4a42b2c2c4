from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.delivery_output import DeliveryOutput


T = TypeVar("T", bound="WebhookDeliveryEnvelope")


@_attrs_define
class WebhookDeliveryEnvelope:
    """
    Attributes:
        data (DeliveryOutput):
        success (bool | Unset):  Default: True.
    """

    data: DeliveryOutput
    success: bool | Unset = True
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = self.data.to_dict()

        success = self.success

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "data": data,
            }
        )
        if success is not UNSET:
            field_dict["success"] = success

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.delivery_output import DeliveryOutput  # noqa: PLC0415

        d = dict(src_dict)
        data = DeliveryOutput.from_dict(d.pop("data"))

        success = d.pop("success", UNSET)

        webhook_delivery_envelope = cls(
            data=data,
            success=success,
        )

        webhook_delivery_envelope.additional_properties = d
        return webhook_delivery_envelope

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
