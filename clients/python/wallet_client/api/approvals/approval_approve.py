from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.approval_envelope import ApprovalEnvelope
from ...models.approve_input import ApproveInput
from ...models.error import Error
from ...types import UNSET, Response, Unset


def _get_kwargs(
    approval_id: UUID,
    *,
    body: ApproveInput | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/approvals/{approval_id}/approve".format(
            approval_id=quote(str(approval_id), safe=""),
        ),
    }

    if not isinstance(body, Unset):
        _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | ApprovalEnvelope | Error | None:
    if response.status_code == 200:
        response_200 = ApprovalEnvelope.from_dict(response.json())

        return response_200

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
) -> Response[Any | ApprovalEnvelope | Error]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    approval_id: UUID,
    *,
    client: AuthenticatedClient,
    body: ApproveInput | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
) -> Response[Any | ApprovalEnvelope | Error]:
    """Approve and run a pending movement

     Staff with the approvals.approve_adjustment permission, never the requester: approve and run the
    movement now, every rule checked again. A refusal is the movement's own error (e.g. 400
    insufficient_funds); the approval then stays pending with last_error set.

    Args:
        approval_id (UUID):
        idempotency_key (str | Unset):
        body (ApproveInput | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | ApprovalEnvelope | Error]
    """

    kwargs = _get_kwargs(
        approval_id=approval_id,
        body=body,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    approval_id: UUID,
    *,
    client: AuthenticatedClient,
    body: ApproveInput | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
) -> Any | ApprovalEnvelope | Error | None:
    """Approve and run a pending movement

     Staff with the approvals.approve_adjustment permission, never the requester: approve and run the
    movement now, every rule checked again. A refusal is the movement's own error (e.g. 400
    insufficient_funds); the approval then stays pending with last_error set.

    Args:
        approval_id (UUID):
        idempotency_key (str | Unset):
        body (ApproveInput | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | ApprovalEnvelope | Error
    """

    return sync_detailed(
        approval_id=approval_id,
        client=client,
        body=body,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    approval_id: UUID,
    *,
    client: AuthenticatedClient,
    body: ApproveInput | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
) -> Response[Any | ApprovalEnvelope | Error]:
    """Approve and run a pending movement

     Staff with the approvals.approve_adjustment permission, never the requester: approve and run the
    movement now, every rule checked again. A refusal is the movement's own error (e.g. 400
    insufficient_funds); the approval then stays pending with last_error set.

    Args:
        approval_id (UUID):
        idempotency_key (str | Unset):
        body (ApproveInput | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | ApprovalEnvelope | Error]
    """

    kwargs = _get_kwargs(
        approval_id=approval_id,
        body=body,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    approval_id: UUID,
    *,
    client: AuthenticatedClient,
    body: ApproveInput | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
) -> Any | ApprovalEnvelope | Error | None:
    """Approve and run a pending movement

     Staff with the approvals.approve_adjustment permission, never the requester: approve and run the
    movement now, every rule checked again. A refusal is the movement's own error (e.g. 400
    insufficient_funds); the approval then stays pending with last_error set.

    Args:
        approval_id (UUID):
        idempotency_key (str | Unset):
        body (ApproveInput | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | ApprovalEnvelope | Error
    """

    return (
        await asyncio_detailed(
            approval_id=approval_id,
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed
