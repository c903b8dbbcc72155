"""``procore-async webhooks list|ensure|deliveries`` and ``procore-async listen``.

The hook's secret (the ``Authorization`` value Procore echoes to the receiver) is read
from an environment variable, never a flag: flags show in ``ps``.  ``listen`` serves a
:class:`~procore_async.webhooks.WebhookReceiver` that prints every event as one JSON
line, for trying hooks against ``procore-async fake-server`` or a tunnel.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from typing import Any

import anyio

from ._console import logging_to, print_json, stderr_console, write_line
from ._inputs import UsageError
from ._settings import load_settings

__all__ = ["register"]

_SECRET_ENV = "PROCORE_WEBHOOK_AUTHORIZATION"

_EPILOG = f"""\
examples:
  procore-async webhooks list --company-id 8089
  export {_SECRET_ENV}="Bearer $(openssl rand -hex 24)"
  procore-async webhooks ensure --company-id 8089 --namespace acme-sync \\
      --url https://hooks.example.com/procore --trigger RFIs:create --trigger RFIs:update
  procore-async webhooks deliveries 700001 --company-id 8089 --status failed

The hook's Authorization header comes from ${_SECRET_ENV} (never a flag).
"""

_LISTEN_EPILOG = f"""\
examples:
  procore-async listen --port 8001
  {_SECRET_ENV}="Bearer s3cret" procore-async listen --port 8001

Every event is printed as one JSON line on stdout; deliveries are taken on any path.
With ${_SECRET_ENV} set, a delivery without that Authorization header gets 401.
"""


def register(commands: Any, common: argparse.ArgumentParser, formatter: Any) -> None:
    parser = commands.add_parser(
        "webhooks",
        help="list, ensure and inspect Procore webhook hooks",
        description="Manage webhook hooks and triggers of a company or project.",
        epilog=_EPILOG,
        formatter_class=formatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, text in (
        ("list", "print the scope's hooks with their triggers"),
        ("ensure", "create or fix one hook and its triggers, idempotently"),
        ("deliveries", "print a hook's deliveries as NDJSON"),
    ):
        sub = actions.add_parser(name, parents=[common], help=text, description=text)
        sub.add_argument("--project-id", type=int, metavar="ID", help="project scope")
        sub.set_defaults(handler=run_webhooks)
    ensure = actions.choices["ensure"]
    ensure.add_argument("--namespace", required=True, help="your app's namespace (a-z 0-9 -)")
    ensure.add_argument("--url", required=True, help="the receiver's https URL")
    ensure.add_argument(
        "--trigger",
        action="append",
        required=True,
        metavar="RESOURCE:EVENT",
        help="e.g. RFIs:create (repeatable)",
    )
    ensure.add_argument("--payload-version", default="v4.0", help="v2.0, v3.0 or v4.0 (v4.0)")
    actions.choices["list"].add_argument("--namespace", help="only this namespace's hooks")
    deliveries = actions.choices["deliveries"]
    deliveries.add_argument("hook_id", type=int, help="the hook's id")
    deliveries.add_argument(
        "--status", help="delivered, failed, discarded, enqueued or retrying (all)"
    )

    listen = commands.add_parser(
        "listen",
        help="receive webhook deliveries and print each event (needs uvicorn)",
        description="Serve a webhook receiver that prints every event it gets.",
        epilog=_LISTEN_EPILOG,
        formatter_class=formatter,
    )
    listen.add_argument("--host", default="127.0.0.1", help="interface to bind (127.0.0.1)")
    listen.add_argument("--port", type=int, default=8001, help="port to bind (8001)")
    listen.set_defaults(handler=run_listen)


def _scope(args: argparse.Namespace, company: str | None) -> Any:
    from ..webhooks import Scope

    if company is None:
        raise UsageError("webhooks need --company-id (or PROCORE_COMPANY_ID)")
    try:
        return Scope(int(company), args.project_id)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _pairs(values: list[str]) -> list[tuple[str, str]]:
    pairs = []
    for value in values:
        resource, sep, event = value.rpartition(":")
        if not sep or not resource.strip() or not event.strip():
            raise UsageError(f"--trigger wants RESOURCE:EVENT (e.g. RFIs:create), not {value!r}")
        pairs.append((resource.strip(), event.strip()))
    return pairs


def _hook_json(hook: Any) -> dict[str, Any]:
    return {
        "id": hook.id,
        "namespace": hook.namespace,
        "destination_url": hook.destination_url,
        "payload_version": hook.payload_version,
        "status": hook.status,
    }


def run_webhooks(args: argparse.Namespace) -> int:
    settings = load_settings(args, os.environ)
    scope = _scope(args, settings.company_id)
    action: str = args.action
    pairs = _pairs(args.trigger) if action == "ensure" else []
    secret = os.environ.get(_SECRET_ENV)

    async def run() -> Any:
        async with settings.client() as client:
            hooks = client.webhooks
            if action == "list":
                found = []
                for hook in await hooks.hooks(scope, namespace=args.namespace):
                    triggers = await hooks.triggers(scope, hook.id)
                    found.append({**_hook_json(hook), "triggers": [list(t.key) for t in triggers]})
                return found
            if action == "ensure":
                result = await hooks.ensure(
                    scope,
                    namespace=args.namespace,
                    destination_url=args.url,
                    triggers=pairs,
                    headers={"Authorization": secret} if secret else None,
                    payload_version=args.payload_version,
                )
                return {
                    "hook": _hook_json(result.hook),
                    "changed": result.changed,
                    "created_hook": result.created_hook,
                    "updated_fields": list(result.updated_fields),
                    "deleted_hooks": [h.id for h in result.deleted_hooks],
                    "created_triggers": [list(t.key) for t in result.created_triggers],
                    "deleted_triggers": [list(t.key) for t in result.deleted_triggers],
                }
            async for delivery in hooks.deliveries(scope, args.hook_id, status=args.status):
                write_line(json.dumps(dict(delivery.raw), ensure_ascii=False))
            return None

    try:
        with logging_to(stderr_console(), args.verbose):
            data = anyio.run(run)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if data is not None:
        print_json(data)
    return 0


def run_listen(args: argparse.Namespace) -> int:
    try:
        import uvicorn  # noqa: F401
    except ImportError:
        raise UsageError("listen needs uvicorn: pip install 'procore-async[cli]'") from None
    from ..webhooks import WebhookEvent, WebhookReceiver, serve_receiver

    if not 1 <= args.port <= 65535:
        raise UsageError(f"--port must be in 1..65535, not {args.port}")
    secret = os.environ.get(_SECRET_ENV) or None
    receiver = WebhookReceiver(authorization=secret)

    @receiver.catch_all
    async def show(event: WebhookEvent) -> None:
        write_line(
            json.dumps(
                {
                    "id": event.id,
                    "resource_name": event.resource_name,
                    "event_type": event.event_type,
                    "resource_id": event.resource_id,
                    "company_id": event.company_id,
                    "project_id": event.project_id,
                    "timestamp": event.timestamp.isoformat(),
                    "payload_version": event.payload_version,
                }
            )
        )

    console = stderr_console()
    console.print(f"[bold]Listening[/] on http://{args.host}:{args.port}  (Ctrl-C stops it)")
    if secret is None:
        console.print(f"  no ${_SECRET_ENV}: every delivery is accepted (fine for trying it)")
    try:
        asyncio.run(serve_receiver(receiver, args.host, args.port, log_level="warning"))
    except KeyboardInterrupt:
        pass
    return 0
