"""Configuration: a frozen ``Config`` and the process default set by ``configure()``.

The gem reads its global configuration on every request, so changing it mid-flight
changes clients already built.  Here a client copies its ``Config`` once; the
process default only decides what a client built *later* without ``config=`` gets.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from ._version import __version__

__all__ = ["Config", "configure", "get_config", "validate_version"]

# ASCII digits only: ``\d`` would also accept other scripts' digits (Arabic-Indic...).
_VERSION_RE = re.compile(r"v[0-9]+\.[0-9]+")


def validate_version(version: str) -> str:
    """Return ``version`` if Procore knows its shape (``v1.0``, ``v2.1``, ``vapid``)."""
    if version == "vapid" or (isinstance(version, str) and _VERSION_RE.fullmatch(version)):
        return version
    raise ValueError(f"{version!r} is an invalid Procore API version (use 'v<n>.<n>' or 'vapid')")


def _default_logger() -> logging.Logger:
    return logging.getLogger("procore_async")


@dataclass(frozen=True, slots=True)
class Config:
    """Everything a client needs to know besides its credentials and token store.

    Frozen, so a client's settings cannot drift under it; derive a variant with
    ``config.replace(timeout=5.0)``.  Every field is checked on construction and a
    bad value raises ``ValueError`` naming the field.
    """

    host: str = "https://api.procore.com"
    """API base URL; a sandbox or a local ``procore-async fake-server`` goes here."""
    login_host: str = "https://login.procore.com"
    """OAuth base URL (token, authorize and revoke endpoints)."""
    default_version: str = "v1.0"
    """API version of a call without ``version=``: ``v<n>.<n>`` or ``"vapid"``."""
    default_batch_size: int = 500
    """Updates per ``sync`` batch, 1..1000 (Procore refuses more than 1000)."""
    max_retries: int = 3
    """Retries after the first attempt of one call (0 turns retrying off)."""
    retry_backoff: float = 1.5
    """First backoff wait in seconds; each further wait is x1.5, with jitter."""
    max_retry_wait: float = 60.0
    """Cap on one server-requested wait (``Retry-After``, ``X-Rate-Limit-Reset``).

    A longer wait is not slept through: the error is raised at once and carries it
    (``error.retry_after``), so a worker can reschedule the job instead of blocking.
    """
    timeout: float | httpx.Timeout = 30.0
    """Seconds per attempt (connect, read, write, pool), or an ``httpx.Timeout``."""
    max_concurrency: int = 8
    """Batches or pages in flight at once for one ``sync`` or ``paginate`` call."""
    refresh_leeway: float = 60.0
    """Refresh a token this many seconds before it expires, so no call races expiry."""
    user_agent: str = f"procore-async/{__version__}"
    """``User-Agent`` header sent on every request (printable ASCII)."""
    logger: logging.Logger = field(default_factory=_default_logger)
    """Where the client logs (metadata only: never a token, secret or body)."""
    retry_deadline: float | None = None
    """Total seconds one call may spend across all its attempts and waits; None = no cap."""
    rate_limit_reserve: int = 2
    """Hold new requests when this many requests or fewer remain in the rate window."""
    max_connections: int = 32
    """Size of the connection pool of a client-owned ``httpx.AsyncClient``."""

    def __post_init__(self) -> None:
        for name in ("host", "login_host"):
            value = getattr(self, name)
            if not _is_http_url(value):
                raise ValueError(f"Config.{name} must be an http(s) URL, not {value!r}")
            parts = urlsplit(value)
            if parts.query or parts.fragment:
                raise ValueError(f"Config.{name} must not carry a query or fragment: {value!r}")
            object.__setattr__(self, name, value.rstrip("/"))
        try:
            validate_version(self.default_version)
        except ValueError as exc:
            raise ValueError(f"Config.default_version: {exc}") from None
        _check_int("default_batch_size", self.default_batch_size, 1, 1000)
        _check_int("max_retries", self.max_retries, 0, 100)
        _check_int("max_concurrency", self.max_concurrency, 1, 1000)
        _check_int("rate_limit_reserve", self.rate_limit_reserve, 0, 10**6)
        _check_int("max_connections", self.max_connections, 1, 10**4)
        _check_number("retry_backoff", self.retry_backoff)
        _check_number("max_retry_wait", self.max_retry_wait)
        _check_number("refresh_leeway", self.refresh_leeway)
        if self.retry_deadline is not None:
            _check_number("retry_deadline", self.retry_deadline, positive=True)
        if not isinstance(self.timeout, httpx.Timeout):
            _check_number("timeout", self.timeout, positive=True)
        agent = self.user_agent
        # CR/LF would split the header, and httpx sends header values as ASCII.
        if not isinstance(agent, str) or not agent.strip() or not agent.isascii():
            raise ValueError(f"Config.user_agent must be a non-empty ASCII string, not {agent!r}")
        if not agent.isprintable():
            raise ValueError(f"Config.user_agent must not hold control characters: {agent!r}")
        if not isinstance(self.logger, logging.Logger):
            raise ValueError("Config.logger must be a logging.Logger")

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, base: Config | None = None
    ) -> Config:
        """The process default with every field set by its ``PROCORE_*`` variable.

        ``PROCORE_HOST``, ``PROCORE_LOGIN_HOST``, ``PROCORE_DEFAULT_VERSION``,
        ``PROCORE_MAX_RETRIES``, ``PROCORE_TIMEOUT``... (the field's name, upper case,
        prefixed); the gem README's ``PROCORE_BASE_API_PATH`` and
        ``PROCORE_BASE_LOGIN_PATH`` are read too.  Unset or empty variables keep
        ``base``'s value (default: the process default).  A bad value raises
        ``ValueError`` naming the variable.
        """
        from ._env import config_from_env

        return config_from_env(environ, base=base)

    def replace(self, **changes: Any) -> Config:
        """A copy with ``changes`` applied (and validated)."""
        return dataclasses.replace(self, **changes)

    @property
    def http_timeout(self) -> httpx.Timeout:
        timeout = self.timeout
        return timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)


def _is_http_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 -- a garbled port raises here rather than on the first request
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _check_int(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"Config.{name} must be an integer in {low}..{high}, not {value!r}")


def _check_number(name: str, value: Any, *, positive: bool = False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (positive and value == 0):
        kind = "a positive" if positive else "a non-negative"
        raise ValueError(f"Config.{name} must be {kind} number, not {value!r}")


_default = Config()


def configure(**fields: Any) -> Config:
    """Set the process default ``Config`` (the gem's ``Procore.configure``).

    Only the given fields change; the rest keep their current default.  Clients
    already built keep the config they were built with.
    """
    global _default
    _default = _default.replace(**fields)
    return _default


def get_config() -> Config:
    """The process default ``Config`` that a client built without ``config=`` uses."""
    return _default
