from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.hold_output import HoldOutput
    from ..models.transaction_output import TransactionOutput


T = TypeVar("T", bound="CaptureOutput")


@_attrs_define
class CaptureOutput:
    """
    Attributes:
        hold (HoldOutput):
        transactions (list[TransactionOutput]): The capture's two legs: out, then in.
    """

    hold: HoldOutput
    transactions: list[TransactionOutput]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        hold = self.hold.to_dict()

        transactions = []
        for transactions_item_data in self.transactions:
            transactions_item = transactions_item_data.to_dict()
            transactions.append(transactions_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "hold": hold,
                "transactions": transactions,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.hold_output import HoldOutput  # noqa: PLC0415
        from ..models.transaction_output import TransactionOutput  # noqa: PLC0415

        d = dict(src_dict)
        hold = HoldOutput.from_dict(d.pop("hold"))

        transactions = []
        _transactions = d.pop("transactions")
        for transactions_item_data in _transactions:
            transactions_item = TransactionOutput.from_dict(transactions_item_data)

            transactions.append(transactions_item)

        capture_output = cls(
            hold=hold,
            transactions=transactions,
        )

        capture_output.additional_properties = d
        return capture_output

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
