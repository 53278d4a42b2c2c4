from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.approval_envelope import ApprovalEnvelope
from ...models.error import Error
from ...models.transfer_envelope import TransferEnvelope
from ...models.transfer_input import TransferInput
from ...types import UNSET, Response, Unset


def _get_kwargs(
    wallet_id: UUID,
    *,
    body: TransferInput,
    idempotency_key: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/wallets/{wallet_id}/transfer".format(
            wallet_id=quote(str(wallet_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | ApprovalEnvelope | Error | TransferEnvelope | None:
    if response.status_code == 200:
        response_200 = TransferEnvelope.from_dict(response.json())

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
) -> Response[Any | ApprovalEnvelope | Error | TransferEnvelope]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    wallet_id: UUID,
    *,
    client: AuthenticatedClient,
    body: TransferInput,
    idempotency_key: str | Unset = UNSET,
) -> Response[Any | ApprovalEnvelope | Error | TransferEnvelope]:
    """Transfer to another wallet

     Move `amount` from this wallet to `to_wallet_id` (same currency) as one ledger transaction; the
    answer is its two entries, out then in (another user's receiving wallet without its balance). Send
    an `Idempotency-Key` to retry safely. An end user sends only from their own wallets; a staff
    transfer may wait for approval (202).

    Args:
        wallet_id (UUID):
        idempotency_key (str | Unset):
        body (TransferInput): `description` and `metadata`, accepted by every movement and hold.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | ApprovalEnvelope | Error | TransferEnvelope]
    """

    kwargs = _get_kwargs(
        wallet_id=wallet_id,
        body=body,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    wallet_id: UUID,
    *,
    client: AuthenticatedClient,
    body: TransferInput,
    idempotency_key: str | Unset = UNSET,
) -> Any | ApprovalEnvelope | Error | TransferEnvelope | None:
    """Transfer to another wallet

     Move `amount` from this wallet to `to_wallet_id` (same currency) as one ledger transaction; the
    answer is its two entries, out then in (another user's receiving wallet without its balance). Send
    an `Idempotency-Key` to retry safely. An end user sends only from their own wallets; a staff
    transfer may wait for approval (202).

    Args:
        wallet_id (UUID):
        idempotency_key (str | Unset):
        body (TransferInput): `description` and `metadata`, accepted by every movement and hold.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | ApprovalEnvelope | Error | TransferEnvelope
    """

    return sync_detailed(
        wallet_id=wallet_id,
        client=client,
        body=body,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    wallet_id: UUID,
    *,
    client: AuthenticatedClient,
    body: TransferInput,
    idempotency_key: str | Unset = UNSET,
) -> Response[Any | ApprovalEnvelope | Error | TransferEnvelope]:
    """Transfer to another wallet

     Move `amount` from this wallet to `to_wallet_id` (same currency) as one ledger transaction; the
    answer is its two entries, out then in (another user's receiving wallet without its balance). Send
    an `Idempotency-Key` to retry safely. An end user sends only from their own wallets; a staff
    transfer may wait for approval (202).

    Args:
        wallet_id (UUID):
        idempotency_key (str | Unset):
        body (TransferInput): `description` and `metadata`, accepted by every movement and hold.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | ApprovalEnvelope | Error | TransferEnvelope]
    """

    kwargs = _get_kwargs(
        wallet_id=wallet_id,
        body=body,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    wallet_id: UUID,
    *,
    client: AuthenticatedClient,
    body: TransferInput,
    idempotency_key: str | Unset = UNSET,
) -> Any | ApprovalEnvelope | Error | TransferEnvelope | None:
    """Transfer to another wallet

     Move `amount` from this wallet to `to_wallet_id` (same currency) as one ledger transaction; the
    answer is its two entries, out then in (another user's receiving wallet without its balance). Send
    an `Idempotency-Key` to retry safely. An end user sends only from their own wallets; a staff
    transfer may wait for approval (202).

    Args:
        wallet_id (UUID):
        idempotency_key (str | Unset):
        body (TransferInput): `description` and `metadata`, accepted by every movement and hold.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | ApprovalEnvelope | Error | TransferEnvelope
    """

    return (
        await asyncio_detailed(
            wallet_id=wallet_id,
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed
