import datetime
from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.statement_page import StatementPage
from ...models.wallet_statement_get_format import WalletStatementGetFormat
from ...types import UNSET, Response, Unset


def _get_kwargs(
    wallet_id: UUID,
    *,
    cursor: str | Unset = UNSET,
    format_: WalletStatementGetFormat | Unset = UNSET,
    from_: datetime.datetime,
    limit: int | Unset = 50,
    to: datetime.datetime | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["cursor"] = cursor

    json_format_: str | Unset = UNSET
    if not isinstance(format_, Unset):
        json_format_ = format_.value

    params["format"] = json_format_

    json_from_ = from_.isoformat()
    params["from"] = json_from_

    params["limit"] = limit

    json_to: str | Unset = UNSET
    if not isinstance(to, Unset):
        json_to = to.isoformat()
    params["to"] = json_to

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/wallets/{wallet_id}/statement".format(
            wallet_id=quote(str(wallet_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | Error | StatementPage | None:
    if response.status_code == 200:
        response_200 = StatementPage.from_dict(response.json())

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
) -> Response[Any | Error | StatementPage]:
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
    format_: WalletStatementGetFormat | Unset = UNSET,
    from_: datetime.datetime,
    limit: int | Unset = 50,
    to: datetime.datetime | Unset = UNSET,
) -> Response[Any | Error | StatementPage]:
    """A wallet's statement over a period

     The period `[from, to)` (from inclusive, to exclusive, so consecutive statements tile): opening
    balance (after the last entry before `from`) and closing balance (after the last entry before `to`),
    total in and out, the count, and the period's entries oldest first, a cursor page at a time (every
    page repeats the header), each with its chain hash; the opening hash is the chain's before the first
    entry (the wallet's genesis hash when none before), the closing hash the last entry's. `?format=csv`
    (or `Accept: text/csv`) streams the whole period as CSV, `?format=pdf` (or `Accept:
    application/pdf`) gives a PDF of up to 2,000 entries. A downloaded statement is checked offline by
    `verify_statement.py`. Owner or staff; another user's wallet is 404.

    Args:
        wallet_id (UUID):
        cursor (str | Unset):
        format_ (WalletStatementGetFormat | Unset):
        from_ (datetime.datetime):
        limit (int | Unset):  Default: 50.
        to (datetime.datetime | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Error | StatementPage]
    """

    kwargs = _get_kwargs(
        wallet_id=wallet_id,
        cursor=cursor,
        format_=format_,
        from_=from_,
        limit=limit,
        to=to,
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
    format_: WalletStatementGetFormat | Unset = UNSET,
    from_: datetime.datetime,
    limit: int | Unset = 50,
    to: datetime.datetime | Unset = UNSET,
) -> Any | Error | StatementPage | None:
    """A wallet's statement over a period

     The period `[from, to)` (from inclusive, to exclusive, so consecutive statements tile): opening
    balance (after the last entry before `from`) and closing balance (after the last entry before `to`),
    total in and out, the count, and the period's entries oldest first, a cursor page at a time (every
    page repeats the header), each with its chain hash; the opening hash is the chain's before the first
    entry (the wallet's genesis hash when none before), the closing hash the last entry's. `?format=csv`
    (or `Accept: text/csv`) streams the whole period as CSV, `?format=pdf` (or `Accept:
    application/pdf`) gives a PDF of up to 2,000 entries. A downloaded statement is checked offline by
    `verify_statement.py`. Owner or staff; another user's wallet is 404.

    Args:
        wallet_id (UUID):
        cursor (str | Unset):
        format_ (WalletStatementGetFormat | Unset):
        from_ (datetime.datetime):
        limit (int | Unset):  Default: 50.
        to (datetime.datetime | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Error | StatementPage
    """

    return sync_detailed(
        wallet_id=wallet_id,
        client=client,
        cursor=cursor,
        format_=format_,
        from_=from_,
        limit=limit,
        to=to,
    ).parsed


async def asyncio_detailed(
    wallet_id: UUID,
    *,
    client: AuthenticatedClient,
    cursor: str | Unset = UNSET,
    format_: WalletStatementGetFormat | Unset = UNSET,
    from_: datetime.datetime,
    limit: int | Unset = 50,
    to: datetime.datetime | Unset = UNSET,
) -> Response[Any | Error | StatementPage]:
    """A wallet's statement over a period

     The period `[from, to)` (from inclusive, to exclusive, so consecutive statements tile): opening
    balance (after the last entry before `from`) and closing balance (after the last entry before `to`),
    total in and out, the count, and the period's entries oldest first, a cursor page at a time (every
    page repeats the header), each with its chain hash; the opening hash is the chain's before the first
    entry (the wallet's genesis hash when none before), the closing hash the last entry's. `?format=csv`
    (or `Accept: text/csv`) streams the whole period as CSV, `?format=pdf` (or `Accept:
    application/pdf`) gives a PDF of up to 2,000 entries. A downloaded statement is checked offline by
    `verify_statement.py`. Owner or staff; another user's wallet is 404.

    Args:
        wallet_id (UUID):
        cursor (str | Unset):
        format_ (WalletStatementGetFormat | Unset):
        from_ (datetime.datetime):
        limit (int | Unset):  Default: 50.
        to (datetime.datetime | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Error | StatementPage]
    """

    kwargs = _get_kwargs(
        wallet_id=wallet_id,
        cursor=cursor,
        format_=format_,
        from_=from_,
        limit=limit,
        to=to,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    wallet_id: UUID,
    *,
    client: AuthenticatedClient,
    cursor: str | Unset = UNSET,
    format_: WalletStatementGetFormat | Unset = UNSET,
    from_: datetime.datetime,
    limit: int | Unset = 50,
    to: datetime.datetime | Unset = UNSET,
) -> Any | Error | StatementPage | None:
    """A wallet's statement over a period

     The period `[from, to)` (from inclusive, to exclusive, so consecutive statements tile): opening
    balance (after the last entry before `from`) and closing balance (after the last entry before `to`),
    total in and out, the count, and the period's entries oldest first, a cursor page at a time (every
    page repeats the header), each with its chain hash; the opening hash is the chain's before the first
    entry (the wallet's genesis hash when none before), the closing hash the last entry's. `?format=csv`
    (or `Accept: text/csv`) streams the whole period as CSV, `?format=pdf` (or `Accept:
    application/pdf`) gives a PDF of up to 2,000 entries. A downloaded statement is checked offline by
    `verify_statement.py`. Owner or staff; another user's wallet is 404.

    Args:
        wallet_id (UUID):
        cursor (str | Unset):
        format_ (WalletStatementGetFormat | Unset):
        from_ (datetime.datetime):
        limit (int | Unset):  Default: 50.
        to (datetime.datetime | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Error | StatementPage
    """

    return (
        await asyncio_detailed(
            wallet_id=wallet_id,
            client=client,
            cursor=cursor,
            format_=format_,
            from_=from_,
            limit=limit,
            to=to,
        )
    ).parsed
