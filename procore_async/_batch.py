"""``sync``: bulk upserts in concurrent batches, merged in input order, nothing lost.

The gem sends one PATCH per batch, one after another, and a failing batch throws
away the results of every batch before it.  Here:

* ``body["updates"]`` (a list, any iterable, or an async iterable) is cut into
  batches *lazily*: a batch is pulled from the input only once a concurrency
  slot is free, so a generator over a million CSV rows never has more than about
  ``concurrency * batch_size`` rows out of it and not yet sent;
* the batches run concurrently behind an ``anyio.CapacityLimiter``, each sent
  through the client's pipeline (``Requester.build`` + ``send``: pacing, token
  refresh, retry policy included);
* replay safety comes from the items, not from a header: Procore declares
  ``Idempotency-Token`` on no sync endpoint, so it ignores it there.  A batch
  whose every item has ``id`` or ``origin_id`` is an upsert, safe to replay,
  and is retried like an idempotent call.  A batch with an unkeyed item is a
  create: after a failure that may have been applied (reply lost, timeout after
  sending, a 5xx other than a 503 asking for a wait) it is not resent, and is
  reported in ``SyncResult.failures`` with an :class:`OutcomeUnknownError`.
  Failures certainly not applied (refused before sending, 429, 503 with
  ``Retry-After``) are retried either way.  Every batch still carries its own
  ``Idempotency-Token`` (``<token>-<index>``): harmless, and useful wherever
  Procore honours it;
* a batch that still fails after its retries is recorded and the others go on;
  the bodies of the successful batches are merged in input order like the gem
  merges them (lists concatenate, numbers add, strings concatenate, dicts merge).
"""

from __future__ import annotations

import dataclasses
import inspect
import time
import uuid
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sized,
)
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc

from ._errors import Error, InvalidRequestError, OutcomeUnknownError, SyncError, may_have_applied
from ._merge import merge_into
from ._response import Response
from ._urls import redact_url

if TYPE_CHECKING:
    from ._request import Requester

__all__ = [
    "MAX_BATCH_SIZE",
    "SYNC_METHODS",
    "BatchFailure",
    "SyncResult",
    "is_keyed",
    "merge_into",
    "run_sync",
]

#: Procore rejects more than 1000 updates in one sync call.
MAX_BATCH_SIZE = 1000
_MAX_CONCURRENCY = 1000  # the same cap as Config.max_concurrency
#: PATCH for every sync endpoint but ``budget_line_items/sync``, which is a POST.
SYNC_METHODS = ("PATCH", "POST")


@dataclass(slots=True)
class BatchFailure:
    """One batch that still failed after its retries: which, what it carried, why."""

    index: int
    updates: list[Any]
    error: Exception


@dataclass(slots=True)
class SyncResult:
    """Everything one ``sync`` call achieved.

    ``body`` is the merged ``{"entities": [...], "errors": [...], ...}`` of every
    successful batch in input order; ``responses`` has one :class:`Response` per
    successful batch (in batch order); ``failures`` lists each failed batch with
    its updates and its error (empty when all succeeded); ``batches`` counts the
    batches sent.
    """

    body: dict[str, Any] = field(default_factory=dict)
    responses: list[Response] = field(default_factory=list)
    failures: list[BatchFailure] = field(default_factory=list)
    status_code: int = 200
    batches: int = 0

    @property
    def entities(self) -> list[Any]:
        value = self.body.get("entities", [])
        return value if isinstance(value, list) else []

    @property
    def errors(self) -> list[Any]:
        value = self.body.get("errors", [])
        return value if isinstance(value, list) else []

    @property
    def ok(self) -> bool:
        """True when every batch succeeded (items may still be in ``errors``)."""
        return not self.failures

    @property
    def code(self) -> int:
        return self.status_code

    @property
    def failed_updates(self) -> list[Any]:
        """The updates of every failed batch, in input order.

        Those of a batch failed with :class:`OutcomeUnknownError` (unkeyed, may have
        been applied) would be created twice if fed as is to a second ``sync``: check
        them first, or key every update with ``origin_id``.
        """
        return [update for failure in self.failures for update in failure.updates]


def is_keyed(update: Any) -> bool:
    """True when ``update`` names the record it upserts (``id`` or ``origin_id``)."""
    if not isinstance(update, Mapping):
        return False
    return any(update.get(key) not in (None, "") for key in ("id", "origin_id"))


def _unknown(index: int, count: int, exc: Exception) -> OutcomeUnknownError:
    error = OutcomeUnknownError(
        f"sync batch {index} ({count} updates) failed after it may have been applied "
        f"({type(exc).__name__}), and is not resent: an item without 'id' or 'origin_id' "
        "would be created twice.  Check these records before sending them again; "
        "send 'origin_id' with every item to make a rerun safe",
        response=exc.response if isinstance(exc, Error) else None,
    )
    error.__cause__ = exc
    return error


def _pick(explicit: Any, options: Mapping[str, Any] | None, key: str, default: Any) -> Any:
    """The keyword argument, else the gem-style ``options[key]``, else ``default``."""
    if explicit is not None:
        return explicit
    if options and options.get(key) is not None:
        return options[key]
    return default


def _check_count(name: str, value: Any, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        raise ValueError(f"sync {name} must be an integer in 1..{high}, not {value!r}")
    return value


def _split_body(body: Any) -> tuple[Iterable[Any] | AsyncIterable[Any], dict[str, Any]]:
    """``body["updates"]`` and the body around it; bad shapes fail before any I/O."""
    if not isinstance(body, Mapping):
        raise InvalidRequestError(
            f"sync body must be a mapping with an 'updates' key, not {type(body).__name__}"
        )
    if "updates" not in body:
        raise InvalidRequestError("sync body has no 'updates' key")
    updates = body["updates"]
    if isinstance(updates, (str, bytes, bytearray, Mapping)) or not isinstance(
        updates, (Iterable, AsyncIterable)
    ):
        raise InvalidRequestError(
            "sync body['updates'] must be an iterable or async iterable of updates, "
            f"not {type(updates).__name__}"
        )
    return updates, dict(body)


class _Chunks:
    """Pulls updates in chunks from a plain or async iterable, never further than asked."""

    __slots__ = ("_aiter", "_iter", "exhausted")

    def __init__(self, updates: Iterable[Any] | AsyncIterable[Any]) -> None:
        self._aiter: AsyncIterator[Any] | None = None
        self._iter: Iterator[Any] | None = None
        if isinstance(updates, AsyncIterable):
            self._aiter = aiter(updates)
        else:
            self._iter = iter(updates)
        self.exhausted = False

    async def next(self, size: int) -> list[Any]:
        if self.exhausted:
            return []
        if self._iter is not None:
            chunk = list(islice(self._iter, size))
        else:
            assert self._aiter is not None
            chunk = []
            while len(chunk) < size:
                try:
                    chunk.append(await anext(self._aiter))
                except StopAsyncIteration:
                    break
        self.exhausted = len(chunk) < size
        return chunk


class _SyncRun:
    """The state of one ``sync`` call: the batches in flight and what came back."""

    def __init__(
        self,
        client: Requester,
        path: str,
        template: dict[str, Any],
        request_args: dict[str, Any],
        token_base: str,
        total: int | None,
        on_progress: Callable[[int, int | None], Any] | None,
    ) -> None:
        self.client = client
        self.path = path
        self.template = template
        self.request_args = request_args
        self.token_base = token_base
        self.total = total
        self.on_progress = on_progress
        self.outcomes: dict[int, Response | BatchFailure] = {}
        self.done = 0
        self.progress_lock = anyio.Lock()
        # The first error that is not a batch failure (from the caller's iterable
        # or callback): it cancels the run and is re-raised as is, not in a group.
        self.abort: BaseException | None = None

    async def run(self, chunks: _Chunks, size: int, concurrency: int) -> int:
        """Send every batch; return how many were sent."""
        limiter = anyio.CapacityLimiter(concurrency)
        count = 0
        async with anyio.create_task_group() as tg:
            try:
                while not chunks.exhausted:
                    # Take a slot *before* pulling: the input is read only as fast
                    # as batches finish, which bounds memory on huge generators.
                    borrower = object()
                    await limiter.acquire_on_behalf_of(borrower)
                    try:
                        chunk = await chunks.next(size)
                    except BaseException:
                        limiter.release_on_behalf_of(borrower)
                        raise
                    if not chunk:
                        limiter.release_on_behalf_of(borrower)
                        break
                    tg.start_soon(self.batch, tg, limiter, borrower, count, chunk)
                    count += 1
            except Exception as exc:
                self.fail(tg, exc)
        if self.abort is not None:
            raise self.abort
        return count

    def fail(self, tg: anyio.abc.TaskGroup, exc: BaseException) -> None:
        if self.abort is None:
            self.abort = exc
        tg.cancel_scope.cancel()

    async def batch(
        self,
        tg: anyio.abc.TaskGroup,
        limiter: anyio.CapacityLimiter,
        borrower: object,
        index: int,
        chunk: list[Any],
    ) -> None:
        body = {key: chunk if key == "updates" else value for key, value in self.template.items()}
        keyed = all(is_keyed(update) for update in chunk)
        try:
            spec = self.client.build(
                **self.request_args, path=self.path, body=body, label="batch",
                idempotency_token=f"{self.token_base}-{index}",
            )  # fmt: skip
            if keyed and not spec.idempotent:
                spec = dataclasses.replace(spec, idempotent=True)
            outcome: Response | BatchFailure = await self.client.send(spec)
        except Exception as exc:  # after its retries; cancellation is not an Exception
            if not keyed and may_have_applied(exc):
                exc = _unknown(index, len(chunk), exc)
            outcome = BatchFailure(index, chunk, exc)
        finally:
            limiter.release_on_behalf_of(borrower)
        if isinstance(outcome, Response):
            # Parse now, while other batches wait on the network, not all at the end.
            outcome.body  # noqa: B018
        self.outcomes[index] = outcome
        try:
            await self.report(len(chunk))
        except Exception as exc:
            self.fail(tg, exc)

    async def report(self, records: int) -> None:
        # Serialised, so an async progress bar never sees counts out of order.
        async with self.progress_lock:
            self.done += records
            if self.on_progress is not None:
                outcome = self.on_progress(self.done, self.total)
                if inspect.isawaitable(outcome):
                    await outcome

    def result(self, count: int) -> SyncResult:
        result = SyncResult(body={"entities": [], "errors": []}, batches=count)
        for index in range(count):
            outcome = self.outcomes.pop(index)
            if isinstance(outcome, BatchFailure):
                result.failures.append(outcome)
                continue
            result.responses.append(outcome)
            if isinstance(outcome.body, Mapping):
                merge_into(result.body, outcome.body)
        return result


def _failure_message(result: SyncResult) -> str:
    failed = len(result.failures)
    lost = sum(len(failure.updates) for failure in result.failures)
    first = result.failures[0]
    reason = type(first.error).__name__
    if isinstance(first.error, Error):
        reason += f": {first.error}"
    return (
        f"{failed} of {result.batches} sync batches failed ({lost} updates); "
        f"{len(result.responses)} batches succeeded and are in .result; "
        f"first failure, batch {first.index}: {reason}"
    )


async def run_sync(
    client: Requester,
    path: str,
    *,
    body: Mapping[str, Any],
    version: str | None = None,
    options: Mapping[str, Any] | None = None,
    company_id: int | str | None = None,
    idempotency_token: str | None = None,
    batch_size: int | None = None,
    concurrency: int | None = None,
    method: str = "PATCH",
    raise_on_error: bool = True,
    on_progress: Callable[[int, int | None], Any] | None = None,
) -> SyncResult:
    """Upsert ``body["updates"]`` in concurrent batches; see the module docstring.

    Every argument is checked before any I/O: ``batch_size`` (the keyword, else
    ``options["batch_size"]``, else ``Config.default_batch_size``) must be an int
    in 1..1000, ``concurrency`` (else ``Config.max_concurrency``) an int in 1..1000,
    ``method`` PATCH or POST (``ValueError``); ``body`` must be a mapping whose
    ``updates`` is an iterable or async iterable, and ``path`` and ``version``
    must make a valid API URL (``InvalidRequestError``).

    ``on_progress(done, total)`` (plain or async) runs after each batch, failed
    or not; ``total`` is ``len(updates)`` when the updates have a length, else
    None.  When a batch failed, ``SyncError`` carries the result, unless
    ``raise_on_error`` is False.  An exception from the caller's iterable or
    callback cancels the batches in flight and propagates unchanged.
    """
    verb = method.upper() if isinstance(method, str) else method
    if verb not in SYNC_METHODS:
        raise ValueError(f"sync method must be one of {SYNC_METHODS}, not {method!r}")
    config = client.config
    size = _check_count(
        "batch_size", _pick(batch_size, options, "batch_size", config.default_batch_size),
        MAX_BATCH_SIZE,
    )  # fmt: skip
    limit = config.max_concurrency if concurrency is None else concurrency
    limit = _check_count("concurrency", limit, _MAX_CONCURRENCY)
    updates, template = _split_body(body)
    version = config.default_version if version is None else version
    url = client.build(verb, path, version=version).url  # bad path or version: before any I/O
    token = _pick(idempotency_token, options, "idempotency_token", None)
    # One base per call when the caller gave none; each batch appends its index.
    token_base = str(token) if token is not None and token != "" else f"sync-{uuid.uuid4()}"
    request_args: dict[str, Any] = {
        "method": verb,
        "version": version,
        "company_id": _pick(company_id, options, "company_id", None),
    }
    total = len(updates) if isinstance(updates, Sized) else None
    run = _SyncRun(client, path, template, request_args, token_base, total, on_progress)
    started = time.perf_counter()
    count = await run.run(_Chunks(updates), size, limit)
    result = run.result(count)
    config.logger.info(
        "sync %s %s: %d batches, %d failed, in %.0f ms",
        verb,
        redact_url(url),
        count,
        len(result.failures),
        (time.perf_counter() - started) * 1000,
    )
    if result.failures and raise_on_error:
        raise SyncError(_failure_message(result), result=result) from result.failures[0].error
    return result
