"""``Config.from_env()``: every ``Config`` field from a ``PROCORE_*`` environment variable.

The gem's README points its hosts at a sandbox with ``ENV.fetch("PROCORE_BASE_API_PATH",
...)``; here each field has a variable named after it (``PROCORE_HOST``,
``PROCORE_LOGIN_HOST``, ``PROCORE_MAX_RETRIES``...), read once, converted to the field's
type and validated by ``Config`` itself.  A bad value raises ``ValueError`` naming the
*variable*, because that is what the user has to go and fix.  An unset or empty variable
leaves the field at its default (or at the ``base`` config's value).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._config import Config

__all__ = ["ENV_VARIABLES", "config_from_env"]


def _integer(text: str) -> int:
    value = text.strip()
    # int() alone would take "1_000", "+3" and other scripts' digits.
    if not (value.isascii() and value.lstrip("-").isdigit()):
        raise ValueError("must be an integer")
    return int(value)


def _number(text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise ValueError("must be a number") from None
    return value


def _optional_number(text: str) -> float | None:
    if text.strip().lower() in ("none", "off"):
        return None
    return _number(text)


def _text(text: str) -> str:
    return text.strip()


#: Each field's variable(s), first one wins, and how its text becomes a value.
#: ``PROCORE_BASE_API_PATH``/``PROCORE_BASE_LOGIN_PATH`` are the names the gem's README
#: uses; ``PROCORE_VERSION`` is what the first release's command line read.
ENV_VARIABLES: dict[str, tuple[tuple[str, ...], Callable[[str], Any]]] = {
    "host": (("PROCORE_HOST", "PROCORE_BASE_API_PATH"), _text),
    "login_host": (("PROCORE_LOGIN_HOST", "PROCORE_BASE_LOGIN_PATH"), _text),
    "default_version": (("PROCORE_DEFAULT_VERSION", "PROCORE_VERSION"), _text),
    "default_batch_size": (("PROCORE_DEFAULT_BATCH_SIZE",), _integer),
    "max_retries": (("PROCORE_MAX_RETRIES",), _integer),
    "retry_backoff": (("PROCORE_RETRY_BACKOFF",), _number),
    "max_retry_wait": (("PROCORE_MAX_RETRY_WAIT",), _number),
    "timeout": (("PROCORE_TIMEOUT",), _number),
    "max_concurrency": (("PROCORE_MAX_CONCURRENCY",), _integer),
    "refresh_leeway": (("PROCORE_REFRESH_LEEWAY",), _number),
    "user_agent": (("PROCORE_USER_AGENT",), _text),
    "retry_deadline": (("PROCORE_RETRY_DEADLINE",), _optional_number),
    "rate_limit_reserve": (("PROCORE_RATE_LIMIT_RESERVE",), _integer),
    "max_connections": (("PROCORE_MAX_CONNECTIONS",), _integer),
}


def config_from_env(
    environ: Mapping[str, str] | None = None, *, base: Config | None = None
) -> Config:
    """A ``Config`` whose fields come from ``environ`` (default ``os.environ``).

    Fields whose variable is unset or empty keep ``base``'s value (default: the
    process default, as ``configure()`` left it).  Raises ``ValueError`` naming the
    variable for a value of the wrong type or out of range, before any I/O.
    """
    from ._config import get_config

    env = os.environ if environ is None else environ
    config = get_config() if base is None else base
    changes: dict[str, Any] = {}
    for name, (variables, convert) in ENV_VARIABLES.items():
        found = next(((var, env[var]) for var in variables if env.get(var, "").strip()), None)
        if found is None:
            continue
        variable, text = found
        try:
            value = convert(text)
            config.replace(**{name: value})  # validate this field alone, to name it
        except ValueError as exc:
            reason = str(exc).removeprefix(f"Config.{name}").lstrip(": ")
            raise ValueError(f"{variable}={text!r}: {reason}") from None
        changes[name] = value
    return config.replace(**changes) if changes else config
