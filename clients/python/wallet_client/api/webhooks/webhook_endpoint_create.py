from http import HTTPStatus
from typing import Any, cast

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.endpoint_create_input import EndpointCreateInput
from ...models.error import Error
from ...models.webhook_endpoint_secret_envelope import WebhookEndpointSecretEnvelope
from ...types import Response


def _get_kwargs(
    *,
    body: EndpointCreateInput,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/webhooks/endpoints",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | Error | WebhookEndpointSecretEnvelope | None:
    if response.status_code == 201:
        response_201 = WebhookEndpointSecretEnvelope.from_dict(response.json())

        return response_201

    if response.status_code == 400:
        response_400 = Error.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Error.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Error.from_dict(response.json())

        return response_403

    if response.status_code == 406:
        response_406 = Error.from_dict(response.json())

        return response_406

    if response.status_code == 413:
        response_413 = Error.from_dict(response.json())

        return response_413

    if response.status_code == 414:
        response_414 = cast(Any, None)
        return response_414

    if response.status_code == 415:
        response_415 = Error.from_dict(response.json())

        return response_415

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
) -> Response[Any | Error | WebhookEndpointSecretEnvelope]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: EndpointCreateInput,
) -> Response[Any | Error | WebhookEndpointSecretEnvelope]:
    """Create a webhook endpoint

     Register a URL to receive wallet events as signed HTTP POSTs (Standard Webhooks). An end user
    receives their own wallets' events; staff name a user_id, or null for every user's. Answers 201 with
    the signing secret, shown this once.

    Args:
        body (EndpointCreateInput):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Error | WebhookEndpointSecretEnvelope]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    body: EndpointCreateInput,
) -> Any | Error | WebhookEndpointSecretEnvelope | None:
    """Create a webhook endpoint

     Register a URL to receive wallet events as signed HTTP POSTs (Standard Webhooks). An end user
    receives their own wallets' events; staff name a user_id, or null for every user's. Answers 201 with
    the signing secret, shown this once.

    Args:
        body (EndpointCreateInput):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Error | WebhookEndpointSecretEnvelope
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: EndpointCreateInput,
) -> Response[Any | Error | WebhookEndpointSecretEnvelope]:
    """Create a webhook endpoint

     Register a URL to receive wallet events as signed HTTP POSTs (Standard Webhooks). An end user
    receives their own wallets' events; staff name a user_id, or null for every user's. Answers 201 with
    the signing secret, shown this once.

    Args:
        body (EndpointCreateInput):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Error | WebhookEndpointSecretEnvelope]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: EndpointCreateInput,
) -> Any | Error | WebhookEndpointSecretEnvelope | None:
    """Create a webhook endpoint

     Register a URL to receive wallet events as signed HTTP POSTs (Standard Webhooks). An end user
    receives their own wallets' events; staff name a user_id, or null for every user's. Answers 201 with
    the signing secret, shown this once.

    Args:
        body (EndpointCreateInput):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Error | WebhookEndpointSecretEnvelope
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
