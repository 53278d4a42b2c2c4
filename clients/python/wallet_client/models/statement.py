from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.statement_entry_output import StatementEntryOutput


T = TypeVar("T", bound="Statement")


@_attrs_define
class Statement:
    """
    Attributes:
        wallet_id (UUID):
        currency (str):
        from_ (datetime.datetime): The period's start (inclusive).
        to (datetime.datetime): The period's end (exclusive).
        opening_balance (str): After the last entry before `from`.
        closing_balance (str): After the last entry before `to`.
        total_in (str): The sum of the period's credits.
        total_out (str): The sum of the period's debits, positive: closing = opening + in - out.
        count (int): The period's entries (every page: all of them).
        opening_hash (None | str): A chain hash: 64 lowercase hex characters (SHA-256; docs/statements.md); null if not
            chained. The wallet's genesis hash when none before.
        closing_hash (None | str): A chain hash: 64 lowercase hex characters (SHA-256; docs/statements.md); null if not
            chained.
        opening_version (int): The version of the opening entry (0: none).
        closing_version (int): The version of the closing entry.
        entries (list[StatementEntryOutput]): This page's entries, oldest first.
        next_cursor (None | str): The next cursor; null: the last page.
    """

    wallet_id: UUID
    currency: str
    from_: datetime.datetime
    to: datetime.datetime
    opening_balance: str
    closing_balance: str
    total_in: str
    total_out: str
    count: int
    opening_hash: None | str
    closing_hash: None | str
    opening_version: int
    closing_version: int
    entries: list[StatementEntryOutput]
    next_cursor: None | str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        wallet_id = str(self.wallet_id)

        currency = self.currency

        from_ = self.from_.isoformat()

        to = self.to.isoformat()

        opening_balance = self.opening_balance

        closing_balance = self.closing_balance

        total_in = self.total_in

        total_out = self.total_out

        count = self.count

        opening_hash: None | str
        opening_hash = self.opening_hash

        closing_hash: None | str
        closing_hash = self.closing_hash

        opening_version = self.opening_version

        closing_version = self.closing_version

        entries = []
        for entries_item_data in self.entries:
            entries_item = entries_item_data.to_dict()
            entries.append(entries_item)

        next_cursor: None | str
        next_cursor = self.next_cursor

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "wallet_id": wallet_id,
                "currency": currency,
                "from": from_,
                "to": to,
                "opening_balance": opening_balance,
                "closing_balance": closing_balance,
                "total_in": total_in,
                "total_out": total_out,
                "count": count,
                "opening_hash": opening_hash,
                "closing_hash": closing_hash,
                "opening_version": opening_version,
                "closing_version": closing_version,
                "entries": entries,
                "next_cursor": next_cursor,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.statement_entry_output import StatementEntryOutput  # noqa: PLC0415

        d = dict(src_dict)
        wallet_id = UUID(d.pop("wallet_id"))

        currency = d.pop("currency")

        from_ = datetime.datetime.fromisoformat(d.pop("from"))

        to = datetime.datetime.fromisoformat(d.pop("to"))

        opening_balance = d.pop("opening_balance")

        closing_balance = d.pop("closing_balance")

        total_in = d.pop("total_in")

        total_out = d.pop("total_out")

        count = d.pop("count")

        def _parse_opening_hash(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        opening_hash = _parse_opening_hash(d.pop("opening_hash"))

        def _parse_closing_hash(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        closing_hash = _parse_closing_hash(d.pop("closing_hash"))

        opening_version = d.pop("opening_version")

        closing_version = d.pop("closing_version")

        entries = []
        _entries = d.pop("entries")
        for entries_item_data in _entries:
            entries_item = StatementEntryOutput.from_dict(entries_item_data)

            entries.append(entries_item)

        def _parse_next_cursor(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        next_cursor = _parse_next_cursor(d.pop("next_cursor"))

        statement = cls(
            wallet_id=wallet_id,
            currency=currency,
            from_=from_,
            to=to,
            opening_balance=opening_balance,
            closing_balance=closing_balance,
            total_in=total_in,
            total_out=total_out,
            count=count,
            opening_hash=opening_hash,
            closing_hash=closing_hash,
            opening_version=opening_version,
            closing_version=closing_version,
            entries=entries,
            next_cursor=next_cursor,
        )

        statement.additional_properties = d
        return statement

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
