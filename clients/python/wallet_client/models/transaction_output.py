from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.completed_status_enum import CompletedStatusEnum
from ..models.type_enum import TypeEnum

if TYPE_CHECKING:
    from ..models.transaction_output_metadata import TransactionOutputMetadata


T = TypeVar("T", bound="TransactionOutput")


@_attrs_define
class TransactionOutput:
    """
    Attributes:
        transaction_id (UUID):
        wallet_id (UUID):
        amount (str):
        type_ (TypeEnum): * `FUND` - FUND
            * `WITHDRAW` - WITHDRAW
            * `TRANSFER_OUT` - TRANSFER_OUT
            * `TRANSFER_IN` - TRANSFER_IN
            * `REVERSAL_OUT` - REVERSAL_OUT
            * `REVERSAL_IN` - REVERSAL_IN
        status (CompletedStatusEnum): * `COMPLETED` - COMPLETED
        reference_id (UUID): The ledger transaction: links both legs of a transfer.
        balance_after (None | str): The wallet's balance right after this entry; null on another user's wallet (a
            counterparty's entry, shown to an end user: who and how much, never their balance).
        created_at (datetime.datetime):
        description (None | str):
        metadata (TransactionOutputMetadata):
        leg_index (int | None): The leg of a MULTI_LEG transaction (or its reversal), from 0.
    """

    transaction_id: UUID
    wallet_id: UUID
    amount: str
    type_: TypeEnum
    status: CompletedStatusEnum
    reference_id: UUID
    balance_after: None | str
    created_at: datetime.datetime
    description: None | str
    metadata: TransactionOutputMetadata
    leg_index: int | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        transaction_id = str(self.transaction_id)

        wallet_id = str(self.wallet_id)

        amount = self.amount

        type_ = self.type_.value

        status = self.status.value

        reference_id = str(self.reference_id)

        balance_after: None | str
        balance_after = self.balance_after

        created_at = self.created_at.isoformat()

        description: None | str
        description = self.description

        metadata = self.metadata.to_dict()

        leg_index: int | None
        leg_index = self.leg_index

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "transaction_id": transaction_id,
                "wallet_id": wallet_id,
                "amount": amount,
                "type": type_,
                "status": status,
                "reference_id": reference_id,
                "balance_after": balance_after,
                "created_at": created_at,
                "description": description,
                "metadata": metadata,
                "leg_index": leg_index,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.transaction_output_metadata import TransactionOutputMetadata  # noqa: PLC0415

        d = dict(src_dict)
        transaction_id = UUID(d.pop("transaction_id"))

        wallet_id = UUID(d.pop("wallet_id"))

        amount = d.pop("amount")

        type_ = TypeEnum(d.pop("type"))

        status = CompletedStatusEnum(d.pop("status"))

        reference_id = UUID(d.pop("reference_id"))

        def _parse_balance_after(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        balance_after = _parse_balance_after(d.pop("balance_after"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        def _parse_description(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        description = _parse_description(d.pop("description"))

        metadata = TransactionOutputMetadata.from_dict(d.pop("metadata"))

        def _parse_leg_index(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        leg_index = _parse_leg_index(d.pop("leg_index"))

        transaction_output = cls(
            transaction_id=transaction_id,
            wallet_id=wallet_id,
            amount=amount,
            type_=type_,
            status=status,
            reference_id=reference_id,
            balance_after=balance_after,
            created_at=created_at,
            description=description,
            metadata=metadata,
            leg_index=leg_index,
        )

        transaction_output.additional_properties = d
        return transaction_output

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
