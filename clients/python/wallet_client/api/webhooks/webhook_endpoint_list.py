from http import HTTPStatus
from typing import Any, cast

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.webhook_endpoint_page import WebhookEndpointPage
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    cursor: str | Unset = UNSET,
    limit: int | Unset = 50,
    user_id: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["cursor"] = cursor

    params["limit"] = limit

    params["user_id"] = user_id

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/webhooks/endpoints",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | Error | WebhookEndpointPage | None:
    if response.status_code == 200:
        response_200 = WebhookEndpointPage.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = Error.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Error.from_dict(response.json())

        return response_401

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
) -> Response[Any | Error | WebhookEndpointPage]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    cursor: str | Unset = UNSET,
    limit: int | Unset = 50,
    user_id: str | Unset = UNSET,
) -> Response[Any | Error | WebhookEndpointPage]:
    """List webhook endpoints

     Your webhook endpoints, newest first, a cursor page at a time (staff: every user's, and the
    endpoints for all users; `?user_id=` narrows to one user's). No secret is shown.

    Args:
        cursor (str | Unset):
        limit (int | Unset):  Default: 50.
        user_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Error | WebhookEndpointPage]
    """

    kwargs = _get_kwargs(
        cursor=cursor,
        limit=limit,
        user_id=user_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    cursor: str | Unset = UNSET,
    limit: int | Unset = 50,
    user_id: str | Unset = UNSET,
) -> Any | Error | WebhookEndpointPage | None:
    """List webhook endpoints

     Your webhook endpoints, newest first, a cursor page at a time (staff: every user's, and the
    endpoints for all users; `?user_id=` narrows to one user's). No secret is shown.

    Args:
        cursor (str | Unset):
        limit (int | Unset):  Default: 50.
        user_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Error | WebhookEndpointPage
    """

    return sync_detailed(
        client=client,
        cursor=cursor,
        limit=limit,
        user_id=user_id,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    cursor: str | Unset = UNSET,
    limit: int | Unset = 50,
    user_id: str | Unset = UNSET,
) -> Response[Any | Error | WebhookEndpointPage]:
    """List webhook endpoints

     Your webhook endpoints, newest first, a cursor page at a time (staff: every user's, and the
    endpoints for all users; `?user_id=` narrows to one user's). No secret is shown.

    Args:
        cursor (str | Unset):
        limit (int | Unset):  Default: 50.
        user_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Error | WebhookEndpointPage]
    """

    kwargs = _get_kwargs(
        cursor=cursor,
        limit=limit,
        user_id=user_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    cursor: str | Unset = UNSET,
    limit: int | Unset = 50,
    user_id: str | Unset = UNSET,
) -> Any | Error | WebhookEndpointPage | None:
    """List webhook endpoints

     Your webhook endpoints, newest first, a cursor page at a time (staff: every user's, and the
    endpoints for all users; `?user_id=` narrows to one user's). No secret is shown.

    Args:
        cursor (str | Unset):
        limit (int | Unset):  Default: 50.
        user_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Error | WebhookEndpointPage
    """

    return (
        await asyncio_detailed(
            client=client,
            cursor=cursor,
            limit=limit,
            user_id=user_id,
        )
    ).parsed
