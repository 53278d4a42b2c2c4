from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.approval_envelope import ApprovalEnvelope
from ...models.capture_envelope import CaptureEnvelope
from ...models.capture_input import CaptureInput
from ...models.error import Error
from ...types import UNSET, Response, Unset


def _get_kwargs(
    hold_id: UUID,
    *,
    body: CaptureInput | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/holds/{hold_id}/capture".format(
            hold_id=quote(str(hold_id), safe=""),
        ),
    }

    if not isinstance(body, Unset):
        _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | ApprovalEnvelope | CaptureEnvelope | Error | None:
    if response.status_code == 200:
        response_200 = CaptureEnvelope.from_dict(response.json())

        return response_200

    if response.status_code == 202:
        response_202 = ApprovalEnvelope.from_dict(response.json())

        return response_202

    if response.status_code == 400:
        response_400 = Error.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Error.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Error.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = Error.from_dict(response.json())

        return response_404

    if response.status_code == 406:
        response_406 = Error.from_dict(response.json())

        return response_406

    if response.status_code == 409:
        response_409 = Error.from_dict(response.json())

        return response_409

    if response.status_code == 413:
        response_413 = Error.from_dict(response.json())

        return response_413

    if response.status_code == 414:
        response_414 = cast(Any, None)
        return response_414

    if response.status_code == 415:
        response_415 = Error.from_dict(response.json())

        return response_415

    if response.status_code == 422:
        response_422 = Error.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = Error.from_dict(response.json())

        return response_429

    if response.status_code == 431:
        response_431 = cast(Any, None)
        return response_431

    if response.status_code == 503:
        response_503 = Error.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Any | ApprovalEnvelope | CaptureEnvelope | Error]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    hold_id: UUID,
    *,
    client: AuthenticatedClient,
    body: CaptureInput | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
) -> Response[Any | ApprovalEnvelope | CaptureEnvelope | Error]:
    """Capture a hold

     Capture all of a pending hold, or `amount` of it (once): the payer pays the receiver as one ledger
    transaction linked to the hold, and the rest is released. Without description or metadata the
    capture carries the hold's. The receiver's owner or staff only; a staff capture may wait for
    approval (202).

    Args:
        hold_id (UUID):
        idempotency_key (str | Unset):
        body (CaptureInput | Unset): `description` and `metadata`, accepted by every movement and
            hold.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | ApprovalEnvelope | CaptureEnvelope | Error]
    """

    kwargs = _get_kwargs(
        hold_id=hold_id,
        body=body,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    hold_id: UUID,
    *,
    client: AuthenticatedClient,
    body: CaptureInput | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
) -> Any | ApprovalEnvelope | CaptureEnvelope | Error | None:
    """Capture a hold

     Capture all of a pending hold, or `amount` of it (once): the payer pays the receiver as one ledger
    transaction linked to the hold, and the rest is released. Without description or metadata the
    capture carries the hold's. The receiver's owner or staff only; a staff capture may wait for
    approval (202).

    Args:
        hold_id (UUID):
        idempotency_key (str | Unset):
        body (CaptureInput | Unset): `description` and `metadata`, accepted by every movement and
            hold.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | ApprovalEnvelope | CaptureEnvelope | Error
    """

    return sync_detailed(
        hold_id=hold_id,
        client=client,
        body=body,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    hold_id: UUID,
    *,
    client: AuthenticatedClient,
    body: CaptureInput | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
) -> Response[Any | ApprovalEnvelope | CaptureEnvelope | Error]:
    """Capture a hold

     Capture all of a pending hold, or `amount` of it (once): the payer pays the receiver as one ledger
    transaction linked to the hold, and the rest is released. Without description or metadata the
    capture carries the hold's. The receiver's owner or staff only; a staff capture may wait for
    approval (202).

    Args:
        hold_id (UUID):
        idempotency_key (str | Unset):
        body (CaptureInput | Unset): `description` and `metadata`, accepted by every movement and
            hold.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | ApprovalEnvelope | CaptureEnvelope | Error]
    """

    kwargs = _get_kwargs(
        hold_id=hold_id,
        body=body,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    hold_id: UUID,
    *,
    client: AuthenticatedClient,
    body: CaptureInput | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
) -> Any | ApprovalEnvelope | CaptureEnvelope | Error | None:
    """Capture a hold

     Capture all of a pending hold, or `amount` of it (once): the payer pays the receiver as one ledger
    transaction linked to the hold, and the rest is released. Without description or metadata the
    capture carries the hold's. The receiver's owner or staff only; a staff capture may wait for
    approval (202).

    Args:
        hold_id (UUID):
        idempotency_key (str | Unset):
        body (CaptureInput | Unset): `description` and `metadata`, accepted by every movement and
            hold.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | ApprovalEnvelope | CaptureEnvelope | Error
    """

    return (
        await asyncio_detailed(
            hold_id=hold_id,
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed
