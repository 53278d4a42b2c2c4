from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.hold_status_enum import HoldStatusEnum

if TYPE_CHECKING:
    from ..models.hold_output_metadata import HoldOutputMetadata


T = TypeVar("T", bound="HoldOutput")


@_attrs_define
class HoldOutput:
    """
    Attributes:
        id (UUID):
        from_wallet_id (UUID):
        to_wallet_id (UUID):
        currency (str):
        amount (str):
        captured_amount (str):
        status (HoldStatusEnum): * `pending` - pending
            * `captured` - captured
            * `voided` - voided
            * `expired` - expired
        expires_at (datetime.datetime):
        transaction_id (None | UUID): The capture's ledger transaction.
        description (None | str):
        metadata (HoldOutputMetadata):
        created_at (datetime.datetime):
        updated_at (datetime.datetime):
    """

    id: UUID
    from_wallet_id: UUID
    to_wallet_id: UUID
    currency: str
    amount: str
    captured_amount: str
    status: HoldStatusEnum
    expires_at: datetime.datetime
    transaction_id: None | UUID
    description: None | str
    metadata: HoldOutputMetadata
    created_at: datetime.datetime
    updated_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = str(self.id)

        from_wallet_id = str(self.from_wallet_id)

        to_wallet_id = str(self.to_wallet_id)

        currency = self.currency

        amount = self.amount

        captured_amount = self.captured_amount

        status = self.status.value

        expires_at = self.expires_at.isoformat()

        transaction_id: None | str
        if isinstance(self.transaction_id, UUID):
            transaction_id = str(self.transaction_id)
        else:
            transaction_id = self.transaction_id

        description: None | str
        description = self.description

        metadata = self.metadata.to_dict()

        created_at = self.created_at.isoformat()

        updated_at = self.updated_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "from_wallet_id": from_wallet_id,
                "to_wallet_id": to_wallet_id,
                "currency": currency,
                "amount": amount,
                "captured_amount": captured_amount,
                "status": status,
                "expires_at": expires_at,
                "transaction_id": transaction_id,
                "description": description,
                "metadata": metadata,
                "created_at": created_at,
                "updated_at": updated_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.hold_output_metadata import HoldOutputMetadata  # noqa: PLC0415

        d = dict(src_dict)
        id = UUID(d.pop("id"))

        from_wallet_id = UUID(d.pop("from_wallet_id"))

        to_wallet_id = UUID(d.pop("to_wallet_id"))

        currency = d.pop("currency")

        amount = d.pop("amount")

        captured_amount = d.pop("captured_amount")

        status = HoldStatusEnum(d.pop("status"))

        expires_at = datetime.datetime.fromisoformat(d.pop("expires_at"))

        def _parse_transaction_id(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                transaction_id_type_0 = UUID(data)

                return transaction_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        transaction_id = _parse_transaction_id(d.pop("transaction_id"))

        def _parse_description(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        description = _parse_description(d.pop("description"))

        metadata = HoldOutputMetadata.from_dict(d.pop("metadata"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        hold_output = cls(
            id=id,
            from_wallet_id=from_wallet_id,
            to_wallet_id=to_wallet_id,
            currency=currency,
            amount=amount,
            captured_amount=captured_amount,
            status=status,
            expires_at=expires_at,
            transaction_id=transaction_id,
            description=description,
            metadata=metadata,
            created_at=created_at,
            updated_at=updated_at,
        )

        hold_output.additional_properties = d
        return hold_output

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
