"""The one path every request takes: pace → token → send → 401 renew-once-and-replay
→ classify → retry.

The verbs, the OAuth token calls, pagination, ``sync`` and storage legs all hand
a frozen :class:`~procore_async._request.RequestSpec` to :meth:`Pipeline.send`
(or :meth:`Pipeline.stream` for a body read by the caller).  The spec alone says
what happens to it::

    check origin        refused before any I/O unless on the API host, on the
                        login host unauthenticated, or Procore's own IssuedURL
    retry loop (_retry) around each attempt:
        pace            RateLimiter.acquire()        when spec.paced
        token           TokenManager.current()       when spec.authenticated
        send            httpx, one attempt on the shared pool
        401             renew once (if that token is still current) and replay
        classify        2xx → Response; else a typed error (_errors), with the
                        wait the server asked for (_response)
    Response

A pipeline is cheap to copy with another retry policy (``client.with_options``):
the pool, the token manager, the pacer and the hooks stay shared.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from ._errors import Error, InvalidRequestError, MissingTokenError, OAuthError, connection_error
from ._errors import error_for_response as _classify
from ._hooks import Hooks, RequestEvent, ResponseEvent, RetryEvent, emit
from ._ratelimit import RateLimiter, parse_rate_limit
from ._response import Response, server_requested_wait
from ._retry import GiveUp, RetryPolicy
from ._urls import Origin, redact_url

if TYPE_CHECKING:
    from ._request import RequestSpec
    from .auth._token import Token

__all__ = ["Pipeline", "TokenSource"]

_USE_CLIENT_DEFAULT: Any = httpx.USE_CLIENT_DEFAULT
_INFO = logging.INFO


class TokenSource(Protocol):
    """What the pipeline needs from the token manager."""

    async def current(self) -> Token: ...

    async def rejected(self, failed: Token) -> Token: ...


class Pipeline:
    """Sends :class:`RequestSpec` s; one per client, shared by its ``with_options`` views."""

    __slots__ = ("_api_prefix", "hooks", "http", "limiter", "logger", "login", "origin", "policy",
                 "tokens")  # fmt: skip

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        origin: Origin,
        login: Origin,
        policy: RetryPolicy,
        limiter: RateLimiter,
        hooks: Hooks,
        logger: logging.Logger,
        tokens: TokenSource | None = None,
    ) -> None:
        self._api_prefix = origin.base + "/"
        self.http = http
        self.origin = origin
        self.login = login
        self.policy = policy
        self.limiter = limiter
        self.hooks = hooks
        self.logger = logger
        self.tokens = tokens

    def view(self, policy: RetryPolicy) -> Pipeline:
        """The same pipeline with another retry policy."""
        return Pipeline(
            self.http, origin=self.origin, login=self.login, policy=policy, limiter=self.limiter,
            hooks=self.hooks, logger=self.logger, tokens=self.tokens,
        )  # fmt: skip

    def check(self, spec: RequestSpec) -> None:
        """Refuse, before any I/O, a spec that would send to a place it may not go."""
        issued = spec.issued
        if issued is not None:
            if issued.url != spec.url:
                raise InvalidRequestError(
                    "a request with an IssuedURL must go to exactly that URL; refusing"
                )
            if spec.authenticated:
                raise InvalidRequestError(
                    "a request to a URL Procore issued never carries the bearer token; "
                    "build it with RequestSpec.storage() or authenticated=False"
                )
            return
        url = spec.url
        if (
            url.startswith(self.origin.base)
            and url[len(self.origin.base) : len(self.origin.base) + 1] == "/"
        ):
            return  # the hot path: ``{host}/...`` exactly (no user info, same port)
        if self.origin.owns(url):
            return
        if not spec.authenticated and self.login.owns(spec.url):
            return
        raise InvalidRequestError(
            f"refusing to send to {httpx.URL(spec.url).host!r}: not the API host "
            f"{self.origin.base}, and not a URL Procore issued"
        )

    # -- one exchange: pace, token, send, 401 replay ------------------------

    async def _pace_and_token(self, spec: RequestSpec) -> tuple[dict[str, str], Token | None]:
        """Pace (if ``spec.paced``) and add the bearer token (if authenticated)."""
        if spec.paced:
            await self.limiter.acquire()
        headers = dict(spec.headers)
        if not spec.authenticated or spec.issued is not None:
            return headers, None
        assert self.tokens is not None, "an authenticated spec needs a token source"
        try:
            token = await self.tokens.current()
        except Error as exc:  # renewal went through its own retry loop already
            raise GiveUp(exc) from None
        headers["Authorization"] = f"Bearer {token.access_token}"
        return headers, token

    async def _exchange(
        self, spec: RequestSpec, attempt: int, stream: bool
    ) -> tuple[httpx.Response, float]:
        """One attempt with events: pace, token, send, and the replay after a 401."""
        headers, token = await self._pace_and_token(spec)
        raw, started = await self._transmit(spec, headers, attempt, stream, replay=False)
        if raw.status_code == 401 and token is not None:
            return await self._replay(spec, raw, token, headers, attempt, stream)
        return raw, started

    async def _replay(
        self, spec: RequestSpec, raw: httpx.Response, token: Token, headers: dict[str, str],
        attempt: int, stream: bool,
    ) -> tuple[httpx.Response, float]:  # fmt: skip
        """A 401: renew once (only if that token is still the current one) and replay."""
        assert self.tokens is not None
        try:
            token = await self.tokens.rejected(token)
        except (OAuthError, MissingTokenError) as exc:
            # Renewal refused: the caller's problem is still the 401 itself.
            if stream:
                await raw.aread()
            rejected = _classify(Response(raw, request_body=spec.request_body))
            rejected.__cause__ = exc
            raise GiveUp(rejected) from None
        except Error as exc:
            raise GiveUp(exc) from None
        finally:
            if stream:
                await raw.aclose()
        if spec.paced:
            await self.limiter.acquire()
        headers["Authorization"] = f"Bearer {token.access_token}"
        return await self._transmit(spec, headers, attempt, stream, replay=True)

    async def _attempt(self, spec: RequestSpec, counter: list[int]) -> Response:
        """One attempt of ``send``.  Without hooks, ``_exchange`` and the success branch of
        ``_classify`` are inlined here: one coroutine frame per attempt, not three."""
        counter[0] += 1
        hooks = self.hooks
        if hooks.request or hooks.response:
            raw, started = await self._exchange(spec, counter[0], stream=False)
            return await self._classify(spec, counter[0], raw, started)
        if spec.paced:
            await self.limiter.acquire()
        headers = dict(spec.headers)
        token: Token | None = None
        if spec.authenticated and spec.issued is None:
            assert self.tokens is not None, "an authenticated spec needs a token source"
            try:
                token = await self.tokens.current()
            except Error as exc:  # renewal went through its own retry loop already
                raise GiveUp(exc) from None
            headers["Authorization"] = f"Bearer {token.access_token}"
        log = self.logger.isEnabledFor(_INFO)
        started = time.perf_counter() if log else 0.0
        payload = spec.payload
        try:
            raw = await self.http.request(
                spec.method, spec.url, headers=headers,
                content=spec.content if payload is None else payload.content,
                data=None if payload is None else payload.data,
                files=None if payload is None else payload.files,
                timeout=_USE_CLIENT_DEFAULT if spec.timeout is None else spec.timeout,
            )  # fmt: skip
        except httpx.TransportError as exc:
            raise connection_error(exc) from exc
        if log:
            self._log(spec, raw, started)
        status = raw.status_code
        if status == 401 and token is not None:
            raw, started = await self._replay(spec, raw, token, headers, counter[0], False)
            status = raw.status_code
        if 200 <= status < 300:
            if spec.paced and "x-rate-limit-remaining" in raw.headers:
                await self._observe(raw)
            return Response(raw, request_body=spec.request_body, origin=self.origin,
                            logger=self.logger)  # fmt: skip
        return await self._classify(spec, counter[0], raw, started)

    async def _transmit(
        self, spec: RequestSpec, headers: dict[str, str], attempt: int, stream: bool, replay: bool
    ) -> tuple[httpx.Response, float]:
        hooks = self.hooks
        if hooks.request:
            event = RequestEvent(spec, attempt, spec.paced, "Authorization" in headers, replay,
                                 frozenset(name.lower() for name in headers))  # fmt: skip
            try:
                await emit(hooks.request, event)
            except Exception as exc:
                raise GiveUp(exc) from None
        timed = hooks.response or self.logger.isEnabledFor(_INFO)
        started = time.perf_counter() if timed else 0.0
        timeout = _USE_CLIENT_DEFAULT if spec.timeout is None else spec.timeout
        payload = spec.payload
        try:
            if stream:
                request = self.http.build_request(
                    spec.method, spec.url, headers=headers, timeout=timeout,
                    content=payload.content if payload is not None else spec.content,
                    data=payload.data if payload is not None else None,
                    files=payload.files if payload is not None else None,
                )  # fmt: skip
                raw = await self.http.send(request, stream=True)
            else:
                raw = await self.http.request(
                    spec.method, spec.url, headers=headers, timeout=timeout,
                    content=spec.content if payload is None else payload.content,
                    data=None if payload is None else payload.data,
                    files=None if payload is None else payload.files,
                )  # fmt: skip
        except httpx.TransportError as exc:
            error = connection_error(exc)
            if hooks.response:
                await self._answered(spec, attempt, None, error, started, None)
            raise error from exc
        if self.logger.isEnabledFor(_INFO):
            self._log(spec, raw, started)
        return raw, started

    def _log(self, spec: RequestSpec, raw: httpx.Response, started: float) -> None:
        self.logger.info(
            "%s %s -> %d in %.0f ms (request id %s)",
            spec.method, redact_url(spec.url.partition("?")[0] if spec.issued else spec.url),
            raw.status_code, (time.perf_counter() - started) * 1000,
            raw.headers.get("x-request-id", "-"),
        )  # fmt: skip

    async def _answered(
        self,
        spec: RequestSpec,
        attempt: int,
        status: int | None,
        error: BaseException | None,
        started: float,
        request_id: str | None,
    ) -> None:
        event = ResponseEvent(spec, attempt, status, error, time.perf_counter() - started,
                              request_id)  # fmt: skip
        try:
            await emit(self.hooks.response, event)
        except Exception as exc:
            raise GiveUp(exc) from None

    async def _classify(
        self, spec: RequestSpec, attempt: int, raw: httpx.Response, started: float
    ) -> Response:
        """2xx (or an expected 3xx) → Response; anything else → its typed error."""
        response = Response(raw, request_body=spec.request_body, origin=self.origin,
                            logger=self.logger)  # fmt: skip
        if spec.paced and "x-rate-limit-remaining" in raw.headers:
            await self._observe(raw)
        status = raw.status_code
        error: Error | None = None
        if not (200 <= status < 300 or (spec.expect_redirect and 300 <= status < 400)):
            error = _classify(response, retry_after=server_requested_wait(raw.headers, status))
        if self.hooks.response:
            await self._answered(spec, attempt, status, error, started, response.request_id)
        if error is not None:
            raise error
        return response

    async def _observe(self, raw: httpx.Response) -> None:
        limit = parse_rate_limit(raw.headers)
        if limit is not None:
            await self.limiter.observe(limit.limit, limit.remaining, limit.reset)

    # -- the two ways in ---------------------------------------------------

    def _on_retry(self, spec: RequestSpec) -> Any:
        if not self.hooks.retry:
            return None

        async def on_retry(error: BaseException, retry: int, wait: float) -> None:
            await emit(self.hooks.retry, RetryEvent(spec, error, retry, wait))

        return on_retry

    async def send(self, spec: RequestSpec) -> Response:
        """The whole pipeline: a 2xx :class:`Response`, or the typed error after retries."""
        if spec.issued is not None or not spec.url.startswith(self._api_prefix):
            self.check(spec)  # the common case, an API URL, passes without the call
        return await self.policy.call(
            partial(self._attempt, spec, [0]), idempotent=spec.idempotent, what=spec,
            on_retry=self._on_retry(spec) if self.hooks.retry else None,
        )  # fmt: skip

    @asynccontextmanager
    async def stream(self, spec: RequestSpec) -> AsyncIterator[httpx.Response]:
        """The pipeline up to a 2xx status line; the body is left unread for the caller.

        An error answer is read (error bodies are small) and closed before it is
        classified, so nothing is left open while the policy sleeps.
        """
        self.check(spec)
        attempts = 0

        async def attempt() -> httpx.Response:
            nonlocal attempts
            attempts += 1
            raw, started = await self._exchange(spec, attempts, stream=True)
            if 200 <= raw.status_code < 300:
                return raw
            try:
                await raw.aread()
            except httpx.TransportError as exc:
                raise connection_error(exc) from exc
            finally:
                await raw.aclose()
            await self._classify(spec, attempts, raw, started)
            return raw  # an expected 3xx, already closed: its headers are what counts

        raw = await self.policy.call(
            attempt, idempotent=spec.idempotent, what=spec,
            on_retry=self._on_retry(spec) if self.hooks.retry else None,
        )  # fmt: skip
        try:
            yield raw
        finally:
            await raw.aclose()
