from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="StatementEntryOutput")


@_attrs_define
class StatementEntryOutput:
    """
    Attributes:
        id (UUID): The ledger entry.
        transaction_id (UUID): The ledger transaction it belongs to.
        type_ (str):
        amount (str): Signed: a credit > 0, a debit < 0.
        currency (str):
        balance_after (str):
        wallet_version (int):
        created_at (datetime.datetime):
        description (None | str):
        hash_ (None | str): A chain hash: 64 lowercase hex characters (SHA-256; docs/statements.md); null if not
            chained.
    """

    id: UUID
    transaction_id: UUID
    type_: str
    amount: str
    currency: str
    balance_after: str
    wallet_version: int
    created_at: datetime.datetime
    description: None | str
    hash_: None | str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = str(self.id)

        transaction_id = str(self.transaction_id)

        type_ = self.type_

        amount = self.amount

        currency = self.currency

        balance_after = self.balance_after

        wallet_version = self.wallet_version

        created_at = self.created_at.isoformat()

        description: None | str
        description = self.description

        hash_: None | str
        hash_ = self.hash_

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "transaction_id": transaction_id,
                "type": type_,
                "amount": amount,
                "currency": currency,
                "balance_after": balance_after,
                "wallet_version": wallet_version,
                "created_at": created_at,
                "description": description,
                "hash": hash_,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = UUID(d.pop("id"))

        transaction_id = UUID(d.pop("transaction_id"))

        type_ = d.pop("type")

        amount = d.pop("amount")

        currency = d.pop("currency")

        balance_after = d.pop("balance_after")

        wallet_version = d.pop("wallet_version")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        def _parse_description(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        description = _parse_description(d.pop("description"))

        def _parse_hash_(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        hash_ = _parse_hash_(d.pop("hash"))

        statement_entry_output = cls(
            id=id,
            transaction_id=transaction_id,
            type_=type_,
            amount=amount,
            currency=currency,
            balance_after=balance_after,
            wallet_version=wallet_version,
            created_at=created_at,
            description=description,
            hash_=hash_,
        )

        statement_entry_output.additional_properties = d
        return statement_entry_output

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
