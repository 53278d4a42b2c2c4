import datetime
from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.balance_at_envelope import BalanceAtEnvelope
from ...models.error import Error
from ...types import UNSET, Response


def _get_kwargs(
    wallet_id: UUID,
    *,
    at: datetime.datetime,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_at = at.isoformat()
    params["at"] = json_at

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/wallets/{wallet_id}/balance".format(
            wallet_id=quote(str(wallet_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | BalanceAtEnvelope | Error | None:
    if response.status_code == 200:
        response_200 = BalanceAtEnvelope.from_dict(response.json())

        return response_200

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

    if response.status_code == 414:
        response_414 = cast(Any, None)
        return response_414

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
) -> Response[Any | BalanceAtEnvelope | Error]:
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
    at: datetime.datetime,
) -> Response[Any | BalanceAtEnvelope | Error]:
    """A wallet's balance at a moment

     The wallet's balance, held amount, available balance and version as they were at `at`: after its
    last change at or before that moment (entries and holds). Before the wallet was created: 404
    wallet_not_yet_open. Owner or staff; another user's wallet is 404.

    Args:
        wallet_id (UUID):
        at (datetime.datetime):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | BalanceAtEnvelope | Error]
    """

    kwargs = _get_kwargs(
        wallet_id=wallet_id,
        at=at,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    wallet_id: UUID,
    *,
    client: AuthenticatedClient,
    at: datetime.datetime,
) -> Any | BalanceAtEnvelope | Error | None:
    """A wallet's balance at a moment

     The wallet's balance, held amount, available balance and version as they were at `at`: after its
    last change at or before that moment (entries and holds). Before the wallet was created: 404
    wallet_not_yet_open. Owner or staff; another user's wallet is 404.

    Args:
        wallet_id (UUID):
        at (datetime.datetime):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | BalanceAtEnvelope | Error
    """

    return sync_detailed(
        wallet_id=wallet_id,
        client=client,
        at=at,
    ).parsed


async def asyncio_detailed(
    wallet_id: UUID,
    *,
    client: AuthenticatedClient,
    at: datetime.datetime,
) -> Response[Any | BalanceAtEnvelope | Error]:
    """A wallet's balance at a moment

     The wallet's balance, held amount, available balance and version as they were at `at`: after its
    last change at or before that moment (entries and holds). Before the wallet was created: 404
    wallet_not_yet_open. Owner or staff; another user's wallet is 404.

    Args:
        wallet_id (UUID):
        at (datetime.datetime):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | BalanceAtEnvelope | Error]
    """

    kwargs = _get_kwargs(
        wallet_id=wallet_id,
        at=at,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    wallet_id: UUID,
    *,
    client: AuthenticatedClient,
    at: datetime.datetime,
) -> Any | BalanceAtEnvelope | Error | None:
    """A wallet's balance at a moment

     The wallet's balance, held amount, available balance and version as they were at `at`: after its
    last change at or before that moment (entries and holds). Before the wallet was created: 404
    wallet_not_yet_open. Owner or staff; another user's wallet is 404.

    Args:
        wallet_id (UUID):
        at (datetime.datetime):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | BalanceAtEnvelope | Error
    """

    return (
        await asyncio_detailed(
            wallet_id=wallet_id,
            client=client,
            at=at,
        )
    ).parsed
