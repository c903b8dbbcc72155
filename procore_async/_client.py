"""``AsyncClient``: the verbs, the request pipeline and the client's lifecycle.

One request goes through these steps, each owned by one module::

    arguments → URL (_urls) → retry loop (_retry) around each attempt:
        pace (_ratelimit) → token (auth) → send (httpx) → 401? renew once and replay
        → classify (_errors)
    → Response (_response)

One client per process (or event loop) wraps one pooled ``httpx.AsyncClient``;
use it as ``async with AsyncClient(...)`` or call ``aclose()``.  There is no
``__del__`` clean-up: closing is explicit.
"""

from __future__ import annotations

import functools
import logging
import os
import ssl
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

import httpx

from ._config import Config, get_config
from ._errors import MissingTokenError, OAuthError, error_for_response
from ._logging import install_redaction
from ._payload import encode_body
from ._ratelimit import RateLimiter, RatePacer
from ._response import Response
from ._retry import RetryPolicy, connection_error, server_requested_wait
from ._urls import Origin, build_url, redact_url
from ._version import __version__
from .auth import GrantType, OAuthClient, Token, TokenManager
from .stores import MemoryStore, TokenStore

if TYPE_CHECKING:
    from ._batch import SyncResult
    from ._pagination import ItemIterator, PageIterator, T
    from .files import Documents, Download, Source, Upload
    from .resources import Api
    from .webhooks._manage import Webhooks

__all__ = ["AsyncClient"]

_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE", "PUT"})
_GRANT_TYPES = ("refresh_token", "client_credentials")
_USE_CLIENT_DEFAULT: Any = httpx.USE_CLIENT_DEFAULT


@functools.lru_cache(maxsize=1)
def _shared_ssl_context() -> ssl.SSLContext:
    """One TLS context (httpx's defaults) for every client-owned pool in the process.

    Building one reads the CA bundle from disk: ~70 ms of blocking I/O that an app
    creating a client per request (or per test) would otherwise pay every time.
    """
    return httpx.create_ssl_context()


class AsyncClient:
    """An asyncio (and trio) client for the Procore REST API.

    Args:
        client_id: The Procore app's client id.
        client_secret: The Procore app's client secret.
        store: Where the OAuth token lives; a private :class:`MemoryStore` if None.
        config: Settings; the process default (``procore_async.configure``) if None.
        http_client: An ``httpx.AsyncClient`` to use as is; the caller closes it.
        transport: An httpx transport for the pooled client this client builds and owns
            (``FakeProcore.transport()``, ``httpx.MockTransport``...).
        grant_type: ``"refresh_token"`` (a user token saved in the store) or
            ``"client_credentials"`` (the client obtains its own service-account token).
        rate_limiter: Shares the rate budget (``RedisRateLimiter`` across processes);
            by default an in-process pacer fed by the ``X-Rate-Limit-*`` headers.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        store: TokenStore | None = None,
        *,
        config: Config | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        grant_type: GrantType = "refresh_token",
        rate_limiter: RateLimiter | None = None,
    ) -> None:
        if grant_type not in _GRANT_TYPES:
            raise ValueError(f"grant_type must be one of {_GRANT_TYPES}, not {grant_type!r}")
        if http_client is not None and transport is not None:
            raise ValueError("pass either http_client or transport, not both")
        self.config = config = config if config is not None else get_config()
        self.store: TokenStore = store if store is not None else MemoryStore()
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(
            transport=transport,
            verify=_shared_ssl_context(),
            timeout=config.http_timeout,
            limits=httpx.Limits(
                max_connections=config.max_connections,
                max_keepalive_connections=config.max_connections,
            ),
        )
        self._logger = config.logger
        install_redaction(self._logger)
        # httpx logs every request URL at INFO; keep secret query values out of it too.
        install_redaction(logging.getLogger("httpx"))
        self._origin = Origin(config.host)
        self.retry_policy = RetryPolicy(config)
        self.rate_limiter: RateLimiter = rate_limiter or RatePacer(
            config.rate_limit_reserve, max_wait=config.max_retry_wait
        )
        self._oauth = OAuthClient(self._http, config, client_id, client_secret, self.retry_policy)
        self._tokens = TokenManager(
            self.store,
            self._oauth,
            grant_type=grant_type,
            leeway=config.refresh_leeway,
            logger=self._logger,
        )
        self._base_headers = {
            "Accept": "application/json",
            "User-Agent": config.user_agent,
            "Procore-Sdk-Version": __version__,
            "Procore-Sdk-Language": "python",
        }

    # -- lifecycle -----------------------------------------------------------

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool (unless it was injected as ``http_client``)."""
        if self._owns_http:
            await self._http.aclose()

    @property
    def is_closed(self) -> bool:
        return self._http.is_closed

    def __repr__(self) -> str:
        return f"<AsyncClient host={self.config.host!r} store={self.store!r}>"

    # -- verbs ---------------------------------------------------------------

    async def get(
        self,
        path: str,
        *,
        version: str | None = None,
        query: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        company_id: int | str | None = None,
        idempotency_token: str | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> Response:
        """GET ``path`` (relative to ``/rest/<version>/``, or an absolute URL on the API host)."""
        return await self.request(
            "GET", path, version=version, query=query, options=options, company_id=company_id,
            idempotency_token=idempotency_token, timeout=timeout,
        )  # fmt: skip

    async def delete(
        self,
        path: str,
        *,
        version: str | None = None,
        query: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        company_id: int | str | None = None,
        idempotency_token: str | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> Response:
        """DELETE ``path``; unlike the gem, ``company_id`` and ``idempotency_token`` are sent."""
        return await self.request(
            "DELETE", path, version=version, query=query, options=options, company_id=company_id,
            idempotency_token=idempotency_token, timeout=timeout,
        )  # fmt: skip

    async def post(
        self,
        path: str,
        *,
        version: str | None = None,
        body: Any = None,
        options: Mapping[str, Any] | None = None,
        company_id: int | str | None = None,
        idempotency_token: str | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> Response:
        """POST ``body`` (JSON, or multipart when it holds a file) to ``path``."""
        return await self.request(
            "POST", path, version=version, body=body, options=options, company_id=company_id,
            idempotency_token=idempotency_token, timeout=timeout,
        )  # fmt: skip

    async def put(
        self,
        path: str,
        *,
        version: str | None = None,
        body: Any = None,
        options: Mapping[str, Any] | None = None,
        company_id: int | str | None = None,
        idempotency_token: str | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> Response:
        """PUT ``body`` to ``path``."""
        return await self.request(
            "PUT", path, version=version, body=body, options=options, company_id=company_id,
            idempotency_token=idempotency_token, timeout=timeout,
        )  # fmt: skip

    async def patch(
        self,
        path: str,
        *,
        version: str | None = None,
        body: Any = None,
        options: Mapping[str, Any] | None = None,
        company_id: int | str | None = None,
        idempotency_token: str | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> Response:
        """PATCH ``body`` to ``path``."""
        return await self.request(
            "PATCH", path, version=version, body=body, options=options, company_id=company_id,
            idempotency_token=idempotency_token, timeout=timeout,
        )  # fmt: skip

    async def request(
        self,
        method: str,
        path: str,
        *,
        version: str | None = None,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        options: Mapping[str, Any] | None = None,
        company_id: int | str | None = None,
        idempotency_token: str | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> Response:
        """Send one API call through the whole pipeline; the verbs are thin wrappers."""
        method = method.upper()
        if options:
            if company_id is None:
                company_id = options.get("company_id")
            if idempotency_token is None:
                idempotency_token = options.get("idempotency_token")
        url = build_url(
            self._origin,
            path,
            self.config.default_version if version is None else version,
            query,
        )
        headers = dict(self._base_headers)
        if company_id is not None and company_id is not False:
            headers["Procore-Company-Id"] = str(company_id)
        if idempotency_token is not None:
            headers["Idempotency-Token"] = str(idempotency_token)
        payload = encode_body(body) if method in ("POST", "PUT", "PATCH") else None
        if payload is not None:
            headers.update(payload.headers)
        send_timeout = _USE_CLIENT_DEFAULT if timeout is None else timeout
        replayed = False

        async def attempt() -> Response:
            nonlocal replayed
            await self.rate_limiter.acquire()
            token = await self._tokens.current()
            raw = await self._send(method, url, headers, token, payload, send_timeout)
            if raw.status_code == 401 and not replayed:
                # Renew once (only if that token is still the current one) and replay.
                replayed = True
                try:
                    token = await self._tokens.rejected(token)
                except (OAuthError, MissingTokenError) as exc:
                    # Renewal refused: the caller's problem is still the 401 itself.
                    rejected = Response(raw, request_body=body, origin=self._origin)
                    raise error_for_response(rejected) from exc
                await self.rate_limiter.acquire()
                raw = await self._send(method, url, headers, token, payload, send_timeout)
            response = Response(raw, request_body=body, origin=self._origin, logger=self._logger)
            limit = response.rate_limit
            if limit is not None:
                await self.rate_limiter.observe(limit.limit, limit.remaining, limit.reset)
            if raw.status_code >= 300 or raw.status_code < 200:
                raise error_for_response(
                    response, retry_after=server_requested_wait(raw.headers, raw.status_code)
                )
            return response

        idempotent = method in _IDEMPOTENT_METHODS or idempotency_token is not None
        return await self.retry_policy.call(
            attempt, idempotent=idempotent, what=f"{method} {redact_url(url)}"
        )

    async def _send(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        token: Token,
        payload: Any,
        timeout: Any,
    ) -> httpx.Response:
        headers["Authorization"] = f"Bearer {token.access_token}"
        started = time.perf_counter()
        try:
            if payload is None:
                raw = await self._http.request(method, url, headers=headers, timeout=timeout)
            else:
                raw = await self._http.request(
                    method,
                    url,
                    headers=headers,
                    content=payload.content,
                    data=payload.data,
                    files=payload.files,
                    timeout=timeout,
                )
        except httpx.TransportError as exc:
            raise connection_error(exc) from exc
        if self._logger.isEnabledFor(20):
            self._logger.info(
                "%s %s -> %d in %.0f ms (request id %s)",
                method,
                redact_url(url),
                raw.status_code,
                (time.perf_counter() - started) * 1000,
                raw.headers.get("x-request-id", "-"),
            )
        return raw

    # -- tokens --------------------------------------------------------------

    async def refresh(self) -> Token:
        """Renew the token now (refresh grant, or client credentials) and save it."""
        return await self._tokens.refresh()

    async def revoke(self) -> None:
        """Revoke the access token at ``{login_host}/oauth/revoke`` and delete it from the store."""
        token = await self.store.fetch()
        if token is None or token.invalid:
            raise MissingTokenError(f"no token in {self.store!r} to revoke")
        await self._oauth.revoke(token)
        await self.store.delete()
        self._tokens.forget()

    def authorization_url(self, redirect_uri: str, state: str | None = None) -> str:
        """The URL that starts the authorization-code flow for a user."""
        return self._oauth.authorization_url(redirect_uri, state)

    async def exchange_code(self, code: str, redirect_uri: str) -> Token:
        """Finish the authorization-code flow: get the user's token and save it."""
        token = await self._oauth.exchange_code(code, redirect_uri)
        await self.store.save(token)
        self._tokens.forget()
        return token

    # -- many requests -------------------------------------------------------

    def paginate(
        self,
        path: str,
        *,
        version: str | None = None,
        query: Mapping[str, Any] | None = None,
        company_id: int | str | None = None,
        per_page: int | None = None,
        max_items: int | None = None,
        concurrency: int | None = None,
        start_page: int | None = None,
        item_type: type[T] | None = None,
    ) -> ItemIterator[T]:
        """Every item of a paginated collection, in order, fetched lazily.

        ``item_type`` (a TypedDict such as ``procore_async.resources.rfis.Rfi``) only
        types the items for mypy/pyright: ``ItemIterator[Rfi]``; items stay plain dicts.

        ``async for item in client.paginate(...)``; or ``async with client.paginate(...)
        as items: async for item in items`` to keep pages in flight in the background
        while you work.  Pages are fetched ahead concurrently when the server says
        how many there are; see docs/pagination.md.
        """
        from ._pagination import iterate_items

        return iterate_items(
            self, path, version=version, query=query, company_id=company_id, per_page=per_page,
            max_items=max_items, concurrency=concurrency, start_page=start_page,
        )  # fmt: skip

    def pages(
        self,
        path: str,
        *,
        version: str | None = None,
        query: Mapping[str, Any] | None = None,
        company_id: int | str | None = None,
        per_page: int | None = None,
        max_items: int | None = None,
        concurrency: int | None = None,
        start_page: int | None = None,
    ) -> PageIterator:
        """Every page of a paginated collection as a :class:`Response`, in order."""
        from ._pagination import iterate_pages

        return iterate_pages(
            self, path, version=version, query=query, company_id=company_id, per_page=per_page,
            max_items=max_items, concurrency=concurrency, start_page=start_page,
        )  # fmt: skip

    async def sync(
        self,
        path: str,
        *,
        body: Mapping[str, Any],
        version: str | None = None,
        options: Mapping[str, Any] | None = None,
        company_id: int | str | None = None,
        idempotency_token: str | None = None,
        batch_size: int | None = None,
        concurrency: int | None = None,
        method: Literal["PATCH", "POST"] = "PATCH",
        raise_on_error: bool = True,
        on_progress: Callable[[int, int | None], Any] | None = None,
    ) -> SyncResult:
        """Upsert ``body["updates"]`` in concurrent batches, merged into a ``SyncResult``."""
        from ._batch import run_sync

        return await run_sync(
            self, path, body=body, version=version, options=options, company_id=company_id,
            idempotency_token=idempotency_token, batch_size=batch_size, concurrency=concurrency,
            method=method, raise_on_error=raise_on_error, on_progress=on_progress,
        )  # fmt: skip

    # -- generated resources (procore_async.resources, issue 17) --------------

    @functools.cached_property
    def api(self) -> Api:
        """Every catalog operation as a typed method: ``client.api.rfis.list(project_id=1)``."""
        from .resources import Api

        return Api(self)

    # -- files (#14): direct uploads and downloads -----------------------------

    async def upload(
        self,
        source: Source,
        *,
        company_id: int | str,
        project_id: int | str | None = None,
        filename: str | None = None,
        content_type: str | None = None,
        segment_size: int | None = None,
        concurrency: int | None = None,
        on_progress: Callable[[int, int], Any] | None = None,
        api_version: str | None = None,
        wait: bool = True,
    ) -> Upload:
        """Upload a file (path, sync or async binary file) with Procore's direct uploads.

        Streamed from disk in segments sent concurrently to presigned storage URLs
        (never with the bearer token); returns the :class:`~procore_async.files.Upload`
        whose ``id`` goes in a resource body (``upload_id``/``upload_uuid``).  See
        docs/files.md.
        """
        from .files._upload import upload_file

        return await upload_file(
            self, source, company_id=company_id, project_id=project_id, filename=filename,
            content_type=content_type, segment_size=segment_size, concurrency=concurrency,
            on_progress=on_progress, api_version=api_version, wait=wait,
        )  # fmt: skip

    async def download(
        self,
        url_or_file_version: Any,
        dest: str | os.PathLike[str],
        *,
        on_progress: Callable[[int, int | None], Any] | None = None,
        resume: bool = True,
        sha256: str | None = None,
        company_id: int | str | None = None,
    ) -> Download:
        """Stream a file Procore points at (URL, file version, API path) to ``dest``.

        Resumes with ``Range``, verifies the sha256 where Procore gives one, renames
        into place when complete; no bearer token goes to the storage host.
        """
        from .files._download import download_file

        return await download_file(
            self, url_or_file_version, dest, on_progress=on_progress, resume=resume,
            sha256=sha256, company_id=company_id,
        )  # fmt: skip

    @property
    def documents(self) -> Documents:
        """The Documents tool: ``upload_file``, ``create_folder``, ``file``, ``download_file``.

        A new (stateless) helper on each access, so a client derived from this one never
        shares it."""
        from .files._documents import Documents

        return Documents(self)

    # -- webhooks (issue #15) -----------------------------------------------------------

    @property
    def webhooks(self) -> Webhooks:
        """Hooks, triggers, resources and deliveries of Procore's Webhooks API."""
        from .webhooks._manage import Webhooks

        return Webhooks(self)
