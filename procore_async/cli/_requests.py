"""``get``/``post``/``put``/``patch``/``delete`` and ``paginate``: Procore from a shell.

The response body is the only thing on stdout (pretty JSON at a terminal, one
compact line in a pipe; NDJSON for ``paginate``, flushed item by item), so the
output pipes straight into ``jq`` or a file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import anyio

from ._console import logging_to, print_json, stderr_console, write_line
from ._inputs import UsageError, parse_body, parse_query
from ._settings import add_api_version_option, load_settings

__all__ = ["register"]

_VERB_EPILOG = {
    "get": """\
examples:
  procore-async get me
  procore-async get projects --company-id 8089 --query per_page=5 --query page=2
  procore-async get projects/12/rfis --company-id 8089 --api-version v1.1
  procore-async get "companies/8089/projects" --query '{"filters": {"active": true}}'
""",
    "post": """\
examples:
  procore-async post projects --company-id 8089 --body '{"project": {"name": "Tower"}}'
  procore-async post projects/12/rfis --company-id 8089 --body @rfi.json
  cat rfi.json | procore-async post projects/12/rfis --company-id 8089 --body @-
""",
    "put": """\
examples:
  procore-async put projects/12 --company-id 8089 --body '{"project": {"name": "Tower B"}}'
""",
    "patch": """\
examples:
  procore-async patch projects/12 --company-id 8089 --body '{"project": {"active": false}}'
  procore-async patch vendors/sync --company-id 8089 --body @updates.json
""",
    "delete": """\
examples:
  procore-async delete projects/12/rfis/34 --company-id 8089
""",
}

_STATUS_NOTE = """
Exit status: 0 on a 2xx response; 1 on an API error (printed on one line on stderr,
with the status and request id); 2 on a usage error.
"""

_PAGINATE_EPILOG = """\
examples:
  procore-async paginate projects --company-id 8089 > projects.ndjson
  procore-async paginate projects --company-id 8089 --per-page 1000 --max-items 5000
  procore-async paginate vendors --company-id 8089 --query company_id=8089 | jq -r .name

Items stream out as they arrive, one JSON object per line (NDJSON).
"""


def _add_request_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="path under /rest/VERSION/ (e.g. projects), or a full URL")
    add_api_version_option(parser, "API version: v1.0, v1.1, v2.0, vapid ... (v1.0)")
    parser.add_argument(
        "--query",
        action="append",
        metavar="K=V|JSON",
        help="query parameters: key=value (repeatable, ids[]=1 for lists) or a JSON object",
    )


def register(commands: Any, common: argparse.ArgumentParser, formatter: Any) -> None:
    for verb, epilog in _VERB_EPILOG.items():
        parser = commands.add_parser(
            verb,
            parents=[common],
            help=f"send one {verb.upper()} request and print the JSON response",
            description=f"Send one {verb.upper()} request to the Procore API; the response "
            "body goes to stdout.",
            epilog=epilog + _STATUS_NOTE,
            formatter_class=formatter,
        )
        _add_request_options(parser)
        if verb in ("post", "put", "patch"):
            parser.add_argument(
                "--body", metavar="JSON|@FILE", help="request body: JSON, @file, or @- for stdin"
            )
        parser.add_argument(
            "--idempotency-token",
            metavar="TOKEN",
            help="sent as Idempotency-Token; Procore honours it only on the 5 operations "
            "that declare it, where it makes a POST/PATCH retryable (ignored elsewhere)",
        )
        parser.set_defaults(handler=run_request, verb=verb)

    parser = commands.add_parser(
        "paginate",
        parents=[common],
        help="stream every item of a paginated collection as NDJSON",
        description="Fetch every page of a collection (following Link headers) and write "
        "each item as one JSON line on stdout.",
        epilog=_PAGINATE_EPILOG,
        formatter_class=formatter,
    )
    _add_request_options(parser)
    parser.add_argument("--per-page", type=int, metavar="N", help="items per request")
    parser.add_argument("--max-items", type=int, metavar="N", help="stop after N items")
    parser.add_argument(
        "--concurrency", type=int, metavar="N", help="pages fetched ahead at once (8)"
    )
    parser.set_defaults(handler=run_paginate)


def run_request(args: argparse.Namespace) -> int:
    settings = load_settings(args, os.environ)
    query = parse_query(args.query)
    body = parse_body(getattr(args, "body", None))
    verb: str = args.verb

    async def send() -> Any:
        async with settings.client() as client:
            kwargs: dict[str, Any] = {
                "company_id": settings.company_id,
                "idempotency_token": args.idempotency_token,
            }
            if verb in ("post", "put", "patch"):
                path = args.path if query is None else _with_query(args.path, query)
                response = await getattr(client, verb)(path, body=body, **kwargs)
            else:
                response = await getattr(client, verb)(args.path, query=query, **kwargs)
            return response.body

    with logging_to(stderr_console(), args.verbose):
        data = anyio.run(send)
    if isinstance(data, str):
        write_line(data)
    else:
        print_json(data)
    return 0


def _with_query(path: str, query: dict[str, Any]) -> str:
    """Writes take no ``query=``; the encoded query rides on the path instead."""
    from .._urls import encode_query

    encoded = encode_query(query)
    return f"{path}{'&' if '?' in path else '?'}{encoded}" if encoded else path


def run_paginate(args: argparse.Namespace) -> int:
    for name, least in (("per_page", 1), ("max_items", 0), ("concurrency", 1)):
        value = getattr(args, name)
        if value is not None and value < least:
            raise UsageError(f"--{name.replace('_', '-')} must be at least {least}")
    settings = load_settings(args, os.environ)
    query = parse_query(args.query)

    async def stream() -> None:
        async with settings.client() as client:
            async for item in client.paginate(
                args.path,
                query=query,
                company_id=settings.company_id,
                per_page=args.per_page,
                max_items=args.max_items,
                concurrency=args.concurrency,
            ):
                write_line(json.dumps(item, ensure_ascii=False))

    try:
        with logging_to(stderr_console(), args.verbose):
            anyio.run(stream)
    except BrokenPipeError:
        # The reader went away (``| head``): that is how pipes end, not an error.
        # Point stdout at /dev/null so the interpreter's final flush stays quiet.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return 0
