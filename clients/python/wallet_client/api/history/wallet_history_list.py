import datetime
from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.history_event_page import HistoryEventPage
from ...models.wallet_history_list_event_type_item import WalletHistoryListEventTypeItem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    wallet_id: UUID,
    *,
    cursor: str | Unset = UNSET,
    event_type: list[WalletHistoryListEventTypeItem] | Unset = UNSET,
    hold_id: UUID | Unset = UNSET,
    limit: int | Unset = 50,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["cursor"] = cursor

    json_event_type: list[str] | Unset = UNSET
    if not isinstance(event_type, Unset):
        json_event_type = []
        for event_type_item_data in event_type:
            event_type_item = event_type_item_data.value
            json_event_type.append(event_type_item)

    params["event_type"] = json_event_type

    json_hold_id: str | Unset = UNSET
    if not isinstance(hold_id, Unset):
        json_hold_id = str(hold_id)
    params["hold_id"] = json_hold_id

    params["limit"] = limit

    json_since: str | Unset = UNSET
    if not isinstance(since, Unset):
        json_since = since.isoformat()
    params["since"] = json_since

    json_until: str | Unset = UNSET
    if not isinstance(until, Unset):
        json_until = until.isoformat()
    params["until"] = json_until

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/wallets/{wallet_id}/history".format(
            wallet_id=quote(str(wallet_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | Error | HistoryEventPage | None:
    if response.status_code == 200:
        response_200 = HistoryEventPage.from_dict(response.json())

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
) -> Response[Any | Error | HistoryEventPage]:
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
    event_type: list[WalletHistoryListEventTypeItem] | Unset = UNSET,
    hold_id: UUID | Unset = UNSET,
    limit: int | Unset = 50,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
) -> Response[Any | Error | HistoryEventPage]:
    """List a wallet's history

     The wallet's events (created, funded, transfers, holds, reversals) in the order they happened to it,
    a cursor page at a time, filtered by event type, hold and time. Eventually consistent: an event
    appears shortly after its movement; the ledger (`wallet_transactions_list`) is the immediate view.

    Args:
        wallet_id (UUID):
        cursor (str | Unset):
        event_type (list[WalletHistoryListEventTypeItem] | Unset):
        hold_id (UUID | Unset):
        limit (int | Unset):  Default: 50.
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Error | HistoryEventPage]
    """

    kwargs = _get_kwargs(
        wallet_id=wallet_id,
        cursor=cursor,
        event_type=event_type,
        hold_id=hold_id,
        limit=limit,
        since=since,
        until=until,
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
    event_type: list[WalletHistoryListEventTypeItem] | Unset = UNSET,
    hold_id: UUID | Unset = UNSET,
    limit: int | Unset = 50,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
) -> Any | Error | HistoryEventPage | None:
    """List a wallet's history

     The wallet's events (created, funded, transfers, holds, reversals) in the order they happened to it,
    a cursor page at a time, filtered by event type, hold and time. Eventually consistent: an event
    appears shortly after its movement; the ledger (`wallet_transactions_list`) is the immediate view.

    Args:
        wallet_id (UUID):
        cursor (str | Unset):
        event_type (list[WalletHistoryListEventTypeItem] | Unset):
        hold_id (UUID | Unset):
        limit (int | Unset):  Default: 50.
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Error | HistoryEventPage
    """

    return sync_detailed(
        wallet_id=wallet_id,
        client=client,
        cursor=cursor,
        event_type=event_type,
        hold_id=hold_id,
        limit=limit,
        since=since,
        until=until,
    ).parsed


async def asyncio_detailed(
    wallet_id: UUID,
    *,
    client: AuthenticatedClient,
    cursor: str | Unset = UNSET,
    event_type: list[WalletHistoryListEventTypeItem] | Unset = UNSET,
    hold_id: UUID | Unset = UNSET,
    limit: int | Unset = 50,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
) -> Response[Any | Error | HistoryEventPage]:
    """List a wallet's history

     The wallet's events (created, funded, transfers, holds, reversals) in the order they happened to it,
    a cursor page at a time, filtered by event type, hold and time. Eventually consistent: an event
    appears shortly after its movement; the ledger (`wallet_transactions_list`) is the immediate view.

    Args:
        wallet_id (UUID):
        cursor (str | Unset):
        event_type (list[WalletHistoryListEventTypeItem] | Unset):
        hold_id (UUID | Unset):
        limit (int | Unset):  Default: 50.
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Error | HistoryEventPage]
    """

    kwargs = _get_kwargs(
        wallet_id=wallet_id,
        cursor=cursor,
        event_type=event_type,
        hold_id=hold_id,
        limit=limit,
        since=since,
        until=until,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    wallet_id: UUID,
    *,
    client: AuthenticatedClient,
    cursor: str | Unset = UNSET,
    event_type: list[WalletHistoryListEventTypeItem] | Unset = UNSET,
    hold_id: UUID | Unset = UNSET,
    limit: int | Unset = 50,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
) -> Any | Error | HistoryEventPage | None:
    """List a wallet's history

     The wallet's events (created, funded, transfers, holds, reversals) in the order they happened to it,
    a cursor page at a time, filtered by event type, hold and time. Eventually consistent: an event
    appears shortly after its movement; the ledger (`wallet_transactions_list`) is the immediate view.

    Args:
        wallet_id (UUID):
        cursor (str | Unset):
        event_type (list[WalletHistoryListEventTypeItem] | Unset):
        hold_id (UUID | Unset):
        limit (int | Unset):  Default: 50.
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Error | HistoryEventPage
    """

    return (
        await asyncio_detailed(
            wallet_id=wallet_id,
            client=client,
            cursor=cursor,
            event_type=event_type,
            hold_id=hold_id,
            limit=limit,
            since=since,
            until=until,
        )
    ).parsed
