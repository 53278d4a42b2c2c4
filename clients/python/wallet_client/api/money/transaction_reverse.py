from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.approval_envelope import ApprovalEnvelope
from ...models.error import Error
from ...models.ledger_transaction_envelope import LedgerTransactionEnvelope
from ...models.reverse_input import ReverseInput
from ...types import UNSET, Response, Unset


def _get_kwargs(
    transaction_id: UUID,
    *,
    body: ReverseInput,
    idempotency_key: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/transactions/{transaction_id}/reverse".format(
            transaction_id=quote(str(transaction_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | ApprovalEnvelope | Error | LedgerTransactionEnvelope | None:
    if response.status_code == 201:
        response_201 = LedgerTransactionEnvelope.from_dict(response.json())

        return response_201

    if response.status_code == 202:
        response_202 = ApprovalEnvelope.from_dict(response.json())

        return response_202

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
) -> Response[Any | ApprovalEnvelope | Error | LedgerTransactionEnvelope]:
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
    body: ReverseInput,
    idempotency_key: str | Unset = UNSET,
) -> Response[Any | ApprovalEnvelope | Error | LedgerTransactionEnvelope]:
    """Reverse a transaction (staff)

     Staff only: write the opposite entries of a completed fund, withdrawal, transfer, capture or split
    as a REVERSAL transaction linked to it, with a reason (once; a reversal is not reversed). A reversal
    usually waits for a second operator (202 with the approval).

    Args:
        transaction_id (UUID):
        idempotency_key (str | Unset):
        body (ReverseInput):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | ApprovalEnvelope | Error | LedgerTransactionEnvelope]
    """

    kwargs = _get_kwargs(
        transaction_id=transaction_id,
        body=body,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    transaction_id: UUID,
    *,
    client: AuthenticatedClient,
    body: ReverseInput,
    idempotency_key: str | Unset = UNSET,
) -> Any | ApprovalEnvelope | Error | LedgerTransactionEnvelope | None:
    """Reverse a transaction (staff)

     Staff only: write the opposite entries of a completed fund, withdrawal, transfer, capture or split
    as a REVERSAL transaction linked to it, with a reason (once; a reversal is not reversed). A reversal
    usually waits for a second operator (202 with the approval).

    Args:
        transaction_id (UUID):
        idempotency_key (str | Unset):
        body (ReverseInput):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | ApprovalEnvelope | Error | LedgerTransactionEnvelope
    """

    return sync_detailed(
        transaction_id=transaction_id,
        client=client,
        body=body,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    transaction_id: UUID,
    *,
    client: AuthenticatedClient,
    body: ReverseInput,
    idempotency_key: str | Unset = UNSET,
) -> Response[Any | ApprovalEnvelope | Error | LedgerTransactionEnvelope]:
    """Reverse a transaction (staff)

     Staff only: write the opposite entries of a completed fund, withdrawal, transfer, capture or split
    as a REVERSAL transaction linked to it, with a reason (once; a reversal is not reversed). A reversal
    usually waits for a second operator (202 with the approval).

    Args:
        transaction_id (UUID):
        idempotency_key (str | Unset):
        body (ReverseInput):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | ApprovalEnvelope | Error | LedgerTransactionEnvelope]
    """

    kwargs = _get_kwargs(
        transaction_id=transaction_id,
        body=body,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    transaction_id: UUID,
    *,
    client: AuthenticatedClient,
    body: ReverseInput,
    idempotency_key: str | Unset = UNSET,
) -> Any | ApprovalEnvelope | Error | LedgerTransactionEnvelope | None:
    """Reverse a transaction (staff)

     Staff only: write the opposite entries of a completed fund, withdrawal, transfer, capture or split
    as a REVERSAL transaction linked to it, with a reason (once; a reversal is not reversed). A reversal
    usually waits for a second operator (202 with the approval).

    Args:
        transaction_id (UUID):
        idempotency_key (str | Unset):
        body (ReverseInput):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | ApprovalEnvelope | Error | LedgerTransactionEnvelope
    """

    return (
        await asyncio_detailed(
            transaction_id=transaction_id,
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed
