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
    login_host: str = "https://login.procore.com"
    default_version: str = "v1.0"
    default_batch_size: int = 500
    max_retries: int = 3
    retry_backoff: float = 1.5
    max_retry_wait: float = 60.0
    timeout: float | httpx.Timeout = 30.0
    max_concurrency: int = 8
    refresh_leeway: float = 60.0
    user_agent: str = f"procore-async/{__version__}"
    logger: logging.Logger = field(default_factory=_default_logger)
    #: Total seconds one call may spend across all its attempts and waits; None = no cap.
    retry_deadline: float | None = None
    #: Hold new requests when this many requests or fewer remain in the rate window.
    rate_limit_reserve: int = 2
    #: Size of the connection pool of a client-owned ``httpx.AsyncClient``; None (the
    #: default) starts at 32 and grows with the requests in flight, up to 1000.
    max_connections: int | None = None
    #: The HTTP transport of a client-owned pool: ``"httpx"`` (httpx's own, the default)
    #: or ``"aiohttp"`` (the ``httpx-aiohttp`` package: ``pip install procore-async[aiohttp]``).
    http_transport: str = "httpx"

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
        if self.max_connections is not None:
            _check_int("max_connections", self.max_connections, 1, 10**4)
        if self.http_transport not in ("httpx", "aiohttp"):
            raise ValueError(
                f"Config.http_transport must be 'httpx' or 'aiohttp', not {self.http_transport!r}"
            )
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
