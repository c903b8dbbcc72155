"""``procore-async fleet worker|import|export``: bulk jobs as Temporal workflows.

``worker`` runs one worker process (start as many as the budget allows, on any
machines that reach Temporal, Procore and, for a shared token and budget, Redis);
``import`` and ``export`` start a workflow and follow it with a progress bar
until it ends (or, with ``--no-wait``, print its id and leave it running).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import anyio

from ._console import logging_to, stderr_console, write_line
from ._inputs import CommandError, UsageError, parse_query
from ._settings import load_settings

if TYPE_CHECKING:
    from ..contrib.temporal import ExportReport, ImportReport

__all__ = ["register", "temporal_options"]

_EPILOG = """\
examples:
  procore-async fleet worker --redis redis://127.0.0.1:6379/0 --client-credentials
  procore-async fleet import vendors.csv --company 8089
  procore-async fleet import projects.jsonl --company 8089 --path projects/sync
  procore-async fleet export 'projects/{project_id}/rfis' --company 8089 --project 1 --project 2
  procore-async fleet export vendors --company 8089 --company 562949953421313 --out ./vendors

Temporal: --temporal HOST:PORT [TEMPORAL_ADDRESS, 127.0.0.1:7233], --namespace
[TEMPORAL_NAMESPACE, default], --task-queue [procore-fleet], --tls; a hosted Temporal's
API key comes from TEMPORAL_API_KEY (implies --tls). Import rows must all have
"id" or "origin_id" (a retried shard is sent again; keys make that an update).
"""


def temporal_options() -> argparse.ArgumentParser:
    """Where Temporal is: every fleet command accepts these."""
    from ..contrib.temporal._types import DEFAULT_TASK_QUEUE

    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("temporal")
    group.add_argument("--temporal", metavar="HOST:PORT", help="[TEMPORAL_ADDRESS]")
    group.add_argument("--namespace", metavar="NAME", help="[TEMPORAL_NAMESPACE] (default)")
    group.add_argument("--task-queue", default=DEFAULT_TASK_QUEUE, metavar="NAME")
    group.add_argument(
        "--tls",
        action="store_true",
        help="connect with TLS (implied by TEMPORAL_API_KEY, as Temporal Cloud needs)",
    )
    return parent


def register(commands: Any, common: argparse.ArgumentParser, formatter: Any) -> None:
    fleet = commands.add_parser(
        "fleet",
        help="bulk imports and exports as durable Temporal workflows across workers",
        description="Run bulk imports and exports on a fleet of workers through Temporal: "
        "shards resume where a dead worker stopped, and the workers share one token and "
        "one rate budget.",
        epilog=_EPILOG,
        formatter_class=formatter,
    )
    sub = fleet.add_subparsers(dest="fleet_command", metavar="COMMAND", parser_class=type(fleet))
    sub.required = True
    temporal = temporal_options()
    worker = sub.add_parser(
        "worker",
        parents=[common, temporal],
        help="run a worker until interrupted",
        formatter_class=formatter,
    )
    worker.add_argument(
        "--redis",
        metavar="URL",
        help="share the token (RedisStore) and the rate budget (RedisRateLimiter) through "
        "this Redis [PROCORE_REDIS_URL]",
    )
    worker.add_argument("--rate-key", metavar="KEY", help="the shared budget's key (client id)")
    worker.add_argument("--activities", type=int, default=4, metavar="N", help="shards at once (4)")
    worker.add_argument(
        "--activities-per-second",
        type=float,
        metavar="X",
        help="Temporal's task-queue rate cap on starting shards, across every worker",
    )
    worker.set_defaults(handler=run_worker)

    imp = sub.add_parser(
        "import", parents=[temporal], help="import a CSV/JSONL file", formatter_class=formatter
    )
    imp.add_argument("file", help="a .csv or .jsonl file every worker can read")
    imp.add_argument("--company", required=True, type=int, metavar="ID")
    imp.add_argument("--path", default="vendors/sync", help="the sync endpoint (vendors/sync)")
    imp.add_argument("--method", choices=("PATCH", "POST"), default="PATCH", type=str.upper)
    imp.add_argument("--param", action="append", metavar="KEY=VALUE", help="a body key per batch")
    imp.add_argument("--shard-size", type=int, default=5000, metavar="N", help="rows per shard")
    imp.add_argument("--batch-size", type=int, default=500, metavar="N")
    imp.add_argument("--concurrency", type=int, default=4, metavar="N", help="batches per shard")
    imp.add_argument("--max-parallel", type=int, default=8, metavar="N", help="shards at once")
    _job_options(imp)
    imp.set_defaults(handler=run_import)

    exp = sub.add_parser(
        "export", parents=[temporal], help="export a collection to NDJSON files",
        formatter_class=formatter,
    )  # fmt: skip
    exp.add_argument("path", help="the collection, e.g. vendors or 'projects/{project_id}/rfis'")
    exp.add_argument("--company", required=True, type=int, action="append", metavar="ID")
    exp.add_argument("--project", type=int, action="append", metavar="ID", help="repeatable")
    exp.add_argument("--out", default="export", metavar="DIR", help="(./export)")
    exp.add_argument("--query", action="append", metavar="KEY=VALUE")
    exp.add_argument("--per-page", type=int, default=100, metavar="N")
    exp.add_argument("--pages-per-part", type=int, default=50, metavar="N")
    exp.add_argument("--max-parallel", type=int, default=8, metavar="N")
    _job_options(exp)
    exp.set_defaults(handler=run_export)


def _job_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workflow-id", metavar="ID", help="(procore-import-<uuid>)")
    parser.add_argument("--heartbeat-timeout", type=float, default=30.0, metavar="SECONDS")
    parser.add_argument("--no-wait", action="store_true", help="start it, print its id, exit")
    parser.add_argument("--json", action="store_true", help="print the report as JSON on stdout")


async def connect(args: argparse.Namespace) -> Any:
    from temporalio.client import Client

    address = args.temporal or os.environ.get("TEMPORAL_ADDRESS") or "127.0.0.1:7233"
    namespace = args.namespace or os.environ.get("TEMPORAL_NAMESPACE") or "default"
    # A key is a secret: only from the environment, never a flag ('ps' shows flags).
    api_key = os.environ.get("TEMPORAL_API_KEY") or None
    try:
        return await Client.connect(
            address, namespace=namespace, api_key=api_key, tls=bool(args.tls or api_key)
        )
    except RuntimeError as exc:
        raise UsageError(f"cannot reach Temporal at {address}: {exc}") from None


def run_worker(args: argparse.Namespace) -> int:
    from .. import AsyncClient

    if args.activities < 1:
        raise UsageError("--activities must be at least 1")
    settings = load_settings(args, os.environ)
    client_id, client_secret = settings.credentials()
    redis_url = args.redis or os.environ.get("PROCORE_REDIS_URL")

    async def serve() -> None:
        from ..contrib.temporal import create_worker

        temporal = await connect(args)
        redis: Any = None
        store: Any
        limiter: Any = None
        if redis_url:
            from redis.asyncio import Redis

            from .._ratelimit_redis import RedisRateLimiter
            from ..stores import RedisStore

            redis = Redis.from_url(redis_url)
            store = RedisStore(redis, key=settings.store_key)
            limiter = RedisRateLimiter(
                redis, key=args.rate_key or client_id, max_wait=settings.config.max_retry_wait
            )
        else:
            store = settings.token_store()
        grant: Literal["refresh_token", "client_credentials"] = (
            "client_credentials" if settings.client_credentials else "refresh_token"
        )
        try:
            async with AsyncClient(
                client_id, client_secret, store, config=settings.config,
                grant_type=grant, rate_limiter=limiter,
            ) as client:  # fmt: skip
                worker = create_worker(
                    temporal,
                    client,
                    task_queue=args.task_queue,
                    max_concurrent_activities=args.activities,
                    activities_per_second=args.activities_per_second,
                )
                async with anyio.create_task_group() as tg:
                    tg.start_soon(_stop_on_signal, worker, tg.cancel_scope)
                    stderr_console().print(
                        f"fleet worker on {args.task_queue!r} ({args.activities} shards at once)",
                        highlight=False,
                    )
                    await worker.run()
                    tg.cancel_scope.cancel()
        finally:
            if redis is not None:
                await redis.aclose()

    with logging_to(stderr_console(), args.verbose):
        anyio.run(serve)
    return 0


async def _stop_on_signal(worker: Any, scope: anyio.CancelScope) -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            await worker.shutdown()
            return


def _params(values: Sequence[str] | None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for value in values or ():
        key, sep, text = value.partition("=")
        if not sep or not key or key == "updates":
            raise UsageError(f"--param expects KEY=VALUE (not updates), not {value!r}")
        try:
            params[key] = json.loads(text)
        except ValueError:
            params[key] = text
    return params


def run_import(args: argparse.Namespace) -> int:
    from ..contrib.temporal import ImportSpec, start_import

    source = Path(args.file).expanduser().resolve()
    if not source.is_file():
        raise UsageError(f"{args.file}: no such file")
    for name, low, high in (("shard_size", 1, 10**9), ("batch_size", 1, 1000)):
        if not low <= getattr(args, name) <= high:
            raise UsageError(f"--{name.replace('_', '-')} must be in {low}..{high}")
    params = {"company_id": args.company, **_params(args.param)}
    spec = ImportSpec(
        path=args.path, location=str(source), company_id=args.company, body=params,
        method=args.method, shard_size=args.shard_size, batch_size=args.batch_size,
        concurrency=args.concurrency, max_parallel=args.max_parallel,
        heartbeat_timeout=args.heartbeat_timeout,
    )  # fmt: skip

    async def start() -> Any:
        temporal = await connect(args)
        handle = await start_import(
            temporal, spec, task_queue=args.task_queue, workflow_id=args.workflow_id
        )
        return await _follow(args, temporal, handle, f"import {source.name}")

    report = anyio.run(start)
    if report is None:
        return 0
    _print_import(args, report)
    return 1 if report.rejected or report.failed else 0


def run_export(args: argparse.Namespace) -> int:
    from ..contrib.temporal import ExportScope, ExportSpec, start_export

    if args.project and len(args.company) != 1:
        raise UsageError("--project needs exactly one --company (the projects' company)")
    scopes = (
        [ExportScope(args.company[0], project) for project in args.project]
        if args.project
        else [ExportScope(company) for company in args.company]
    )
    spec = ExportSpec(
        path=args.path, out_dir=str(Path(args.out).expanduser().resolve()), scopes=scopes,
        query=parse_query(args.query) or {}, per_page=args.per_page,
        pages_per_part=args.pages_per_part, max_parallel=args.max_parallel,
        heartbeat_timeout=args.heartbeat_timeout,
    )  # fmt: skip

    async def start() -> Any:
        temporal = await connect(args)
        handle = await start_export(
            temporal, spec, task_queue=args.task_queue, workflow_id=args.workflow_id
        )
        return await _follow(args, temporal, handle, f"export {args.path}")

    report = anyio.run(start)
    if report is None:
        return 0
    _print_export(args, report)
    return 0


async def _follow(args: argparse.Namespace, temporal: Any, handle: Any, label: str) -> Any:
    """Show a progress bar until the workflow ends; its result (None with --no-wait)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from ..contrib.temporal import progress

    console = stderr_console()
    if args.no_wait:
        write_line(handle.id)
        return None
    bar = Progress(
        TextColumn(f"[bold]{label}[/]"),
        BarColumn(bar_width=30),
        TextColumn("{task.completed:,.0f}/{task.total:,.0f}"),
        TextColumn("[dim]{task.fields[shards]}[/]"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    task = bar.add_task(label, total=None, shards="planning")
    result: list[Any] = []

    async def wait() -> None:
        from temporalio.client import WorkflowFailureError

        try:
            result.append(await handle.result())
        except WorkflowFailureError as exc:
            cause = exc.cause
            result.append(CommandError(f"workflow {handle.id} failed: {cause or exc}"))
        tg.cancel_scope.cancel()

    with bar:
        async with anyio.create_task_group() as tg:
            tg.start_soon(wait)
            while True:
                try:
                    now = await progress(temporal, handle)
                except Exception:  # the workflow may end between polls
                    now = None
                if now is not None:
                    shards = f"{now.finished}/{now.shards} parts, {now.running} running"
                    bar.update(task, completed=now.done, total=now.total, shards=shards)
                await anyio.sleep(0.5)
    if isinstance(result[0], CommandError):
        raise result[0]
    return result[0]


def _print_import(args: argparse.Namespace, report: ImportReport) -> None:
    import dataclasses

    if args.json:
        write_line(json.dumps(dataclasses.asdict(report)))
    console = stderr_console()
    ok = not (report.rejected or report.failed)
    console.print(
        f"{'✓' if ok else '✗'} {report.total:,} rows: {report.created:,} created, "
        f"{report.updated:,} updated, {report.rejected:,} rejected, {report.failed:,} failed "
        f"({report.shards} shards, {report.retried_shards} retried)",
        highlight=False,
    )
    for problem in (report.rejections + report.failures)[:5]:
        console.print(f"  row {problem.row} ({problem.key}): {problem.reason}", highlight=False)


def _print_export(args: argparse.Namespace, report: ExportReport) -> None:
    import dataclasses

    if args.json:
        write_line(json.dumps(dataclasses.asdict(report)))
    stderr_console().print(
        f"✓ {report.items:,} items in {len(report.files)} files "
        f"({report.resumed_parts} parts resumed)",
        highlight=False,
    )
