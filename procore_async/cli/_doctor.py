"""``procore-async doctor``: is this machine set up to talk to Procore?  Checked offline.

Every check is local (settings, the token file and the token in it), so doctor works
on a plane and never spends rate budget or a single-use refresh token.  Secrets are
never shown, only whether they are set and where from.
"""

from __future__ import annotations

import argparse
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .._config import Config
from .._errors import TokenStoreError
from ..auth._token import Token
from ..stores._file import FileStore
from ._settings import ENVIRONMENT, Setting, config_problems, gather

__all__ = ["Check", "register", "run_checks"]

_EPILOG = """\
examples:
  procore-async doctor
  procore-async doctor --store ./tokens.json --host https://sandbox.procore.com
  procore-async doctor --client-credentials     no saved token needed

Exit status: 0 when nothing failed (warnings allowed), 1 otherwise.
"""

OK, WARN, FAIL = "ok", "warn", "fail"
_MARK = {OK: "[green]✓[/]", WARN: "[yellow]![/]", FAIL: "[red]✗[/]"}


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: str
    detail: str


def register(commands: Any, common: argparse.ArgumentParser, formatter: Any) -> None:
    parser = commands.add_parser(
        "doctor",
        parents=[common],
        help="check settings and the saved token, without network access",
        description="Check the configuration (flags and PROCORE_* variables), the token "
        "file and the token in it. Nothing is sent over the network.",
        epilog=_EPILOG,
        formatter_class=formatter,
    )
    parser.set_defaults(handler=run)


def _setting_checks(found: dict[str, Setting]) -> list[Check]:
    problems = config_problems(found)
    checks = []
    for name in ("client_id", "client_secret"):
        setting = found[name]
        label = name.replace("_", " ")
        if setting.text:
            shown = setting.text if name == "client_id" else "set (hidden)"
            checks.append(Check(label, OK, f"{shown}  (from {setting.origin})"))
        else:
            flag, variable = ENVIRONMENT[name]
            checks.append(Check(label, FAIL, f"missing: set {variable} or pass {flag}"))
    defaults = Config()
    for name in ("host", "login_host", "default_version", "timeout", "max_retries", "company_id"):
        setting = found[name]
        label = {"default_version": "api version", "login_host": "login host"}.get(
            name, name.replace("_", " ")
        )
        if name in problems:
            checks.append(Check(label, FAIL, f"{setting.origin} {problems[name]}"))
        elif setting.text is not None:
            checks.append(Check(label, OK, f"{setting.text}  (from {setting.origin})"))
        elif name == "company_id":
            checks.append(Check(label, WARN, "not set: most calls need --company-id"))
        else:
            checks.append(Check(label, OK, f"{getattr(defaults, name)}  (default)"))
    return checks


def _store_checks(path: Path, key: str, leeway: float, client_credentials: bool) -> list[Check]:
    label = "token file"
    try:
        info = path.stat()
    except FileNotFoundError:
        if client_credentials:
            return [Check(label, OK, f"{path} will be created on first use")]
        return [Check(label, FAIL, f"{path} does not exist: run 'procore-async login'")]
    except OSError as exc:
        return [Check(label, FAIL, f"{path}: {exc.strerror}")]
    checks = [Check(label, OK, str(path))]
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        checks.append(
            Check("file mode", FAIL, f"{mode:04o}: others can read it; run chmod 600 {path}")
        )
    else:
        checks.append(Check("file mode", OK, f"{mode:04o}"))
    try:
        token = anyio.run(FileStore(path, key=key).fetch)
    except (TokenStoreError, OSError) as exc:
        return [*checks, Check("token", FAIL, str(getattr(exc, "strerror", None) or exc))]
    checks.append(_token_check(token, key, leeway, client_credentials))
    return checks


def _token_check(token: Token | None, key: str, leeway: float, client_credentials: bool) -> Check:
    if token is None or token.invalid:
        if client_credentials:
            return Check("token", OK, f"none for {key}; one is obtained on first use")
        return Check("token", FAIL, f"none for {key}: run 'procore-async login'")
    left = token.expires_in(time.time())
    renewable = bool(token.refresh_token) or client_credentials
    if left is None:
        return Check("token", WARN, "no expiry recorded; it is renewed before first use")
    if left <= 0:
        if renewable:
            return Check("token", WARN, f"expired {_span(-left)} ago; renewed on next use")
        return Check("token", FAIL, "expired and has no refresh token: run 'procore-async login'")
    if left <= leeway:
        return Check("token", WARN, f"expires in {_span(left)}; renewed on next use")
    note = "refresh token present" if token.refresh_token else "no refresh token"
    return Check("token", OK, f"valid for {_span(left)}; {note}")


def _span(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} days"


def run_checks(args: argparse.Namespace, environ: dict[str, str]) -> list[Check]:
    """Every check, in the order shown; no network, nothing written."""
    found = gather(args, environ)
    checks = _setting_checks(found)
    host = found["host"].text if "host" not in config_problems(found) else None
    key = (host or Config().host).rstrip("/")
    path = Path(found["store"].text or "").expanduser()
    origin = found["store"].origin
    where = "default" if origin == "default" else f"from {origin}"
    checks.append(Check("token store", OK, f"key {key}  ({where})"))
    checks.extend(_store_checks(path, key, Config().refresh_leeway, bool(args.client_credentials)))
    return checks


def run(args: argparse.Namespace) -> int:
    checks = run_checks(args, dict(os.environ))
    table = Table(title="procore-async doctor", title_justify="left", box=None, show_header=False)
    table.add_column(no_wrap=True)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for check in checks:
        table.add_row(_MARK[check.status], check.name, escape(check.detail))
    console = Console(highlight=False)
    console.print(table)
    failed = sum(check.status == FAIL for check in checks)
    warned = sum(check.status == WARN for check in checks)
    if failed:
        console.print(f"[red]{failed} problem{'s' if failed > 1 else ''}[/] to fix")
    else:
        console.print(f"[green]all good[/]{f' ({warned} warning{_s(warned)})' if warned else ''}")
    return 1 if failed else 0


def _s(count: int) -> str:
    return "" if count == 1 else "s"
