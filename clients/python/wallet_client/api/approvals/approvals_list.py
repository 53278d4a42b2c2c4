from http import HTTPStatus
from typing import Any, cast

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.approval_page import ApprovalPage
from ...models.approvals_list_kind import ApprovalsListKind
from ...models.approvals_list_status import ApprovalsListStatus
from ...models.error import Error
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    cursor: str | Unset = UNSET,
    kind: ApprovalsListKind | Unset = UNSET,
    limit: int | Unset = 50,
    status: ApprovalsListStatus | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["cursor"] = cursor

    json_kind: str | Unset = UNSET
    if not isinstance(kind, Unset):
        json_kind = kind.value

    params["kind"] = json_kind

    params["limit"] = limit

    json_status: str | Unset = UNSET
    if not isinstance(status, Unset):
        json_status = status.value

    params["status"] = json_status

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/approvals",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | ApprovalPage | Error | None:
    if response.status_code == 200:
        response_200 = ApprovalPage.from_dict(response.json())

        return response_200

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
) -> Response[Any | ApprovalPage | Error]:
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
    kind: ApprovalsListKind | Unset = UNSET,
    limit: int | Unset = 50,
    status: ApprovalsListStatus | Unset = UNSET,
) -> Response[Any | ApprovalPage | Error]:
    """List approvals (staff)

     Staff only: the staff movements waiting for (or given) a second operator's decision, newest first, a
    cursor page at a time; `status` and `kind` filter, e.g. `?status=pending`.

    Args:
        cursor (str | Unset):
        kind (ApprovalsListKind | Unset):
        limit (int | Unset):  Default: 50.
        status (ApprovalsListStatus | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | ApprovalPage | Error]
    """

    kwargs = _get_kwargs(
        cursor=cursor,
        kind=kind,
        limit=limit,
        status=status,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    cursor: str | Unset = UNSET,
    kind: ApprovalsListKind | Unset = UNSET,
    limit: int | Unset = 50,
    status: ApprovalsListStatus | Unset = UNSET,
) -> Any | ApprovalPage | Error | None:
    """List approvals (staff)

     Staff only: the staff movements waiting for (or given) a second operator's decision, newest first, a
    cursor page at a time; `status` and `kind` filter, e.g. `?status=pending`.

    Args:
        cursor (str | Unset):
        kind (ApprovalsListKind | Unset):
        limit (int | Unset):  Default: 50.
        status (ApprovalsListStatus | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | ApprovalPage | Error
    """

    return sync_detailed(
        client=client,
        cursor=cursor,
        kind=kind,
        limit=limit,
        status=status,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    cursor: str | Unset = UNSET,
    kind: ApprovalsListKind | Unset = UNSET,
    limit: int | Unset = 50,
    status: ApprovalsListStatus | Unset = UNSET,
) -> Response[Any | ApprovalPage | Error]:
    """List approvals (staff)

     Staff only: the staff movements waiting for (or given) a second operator's decision, newest first, a
    cursor page at a time; `status` and `kind` filter, e.g. `?status=pending`.

    Args:
        cursor (str | Unset):
        kind (ApprovalsListKind | Unset):
        limit (int | Unset):  Default: 50.
        status (ApprovalsListStatus | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | ApprovalPage | Error]
    """

    kwargs = _get_kwargs(
        cursor=cursor,
        kind=kind,
        limit=limit,
        status=status,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    cursor: str | Unset = UNSET,
    kind: ApprovalsListKind | Unset = UNSET,
    limit: int | Unset = 50,
    status: ApprovalsListStatus | Unset = UNSET,
) -> Any | ApprovalPage | Error | None:
    """List approvals (staff)

     Staff only: the staff movements waiting for (or given) a second operator's decision, newest first, a
    cursor page at a time; `status` and `kind` filter, e.g. `?status=pending`.

    Args:
        cursor (str | Unset):
        kind (ApprovalsListKind | Unset):
        limit (int | Unset):  Default: 50.
        status (ApprovalsListStatus | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | ApprovalPage | Error
    """

    return (
        await asyncio_detailed(
            client=client,
            cursor=cursor,
            kind=kind,
            limit=limit,
            status=status,
        )
    ).parsed
