"""``procore-async fake-server``: FakeProcore over real HTTP, for trying things from a shell.

It prints the environment to point the other commands (or any Procore client) at it,
so the first minute with the library needs no Procore account.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..testing._server import DEFAULT_PORT
from ._console import stderr_console
from ._inputs import UsageError

__all__ = ["build_fake", "register"]

_EPILOG = """\
examples:
  procore-async fake-server                       serve on http://127.0.0.1:8070
  procore-async fake-server --port 9000 --fault-rate 0.1 --spike-limit 25
  procore-async fake-server --redirect-uri http://127.0.0.1:8000/callback
                                                  sign users in to an app on :8000

then, in another shell (the fake's app credentials are printed at start-up):
  export PROCORE_HOST=http://127.0.0.1:8070 PROCORE_LOGIN_HOST=http://127.0.0.1:8070
  export PROCORE_CLIENT_ID=fake-client-id PROCORE_CLIENT_SECRET=fake-client-secret
  procore-async get companies --client-credentials --company-id 8089
"""


def register(commands: Any, common: argparse.ArgumentParser, formatter: Any) -> None:
    parser = commands.add_parser(
        "fake-server",
        help="serve a fake Procore on a local port (needs uvicorn)",
        description="Serve FakeProcore, an in-memory Procore, over HTTP until Ctrl-C.",
        epilog=_EPILOG,
        formatter_class=formatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port to bind ({DEFAULT_PORT})"
    )
    parser.add_argument(
        "--redirect-uri",
        metavar="URL",
        help="the registered app's redirect URI, where /oauth/authorize sends users back "
        "(http://127.0.0.1:8765/callback, the login command's)",
    )
    parser.add_argument(
        "--storage-port",
        type=int,
        metavar="PORT",
        help="port of the storage origin uploads and downloads go to (--port + 1)",
    )
    parser.add_argument(
        "--fault-rate", type=float, default=0.0, metavar="RATE", help="share of requests that fail"
    )
    parser.add_argument(
        "--spike-limit", type=int, metavar="N", help="requests per 10-second window (off)"
    )
    parser.add_argument("--seed", type=int, help="seed for faults, tokens and request ids")
    parser.add_argument(
        "--lenient",
        action="store_true",
        help="serve any collection on any path, not only Procore's catalog operations",
    )
    parser.set_defaults(handler=run)


def build_fake(args: argparse.Namespace) -> Any:
    """The FakeProcore the flags describe (bad values are a UsageError)."""
    from ..testing import FakeProcore

    redirect_uri = getattr(args, "redirect_uri", None)
    if redirect_uri and not redirect_uri.startswith(("http://", "https://")):
        raise UsageError(f"--redirect-uri must be an http(s) URL, not {redirect_uri!r}")
    extra = {"redirect_uri": redirect_uri} if redirect_uri else {}
    try:
        fake = FakeProcore(
            spike_limit=args.spike_limit, seed=args.seed, strict=not args.lenient, **extra
        )
        if args.fault_rate:
            fake.faults(error_rate=args.fault_rate, seed=args.seed)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return fake


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn  # noqa: F401
    except ImportError:
        raise UsageError("fake-server needs uvicorn: pip install 'procore-async[cli]'") from None
    from ..testing._server import run_server

    if not 1 <= args.port <= 65535:
        raise UsageError(f"--port must be in 1..65535, not {args.port}")
    storage_port = args.storage_port if args.storage_port is not None else args.port + 1
    if not 1 <= storage_port <= 65535 or storage_port == args.port:
        raise UsageError(f"--storage-port must be in 1..65535 and not --port, not {storage_port}")
    fake = build_fake(args)
    base = f"http://{args.host}:{args.port}"
    console = stderr_console()
    console.print(
        f"[bold]FakeProcore[/] on {base}, its storage on http://{args.host}:{storage_port}"
        "  (Ctrl-C stops it)"
    )
    console.print(
        f"  export PROCORE_HOST={base} PROCORE_LOGIN_HOST={base}\n"
        f"  export PROCORE_CLIENT_ID={fake.client_id} "
        f"PROCORE_CLIENT_SECRET={fake.client_secret}\n"
        f"  export PROCORE_COMPANY_ID={fake.company_id} PROCORE_REDIRECT_URI={fake.redirect_uri}\n"
        f"  (a second company: {fake.second_company_id})",
        highlight=False,
        soft_wrap=True,
    )
    try:
        run_server(fake, args.host, args.port, storage_port=storage_port)
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"procore-async: error: cannot serve on {base}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0
