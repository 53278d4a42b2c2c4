from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="EndpointWithSecretOutput")


@_attrs_define
class EndpointWithSecretOutput:
    """
    Attributes:
        endpoint_id (UUID): GET /webhooks/endpoints/{endpoint_id}.
        user_id (None | str): Whose wallets' events; null: every user's.
        url (str):
        event_types (list[str]):
        description (str):
        status (str):
        disabled_reason (None | str):
        disabled_at (datetime.datetime | None):
        previous_secret_expires_at (datetime.datetime | None): Until then, requests are signed with the previous secret
            too.
        created_by (str):
        created_at (datetime.datetime):
        updated_at (datetime.datetime):
        secret (str): The signing secret (whsec_...): shown in this answer only. Keep it to verify requests.
    """

    endpoint_id: UUID
    user_id: None | str
    url: str
    event_types: list[str]
    description: str
    status: str
    disabled_reason: None | str
    disabled_at: datetime.datetime | None
    previous_secret_expires_at: datetime.datetime | None
    created_by: str
    created_at: datetime.datetime
    updated_at: datetime.datetime
    secret: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        endpoint_id = str(self.endpoint_id)

        user_id: None | str
        user_id = self.user_id

        url = self.url

        event_types = self.event_types

        description = self.description

        status = self.status

        disabled_reason: None | str
        disabled_reason = self.disabled_reason

        disabled_at: None | str
        if isinstance(self.disabled_at, datetime.datetime):
            disabled_at = self.disabled_at.isoformat()
        else:
            disabled_at = self.disabled_at

        previous_secret_expires_at: None | str
        if isinstance(self.previous_secret_expires_at, datetime.datetime):
            previous_secret_expires_at = self.previous_secret_expires_at.isoformat()
        else:
            previous_secret_expires_at = self.previous_secret_expires_at

        created_by = self.created_by

        created_at = self.created_at.isoformat()

        updated_at = self.updated_at.isoformat()

        secret = self.secret

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "endpoint_id": endpoint_id,
                "user_id": user_id,
                "url": url,
                "event_types": event_types,
                "description": description,
                "status": status,
                "disabled_reason": disabled_reason,
                "disabled_at": disabled_at,
                "previous_secret_expires_at": previous_secret_expires_at,
                "created_by": created_by,
                "created_at": created_at,
                "updated_at": updated_at,
                "secret": secret,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        endpoint_id = UUID(d.pop("endpoint_id"))

        def _parse_user_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        user_id = _parse_user_id(d.pop("user_id"))

        url = d.pop("url")

        event_types = cast(list[str], d.pop("event_types"))

        description = d.pop("description")

        status = d.pop("status")

        def _parse_disabled_reason(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        disabled_reason = _parse_disabled_reason(d.pop("disabled_reason"))

        def _parse_disabled_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                disabled_at_type_0 = datetime.datetime.fromisoformat(data)

                return disabled_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        disabled_at = _parse_disabled_at(d.pop("disabled_at"))

        def _parse_previous_secret_expires_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                previous_secret_expires_at_type_0 = datetime.datetime.fromisoformat(data)

                return previous_secret_expires_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        previous_secret_expires_at = _parse_previous_secret_expires_at(d.pop("previous_secret_expires_at"))

        created_by = d.pop("created_by")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        secret = d.pop("secret")

        endpoint_with_secret_output = cls(
            endpoint_id=endpoint_id,
            user_id=user_id,
            url=url,
            event_types=event_types,
            description=description,
            status=status,
            disabled_reason=disabled_reason,
            disabled_at=disabled_at,
            previous_secret_expires_at=previous_secret_expires_at,
            created_by=created_by,
            created_at=created_at,
            updated_at=updated_at,
            secret=secret,
        )

        endpoint_with_secret_output.additional_properties = d
        return endpoint_with_secret_output

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
