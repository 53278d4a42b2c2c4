from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.ledger_transaction_envelope import LedgerTransactionEnvelope
from ...types import Response


def _get_kwargs(
    transaction_id: UUID,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/transactions/{transaction_id}".format(
            transaction_id=quote(str(transaction_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | Error | LedgerTransactionEnvelope | None:
    if response.status_code == 200:
        response_200 = LedgerTransactionEnvelope.from_dict(response.json())

        return response_200

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
) -> Response[Any | Error | LedgerTransactionEnvelope]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    transaction_id: UUID,
    *,
    client: AuthenticatedClient,
) -> Response[Any | Error | LedgerTransactionEnvelope]:
    """Get a ledger transaction

     A ledger transaction (a fund, withdrawal, transfer, capture, split or reversal) with its entries and
    legs, and what reversed it. An end user sees it when one of its wallets is theirs, and other users'
    wallets without their balances.

    Args:
        transaction_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Error | LedgerTransactionEnvelope]
    """

    kwargs = _get_kwargs(
        transaction_id=transaction_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    transaction_id: UUID,
    *,
    client: AuthenticatedClient,
) -> Any | Error | LedgerTransactionEnvelope | None:
    """Get a ledger transaction

     A ledger transaction (a fund, withdrawal, transfer, capture, split or reversal) with its entries and
    legs, and what reversed it. An end user sees it when one of its wallets is theirs, and other users'
    wallets without their balances.

    Args:
        transaction_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Error | LedgerTransactionEnvelope
    """

    return sync_detailed(
        transaction_id=transaction_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    transaction_id: UUID,
    *,
    client: AuthenticatedClient,
) -> Response[Any | Error | LedgerTransactionEnvelope]:
    """Get a ledger transaction

     A ledger transaction (a fund, withdrawal, transfer, capture, split or reversal) with its entries and
    legs, and what reversed it. An end user sees it when one of its wallets is theirs, and other users'
    wallets without their balances.

    Args:
        transaction_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Error | LedgerTransactionEnvelope]
    """

    kwargs = _get_kwargs(
        transaction_id=transaction_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    transaction_id: UUID,
    *,
    client: AuthenticatedClient,
) -> Any | Error | LedgerTransactionEnvelope | None:
    """Get a ledger transaction

     A ledger transaction (a fund, withdrawal, transfer, capture, split or reversal) with its entries and
    legs, and what reversed it. An end user sees it when one of its wallets is theirs, and other users'
    wallets without their balances.

    Args:
        transaction_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Error | LedgerTransactionEnvelope
    """

    return (
        await asyncio_detailed(
            transaction_id=transaction_id,
            client=client,
        )
    ).parsed
