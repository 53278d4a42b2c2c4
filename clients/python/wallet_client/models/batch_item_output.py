from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.batch_item_output_status_enum import BatchItemOutputStatusEnum

if TYPE_CHECKING:
    from ..models.batch_item_output_error_type_0 import BatchItemOutputErrorType0
    from ..models.transaction_output import TransactionOutput


T = TypeVar("T", bound="BatchItemOutput")


@_attrs_define
class BatchItemOutput:
    """
    Attributes:
        index (int): The transfer's position in the request.
        status (BatchItemOutputStatusEnum): * `completed` - completed
            * `failed` - failed
        reference_id (None | UUID): The transfer's ledger transaction.
        entries (list[TransactionOutput]): Completed: its two legs, out then in; failed: none.
        error (BatchItemOutputErrorType0 | None): Failed: the error envelope's error, code and details; nothing moved
            for it.
    """

    index: int
    status: BatchItemOutputStatusEnum
    reference_id: None | UUID
    entries: list[TransactionOutput]
    error: BatchItemOutputErrorType0 | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.batch_item_output_error_type_0 import BatchItemOutputErrorType0  # noqa: PLC0415

        index = self.index

        status = self.status.value

        reference_id: None | str
        if isinstance(self.reference_id, UUID):
            reference_id = str(self.reference_id)
        else:
            reference_id = self.reference_id

        entries = []
        for entries_item_data in self.entries:
            entries_item = entries_item_data.to_dict()
            entries.append(entries_item)

        error: dict[str, Any] | None
        if isinstance(self.error, BatchItemOutputErrorType0):
            error = self.error.to_dict()
        else:
            error = self.error

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "index": index,
                "status": status,
                "reference_id": reference_id,
                "entries": entries,
                "error": error,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.batch_item_output_error_type_0 import BatchItemOutputErrorType0  # noqa: PLC0415
        from ..models.transaction_output import TransactionOutput  # noqa: PLC0415

        d = dict(src_dict)
        index = d.pop("index")

        status = BatchItemOutputStatusEnum(d.pop("status"))

        def _parse_reference_id(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                reference_id_type_0 = UUID(data)

                return reference_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        reference_id = _parse_reference_id(d.pop("reference_id"))

        entries = []
        _entries = d.pop("entries")
        for entries_item_data in _entries:
            entries_item = TransactionOutput.from_dict(entries_item_data)

            entries.append(entries_item)

        def _parse_error(data: object) -> BatchItemOutputErrorType0 | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                error_type_0 = BatchItemOutputErrorType0.from_dict(data)

                return error_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(BatchItemOutputErrorType0 | None, data)

        error = _parse_error(d.pop("error"))

        batch_item_output = cls(
            index=index,
            status=status,
            reference_id=reference_id,
            entries=entries,
            error=error,
        )

        batch_item_output.additional_properties = d
        return batch_item_output

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
