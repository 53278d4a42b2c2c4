from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.completed_status_enum import CompletedStatusEnum
from ..models.ledger_transaction_output_kind_enum import LedgerTransactionOutputKindEnum

if TYPE_CHECKING:
    from ..models.ledger_transaction_output_metadata import LedgerTransactionOutputMetadata
    from ..models.leg_output import LegOutput
    from ..models.transaction_output import TransactionOutput


T = TypeVar("T", bound="LedgerTransactionOutput")


@_attrs_define
class LedgerTransactionOutput:
    """
    Attributes:
        id (UUID): The ledger transaction: its entries' reference_id.
        kind (LedgerTransactionOutputKindEnum): * `FUND` - FUND
            * `WITHDRAW` - WITHDRAW
            * `TRANSFER` - TRANSFER
            * `CAPTURE` - CAPTURE
            * `REVERSAL` - REVERSAL
            * `MULTI_LEG` - MULTI_LEG
        status (CompletedStatusEnum): * `COMPLETED` - COMPLETED
        description (None | str):
        metadata (LedgerTransactionOutputMetadata):
        hold_id (None | UUID): The hold a CAPTURE captured.
        reverses (None | UUID): The transaction a REVERSAL reverses.
        reversed_by (None | UUID): The REVERSAL of this transaction.
        reason (None | str): Why a REVERSAL was made.
        created_at (datetime.datetime):
        entries (list[TransactionOutput]): The user wallets' entries, debits first.
        legs (list[LegOutput]): A MULTI_LEG transaction's legs (and its reversal's); else none.
    """

    id: UUID
    kind: LedgerTransactionOutputKindEnum
    status: CompletedStatusEnum
    description: None | str
    metadata: LedgerTransactionOutputMetadata
    hold_id: None | UUID
    reverses: None | UUID
    reversed_by: None | UUID
    reason: None | str
    created_at: datetime.datetime
    entries: list[TransactionOutput]
    legs: list[LegOutput]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = str(self.id)

        kind = self.kind.value

        status = self.status.value

        description: None | str
        description = self.description

        metadata = self.metadata.to_dict()

        hold_id: None | str
        if isinstance(self.hold_id, UUID):
            hold_id = str(self.hold_id)
        else:
            hold_id = self.hold_id

        reverses: None | str
        if isinstance(self.reverses, UUID):
            reverses = str(self.reverses)
        else:
            reverses = self.reverses

        reversed_by: None | str
        if isinstance(self.reversed_by, UUID):
            reversed_by = str(self.reversed_by)
        else:
            reversed_by = self.reversed_by

        reason: None | str
        reason = self.reason

        created_at = self.created_at.isoformat()

        entries = []
        for entries_item_data in self.entries:
            entries_item = entries_item_data.to_dict()
            entries.append(entries_item)

        legs = []
        for legs_item_data in self.legs:
            legs_item = legs_item_data.to_dict()
            legs.append(legs_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "kind": kind,
                "status": status,
                "description": description,
                "metadata": metadata,
                "hold_id": hold_id,
                "reverses": reverses,
                "reversed_by": reversed_by,
                "reason": reason,
                "created_at": created_at,
                "entries": entries,
                "legs": legs,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.ledger_transaction_output_metadata import LedgerTransactionOutputMetadata  # noqa: PLC0415
        from ..models.leg_output import LegOutput  # noqa: PLC0415
        from ..models.transaction_output import TransactionOutput  # noqa: PLC0415

        d = dict(src_dict)
        id = UUID(d.pop("id"))

        kind = LedgerTransactionOutputKindEnum(d.pop("kind"))

        status = CompletedStatusEnum(d.pop("status"))

        def _parse_description(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        description = _parse_description(d.pop("description"))

        metadata = LedgerTransactionOutputMetadata.from_dict(d.pop("metadata"))

        def _parse_hold_id(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                hold_id_type_0 = UUID(data)

                return hold_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        hold_id = _parse_hold_id(d.pop("hold_id"))

        def _parse_reverses(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                reverses_type_0 = UUID(data)

                return reverses_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        reverses = _parse_reverses(d.pop("reverses"))

        def _parse_reversed_by(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                reversed_by_type_0 = UUID(data)

                return reversed_by_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        reversed_by = _parse_reversed_by(d.pop("reversed_by"))

        def _parse_reason(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        reason = _parse_reason(d.pop("reason"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        entries = []
        _entries = d.pop("entries")
        for entries_item_data in _entries:
            entries_item = TransactionOutput.from_dict(entries_item_data)

            entries.append(entries_item)

        legs = []
        _legs = d.pop("legs")
        for legs_item_data in _legs:
            legs_item = LegOutput.from_dict(legs_item_data)

            legs.append(legs_item)

        ledger_transaction_output = cls(
            id=id,
            kind=kind,
            status=status,
            description=description,
            metadata=metadata,
            hold_id=hold_id,
            reverses=reverses,
            reversed_by=reversed_by,
            reason=reason,
            created_at=created_at,
            entries=entries,
            legs=legs,
        )

        ledger_transaction_output.additional_properties = d
        return ledger_transaction_output

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
