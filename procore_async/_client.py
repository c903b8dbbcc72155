"""``AsyncClient``: the verbs, the client's lifecycle, and the parts it wires together.

A call is described as a frozen :class:`~procore_async._request.RequestSpec`
(``build``) and sent through the one pipeline (``send``, ``_pipeline.py``)::

    arguments → RequestSpec (URL rules, headers, body; validated before any I/O)
      → Pipeline: retry loop around each attempt:
          pace → token → send → 401? renew once and replay → classify
      → Response

The token calls (``auth/_oauth.py``), pagination and ``sync`` send through the
same pipeline.  One client per process (or event loop) wraps one pooled
``httpx.AsyncClient``; use it as ``async with AsyncClient(...)`` or call
``aclose()``.  There is no ``__del__`` clean-up: closing is explicit.
"""

from __future__ import annotations

import copy
import functools
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

import httpx

from ._config import Config, get_config
from ._errors import MissingTokenError
from ._hooks import Hooks
from ._idempotency import honours_idempotency_token
from ._logging import install_redaction
from ._payload import encode_body
from ._pipeline import Pipeline
from ._ratelimit import RateLimiter, RatePacer
from ._request import RequestSpec
from ._response import Response
from ._retry import RetryPolicy
from ._transport import build_http
from ._urls import Origin, build_url, is_plain_path
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
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_GRANT_TYPES = ("refresh_token", "client_credentials")
_Query = Mapping[str, Any] | str | None
_Options = Mapping[str, Any] | None
_CompanyId = int | str | None
_Timeout = float | httpx.Timeout | None
_OPTIONS = ("max_retries", "timeout", "retry_deadline", "retry_backoff", "max_retry_wait")


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
        event_hooks: ``{"request": [...], "response": [...], "retry": [...]}``, plain or
            async functions called with each event (see ``client.hooks``, docs/hooks.md).
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
        event_hooks: Mapping[str, Iterable[Callable[[Any], Any]]] | None = None,
    ) -> None:
        if grant_type not in _GRANT_TYPES:
            raise ValueError(f"grant_type must be one of {_GRANT_TYPES}, not {grant_type!r}")
        if http_client is not None and transport is not None:
            raise ValueError("pass either http_client or transport, not both")
        self.config = config = config if config is not None else get_config()
        self.store: TokenStore = store if store is not None else MemoryStore()
        self._owns_http = http_client is None
        self._http = http_client or build_http(config, transport)
        self._logger = config.logger
        install_redaction(self._logger)
        # httpx logs every request URL at INFO; keep secret query values out of it too.
        install_redaction(logging.getLogger("httpx"))
        self._origin = Origin(config.host)
        self.retry_policy = RetryPolicy(config)
        self.rate_limiter: RateLimiter = rate_limiter or RatePacer(
            config.rate_limit_reserve, max_wait=config.max_retry_wait
        )
        #: The event hooks (``hooks.request/response/retry`` lists); see docs/hooks.md.
        self.hooks = Hooks(event_hooks)
        self._pipeline = Pipeline(
            self._http, origin=self._origin, login=Origin(config.login_host),
            policy=self.retry_policy, limiter=self.rate_limiter, hooks=self.hooks,
            logger=self._logger,
        )  # fmt: skip
        self._oauth = OAuthClient(self._pipeline, config, client_id, client_secret)
        self._tokens = TokenManager(
            self.store,
            self._oauth,
            grant_type=grant_type,
            leeway=config.refresh_leeway,
            logger=self._logger,
        )
        self._pipeline.tokens = self._tokens
        self._timeout: float | httpx.Timeout | None = None  # a with_options override
        self._default_prefix = self._origin.prefix(config.default_version)  # validated once
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
        self, path: str, *, version: str | None = None, query: _Query = None,
        options: _Options = None, company_id: _CompanyId = None,
        idempotency_token: str | None = None, timeout: _Timeout = None,
    ) -> Response:  # fmt: skip
        """GET ``path`` (relative to ``/rest/<version>/``, or an absolute URL on the API host)."""
        return await self._pipeline.send(
            self._spec("GET", path, version, options, company_id, idempotency_token, timeout,
                       query)
        )  # fmt: skip

    async def delete(
        self, path: str, *, version: str | None = None, query: _Query = None,
        options: _Options = None, company_id: _CompanyId = None,
        idempotency_token: str | None = None, timeout: _Timeout = None,
    ) -> Response:  # fmt: skip
        """DELETE ``path``; unlike the gem, ``company_id`` and ``idempotency_token`` are sent."""
        return await self._pipeline.send(
            self._spec("DELETE", path, version, options, company_id, idempotency_token, timeout,
                       query)
        )  # fmt: skip

    async def post(
        self, path: str, *, version: str | None = None, body: Any = None,
        options: _Options = None, company_id: _CompanyId = None,
        idempotency_token: str | None = None, timeout: _Timeout = None,
    ) -> Response:  # fmt: skip
        """POST ``body`` (JSON, or multipart when it holds a file) to ``path``."""
        return await self._pipeline.send(
            self._spec("POST", path, version, options, company_id, idempotency_token, timeout,
                       None, body)
        )  # fmt: skip

    async def put(
        self, path: str, *, version: str | None = None, body: Any = None,
        options: _Options = None, company_id: _CompanyId = None,
        idempotency_token: str | None = None, timeout: _Timeout = None,
    ) -> Response:  # fmt: skip
        """PUT ``body`` to ``path``."""
        return await self._pipeline.send(
            self._spec("PUT", path, version, options, company_id, idempotency_token, timeout,
                       None, body)
        )  # fmt: skip

    async def patch(
        self, path: str, *, version: str | None = None, body: Any = None,
        options: _Options = None, company_id: _CompanyId = None,
        idempotency_token: str | None = None, timeout: _Timeout = None,
    ) -> Response:  # fmt: skip
        """PATCH ``body`` to ``path``."""
        return await self._pipeline.send(
            self._spec("PATCH", path, version, options, company_id, idempotency_token, timeout,
                       None, body)
        )  # fmt: skip

    async def request(
        self,
        method: str,
        path: str,
        *,
        version: str | None = None,
        query: Mapping[str, Any] | str | None = None,
        body: Any = None,
        options: Mapping[str, Any] | None = None,
        company_id: int | str | None = None,
        idempotency_token: str | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> Response:
        """Send one API call through the whole pipeline; the verbs are thin wrappers."""
        return await self._pipeline.send(
            self._spec(method, path, version, options, company_id, idempotency_token, timeout,
                       query=query, body=body)
        )  # fmt: skip

    def _spec(
        self, method: str, path: str, version: str | None, options: _Options,
        company_id: _CompanyId, idempotency_token: str | None, timeout: _Timeout,
        query: _Query = None, body: Any = None, label: str = "api",
    ) -> RequestSpec:  # fmt: skip
        """``build``, with the gem-style ``options`` dict folded into the keywords."""
        if options:
            if company_id is None:
                company_id = options.get("company_id")
            if idempotency_token is None:
                idempotency_token = options.get("idempotency_token")
        method = method.upper()
        if query is None and version is None and is_plain_path(path):  # the hot path
            url = self._default_prefix + path.lstrip("/")
        else:
            version = self.config.default_version if version is None else version
            url = build_url(self._origin, path, version, query)
        headers = dict(self._base_headers)
        if company_id is not None and company_id is not False:
            headers["Procore-Company-Id"] = str(company_id)
        idempotent = method in _IDEMPOTENT_METHODS
        if idempotency_token is not None:
            headers["Idempotency-Token"] = str(idempotency_token)
            idempotent = idempotent or honours_idempotency_token(method, url)
        payload = encode_body(body) if method in _BODY_METHODS else None
        if payload is not None:
            headers.update(payload.headers)
        return RequestSpec(
            method, url, headers, payload, None, idempotent,
            self._timeout if timeout is None else timeout, True, True, None, False, label, body,
        )  # fmt: skip

    # -- the Requester protocol (pagination, sync, files, webhooks, resources) --

    def build(
        self, method: str, path: str, *, version: str | None = None, query: _Query = None,
        body: Any = None, company_id: _CompanyId = None, idempotency_token: str | None = None,
        timeout: _Timeout = None, label: str = "api",
    ) -> RequestSpec:  # fmt: skip
        """The :class:`RequestSpec` of one API call; bad input raises before any I/O.

        Idempotent: GET, HEAD, OPTIONS, DELETE and PUT; a POST or PATCH only when it
        carries an ``Idempotency-Token`` on one of the operations where Procore
        declares that header (``_idempotency.py``); elsewhere Procore ignores it.
        """
        return self._spec(method, path, version, None, company_id, idempotency_token, timeout,
                          query, body, label)  # fmt: skip

    async def send(self, spec: RequestSpec) -> Response:
        """Send ``spec`` through the pipeline: a 2xx :class:`Response` or a typed error."""
        return await self._pipeline.send(spec)

    def stream(self, spec: RequestSpec) -> AbstractAsyncContextManager[httpx.Response]:
        """The pipeline up to a 2xx status line; read the body inside ``async with``."""
        return self._pipeline.stream(spec)

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
        self, path: str, *, version: str | None = None, query: _Query = None,
        company_id: _CompanyId = None, per_page: int | None = None,
        max_items: int | None = None, concurrency: int | None = None,
        start_page: int | None = None,
        item_type: type[T] | None = None,
    ) -> ItemIterator[T]:  # fmt: skip
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
        self, path: str, *, version: str | None = None, query: _Query = None,
        company_id: _CompanyId = None, per_page: int | None = None,
        max_items: int | None = None, concurrency: int | None = None,
        start_page: int | None = None,
    ) -> PageIterator:  # fmt: skip
        """Every page of a paginated collection as a :class:`Response`, in order."""
        from ._pagination import iterate_pages

        return iterate_pages(
            self, path, version=version, query=query, company_id=company_id, per_page=per_page,
            max_items=max_items, concurrency=concurrency, start_page=start_page,
        )  # fmt: skip

    async def sync(
        self, path: str, *, body: Mapping[str, Any], version: str | None = None,
        options: _Options = None, company_id: _CompanyId = None,
        idempotency_token: str | None = None, batch_size: int | None = None,
        concurrency: int | None = None, method: Literal["PATCH", "POST"] = "PATCH",
        raise_on_error: bool = True, on_progress: Callable[[int, int | None], Any] | None = None,
    ) -> SyncResult:  # fmt: skip
        """Upsert ``body["updates"]`` in concurrent batches, merged into a ``SyncResult``."""
        from ._batch import run_sync

        return await run_sync(
            self, path, body=body, version=version, options=options, company_id=company_id,
            idempotency_token=idempotency_token, batch_size=batch_size, concurrency=concurrency,
            method=method, raise_on_error=raise_on_error, on_progress=on_progress,
        )  # fmt: skip

    # -- per-call overrides --------------------------------------------------

    def with_options(
        self, *, max_retries: int | None = None, timeout: _Timeout = None,
        retry_deadline: float | None = None, retry_backoff: float | None = None,
        max_retry_wait: float | None = None,
    ) -> AsyncClient:  # fmt: skip
        """A view of this client with other retry and timeout settings.

        Cheap (no new pool): the view shares the connection pool, token store and
        manager, rate pacer and hooks; closing it closes nothing.  Values are
        checked like ``Config`` fields.  ``client.with_options(max_retries=0).get(...)``
        """
        values = (max_retries, timeout, retry_deadline, retry_backoff, max_retry_wait)
        changes = {k: v for k, v in zip(_OPTIONS, values, strict=True) if v is not None}
        view = copy.copy(self)
        view.config = self.config.replace(**changes)
        view._owns_http = False
        view.retry_policy = RetryPolicy(view.config)
        view._pipeline = self._pipeline.view(view.retry_policy)
        view.__dict__.pop("api", None)  # a cached `api` would still call the original
        if timeout is not None:
            view._timeout = view.config.http_timeout
        return view

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
