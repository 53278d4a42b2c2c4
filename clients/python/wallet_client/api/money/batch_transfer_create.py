from http import HTTPStatus
from typing import Any, cast

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.approval_envelope import ApprovalEnvelope
from ...models.batch_envelope import BatchEnvelope
from ...models.batch_input import BatchInput
from ...models.error import Error
from ...models.ledger_transaction_envelope import LedgerTransactionEnvelope
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: BatchInput,
    idempotency_key: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/transactions/batch",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | ApprovalEnvelope | BatchEnvelope | Error | LedgerTransactionEnvelope | None:
    if response.status_code == 200:
        response_200 = BatchEnvelope.from_dict(response.json())

        return response_200

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
) -> Response[Any | ApprovalEnvelope | BatchEnvelope | Error | LedgerTransactionEnvelope]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: BatchInput,
    idempotency_key: str | Unset = UNSET,
) -> Response[Any | ApprovalEnvelope | BatchEnvelope | Error | LedgerTransactionEnvelope]:
    """Up to 1,000 transfers in one request: each its own result (or, atomic, all or none)

     Payouts in bulk: each transfer completes or fails on its own, and the 200 lists every item's result
    in the request's order (a refused transfer is a failed item, not an error). With `atomic: true` (at
    most 100) they move as one MULTI_LEG transaction, all or none: 201 with it, as POST /transactions. A
    staff batch may wait for approval (202).

    Args:
        idempotency_key (str | Unset):
        body (BatchInput): A leg list's errors as top-level details (`{"legs[1].amount": [...]}`),
            not nested under
            the list's name.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | ApprovalEnvelope | BatchEnvelope | Error | LedgerTransactionEnvelope]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    body: BatchInput,
    idempotency_key: str | Unset = UNSET,
) -> Any | ApprovalEnvelope | BatchEnvelope | Error | LedgerTransactionEnvelope | None:
    """Up to 1,000 transfers in one request: each its own result (or, atomic, all or none)

     Payouts in bulk: each transfer completes or fails on its own, and the 200 lists every item's result
    in the request's order (a refused transfer is a failed item, not an error). With `atomic: true` (at
    most 100) they move as one MULTI_LEG transaction, all or none: 201 with it, as POST /transactions. A
    staff batch may wait for approval (202).

    Args:
        idempotency_key (str | Unset):
        body (BatchInput): A leg list's errors as top-level details (`{"legs[1].amount": [...]}`),
            not nested under
            the list's name.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | ApprovalEnvelope | BatchEnvelope | Error | LedgerTransactionEnvelope
    """

    return sync_detailed(
        client=client,
        body=body,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: BatchInput,
    idempotency_key: str | Unset = UNSET,
) -> Response[Any | ApprovalEnvelope | BatchEnvelope | Error | LedgerTransactionEnvelope]:
    """Up to 1,000 transfers in one request: each its own result (or, atomic, all or none)

     Payouts in bulk: each transfer completes or fails on its own, and the 200 lists every item's result
    in the request's order (a refused transfer is a failed item, not an error). With `atomic: true` (at
    most 100) they move as one MULTI_LEG transaction, all or none: 201 with it, as POST /transactions. A
    staff batch may wait for approval (202).

    Args:
        idempotency_key (str | Unset):
        body (BatchInput): A leg list's errors as top-level details (`{"legs[1].amount": [...]}`),
            not nested under
            the list's name.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | ApprovalEnvelope | BatchEnvelope | Error | LedgerTransactionEnvelope]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: BatchInput,
    idempotency_key: str | Unset = UNSET,
) -> Any | ApprovalEnvelope | BatchEnvelope | Error | LedgerTransactionEnvelope | None:
    """Up to 1,000 transfers in one request: each its own result (or, atomic, all or none)

     Payouts in bulk: each transfer completes or fails on its own, and the 200 lists every item's result
    in the request's order (a refused transfer is a failed item, not an error). With `atomic: true` (at
    most 100) they move as one MULTI_LEG transaction, all or none: 201 with it, as POST /transactions. A
    staff batch may wait for approval (202).

    Args:
        idempotency_key (str | Unset):
        body (BatchInput): A leg list's errors as top-level details (`{"legs[1].amount": [...]}`),
            not nested under
            the list's name.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | ApprovalEnvelope | BatchEnvelope | Error | LedgerTransactionEnvelope
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed
