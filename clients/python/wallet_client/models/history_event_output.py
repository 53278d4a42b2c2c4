from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.event_type_enum import EventTypeEnum

if TYPE_CHECKING:
    from ..models.history_event_output_metadata_type_0 import HistoryEventOutputMetadataType0


T = TypeVar("T", bound="HistoryEventOutput")


@_attrs_define
class HistoryEventOutput:
    """
    Attributes:
        id (int): The history row's number; event_id is the event's identity.
        event_id (UUID):
        event_type (EventTypeEnum): * `WALLET_CREATED` - WALLET_CREATED
            * `WALLET_FUNDED` - WALLET_FUNDED
            * `WALLET_WITHDRAWN` - WALLET_WITHDRAWN
            * `TRANSFER_OUT` - TRANSFER_OUT
            * `TRANSFER_IN` - TRANSFER_IN
            * `HOLD_CREATED` - HOLD_CREATED
            * `HOLD_RELEASED` - HOLD_RELEASED
            * `REVERSAL_OUT` - REVERSAL_OUT
            * `REVERSAL_IN` - REVERSAL_IN
        wallet_id (UUID):
        user_id (str):
        amount (str): Four decimal places, unsigned: "30.0000".
        currency (str):
        balance_after (str):
        wallet_version (int): The wallet's version after this event.
        transaction_id (None | UUID): Links both legs of a transfer.
        counterparty_wallet_id (None | UUID):
        held_after (None | str): The wallet's held amount after this event, like balance_after. Null in events recorded
            from schema_version 1 messages (before API v1.1).
        hold_id (None | UUID): The hold of a HOLD_* event, or of the capture a transfer is.
        reverses_transaction_id (None | UUID): For REVERSAL_OUT and REVERSAL_IN: the transaction reversed.
        description (None | str):
        metadata (HistoryEventOutputMetadataType0 | None): The movement's or hold's own references ({} when none). Null
            in events recorded from schema_version 1 messages (before API v1.1).
        leg_index (int | None): The leg of a MULTI_LEG transaction (or of its reversal), from 0.
        created_at (datetime.datetime): When it happened.
        recorded_at (datetime.datetime): When the history service stored it.
    """

    id: int
    event_id: UUID
    event_type: EventTypeEnum
    wallet_id: UUID
    user_id: str
    amount: str
    currency: str
    balance_after: str
    wallet_version: int
    transaction_id: None | UUID
    counterparty_wallet_id: None | UUID
    held_after: None | str
    hold_id: None | UUID
    reverses_transaction_id: None | UUID
    description: None | str
    metadata: HistoryEventOutputMetadataType0 | None
    leg_index: int | None
    created_at: datetime.datetime
    recorded_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.history_event_output_metadata_type_0 import HistoryEventOutputMetadataType0  # noqa: PLC0415

        id = self.id

        event_id = str(self.event_id)

        event_type = self.event_type.value

        wallet_id = str(self.wallet_id)

        user_id = self.user_id

        amount = self.amount

        currency = self.currency

        balance_after = self.balance_after

        wallet_version = self.wallet_version

        transaction_id: None | str
        if isinstance(self.transaction_id, UUID):
            transaction_id = str(self.transaction_id)
        else:
            transaction_id = self.transaction_id

        counterparty_wallet_id: None | str
        if isinstance(self.counterparty_wallet_id, UUID):
            counterparty_wallet_id = str(self.counterparty_wallet_id)
        else:
            counterparty_wallet_id = self.counterparty_wallet_id

        held_after: None | str
        held_after = self.held_after

        hold_id: None | str
        if isinstance(self.hold_id, UUID):
            hold_id = str(self.hold_id)
        else:
            hold_id = self.hold_id

        reverses_transaction_id: None | str
        if isinstance(self.reverses_transaction_id, UUID):
            reverses_transaction_id = str(self.reverses_transaction_id)
        else:
            reverses_transaction_id = self.reverses_transaction_id

        description: None | str
        description = self.description

        metadata: dict[str, Any] | None
        if isinstance(self.metadata, HistoryEventOutputMetadataType0):
            metadata = self.metadata.to_dict()
        else:
            metadata = self.metadata

        leg_index: int | None
        leg_index = self.leg_index

        created_at = self.created_at.isoformat()

        recorded_at = self.recorded_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "event_id": event_id,
                "event_type": event_type,
                "wallet_id": wallet_id,
                "user_id": user_id,
                "amount": amount,
                "currency": currency,
                "balance_after": balance_after,
                "wallet_version": wallet_version,
                "transaction_id": transaction_id,
                "counterparty_wallet_id": counterparty_wallet_id,
                "held_after": held_after,
                "hold_id": hold_id,
                "reverses_transaction_id": reverses_transaction_id,
                "description": description,
                "metadata": metadata,
                "leg_index": leg_index,
                "created_at": created_at,
                "recorded_at": recorded_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.history_event_output_metadata_type_0 import HistoryEventOutputMetadataType0  # noqa: PLC0415

        d = dict(src_dict)
        id = d.pop("id")

        event_id = UUID(d.pop("event_id"))

        event_type = EventTypeEnum(d.pop("event_type"))

        wallet_id = UUID(d.pop("wallet_id"))

        user_id = d.pop("user_id")

        amount = d.pop("amount")

        currency = d.pop("currency")

        balance_after = d.pop("balance_after")

        wallet_version = d.pop("wallet_version")

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

        def _parse_counterparty_wallet_id(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                counterparty_wallet_id_type_0 = UUID(data)

                return counterparty_wallet_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        counterparty_wallet_id = _parse_counterparty_wallet_id(d.pop("counterparty_wallet_id"))

        def _parse_held_after(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        held_after = _parse_held_after(d.pop("held_after"))

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

        def _parse_reverses_transaction_id(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                reverses_transaction_id_type_0 = UUID(data)

                return reverses_transaction_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        reverses_transaction_id = _parse_reverses_transaction_id(d.pop("reverses_transaction_id"))

        def _parse_description(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        description = _parse_description(d.pop("description"))

        def _parse_metadata(data: object) -> HistoryEventOutputMetadataType0 | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                metadata_type_0 = HistoryEventOutputMetadataType0.from_dict(data)

                return metadata_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(HistoryEventOutputMetadataType0 | None, data)

        metadata = _parse_metadata(d.pop("metadata"))

        def _parse_leg_index(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        leg_index = _parse_leg_index(d.pop("leg_index"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        recorded_at = datetime.datetime.fromisoformat(d.pop("recorded_at"))

        history_event_output = cls(
            id=id,
            event_id=event_id,
            event_type=event_type,
            wallet_id=wallet_id,
            user_id=user_id,
            amount=amount,
            currency=currency,
            balance_after=balance_after,
            wallet_version=wallet_version,
            transaction_id=transaction_id,
            counterparty_wallet_id=counterparty_wallet_id,
            held_after=held_after,
            hold_id=hold_id,
            reverses_transaction_id=reverses_transaction_id,
            description=description,
            metadata=metadata,
            leg_index=leg_index,
            created_at=created_at,
            recorded_at=recorded_at,
        )

        history_event_output.additional_properties = d
        return history_event_output

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
