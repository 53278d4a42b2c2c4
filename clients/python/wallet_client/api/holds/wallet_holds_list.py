from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.hold_page import HoldPage
from ...models.wallet_holds_list_status import WalletHoldsListStatus
from ...types import UNSET, Response, Unset


def _get_kwargs(
    wallet_id: UUID,
    *,
    cursor: str | Unset = UNSET,
    limit: int | Unset = 50,
    status: WalletHoldsListStatus | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["cursor"] = cursor

    params["limit"] = limit

    json_status: str | Unset = UNSET
    if not isinstance(status, Unset):
        json_status = status.value

    params["status"] = json_status

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/wallets/{wallet_id}/holds".format(
            wallet_id=quote(str(wallet_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Any | Error | HoldPage | None:
    if response.status_code == 200:
        response_200 = HoldPage.from_dict(response.json())

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
) -> Response[Any | Error | HoldPage]:
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
    cursor: str | Unset = UNSET,
    limit: int | Unset = 50,
    status: WalletHoldsListStatus | Unset = UNSET,
) -> Response[Any | Error | HoldPage]:
    """List a wallet's holds

     The holds the wallet sends or receives, newest first, a cursor page at a time; `status` keeps those
    in one status.

    Args:
        wallet_id (UUID):
        cursor (str | Unset):
        limit (int | Unset):  Default: 50.
        status (WalletHoldsListStatus | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Error | HoldPage]
    """

    kwargs = _get_kwargs(
        wallet_id=wallet_id,
        cursor=cursor,
        limit=limit,
        status=status,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    wallet_id: UUID,
    *,
    client: AuthenticatedClient,
    cursor: str | Unset = UNSET,
    limit: int | Unset = 50,
    status: WalletHoldsListStatus | Unset = UNSET,
) -> Any | Error | HoldPage | None:
    """List a wallet's holds

     The holds the wallet sends or receives, newest first, a cursor page at a time; `status` keeps those
    in one status.

    Args:
        wallet_id (UUID):
        cursor (str | Unset):
        limit (int | Unset):  Default: 50.
        status (WalletHoldsListStatus | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Error | HoldPage
    """

    return sync_detailed(
        wallet_id=wallet_id,
        client=client,
        cursor=cursor,
        limit=limit,
        status=status,
    ).parsed


async def asyncio_detailed(
    wallet_id: UUID,
    *,
    client: AuthenticatedClient,
    cursor: str | Unset = UNSET,
    limit: int | Unset = 50,
    status: WalletHoldsListStatus | Unset = UNSET,
) -> Response[Any | Error | HoldPage]:
    """List a wallet's holds

     The holds the wallet sends or receives, newest first, a cursor page at a time; `status` keeps those
    in one status.

    Args:
        wallet_id (UUID):
        cursor (str | Unset):
        limit (int | Unset):  Default: 50.
        status (WalletHoldsListStatus | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Error | HoldPage]
    """

    kwargs = _get_kwargs(
        wallet_id=wallet_id,
        cursor=cursor,
        limit=limit,
        status=status,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    wallet_id: UUID,
    *,
    client: AuthenticatedClient,
    cursor: str | Unset = UNSET,
    limit: int | Unset = 50,
    status: WalletHoldsListStatus | Unset = UNSET,
) -> Any | Error | HoldPage | None:
    """List a wallet's holds

     The holds the wallet sends or receives, newest first, a cursor page at a time; `status` keeps those
    in one status.

    Args:
        wallet_id (UUID):
        cursor (str | Unset):
        limit (int | Unset):  Default: 50.
        status (WalletHoldsListStatus | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Error | HoldPage
    """

    return (
        await asyncio_detailed(
            wallet_id=wallet_id,
            client=client,
            cursor=cursor,
            limit=limit,
            status=status,
        )
    ).parsed
