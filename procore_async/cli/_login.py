"""``procore-async login``: the authorization-code flow, ending with a saved token.

By default the browser comes back to a listener on 127.0.0.1 (RFC 8252), so the user
clicks "Allow" and is done.  Where no browser can reach this machine (SSH, a
container), ``--paste`` skips the listener: the user opens the URL anywhere and pastes
the code, or the whole URL the browser ended on, back in.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import webbrowser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio

from .. import AsyncClient
from .._errors import Error, OAuthError
from ._console import logging_to, stderr_console
from ._inputs import CommandError, UsageError
from ._loopback import CallbackListener
from ._settings import Settings, load_settings

__all__ = ["OOB_REDIRECT_URI", "parse_pasted", "register"]

#: Procore's out-of-band redirect: the code is shown on a page for the user to copy.
OOB_REDIRECT_URI = "urn:ietf:wg:oauth:2.0:oob"
DEFAULT_PORT = 8765

_EPILOG = """\
examples:
  procore-async login                      opens the browser; http://127.0.0.1:8765/callback
                                           must be a redirect URI of your Procore app
  procore-async login --no-browser         print the URL instead of opening it
  procore-async login --paste              paste the code back (uses the out-of-band URI)
  procore-async login --store ./tokens.json --host https://sandbox.procore.com \\
                      --login-host https://login-sandbox.procore.com

The token is saved (mode 0600) under the API host's name, so sandbox and production
tokens live side by side in one file.
"""


def register(commands: Any, common: argparse.ArgumentParser, formatter: Any) -> None:
    parser = commands.add_parser(
        "login",
        parents=[common],
        help="sign in with the browser (authorization code) and save the token",
        description="Run Procore's OAuth authorization-code flow and save the user's token "
        "to the token file, for every later command.",
        epilog=_EPILOG,
        formatter_class=formatter,
    )
    parser.add_argument(
        "--no-browser", action="store_true", help="print the URL; do not open a browser"
    )
    parser.add_argument(
        "--paste", action="store_true", help="paste the code instead of listening for it"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"local port for the redirect ({DEFAULT_PORT}; 0: any free port)",
    )
    parser.add_argument(
        "--redirect-uri", metavar="URI", help="the redirect URI registered for your app"
    )
    parser.add_argument(
        "--wait", type=float, default=300.0, metavar="SECONDS", help="give up after (300)"
    )
    parser.set_defaults(handler=run)


def parse_pasted(text: str, state: str) -> str:
    """The code from what the user pasted: the bare code, or the URL they landed on."""
    text = text.strip()
    if not text:
        raise UsageError("no code was pasted")
    if "code=" not in text:
        return text
    params = parse_qs(urlsplit(text).query or text)
    if "error" in params:
        raise UsageError(f"the pasted URL says the sign-in failed: {params['error'][0]}")
    if params.get("state", [state])[0] != state:
        raise UsageError("the pasted URL belongs to another sign-in (state does not match)")
    codes = params.get("code")
    if not codes or not codes[0]:
        raise UsageError("the pasted URL has no code")
    return codes[0]


async def _open_browser(url: str) -> None:
    """Best effort: no browser (a server, a container) is fine, the URL is on screen.

    A console browser (lynx, w3m) blocks ``webbrowser.open`` until the user quits it,
    so the call runs in a thread that a finished sign-in abandons.
    """
    try:
        await anyio.to_thread.run_sync(webbrowser.open, url, abandon_on_cancel=True)
    except Exception:  # webbrowser raises whatever its launcher raises
        pass


async def _login(args: argparse.Namespace, settings: Settings, client: AsyncClient) -> str:
    console = stderr_console()
    state = secrets.token_urlsafe(24)
    if args.paste:
        redirect_uri = args.redirect_uri or OOB_REDIRECT_URI
        url = client.authorization_url(redirect_uri, state)
        console.print("Open this URL, sign in and allow access:", highlight=False)
        console.print(f"  {url}", highlight=False, soft_wrap=True)
        if not args.no_browser:
            await _open_browser(url)
        console.print("Paste the code (or the whole URL you ended on): ", end="")
        pasted = await anyio.to_thread.run_sync(sys.stdin.readline)
        if not sys.stdin.isatty():
            console.print()  # the piped answer was not echoed: end the prompt's line
        code = parse_pasted(pasted, state)
    else:
        try:
            listener = await CallbackListener.open(args.port)
        except OSError as exc:
            raise UsageError(
                f"cannot listen on 127.0.0.1:{args.port} ({exc.strerror or exc}); "
                "try --port 0 or --paste"
            ) from None
        redirect_uri = args.redirect_uri or listener.redirect_uri
        url = client.authorization_url(redirect_uri, state)
        verb = "Open" if args.no_browser else "Opening"
        console.print(f"{verb} this URL to sign in (waiting on {listener.redirect_uri}):")
        console.print(f"  {url}", highlight=False, soft_wrap=True)
        outcome: str | OAuthError | None = None
        # The listener serves while the browser opens: the redirect may come at once.
        async with anyio.create_task_group() as tg:
            if not args.no_browser:
                tg.start_soon(_open_browser, url)
            with anyio.move_on_after(args.wait):
                try:
                    outcome = await listener.wait(state)
                except OAuthError as exc:  # raised out here, not inside the task group
                    outcome = exc
            tg.cancel_scope.cancel()
        if isinstance(outcome, OAuthError):
            raise outcome
        if outcome is None:
            raise CommandError(f"no sign-in arrived within {args.wait:g} s")
        code = outcome
    token = await client.exchange_code(code, redirect_uri)
    who = ""
    try:
        me = (await client.get("me")).body
        if isinstance(me, dict) and me.get("name"):
            who = f" as {me['name']}" + (f" <{me['login']}>" if me.get("login") else "")
    except Error:
        pass  # the token is saved; who it belongs to is a courtesy
    left = token.expires_in()
    lifetime = f", valid for {int(left // 60)} min" if left is not None else ""
    return f"signed in{who}; token saved to {settings.store_path}{lifetime}"


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be in 0..65535, not {args.port}")
    if args.wait <= 0:
        raise UsageError("--wait must be positive")
    settings = load_settings(args, os.environ)
    client_id, client_secret = settings.credentials()
    store = settings.token_store()
    console = stderr_console()

    async def login() -> str:
        async with AsyncClient(client_id, client_secret, store, config=settings.config) as client:
            return await _login(args, settings, client)

    with logging_to(console, args.verbose):
        message = anyio.run(login)
    console.print(f"[green]✓[/] {message}", highlight=False, soft_wrap=True)
    return 0
