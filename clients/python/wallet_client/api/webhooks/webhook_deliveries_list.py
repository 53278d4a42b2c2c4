from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.webhook_delivery_page import WebhookDeliveryPage
from ...types import UNSET, Response, Unset


def _get_kwargs(
    endpoint_id: UUID,
    *,
    cursor: str | Unset = UNSET,
    limit: int | Unset = 50,
    status: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["cursor"] = cursor

    params["limit"] = limit

    params["status"] = status

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/webhooks/endpoints/{endpoint_id}/deliveries".format(
            endpoint_id=quote(str(endpoint_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | Error | WebhookDeliveryPage | None:
    if response.status_code == 200:
        response_200 = WebhookDeliveryPage.from_dict(response.json())

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
) -> Response[Any | Error | WebhookDeliveryPage]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    endpoint_id: UUID,
    *,
    client: AuthenticatedClient,
    cursor: str | Unset = UNSET,
    limit: int | Unset = 50,
    status: str | Unset = UNSET,
) -> Response[Any | Error | WebhookDeliveryPage]:
    """List an endpoint's deliveries

     The events queued for the endpoint, newest first, each with its status and attempt count;
    `?status=failed` finds the ones to resend.

    Args:
        endpoint_id (UUID):
        cursor (str | Unset):
        limit (int | Unset):  Default: 50.
        status (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Error | WebhookDeliveryPage]
    """

    kwargs = _get_kwargs(
        endpoint_id=endpoint_id,
        cursor=cursor,
        limit=limit,
        status=status,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    endpoint_id: UUID,
    *,
    client: AuthenticatedClient,
    cursor: str | Unset = UNSET,
    limit: int | Unset = 50,
    status: str | Unset = UNSET,
) -> Any | Error | WebhookDeliveryPage | None:
    """List an endpoint's deliveries

     The events queued for the endpoint, newest first, each with its status and attempt count;
    `?status=failed` finds the ones to resend.

    Args:
        endpoint_id (UUID):
        cursor (str | Unset):
        limit (int | Unset):  Default: 50.
        status (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Error | WebhookDeliveryPage
    """

    return sync_detailed(
        endpoint_id=endpoint_id,
        client=client,
        cursor=cursor,
        limit=limit,
        status=status,
    ).parsed


async def asyncio_detailed(
    endpoint_id: UUID,
    *,
    client: AuthenticatedClient,
    cursor: str | Unset = UNSET,
    limit: int | Unset = 50,
    status: str | Unset = UNSET,
) -> Response[Any | Error | WebhookDeliveryPage]:
    """List an endpoint's deliveries

     The events queued for the endpoint, newest first, each with its status and attempt count;
    `?status=failed` finds the ones to resend.

    Args:
        endpoint_id (UUID):
        cursor (str | Unset):
        limit (int | Unset):  Default: 50.
        status (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Error | WebhookDeliveryPage]
    """

    kwargs = _get_kwargs(
        endpoint_id=endpoint_id,
        cursor=cursor,
        limit=limit,
        status=status,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    endpoint_id: UUID,
    *,
    client: AuthenticatedClient,
    cursor: str | Unset = UNSET,
    limit: int | Unset = 50,
    status: str | Unset = UNSET,
) -> Any | Error | WebhookDeliveryPage | None:
    """List an endpoint's deliveries

     The events queued for the endpoint, newest first, each with its status and attempt count;
    `?status=failed` finds the ones to resend.

    Args:
        endpoint_id (UUID):
        cursor (str | Unset):
        limit (int | Unset):  Default: 50.
        status (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Error | WebhookDeliveryPage
    """

    return (
        await asyncio_detailed(
            endpoint_id=endpoint_id,
            client=client,
            cursor=cursor,
            limit=limit,
            status=status,
        )
    ).parsed
