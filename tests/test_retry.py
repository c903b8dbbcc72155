"""The retry policy: server-requested waits, what is retried per status and verb, timing.

HTTP-level tests run the real client over ``httpx.MockTransport``; the pool tests
in ``test_retry_pool`` further down use a real HTTP server on a loopback port.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import random
import re
import time
from collections.abc import AsyncIterator, Callable
from http import HTTPStatus
from typing import Any

import anyio
import httpx
import pytest

import procore_async
from procore_async import _retry
from procore_async._errors import connection_error
from procore_async._response import server_requested_wait
from procore_async._retry import RetryPolicy
from procore_async.stores import MemoryStore

NOW = 1_700_000_000.0
ACCESS = "sekrit-access-7f3a"
REFRESH = "sekrit-refresh-9c1d"
SECRET = "sekrit-client-secret"


def _date(offset: float) -> str:
    return email.utils.formatdate(NOW + offset, usegmt=True)


# -- server_requested_wait: the table ------------------------------------------

WAIT_CASES = [
    # (headers, status, expected seconds or None)
    pytest.param({"Retry-After": "5"}, 503, 5.0, id="seconds"),
    pytest.param({"Retry-After": "0.25"}, 503, 0.25, id="fractional"),
    pytest.param({"Retry-After": "0"}, 503, 0.0, id="zero"),
    pytest.param({"Retry-After": "  7 "}, 503, 7.0, id="padded"),
    pytest.param({"Retry-After": _date(30)}, 503, 30.0, id="http-date-future"),
    pytest.param({"Retry-After": _date(-30)}, 503, 0.0, id="http-date-past"),
    pytest.param({"Retry-After": "-5"}, 503, None, id="negative"),
    pytest.param({"Retry-After": "soon"}, 503, None, id="garbage"),
    pytest.param({"Retry-After": ""}, 503, None, id="empty"),
    pytest.param({"Retry-After": "Mon, 99 Foo 2024 25:61:00 GMT"}, 503, None, id="bad-date"),
    pytest.param({"Retry-After": "86400000"}, 503, 86_400_000.0, id="huge-kept-for-the-cap"),
    pytest.param({"Retry-After": "inf"}, 503, None, id="inf"),
    pytest.param({"Retry-After": "nan"}, 503, None, id="nan"),
    pytest.param({"Retry-After": "1e999"}, 503, None, id="overflow-to-inf"),
    pytest.param({"X-Rate-Limit-Reset": str(int(NOW) + 12)}, 429, 12.0, id="reset-future"),
    pytest.param({"X-Rate-Limit-Reset": str(int(NOW) - 12)}, 429, 0.0, id="reset-past"),
    pytest.param({"X-Rate-Limit-Reset": str(int(NOW) + 12)}, 503, None, id="reset-ignored-503"),
    pytest.param({"X-Rate-Limit-Reset": str(int(NOW) + 12)}, 500, None, id="reset-ignored-500"),
    pytest.param(
        {"Retry-After": "3", "X-Rate-Limit-Reset": str(int(NOW) + 12)},
        429,
        3.0,
        id="retry-after-beats-reset",
    ),
    pytest.param(
        {"Retry-After": "later", "X-Rate-Limit-Reset": str(int(NOW) + 12)},
        429,
        12.0,
        id="garbled-retry-after-falls-back-to-reset",
    ),
    pytest.param({"X-Rate-Limit-Reset": "tomorrow"}, 429, None, id="reset-garbage"),
    pytest.param({"X-Rate-Limit-Reset": "0"}, 429, None, id="reset-zero"),
    pytest.param({"X-Rate-Limit-Reset": "nan"}, 429, None, id="reset-nan"),
    pytest.param({"X-Rate-Limit-Reset": "-inf"}, 429, None, id="reset-minus-inf"),
    pytest.param({}, 429, None, id="429-without-headers"),
    pytest.param({"retry-after": "2"}, 429, 2.0, id="header-case-insensitive"),
]


@pytest.mark.parametrize(("headers", "status", "expected"), WAIT_CASES)
def test_server_requested_wait(headers: dict[str, str], status: int, expected: float | None):
    got = server_requested_wait(httpx.Headers(headers), status, now=NOW)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected, abs=1e-6)


def test_server_requested_wait_uses_the_clock_when_now_is_not_given():
    reset = str(int(time.time()) + 100)
    got = server_requested_wait(httpx.Headers({"X-Rate-Limit-Reset": reset}), 429)
    assert got is not None
    assert 98 <= got <= 100


# -- the policy as pure functions --------------------------------------------


def _policy(**fields: Any) -> RetryPolicy:
    return RetryPolicy(procore_async.Config(**fields), rng=random.Random(5))


class _MidRandom(random.Random):
    """Jitter pinned to its midpoint, so the schedule itself is visible."""

    def uniform(self, a: float, b: float) -> float:
        return (a + b) / 2


@pytest.mark.parametrize(("retry", "base"), [(1, 1.5), (2, 2.25), (3, 3.375), (4, 5.0625)])
def test_backoff_follows_the_gems_schedule_within_jitter(retry: int, base: float):
    policy = _policy()
    for _ in range(200):
        assert 0.75 * base <= policy.backoff_wait(retry) <= 1.25 * base
    assert RetryPolicy(procore_async.Config(), rng=_MidRandom()).backoff_wait(retry) == base


def test_backoff_never_exceeds_max_retry_wait():
    policy = _policy(max_retries=100, max_retry_wait=20.0)
    assert policy.backoff_wait(100) <= 20.0
    assert policy.backoff_wait(10_000) <= 20.0


def test_backoff_is_jittered():
    policy = _policy()
    assert len({round(policy.backoff_wait(1), 6) for _ in range(20)}) > 10


def _status_error(status: int, retry_after: float | None = None) -> procore_async.Error:
    raw = httpx.Response(status, request=httpx.Request("GET", "https://api.procore.com/x"))
    response = procore_async.Response(raw)
    return procore_async._errors.error_for_response(response, retry_after=retry_after)


def test_wait_honours_the_server_and_never_shortens_it():
    policy = _policy(max_retry_wait=60.0)
    for _ in range(100):
        wait = policy.wait_for(_status_error(429, 4.0), 1)
        assert 4.0 <= wait <= 4.4
    # Capped by max_retry_wait, but never below what was asked.
    assert 59.0 <= policy.wait_for(_status_error(503, 59.0), 1) <= 60.0


def test_zero_server_wait_falls_back_to_the_backoff():
    policy = RetryPolicy(procore_async.Config(retry_backoff=2.0), rng=_MidRandom())
    assert policy.wait_for(_status_error(429, 0.0), 1) == 2.0
    assert policy.wait_for(None, 2) == 3.0


def _transport_error(cls: type[httpx.TransportError]) -> procore_async.APIConnectionError:
    return connection_error(cls("boom"))


@pytest.mark.parametrize(
    ("make", "idempotent", "expected"),
    [
        (lambda: _status_error(500), True, True),
        (lambda: _status_error(500), False, False),
        (lambda: _status_error(502), False, False),
        (lambda: _status_error(504), True, True),
        (lambda: _status_error(503), False, False),
        (lambda: _status_error(503, 2.0), False, True),
        (lambda: _status_error(429), False, True),
        (lambda: _status_error(429, 1.0), True, True),
        (lambda: _status_error(404), True, False),
        (lambda: _status_error(400), True, False),
        (lambda: _status_error(422), True, False),
        (lambda: _status_error(401), True, False),
        (lambda: _status_error(403), True, False),
        (lambda: _status_error(409), True, False),
        (lambda: _transport_error(httpx.ConnectError), False, True),
        (lambda: _transport_error(httpx.ConnectTimeout), False, True),
        (lambda: _transport_error(httpx.PoolTimeout), False, True),
        (lambda: _transport_error(httpx.ReadTimeout), False, False),
        (lambda: _transport_error(httpx.ReadTimeout), True, True),
        (lambda: _transport_error(httpx.WriteTimeout), False, False),
        (lambda: _transport_error(httpx.RemoteProtocolError), False, False),
        (lambda: _transport_error(httpx.RemoteProtocolError), True, True),
        (lambda: procore_async.MissingTokenError("none"), True, False),
        (lambda: ValueError("a bug"), True, False),
    ],
)
def test_is_retryable(make: Callable[[], BaseException], idempotent: bool, expected: bool):
    assert _policy().is_retryable(make(), idempotent) is expected


def test_connection_error_records_whether_the_request_left():
    assert connection_error(httpx.ConnectError("x")).request_sent is False
    timeout = connection_error(httpx.ReadTimeout("x"))
    assert isinstance(timeout, procore_async.APITimeoutError)
    assert timeout.request_sent is True


# -- the client over a scripted transport --------------------------------------

Answer = int | tuple[int, dict[str, str]] | type[httpx.TransportError]


class Script:
    """A transport handler: API calls get ``answers`` in turn (the last repeats)."""

    def __init__(self, *answers: Answer, token_status: int = 200) -> None:
        self.answers = answers
        self.token_status = token_status
        self.requests: list[httpx.Request] = []
        self.token_calls = 0
        self.times: list[float] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            self.token_calls += 1
            if self.token_status != 200:
                return httpx.Response(self.token_status, json={"error": "server_error"})
            return httpx.Response(
                200,
                json={
                    "access_token": f"{ACCESS}-{self.token_calls}",
                    "refresh_token": f"{REFRESH}-{self.token_calls}",
                    "token_type": "bearer",
                    "expires_in": 7200,
                    "created_at": int(time.time()),
                },
            )
        self.requests.append(request)
        self.times.append(time.time())
        answer = self.answers[min(len(self.requests), len(self.answers)) - 1]
        if isinstance(answer, type):
            raise answer("scripted failure", request=request)
        status, headers = answer if isinstance(answer, tuple) else (answer, {})
        return httpx.Response(status, headers=headers, json={"id": len(self.requests)})

    @property
    def attempts(self) -> int:
        return len(self.requests)


async def make_client(
    script: Script, *, token: procore_async.Token | None = None, **fields: Any
) -> procore_async.AsyncClient:
    """A client over ``script`` whose store already holds a token (valid for an hour)."""
    store = MemoryStore()
    await store.save(token or procore_async.Token(ACCESS, REFRESH, time.time() + 3600))
    fields.setdefault("retry_backoff", 0.01)
    return procore_async.AsyncClient(
        "client-id",
        SECRET,
        store,
        transport=httpx.MockTransport(script),
        config=procore_async.Config(**fields),
    )


async def _call(client: procore_async.AsyncClient, method: str, **kwargs: Any) -> Any:
    async with client:
        return await client.request(method, "projects", **kwargs)


RETRY_TABLE = [
    # (method, answer, idempotency token, attempts with max_retries=3, error)
    ("GET", 500, None, 4, procore_async.ServerError),
    ("GET", 502, None, 4, procore_async.ServerError),
    ("PUT", 500, None, 4, procore_async.ServerError),
    ("DELETE", 504, None, 4, procore_async.ServerError),
    ("POST", 500, None, 1, procore_async.ServerError),
    ("PATCH", 502, None, 1, procore_async.ServerError),
    ("POST", 503, None, 1, procore_async.ServerError),
    # Procore ignores Idempotency-Token on /projects (the catalog declares it on 5
    # operations only), so a token does not make these writes safe to resend.
    ("POST", 500, "idem-1", 1, procore_async.ServerError),
    ("PATCH", 504, "idem-2", 1, procore_async.ServerError),
    ("POST", (429, {"Retry-After": "0.01"}), None, 4, procore_async.RateLimitError),
    ("POST", (503, {"Retry-After": "0.01"}), None, 4, procore_async.ServerError),
    ("GET", 404, None, 1, procore_async.NotFoundError),
    ("GET", 400, None, 1, procore_async.InvalidRequestError),
    ("GET", 422, None, 1, procore_async.UnprocessableEntityError),
    ("GET", 403, None, 1, procore_async.ForbiddenError),
    ("GET", 409, None, 1, procore_async.ConflictError),
    ("POST", httpx.ConnectError, None, 4, procore_async.APIConnectionError),
    ("POST", httpx.ConnectTimeout, None, 4, procore_async.APITimeoutError),
    ("POST", httpx.ReadTimeout, None, 1, procore_async.APITimeoutError),
    ("POST", httpx.RemoteProtocolError, None, 1, procore_async.APIConnectionError),
    ("GET", httpx.ReadTimeout, None, 4, procore_async.APITimeoutError),
    ("GET", httpx.RemoteProtocolError, None, 4, procore_async.APIConnectionError),
    ("POST", httpx.ReadTimeout, "idem-3", 1, procore_async.APITimeoutError),
]


@pytest.mark.parametrize(("method", "answer", "idem", "attempts", "error"), RETRY_TABLE)
async def test_retry_counts_per_status_and_verb(
    method: str, answer: Answer, idem: str | None, attempts: int, error: type[Exception]
):
    script = Script(answer)
    client = await make_client(script, max_retries=3)
    body = {"name": "x"} if method in ("POST", "PATCH", "PUT") else None
    with pytest.raises(error) as caught:
        await _call(client, method, body=body, idempotency_token=idem)
    assert type(caught.value) is error
    assert script.attempts == attempts
    assert client.retry_policy.retries == attempts - 1
    if idem is not None:
        assert [r.headers["Idempotency-Token"] for r in script.requests] == [idem] * attempts


async def test_post_with_idempotency_token_replays_the_same_token_and_body():
    # One of the catalog's operations that declare Idempotency-Token.
    script = Script(500, 502, 201)
    client = await make_client(script)
    async with client:
        response = await client.post(
            "projects/7/distribution_groups", body={"name": "x"}, idempotency_token="tok-42"
        )
    assert response.status_code == 201
    assert [r.headers["Idempotency-Token"] for r in script.requests] == ["tok-42"] * 3
    assert len({r.content for r in script.requests}) == 1


async def test_success_after_failures_returns_the_response_and_counts_retries():
    script = Script(503, httpx.ConnectError, 200)
    client = await make_client(script)
    response = await _call(client, "GET")
    assert response.status_code == 200
    assert script.attempts == 3
    assert client.retry_policy.retries == 2


async def test_max_retries_zero_means_one_attempt():
    script = Script(500)
    client = await make_client(script, max_retries=0)
    with pytest.raises(procore_async.ServerError):
        await _call(client, "GET")
    assert script.attempts == 1


async def test_401_is_replayed_once_after_a_refresh_then_not_retried():
    script = Script(401)
    client = await make_client(script)
    with pytest.raises(procore_async.AuthorizationError):
        await _call(client, "GET")
    assert script.attempts == 2
    assert script.token_calls == 1
    assert client.retry_policy.retries == 0
    sent = [r.headers["Authorization"] for r in script.requests]
    assert sent == [f"Bearer {ACCESS}", f"Bearer {ACCESS}-1"]


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (httpx.ConnectError, procore_async.APIConnectionError),
        (httpx.ReadTimeout, procore_async.APITimeoutError),
    ],
)
async def test_exhausted_connection_retries_chain_the_last_cause(
    failure: type[httpx.TransportError], error: type[Exception]
):
    script = Script(failure)
    client = await make_client(script, max_retries=2)
    with pytest.raises(error) as caught:
        await _call(client, "GET")
    assert script.attempts == 3
    assert isinstance(caught.value.__cause__, failure)
    assert caught.value.__cause__.request is script.requests[-1]


async def test_a_failing_token_endpoint_is_retried_by_one_loop_not_two():
    """The refresh inside a request has its own retries; the request must not multiply them."""
    script = Script(200, token_status=500)
    client = await make_client(
        script, max_retries=2, token=procore_async.Token(ACCESS, REFRESH, time.time() - 10)
    )
    with pytest.raises(procore_async.OAuthError):
        await _call(client, "GET")
    # A refresh grant spends a single-use token, so a 500 is not retried by the loop;
    # the store is read again and, still holding the sent token, the grant goes once more.
    assert script.token_calls == 2
    assert script.attempts == 0


async def test_backoff_schedule_seen_through_the_sleeps_and_the_logs(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(_retry.anyio, "sleep", fake_sleep)
    script = Script(500)
    client = await make_client(script, retry_backoff=1.5, max_retries=3)
    with (
        caplog.at_level(logging.WARNING, logger="procore_async"),
        pytest.raises(procore_async.ServerError),
    ):
        await _call(client, "GET")
    assert script.attempts == 4
    assert len(slept) == 3
    for wait, base in zip(slept, (1.5, 2.25, 3.375), strict=True):
        assert 0.75 * base <= wait <= 1.25 * base
    logged = [
        float(m.group(1))
        for r in caplog.records
        if (m := re.search(r"^retrying .* waiting ([\d.]+)s", r.getMessage()))
    ]
    assert logged == pytest.approx(slept, abs=0.006)


# -- timing --------------------------------------------------------------------


async def test_retry_after_is_honoured():
    script = Script((503, {"Retry-After": "1"}), 200)
    client = await make_client(script)
    started = time.monotonic()
    response = await _call(client, "POST", body={"a": 1})
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert script.times[1] - script.times[0] >= 1.0
    assert elapsed < 5.0


async def test_429_waits_until_the_rate_limit_reset():
    reset = int(time.time()) + 2
    script = Script((429, {"X-Rate-Limit-Reset": str(reset), "X-Rate-Limit-Remaining": "0"}), 200)
    client = await make_client(script)
    response = await _call(client, "GET")
    assert response.status_code == 200
    assert script.times[1] >= reset
    assert script.times[1] - reset < 4.0


async def test_a_wait_beyond_max_retry_wait_raises_at_once_with_retry_after():
    script = Script((429, {"Retry-After": "30"}), 200)
    client = await make_client(script, max_retry_wait=5.0)
    started = time.monotonic()
    with pytest.raises(procore_async.RateLimitError) as caught:
        await _call(client, "GET")
    assert time.monotonic() - started < 2.0
    assert script.attempts == 1
    assert caught.value.retry_after == pytest.approx(30.0)
    assert client.retry_policy.retries == 0


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@pytest.mark.parametrize("status", [502, 503, 504])
async def test_an_idempotent_5xx_asking_too_long_a_wait_raises_at_once(status: int, method: str):
    # The idempotent-5xx rule must not overrule the cap on a server-requested wait.
    script = Script((status, {"Retry-After": "120"}), 200)
    client = await make_client(script, max_retry_wait=5.0)
    with pytest.raises(procore_async.ServerError) as caught:
        await _call(client, method)
    assert script.attempts == 1
    assert caught.value.retry_after == pytest.approx(120.0)
    assert client.retry_policy.retries == 0


async def test_retry_deadline_stops_retrying_early():
    script = Script(500)
    client = await make_client(script, retry_backoff=0.3, max_retries=10, retry_deadline=0.5)
    started = time.monotonic()
    with pytest.raises(procore_async.ServerError):
        await _call(client, "GET")
    assert time.monotonic() - started < 3.0
    assert 1 <= script.attempts <= 3


async def test_retry_deadline_also_bounds_a_slow_attempt():
    async def slow(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            raise AssertionError("the token is still valid")
        await anyio.sleep(30)
        return httpx.Response(200)

    store = MemoryStore()
    await store.save(procore_async.Token(ACCESS, REFRESH, time.time() + 3600))
    config = procore_async.Config(retry_deadline=0.3, retry_backoff=0.01)
    started = time.monotonic()
    async with procore_async.AsyncClient(
        "id", SECRET, store, transport=httpx.MockTransport(slow), config=config
    ) as client:
        with pytest.raises(procore_async.APITimeoutError, match="retry_deadline"):
            await client.get("projects")
    assert time.monotonic() - started < 3.0


# -- logging -------------------------------------------------------------------


async def test_every_retry_is_logged_without_secrets(caplog: pytest.LogCaptureFixture):
    script = Script(503, httpx.ConnectError, 401, 200)
    client = await make_client(script)
    with caplog.at_level(logging.DEBUG, logger="procore_async"):
        response = await _call(client, "GET", query={"access_token": "leaky"})
    assert response.status_code == 200
    retries = [r for r in caplog.records if r.getMessage().startswith("retrying")]
    assert len(retries) == 2
    assert "status 503" in retries[0].getMessage()
    assert "retry 1 of 3" in retries[0].getMessage()
    assert "ConnectError" in retries[1].getMessage()
    assert all("GET " in r.getMessage() and "/projects" in r.getMessage() for r in retries)
    for record in caplog.records:
        text = record.getMessage() + repr(record.args) + repr(record.__dict__)
        for secret in (ACCESS, REFRESH, SECRET, "leaky"):
            assert secret not in text


async def test_giving_up_is_logged(caplog: pytest.LogCaptureFixture):
    script = Script((429, {"Retry-After": "120"}))
    client = await make_client(script)
    with (
        caplog.at_level(logging.WARNING, logger="procore_async"),
        pytest.raises(procore_async.RateLimitError),
    ):
        await _call(client, "GET")
    assert any("max_retry_wait" in r.getMessage() for r in caplog.records)


# -- the pool after retries and cancellations: a real HTTP server ---------------


class LoopbackServer:
    """A small keep-alive HTTP/1.1 server on a free loopback port.

    ``/slow`` answers after 30 s; any other path answers from ``statuses`` in turn
    (the last repeats), each 503 carrying ``Retry-After: 0``.
    """

    def __init__(self, *statuses: int) -> None:
        self.statuses = statuses
        self.hits = 0
        self.handlers: set[asyncio.Task[None]] = set()
        self.writers: set[asyncio.StreamWriter] = set()
        self.closing = asyncio.Event()
        self.port = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> LoopbackServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        self.closing.set()
        for writer in self.writers:
            writer.close()
        await asyncio.gather(*self.handlers)
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.handlers.add(task)
        self.writers.add(writer)
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                lines = head.split("\r\n")
                _, target, _ = lines[0].split(" ", 2)
                fields = dict(line.split(":", 1) for line in lines[1:] if ":" in line)
                length = int({k.lower(): v for k, v in fields.items()}.get("content-length", 0))
                if length:
                    await reader.readexactly(length)
                if target.endswith("/slow"):
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self.closing.wait(), 30)
                self.hits += 1
                status = self.statuses[min(self.hits, len(self.statuses)) - 1]
                body = b'{"ok": true}'
                extra = "Retry-After: 0\r\n" if status == 503 else ""
                writer.write(
                    f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                    f"{extra}\r\n".encode("latin-1")
                    + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.handlers.discard(task)
            self.writers.discard(writer)
            writer.close()


@contextlib.asynccontextmanager
async def loopback(
    *statuses: int, **fields: Any
) -> AsyncIterator[tuple[LoopbackServer, procore_async.AsyncClient]]:
    """A :class:`LoopbackServer` and a client of it (with its own real connection pool)."""
    store = MemoryStore()
    await store.save(procore_async.Token(ACCESS, REFRESH, time.time() + 3600))
    async with LoopbackServer(*statuses) as server:
        host = f"http://127.0.0.1:{server.port}"
        config = procore_async.Config(host=host, retry_backoff=0.01, **fields)
        async with procore_async.AsyncClient("id", SECRET, store, config=config) as client:
            yield server, client


def _connections(client: procore_async.AsyncClient) -> list[Any]:
    transport: Any = client._http._transport
    shards = getattr(transport, "shards", [transport])  # the default pool is sharded
    return [c for shard in shards for c in shard._pool.connections]


def _busy_connections(client: procore_async.AsyncClient) -> list[Any]:
    return [c for c in _connections(client) if not c.is_idle()]


def _pool_size(client: procore_async.AsyncClient) -> int:
    return len(_connections(client))


async def test_no_connection_left_checked_out_after_retries():
    async with loopback(503, 500, 200) as (server, client):
        response = await client.get("projects")
        assert response.status_code == 200
        assert server.hits == 3
        assert client.retry_policy.retries == 2
        assert _busy_connections(client) == []
        # The retried attempts reused one keep-alive connection rather than opening more.
        assert _pool_size(client) == 1


async def test_no_connection_left_checked_out_after_retries_run_out():
    async with loopback(502, max_retries=2) as (server, client):
        async with anyio.create_task_group() as tg:
            for _ in range(5):
                tg.start_soon(_expect_server_error, client)
        assert server.hits == 15
        assert _busy_connections(client) == []


async def _expect_server_error(client: procore_async.AsyncClient) -> None:
    with pytest.raises(procore_async.ServerError):
        await client.get("projects")


async def test_cancelled_requests_do_not_jam_the_pool():
    async with loopback(200, max_connections=4) as (_, client):
        async with anyio.create_task_group() as tg:
            for _ in range(20):
                tg.start_soon(client.get, "slow")
            await anyio.sleep(0.3)
            tg.cancel_scope.cancel()
        started = time.monotonic()
        with anyio.fail_after(5):
            response = await client.get("fast")
        assert response.status_code == 200
        assert time.monotonic() - started < 2.0
        assert _busy_connections(client) == []
