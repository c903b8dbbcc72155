"""``procore-async upload`` and ``procore-async download``: files with progress bars.

``upload`` sends a file with Procore's direct-upload flow and prints what Procore
knows it by (the upload, or with ``--folder`` the Documents file made from it) as JSON
on stdout; ``download`` streams a file Procore points at to disk, resuming a partial
one.  Both draw a progress bar (bytes, rate, time left) on stderr at a terminal.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from ._console import logging_to, print_json, stderr_console
from ._inputs import UsageError
from ._settings import load_settings

__all__ = ["register"]

_UPLOAD_EPILOG = """\
examples:
  procore-async upload site-photo.jpg --company-id 8089 --project 12
  procore-async upload specs.pdf --company-id 8089 --project 12 --folder 345
  procore-async upload model.ifc --company-id 8089 --project 12 --folder root --concurrency 8

Without --folder the upload is created (and ready to attach by its upload_id for a
week, or 24 hours for v2.1) and printed; with --folder it becomes a Documents file.
"""

_DOWNLOAD_EPILOG = """\
examples:
  procore-async download "https://storage.procore.com/...?sig=..." drawing.pdf
  procore-async download files/77/download plan.pdf --company-id 8089

URL is a download URL Procore returned (a file version's "url"), or an API path that
redirects to one.  A partial DEST.part from an interrupted run is resumed.
"""


def register(commands: Any, common: argparse.ArgumentParser, formatter: Any) -> None:
    up = commands.add_parser(
        "upload",
        parents=[common],
        help="upload a file (direct upload, segments in parallel)",
        description="Upload a file with Procore's direct-upload flow: segments go "
        "straight to storage, in parallel, verified by sha256.",
        epilog=_UPLOAD_EPILOG,
        formatter_class=formatter,
    )
    up.add_argument("file", help="the file to upload")
    up.add_argument("--project", required=True, metavar="ID", help="the project's id")
    up.add_argument(
        "--folder", metavar="ID", help="put the file in this Documents folder ('root': the top)"
    )
    up.add_argument("--name", metavar="NAME", help="the file's name in Procore (its own)")
    up.add_argument("--segment-size", type=int, metavar="BYTES", help="5 MiB..100 MiB (8 MiB)")
    up.add_argument("--concurrency", type=int, metavar="N", help="segments in flight (4)")
    up.set_defaults(handler=run_upload)
    down = commands.add_parser(
        "download",
        parents=[common],
        help="download a file Procore points at, resumable",
        description="Stream a file to DEST with Range resume and a checksum check.",
        epilog=_DOWNLOAD_EPILOG,
        formatter_class=formatter,
    )
    down.add_argument("url", metavar="URL", help="a download URL, or an API path redirecting")
    down.add_argument("dest", metavar="DEST", help="where to write the file")
    down.add_argument("--no-resume", action="store_true", help="start over, ignoring DEST.part")
    down.set_defaults(handler=run_download)


def _progress(console: Any, label: str) -> Progress:
    return Progress(
        TextColumn(f"[bold]{label}[/] {{task.description}}"),
        BarColumn(bar_width=30),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )


def _positive(name: str, value: int | None) -> None:
    if value is not None and value < 1:
        raise UsageError(f"--{name} must be positive, not {value}")


def run_upload(args: argparse.Namespace) -> int:
    if not str(args.project).isdigit():
        raise UsageError(f"--project must be a numeric project id, not {args.project!r}")
    folder = args.folder
    if folder is not None and folder != "root" and not folder.isdigit():
        raise UsageError(f"--folder must be a numeric folder id or 'root', not {folder!r}")
    _positive("concurrency", args.concurrency)
    settings = load_settings(args, os.environ)
    company_id = settings.company_id
    if company_id is None:
        raise UsageError("uploads need a company: set PROCORE_COMPANY_ID (or --company-id)")
    if not os.path.isfile(args.file):
        raise UsageError(f"no such file: {args.file}")
    console = stderr_console()
    progress = _progress(console, "upload")
    task = progress.add_task(os.path.basename(args.file), total=os.path.getsize(args.file))
    options: dict[str, Any] = {
        "segment_size": args.segment_size,
        "concurrency": args.concurrency,
        "on_progress": lambda done, _total: progress.update(task, completed=done),
    }

    async def send() -> Any:
        async with settings.client() as client:
            if folder is None:
                upload = await client.upload(
                    args.file,
                    company_id=company_id,
                    project_id=args.project,
                    filename=args.name,
                    **options,
                )
                return {
                    "upload_id": upload.id,
                    "file_name": upload.file_name,
                    "size": upload.size,
                    "sha256": upload.sha256,
                    "status": upload.status,
                    "api_version": upload.api_version,
                    "segments": upload.segments,
                }
            return await client.documents.upload_file(
                args.project,
                None if folder == "root" else folder,
                args.file,
                company_id=company_id,
                name=args.name,
                **options,
            )

    result = _run(console, args, progress, send)
    print_json(result)
    return 0


def run_download(args: argparse.Namespace) -> int:
    settings = load_settings(args, os.environ)
    console = stderr_console()
    progress = _progress(console, "download")
    task = progress.add_task(os.path.basename(args.dest), total=None)

    def advance(done: int, total: int | None) -> None:
        progress.update(task, completed=done, total=total)

    async def fetch() -> Any:
        async with settings.client() as client:
            return await client.download(
                args.url,
                args.dest,
                on_progress=advance,
                resume=not args.no_resume,
                company_id=settings.company_id,
            )

    done = _run(console, args, progress, fetch)
    check = "sha256 verified" if done.verified else "no checksum from Procore"
    resumed = f", resumed at {done.resumed_from:,} bytes" if done.resumed_from else ""
    console.print(f"✓ {done.path}: {done.size:,} bytes, {check}{resumed}", highlight=False)
    return 0


def _run(
    console: Any, args: argparse.Namespace, progress: Progress, work: Callable[[], Awaitable[Any]]
) -> Any:
    with logging_to(console, args.verbose), progress:
        return anyio.run(work)
