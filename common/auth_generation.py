"""The auth generation: one counter every process of this host shares, bumped after any change that
can take access away (a token revoked, a user deactivated or demoted, a permission or group removed).

Why: each web worker caches tokens (common/auth.py). An entry is good only while the counter still
reads what it read when the entry was loaded, so a revocation reaches every worker on its next
request, and the hot path still makes no query. The counter is an 8-byte integer in a small file
(`AUTH_GENERATION_FILE`) that each process maps with mmap: a read is a `struct.unpack_from` on
shared memory, no system call; a bump increments it under `fcntl.flock`.

Limits: processes on other hosts map another file (several web hosts would need e.g. PostgreSQL
LISTEN/NOTIFY); a change made in raw SQL bumps nothing. If the file cannot be opened or created
(a read-only folder), `current()` is None and the workers cache no token (an error is logged once).
"""

from __future__ import annotations

import fcntl
import logging
import mmap
import os
import struct
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed

logger = logging.getLogger(__name__)

# Native order at offset 0 of a page-aligned mapping: one aligned 8-byte load or store.
_COUNTER = struct.Struct("=q")

_mapped: mmap.mmap | None = None
_unavailable = False


def _path() -> Path:
    return Path(str(settings.AUTH_GENERATION_FILE))


def _map() -> mmap.mmap | None:
    """This process's shared mapping of the file, created (with its folder) on first use."""
    global _mapped, _unavailable
    if _mapped is None and not _unavailable:
        path = _path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)  # two first users: one extends the file, to zeros
                try:
                    if os.fstat(fd).st_size < _COUNTER.size:
                        os.ftruncate(fd, _COUNTER.size)
                finally:
                    fcntl.flock(fd, fcntl.LOCK_UN)  # explicitly: the mapping keeps a copy of fd
                _mapped = mmap.mmap(fd, _COUNTER.size)  # MAP_SHARED: every process sees one page
            finally:
                os.close(fd)
        except OSError:
            _unavailable = True
            logger.exception("auth generation file %s unavailable: web workers cache no tokens", path)
    return _mapped


def current() -> int | None:
    """The counter now (None: no shared file, so nothing may be cached). A few hundred nanoseconds."""
    mapped = _mapped if _mapped is not None else _map()
    if mapped is None:
        return None
    value: int = _COUNTER.unpack_from(mapped)[0]
    return value


def bump() -> None:
    """Move the counter on: every process's token cache reloads on its next request. Call it after
    the change commits (`transaction.on_commit`), so no worker reloads the state before it."""
    mapped = _map()
    if mapped is None:
        return
    try:
        # A descriptor of its own for the lock: one inherited across a fork would be shared, and
        # flock would not keep the parent and the child apart.
        fd = os.open(_path(), os.O_RDWR)
    except OSError:  # the change has committed: say so, do not fail its caller
        logger.exception("auth generation not bumped: cached tokens live out API_TOKEN_CACHE_SECONDS")
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        _COUNTER.pack_into(mapped, 0, _COUNTER.unpack_from(mapped)[0] + 1)
    finally:
        os.close(fd)


def _forget_mapping(*, setting: str, **_: Any) -> None:
    """Tests point AUTH_GENERATION_FILE elsewhere: map the new file on next use."""
    global _mapped, _unavailable
    if setting == "AUTH_GENERATION_FILE":
        if _mapped is not None:
            _mapped.close()
        _mapped, _unavailable = None, False


setting_changed.connect(_forget_mapping, dispatch_uid="common.auth_generation")
