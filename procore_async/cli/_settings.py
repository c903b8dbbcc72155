"""The command line's settings: a flag wins over a ``PROCORE_*`` variable, which wins over
the default.

Every value remembers where it came from, so an error can say "PROCORE_TIMEOUT must
be ..." rather than leave the user hunting for which of three places is wrong, and
``doctor`` can show the source of each value.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .._client import AsyncClient
from .._config import Config
from .._ratelimit import RateLimiter
from ..stores._file import FileStore
from ._inputs import UsageError

__all__ = [
    "ENVIRONMENT",
    "Setting",
    "Settings",
    "add_api_version_option",
    "config_problems",
    "default_store_path",
    "gather",
    "load_settings",
]

#: Each setting: its ``argparse`` destination, its flag and its environment variable.
ENVIRONMENT: dict[str, tuple[str, str]] = {
    "client_id": ("--client-id", "PROCORE_CLIENT_ID"),
    "client_secret": ("--client-secret", "PROCORE_CLIENT_SECRET"),
    "host": ("--host", "PROCORE_HOST"),
    "login_host": ("--login-host", "PROCORE_LOGIN_HOST"),
    "default_version": ("--api-version", "PROCORE_VERSION"),
    "company_id": ("--company-id", "PROCORE_COMPANY_ID"),
    "store": ("--store", "PROCORE_TOKEN_STORE"),
    "timeout": ("--timeout", "PROCORE_TIMEOUT"),
    "max_retries": ("--max-retries", "PROCORE_MAX_RETRIES"),
}

# Config fields the command line sets, and how their text becomes a value.
_CONFIG_FIELDS: dict[str, Callable[[str], Any]] = {
    "host": str,
    "login_host": str,
    "default_version": str,
    "timeout": float,
    "max_retries": int,
}
_KIND = {float: "a number", int: "an integer", str: "text"}


class _OldVersionFlag(argparse.Action):
    """``--version VERSION`` on a command: the first release's spelling of ``--api-version``.

    ``procore-async --version`` prints the program's version, so one flag meant two
    things; the old spelling keeps working and says once what to type instead.
    """

    def __call__(self, parser: Any, namespace: Any, values: Any, option: Any = None) -> None:
        print(
            f"{parser.prog}: note: --version VERSION is now --api-version VERSION "
            "(the old spelling still works)",
            file=sys.stderr,
        )
        setattr(namespace, self.dest, values)


def add_api_version_option(parser: argparse.ArgumentParser, help: str) -> None:
    """``--api-version`` (and the hidden old ``--version``) setting the API version."""
    parser.add_argument(
        "--api-version", dest="default_version", metavar="VERSION", help=f"{help} [PROCORE_VERSION]"
    )
    parser.add_argument(
        "--version", dest="default_version", action=_OldVersionFlag, help=argparse.SUPPRESS
    )


@dataclass(frozen=True, slots=True)
class Setting:
    """One value as given, and where: a flag, an environment variable, or ``default``."""

    name: str
    text: str | None
    origin: str


def default_store_path(environ: Mapping[str, str]) -> Path:
    """``$XDG_CONFIG_HOME/procore-async/tokens.json``, else ``~/.config/procore-async/...``.

    A relative ``XDG_CONFIG_HOME`` is ignored, as the XDG spec says.
    """
    base = environ.get("XDG_CONFIG_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".config"
    return root / "procore-async" / "tokens.json"


def gather(args: argparse.Namespace, environ: Mapping[str, str]) -> dict[str, Setting]:
    """Every setting's text and origin; nothing is validated yet."""
    found: dict[str, Setting] = {}
    for name, (flag, variable) in ENVIRONMENT.items():
        value = getattr(args, name, None)
        if value is not None:
            found[name] = Setting(name, str(value), flag)
        elif environ.get(variable):
            found[name] = Setting(name, environ[variable], variable)
        else:
            found[name] = Setting(name, None, "default")
    if found["store"].text is None:
        found["store"] = Setting("store", str(default_store_path(environ)), "default")
    return found


def _convert(setting: Setting) -> Any:
    convert = _CONFIG_FIELDS[setting.name]
    assert setting.text is not None
    try:
        return convert(setting.text)
    except ValueError:
        kind = _KIND[convert]  # type: ignore[index]
        raise ValueError(f"must be {kind}, not {setting.text!r}") from None


def config_problems(found: Mapping[str, Setting]) -> dict[str, str]:
    """For each setting that is wrong, why; the others are not mentioned."""
    problems: dict[str, str] = {}
    company = found["company_id"].text
    if company is not None and not company.isdigit():
        problems["company_id"] = f"must be a numeric company id, not {company!r}"
    for name in _CONFIG_FIELDS:
        setting = found[name]
        if setting.text is None:
            continue
        try:
            Config(**{name: _convert(setting)})
        except ValueError as exc:
            problems[name] = str(exc).removeprefix(f"Config.{name}").lstrip(": ")
            continue
        if name in ("host", "login_host") and not _secure(setting.text):
            problems[name] = (
                f"must be an https:// URL, not {setting.text!r}: plain http would send the "
                "token and the client secret in the clear (it is allowed for a loopback "
                "host, such as a local fake-server)"
            )
    return problems


def _secure(url: str) -> bool:
    """https, or http to this machine only (127.0.0.0/8, ::1, localhost)."""
    parts = urlsplit(url)
    if parts.scheme.lower() == "https":
        return True
    host = (parts.hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class Settings:
    """What a command needs to build a client: credentials, token file, Config."""

    client_id: str | None
    client_secret: str | None
    company_id: str | None
    store_path: Path
    config: Config
    client_credentials: bool = False

    def credentials(self) -> tuple[str, str]:
        """The app's id and secret, or a usage error saying how to provide them."""
        missing = [
            f"{ENVIRONMENT[name][1]} (or {ENVIRONMENT[name][0]})"
            for name in ("client_id", "client_secret")
            if not getattr(self, name)
        ]
        if missing:
            raise UsageError(f"set {' and '.join(missing)}")
        assert self.client_id is not None and self.client_secret is not None
        return self.client_id, self.client_secret

    @property
    def store_key(self) -> str:
        """Tokens are kept per API host (a sandbox token is useless in production), and
        the app's own client-credentials token apart from the signed-in user's."""
        if self.client_credentials:
            return f"{self.config.host} app:{self.client_id}"
        return self.config.host

    def token_store(self) -> FileStore:
        """The token file, its directory created private (0700) if it does not exist yet.

        Called before the event loop starts, so the blocking ``mkdir`` blocks nobody.
        """
        self.store_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        return FileStore(self.store_path, key=self.store_key)

    def client(self, *, rate_limiter: RateLimiter | None = None) -> AsyncClient:
        """A client for this command: the user's saved token, or the app's own."""
        client_id, client_secret = self.credentials()
        return AsyncClient(
            client_id,
            client_secret,
            self.token_store(),
            config=self.config,
            grant_type="client_credentials" if self.client_credentials else "refresh_token",
            rate_limiter=rate_limiter,
        )


def load_settings(
    args: argparse.Namespace, environ: Mapping[str, str], *, config: Config | None = None
) -> Settings:
    """Resolve and validate every setting; the first bad one is a :class:`UsageError`."""
    found = gather(args, environ)
    problems = config_problems(found)
    for name, problem in problems.items():
        raise UsageError(f"{found[name].origin} {problem}")
    fields = {
        name: _convert(found[name]) for name in _CONFIG_FIELDS if found[name].text is not None
    }
    if config is None:
        try:  # every other Config field from its PROCORE_* variable (Config.from_env)
            config = Config.from_env(environ, base=Config())
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    base = config
    for name in ("host", "login_host"):  # also when set by an alias such as PROCORE_BASE_API_PATH
        if found[name].text is None and not _secure(getattr(base, name)):
            raise UsageError(f"{name} {getattr(base, name)!r} must be https (or a loopback host)")
    return Settings(
        client_id=found["client_id"].text,
        client_secret=found["client_secret"].text,
        company_id=found["company_id"].text,
        store_path=Path(found["store"].text or "").expanduser(),
        config=base.replace(**fields),
        client_credentials=bool(getattr(args, "client_credentials", False)),
    )
