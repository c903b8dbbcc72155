"""Argument parsing and dispatch for ``procore-async``, and the exit-status contract.

Exit status: 0 success; 1 the API or the data said no (a typed
:class:`procore_async.Error`, rejected rows, a failed check); 2 the command line
itself was wrong (bad flag, bad JSON, missing setting); 130 interrupted.  Every
failure is one line on stderr and never a traceback: a traceback is a bug report,
and these are not bugs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from .._errors import Error, MissingTokenError
from .._version import __version__
from . import _demo, _doctor, _files_cmd, _login, _requests, _serve, _sync_cmd, _webhooks_cmd
from ._console import PROG, error_line
from ._inputs import CommandError, UsageError

__all__ = ["build_parser", "run"]

_DESCRIPTION = """\
The Procore REST API from a shell, and a demo of procore-async's bulk import.

Settings come from flags, else PROCORE_* environment variables: PROCORE_CLIENT_ID,
PROCORE_CLIENT_SECRET, PROCORE_HOST, PROCORE_LOGIN_HOST, PROCORE_VERSION,
PROCORE_COMPANY_ID, PROCORE_TOKEN_STORE, PROCORE_TIMEOUT, PROCORE_MAX_RETRIES, and
every other Config field as in Config.from_env() (PROCORE_RETRY_DEADLINE, ...).
"""

_EPILOG = """\
examples:
  procore-async demo                        bulk import 20,000 records into a local fake Procore
  procore-async login                       sign in; the token is saved for later commands
  procore-async get me                      one request, JSON on stdout
  procore-async paginate projects --company-id 42 > projects.ndjson
  procore-async sync projects/sync --company-id 42 --file projects.csv --rejected bad.jsonl
  procore-async upload plans.pdf --company-id 42 --project 7 --folder root
  procore-async download "$FILE_VERSION_URL" plans.pdf
  procore-async doctor                      check settings and the saved token, offline
  procore-async webhooks list --company-id 42   hooks and triggers; 'listen' prints events

'procore-async COMMAND --help' shows each command's options.
"""


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose mistakes become one-line :class:`UsageError` s."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)


def _common_options() -> argparse.ArgumentParser:
    """Options every command that talks to Procore (or checks its settings) accepts."""
    common = Parser(add_help=False)
    group = common.add_argument_group("connection (flags win over PROCORE_* variables)")
    group.add_argument("--client-id", metavar="ID", help="the app's client id [PROCORE_CLIENT_ID]")
    group.add_argument(
        "--client-secret",
        metavar="SECRET",
        help="the app's client secret; prefer the variable, flags show in 'ps' "
        "[PROCORE_CLIENT_SECRET]",
    )
    group.add_argument(
        "--host", metavar="URL", help="API base (https://api.procore.com) [PROCORE_HOST]"
    )
    group.add_argument(
        "--login-host",
        metavar="URL",
        help="OAuth base (https://login.procore.com) [PROCORE_LOGIN_HOST]",
    )
    group.add_argument(
        "--company-id", metavar="ID", help="sent as Procore-Company-Id [PROCORE_COMPANY_ID]"
    )
    group.add_argument(
        "--store",
        metavar="PATH",
        help="token file (~/.config/procore-async/tokens.json) [PROCORE_TOKEN_STORE]",
    )
    group.add_argument(
        "--timeout", metavar="SECONDS", help="per-request timeout (30) [PROCORE_TIMEOUT]"
    )
    group.add_argument(
        "--max-retries",
        metavar="N",
        help="retries after the first attempt (3) [PROCORE_MAX_RETRIES]",
    )
    group.add_argument(
        "--client-credentials",
        action="store_true",
        help="authenticate as the app itself (service account) instead of a signed-in user",
    )
    group.add_argument(
        "-v", "--verbose", action="count", default=0, help="log each request (-vv: debug)"
    )
    return common


def build_parser() -> Parser:
    parser = Parser(
        prog=PROG,
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=_formatter,
    )
    parser.add_argument("-V", "--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    common = _common_options()
    for module in (
        _demo,
        _login,
        _requests,
        _sync_cmd,
        _files_cmd,
        _doctor,
        _serve,
        _webhooks_cmd,
    ):
        module.register(commands, common, _formatter)
    # fleet (#16): `fleet worker|import|export` and `demo --fleet N`
    from . import _fleet, _fleet_demo

    _fleet.register(commands, common, _formatter)
    _fleet_demo.extend_demo(commands.choices["demo"])
    return parser


def run(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (``sys.argv[1:]`` if None), run the command, return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help(sys.stderr)
            return 2
        status: int = args.handler(args)
        return status
    except SystemExit as exc:  # --help and --version exit through argparse
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
    except UsageError as exc:
        error_line(str(exc))
        return 2
    except CommandError as exc:
        error_line(str(exc))
        return 1
    except Error as exc:
        if isinstance(exc, MissingTokenError):  # the library's advice is for Python code
            error_line(
                "MissingTokenError: no saved token for this host: run 'procore-async login' "
                "or pass --client-credentials"
            )
            return 1
        error_line(f"{type(exc).__name__}: {exc}")
        return 1
    except OSError as exc:  # a file we were told to read or write, the token directory
        where = f" {exc.filename}" if exc.filename else ""
        error_line(f"{exc.strerror or type(exc).__name__}:{where}" if exc.strerror else str(exc))
        return 1
    except KeyboardInterrupt:
        error_line("interrupted")
        return 130
