from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.approval_kind_enum import ApprovalKindEnum
from ..models.approval_status_enum import ApprovalStatusEnum

if TYPE_CHECKING:
    from ..models.approval_output_metadata import ApprovalOutputMetadata
    from ..models.approval_output_request import ApprovalOutputRequest
    from ..models.approval_output_result import ApprovalOutputResult


T = TypeVar("T", bound="ApprovalOutput")


@_attrs_define
class ApprovalOutput:
    """
    Attributes:
        approval_id (UUID): The approval's id: GET /approvals/{approval_id}.
        kind (ApprovalKindEnum): * `fund` - fund
            * `withdraw` - withdraw
            * `reverse` - reverse
            * `transfer` - transfer
            * `split` - split
            * `batch` - batch
            * `hold_create` - hold_create
            * `hold_capture` - hold_capture
        status (ApprovalStatusEnum): * `pending` - pending
            * `approved` - approved
            * `rejected` - rejected
            * `expired` - expired
        wallet_id (None | UUID): The wallet funded or withdrawn from, or the sending wallet of a transfer or hold.
        reverses (None | UUID): The ledger transaction a reversal reverses.
        currency (str):
        amount (str): What moves (a split's or batch's total); for a reversal, the reversed transaction's.
        request (ApprovalOutputRequest): A transfer, split, batch or hold movement exactly as requested (its legs,
            wallets, amounts): what an approval runs. Empty for a fund, withdrawal or reversal (the fields above).
        result (ApprovalOutputResult): What an approved movement made besides transaction_id: a hold's hold_id, a
            batch's items.
        description (None | str):
        metadata (ApprovalOutputMetadata):
        reason (None | str): A reversal's reason, as requested.
        requested_by (str):
        requested_at (datetime.datetime):
        expires_at (datetime.datetime):
        decided_by (None | str):
        decided_at (datetime.datetime | None): When approved, rejected or expired.
        decision_reason (None | str):
        transaction_id (None | UUID): The ledger transaction the approval made: GET /transactions/{id}.
        last_error_code (None | str): The last approval attempt the movement refused: its error code.
        last_error (None | str):
    """

    approval_id: UUID
    kind: ApprovalKindEnum
    status: ApprovalStatusEnum
    wallet_id: None | UUID
    reverses: None | UUID
    currency: str
    amount: str
    request: ApprovalOutputRequest
    result: ApprovalOutputResult
    description: None | str
    metadata: ApprovalOutputMetadata
    reason: None | str
    requested_by: str
    requested_at: datetime.datetime
    expires_at: datetime.datetime
    decided_by: None | str
    decided_at: datetime.datetime | None
    decision_reason: None | str
    transaction_id: None | UUID
    last_error_code: None | str
    last_error: None | str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        approval_id = str(self.approval_id)

        kind = self.kind.value

        status = self.status.value

        wallet_id: None | str
        if isinstance(self.wallet_id, UUID):
            wallet_id = str(self.wallet_id)
        else:
            wallet_id = self.wallet_id

        reverses: None | str
        if isinstance(self.reverses, UUID):
            reverses = str(self.reverses)
        else:
            reverses = self.reverses

        currency = self.currency

        amount = self.amount

        request = self.request.to_dict()

        result = self.result.to_dict()

        description: None | str
        description = self.description

        metadata = self.metadata.to_dict()

        reason: None | str
        reason = self.reason

        requested_by = self.requested_by

        requested_at = self.requested_at.isoformat()

        expires_at = self.expires_at.isoformat()

        decided_by: None | str
        decided_by = self.decided_by

        decided_at: None | str
        if isinstance(self.decided_at, datetime.datetime):
            decided_at = self.decided_at.isoformat()
        else:
            decided_at = self.decided_at

        decision_reason: None | str
        decision_reason = self.decision_reason

        transaction_id: None | str
        if isinstance(self.transaction_id, UUID):
            transaction_id = str(self.transaction_id)
        else:
            transaction_id = self.transaction_id

        last_error_code: None | str
        last_error_code = self.last_error_code

        last_error: None | str
        last_error = self.last_error

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "approval_id": approval_id,
                "kind": kind,
                "status": status,
                "wallet_id": wallet_id,
                "reverses": reverses,
                "currency": currency,
                "amount": amount,
                "request": request,
                "result": result,
                "description": description,
                "metadata": metadata,
                "reason": reason,
                "requested_by": requested_by,
                "requested_at": requested_at,
                "expires_at": expires_at,
                "decided_by": decided_by,
                "decided_at": decided_at,
                "decision_reason": decision_reason,
                "transaction_id": transaction_id,
                "last_error_code": last_error_code,
                "last_error": last_error,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.approval_output_metadata import ApprovalOutputMetadata  # noqa: PLC0415
        from ..models.approval_output_request import ApprovalOutputRequest  # noqa: PLC0415
        from ..models.approval_output_result import ApprovalOutputResult  # noqa: PLC0415

        d = dict(src_dict)
        approval_id = UUID(d.pop("approval_id"))

        kind = ApprovalKindEnum(d.pop("kind"))

        status = ApprovalStatusEnum(d.pop("status"))

        def _parse_wallet_id(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                wallet_id_type_0 = UUID(data)

                return wallet_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        wallet_id = _parse_wallet_id(d.pop("wallet_id"))

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

        currency = d.pop("currency")

        amount = d.pop("amount")

        request = ApprovalOutputRequest.from_dict(d.pop("request"))

        result = ApprovalOutputResult.from_dict(d.pop("result"))

        def _parse_description(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        description = _parse_description(d.pop("description"))

        metadata = ApprovalOutputMetadata.from_dict(d.pop("metadata"))

        def _parse_reason(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        reason = _parse_reason(d.pop("reason"))

        requested_by = d.pop("requested_by")

        requested_at = datetime.datetime.fromisoformat(d.pop("requested_at"))

        expires_at = datetime.datetime.fromisoformat(d.pop("expires_at"))

        def _parse_decided_by(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        decided_by = _parse_decided_by(d.pop("decided_by"))

        def _parse_decided_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                decided_at_type_0 = datetime.datetime.fromisoformat(data)

                return decided_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        decided_at = _parse_decided_at(d.pop("decided_at"))

        def _parse_decision_reason(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        decision_reason = _parse_decision_reason(d.pop("decision_reason"))

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

        def _parse_last_error_code(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        last_error_code = _parse_last_error_code(d.pop("last_error_code"))

        def _parse_last_error(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        last_error = _parse_last_error(d.pop("last_error"))

        approval_output = cls(
            approval_id=approval_id,
            kind=kind,
            status=status,
            wallet_id=wallet_id,
            reverses=reverses,
            currency=currency,
            amount=amount,
            request=request,
            result=result,
            description=description,
            metadata=metadata,
            reason=reason,
            requested_by=requested_by,
            requested_at=requested_at,
            expires_at=expires_at,
            decided_by=decided_by,
            decided_at=decided_at,
            decision_reason=decision_reason,
            transaction_id=transaction_id,
            last_error_code=last_error_code,
            last_error=last_error,
        )

        approval_output.additional_properties = d
        return approval_output

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
