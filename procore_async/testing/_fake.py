"""FakeProcore: Procore's OAuth server and REST API as one in-memory ASGI app.

Every request takes the same path: read → fault draw (and latency) → rate limit →
injected fault or real handling → headers every response carries (``X-Request-Id``,
``X-Rate-Limit-*``).  Handling is synchronous from the idempotency check to the stored
reply, so concurrent requests never interleave inside a write.
"""

from __future__ import annotations

import base64
import math
import random
import time
import uuid
from collections.abc import Callable, Iterable, MutableMapping
from typing import TYPE_CHECKING, Any, NoReturn

import anyio

from ._api import Api
from ._faults import ALL_KINDS, ConnectionDropped, FaultDecision, FaultPlan, Faults
from ._files_api import FilesApi
from ._http import ASGIReceive, ASGISend, Reply, Request, json_reply, read_request, text_reply
from ._limits import RATE_LIMIT_TEXT, RateLimiter, Verdict
from ._oauth import Grant, OAuthServer, RegisteredApp
from ._state import Key, Record, State
from ._stats import FakeStats
from ._storage import Storage

if TYPE_CHECKING:
    from .. import AsyncClient
    from ..auth import Token
    from ._transport import FakeTransport

__all__ = ["FAKE_HOST", "FAKE_LOGIN_HOST", "FakeProcore"]

FAKE_HOST = "https://api.procore.test"
FAKE_LOGIN_HOST = "https://login.procore.test"
_JWT_HEAD = "eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzUxMiJ9."  # {"typ":"JWT","alg":"ES512"}
_NO_FAULT = FaultDecision(None, 0.0)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


class FakeProcore:
    """A faithful, in-memory Procore for tests, demos and benchmarks (an ASGI app).

    It serves ``/oauth/*`` and ``/rest/*`` on whatever host a request names, so one
    instance plays both ``login.procore.com`` and ``api.procore.com``.  Seeded data:
    company :attr:`company_id` with ``projects`` projects, :attr:`second_company_id`
    with three, and one user (:attr:`user`) who belongs to both.  ``rate_limit`` is
    Procore's hourly limit per user (per app and company for client-credentials
    tokens); ``spike_limit`` its 10-second limit, off by default; None turns a window
    off.  ``seed`` makes tokens and request ids reproducible; ``clock`` (epoch seconds)
    drives token expiry, authorization codes, timestamps and the rate windows.

    ``strict=True`` (the default) plays by Procore's rules, from Procore's operation
    catalog shipped in the package: only catalog operations answer (anything else is a
    404), sync only where the catalog has it, ``Idempotency-Token`` replayed only where
    the catalog declares it, 429s with ``X-Rate-Limit-*`` and no ``Retry-After``, a
    rolling spike window, v2 error bodies, and no HTTP Basic on the token endpoint.
    ``strict=False`` is the first release's kinder fake: any collection on any path.
    """

    def __init__(
        self,
        *,
        client_id: str = "fake-client-id",
        client_secret: str = "fake-client-secret",
        redirect_uri: str = "http://127.0.0.1:8765/callback",
        token_lifetime: int = 5400,
        rate_limit: int | None = 3600,
        spike_limit: int | None = None,
        default_per_page: int = 100,
        max_per_page: int = 10_000,
        projects: int = 250,
        seed: int | None = None,
        clock: Callable[[], float] = time.time,
        strict: bool = True,
    ) -> None:
        if not 1 <= default_per_page <= max_per_page:
            raise ValueError("need 1 <= default_per_page <= max_per_page")
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.stats = FakeStats()
        self.strict = strict
        self._clock = clock
        self._rng = random.Random(seed)
        self._state = State(clock)
        self.company_id = 8089
        self.second_company_id = 562949953421313  # past 2**32: ids are 64-bit
        self.user: Record = {"id": 5447, "login": "pat.builder@example.com", "name": "Pat Builder"}
        self.service_account: Record = {
            "id": 5448,
            "login": f"{client_id}@service-accounts.procore.test",
            "name": "Fake App (service account)",
        }
        for user in (self.user, self.service_account):
            self._state.users[user["id"]] = user
        self._state.add_company(self.company_id, "Fake Construction Co.")
        self._state.add_company(self.second_company_id, "Second Fake Builders")
        for company, count in ((self.company_id, projects), (self.second_company_id, 3)):
            self._state.seed_records(company, ("projects",), count, _project)
        self._oauth = OAuthServer(
            RegisteredApp(client_id, client_secret, redirect_uri),
            lifetime=token_lifetime,
            clock=clock,
            secret=self._secret,
            stats=self.stats,
            default_user_id=self.user["id"],
            service_user_id=self.service_account["id"],
            allow_basic=not strict,
        )
        self._limits = RateLimiter(rate_limit, spike_limit, clock, rolling=strict)
        self._api = Api(
            self._state,
            self._oauth,
            self.stats,
            default_per_page=default_per_page,
            max_per_page=max_per_page,
            me=self._me,
            strict=strict,
        )
        self._faults: Faults | None = None
        self._files = FilesApi(self._state, self._oauth, clock)
        # Webhooks (hooks, triggers, deliveries): state listener + their own routes.
        from ._webhooks import FakeWebhooks
        from ._webhooks_api import WebhooksApi

        self.webhooks = FakeWebhooks(self._state, user_id=self.user["id"], seed=seed)
        WebhooksApi(self._state, self.webhooks).register(self._api.routes)

    # -- files (#14) --------------------------------------------------------------------

    @property
    def storage(self) -> Storage:
        """The storage origin (``.uploads``, ``.requests``, ``.url_lifetime``, ``.origin``)."""
        return self._files.storage

    def upload_content(self, upload_id: str) -> bytes:
        """The bytes that reached storage for an upload, parts joined in order."""
        return self._files.uploads.uploads[upload_id].content()

    # -- test helpers -----------------------------------------------------------------

    def faults(
        self,
        error_rate: float = 0.0,
        latency: float | tuple[float, float] = 0.0,
        seed: int | None = None,
        *,
        kinds: Iterable[str] = ALL_KINDS,
        retry_after: float = 0.0,
        only_retryable: bool = True,
        oauth: bool = True,
    ) -> FaultPlan:
        """Inject faults from now on; ``faults()`` with no arguments turns them off.

        ``error_rate`` is the share of requests that fail, each with one of ``kinds``:
        ``"500"``, ``"502"``, ``"503"`` (with ``Retry-After: retry_after``), ``"429"``
        (rate headers with ``X-Rate-Limit-Reset`` ``retry_after`` seconds ahead; a
        lenient fake adds ``Retry-After``), ``"drop_before"`` (connection lost, no
        change made) and ``"drop_after"`` (change made, reply lost); storage draws from
        the same plan and also takes ``"expired"`` and ``"slow"``.  ``latency`` delays
        every request by that many seconds, or by a uniform draw from a ``(low, high)``
        range, with ``anyio.sleep`` so concurrent requests overlap.  ``only_retryable``
        keeps 500s, 502s and drops off requests a correct client must not blindly
        resend: POST and PATCH, unless they carry an ``Idempotency-Token`` the operation
        honours (on a strict fake: the catalog declares it).  ``oauth=False`` spares the
        ``/oauth/*`` endpoints.  The same ``seed`` and request sequence give the same
        faults.
        """
        plan = FaultPlan(
            error_rate, latency, seed, tuple(kinds), retry_after, only_retryable, oauth
        )
        self._faults = Faults(plan) if plan.active else None
        return plan

    def add_records(
        self,
        company_id: int,
        resource: str,
        n: int = 1,
        *,
        project_id: int | None = None,
        **attrs: Any,
    ) -> list[Record]:
        """Create ``n`` records (named ``"<Resource> <i>"`` unless ``name`` is given).

        ``resource`` is a collection path such as ``"vendors"`` or
        ``"projects/123/rfis"``; ``project_id=123`` with ``"rfis"`` means the same.  An
        attribute given as a callable is called with the record's 1-based number, e.g.
        ``origin_id=lambda i: f"ext-{i}"``.  Returns copies of the new records.
        """
        key = self._key(company_id, resource, project_id)
        label = _singular_title(key[-1])

        def make(i: int) -> Record:
            record: Record = {"name": f"{label} {i}"}
            record.update((k, v(i) if callable(v) else v) for k, v in attrs.items())
            return record

        coll = self._state.collection(company_id, key)
        created = []
        for i in range(len(coll) + 1, len(coll) + n + 1):
            fields = make(i)
            problems = self._state.validate(coll, fields, None)
            if problems:
                raise ValueError(f"record {i} is invalid: {problems}")
            created.append(dict(self._state.create(company_id, key, fields)))
        return created

    def records(
        self, company_id: int, resource: str, *, project_id: int | None = None
    ) -> list[Record]:
        """Copies of every record in a collection, in creation order (server state)."""
        key = self._key(company_id, resource, project_id)
        return [dict(r) for r in self._state.all_records(company_id, key)]

    def issue_token(
        self, *, expires_in: float | None = None, service_account: bool = False
    ) -> Token:
        """A token as if the user had authorized the app (a refresh token included).

        ``expires_in`` overrides the lifetime (0 or less gives an expired token);
        ``service_account=True`` gives a client-credentials token, without a refresh
        token.  Issuing a token this way does not count as a request or a grant.
        """
        from ..auth import Token

        user_id = None if service_account else self.user["id"]
        grant = self._oauth.issue(user_id, expires_in=expires_in)
        return Token(grant.access_token, grant.refresh_token, math.floor(grant.expires_at))

    def authorization_code(self, redirect_uri: str | None = None) -> str:
        """A fresh single-use code for the user, as ``/oauth/authorize`` would hand out."""
        return self._oauth.new_code(redirect_uri)

    def expire_token(self, access_token: str) -> None:
        """Make an access token expired now (its refresh token still works)."""
        self._oauth.expire(access_token)

    def revoke_token(self, token: str) -> None:
        """Revoke an access or refresh token, and its partner, as ``/oauth/revoke`` does."""
        self._oauth.revoke(token)

    def reset_rate_limits(self) -> None:
        self._limits.reset()

    def transport(self) -> FakeTransport:
        """An ``httpx.AsyncBaseTransport`` that runs this app in process."""
        from ._transport import FakeTransport

        return FakeTransport(self)

    def client(self, **kwargs: Any) -> AsyncClient:
        """An :class:`~procore_async.AsyncClient` wired to this fake, ready to get tokens.

        Host ``https://api.procore.test``, login host ``https://login.procore.test``, the
        registered app's credentials and ``grant_type="client_credentials"`` unless
        overridden; every other keyword argument goes to ``AsyncClient``.
        """
        import dataclasses

        import procore_async

        config = kwargs.pop("config", None) or procore_async.get_config()
        config = dataclasses.replace(config, host=FAKE_HOST, login_host=FAKE_LOGIN_HOST)
        kwargs.setdefault("grant_type", "client_credentials")
        kwargs.setdefault("transport", self.transport())
        return procore_async.AsyncClient(
            kwargs.pop("client_id", self.client_id),
            kwargs.pop("client_secret", self.client_secret),
            config=config,
            **kwargs,
        )

    # -- ASGI ---------------------------------------------------------------------------

    async def __call__(
        self, scope: MutableMapping[str, Any], receive: ASGIReceive, send: ASGISend
    ) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            raise ValueError(f"FakeProcore serves HTTP only, not {scope['type']!r}")
        request = await read_request(scope, receive)
        if self._files.storage.owns(request):  # files (#14): another origin, its own log
            await self._files.storage.serve(request, send, self._faults)
            return
        stats = self.stats
        stats.requests += 1
        stats.by_path[request.path] += 1
        oauth = request.path.startswith("/oauth/")
        decision = _NO_FAULT
        if self._faults is not None:
            idempotent = not oauth and self._api.replays(request)
            decision = self._faults.draw(request.method, idempotent=idempotent, oauth=oauth)
        if decision.delay > 0:
            await anyio.sleep(decision.delay)
        verdict = self._limits.hit(self._bucket(request, oauth))
        rate_headers = verdict.headers
        kind = decision.kind
        if not verdict.allowed:
            # Procore's 429 says when through X-Rate-Limit-Reset (already in rate_headers);
            # Retry-After is for 503s (procore-api.md section 5).
            wait = [] if self.strict else [("Retry-After", str(verdict.retry_after))]
            reply = text_reply(429, RATE_LIMIT_TEXT, wait)
        elif kind == "drop_before":
            stats.faults[kind] += 1
            await _drop(send, applied=False)
        elif kind is not None and kind != "drop_after":
            stats.faults[kind] += 1
            reply = self._fault_reply(kind, verdict)
            rate_headers = ()
        else:
            handled = (
                self._oauth.handle(request)
                if oauth
                else self._files.handle(request) or self._api.handle(request)
            )
            reply = handled or json_reply(404, {"errors": "Not Found"})
            if kind == "drop_after":
                stats.faults[kind] += 1
                await _drop(send, applied=True)
        stats.by_status[reply.status] += 1
        if reply.status == 429:
            stats.rate_limited += 1
        extra = [("X-Request-Id", str(uuid.UUID(int=self._rng.getrandbits(128)))), *rate_headers]
        if not oauth and reply.header("Cache-Control") is None:
            extra.append(("Cache-Control", "no-store, must-revalidate, private, max-age=0"))
        await send(
            {
                "type": "http.response.start",
                "status": reply.status,
                "headers": reply.encoded_headers(extra),
            }
        )
        await send({"type": "http.response.body", "body": reply.body})

    # -- internals ----------------------------------------------------------------------

    def _secret(self, kind: str) -> str:
        bits = self._rng.getrandbits
        if kind == "access":
            payload, signature = bits(192).to_bytes(24, "big"), bits(384).to_bytes(48, "big")
            return f"{_JWT_HEAD}{_b64(payload)}.{_b64(signature)}"
        return f"{bits(256):064x}"

    def _me(self, grant: Grant) -> Record:
        if grant.user_id is None:
            return self.service_account
        return self._state.users[grant.user_id]

    def _bucket(self, request: Request, oauth: bool) -> str:
        """Whose budget a request spends: users per user, apps per app and company."""
        if oauth:
            return "oauth"
        grant = self._oauth.lookup(request.bearer())
        if grant is None:
            return "anonymous"
        if grant.user_id is not None:
            return f"user:{grant.client_id}:{grant.user_id}"
        return f"app:{grant.client_id}:{request.headers.get('procore-company-id', '')}"

    def _fault_reply(self, kind: str, verdict: Verdict) -> Reply:
        """The reply for an injected status, rate headers included (a 429 spends them)."""
        wait = _seconds(self._faults.plan.retry_after if self._faults else 0.0)
        if kind == "500":
            return Reply(500, b'{"errors":"Internal Server Error"}', list(verdict.headers))
        if kind == "502":
            return text_reply(502, "Bad Gateway", verdict.headers)
        if kind == "503":
            return text_reply(503, "Service Unavailable", [*verdict.headers, ("Retry-After", wait)])
        reset = str(math.ceil(self._clock() + float(wait)))
        if self.strict:
            limit = verdict.headers[0] if verdict.headers else _limit_header(self._limits)
            headers = [limit, ("X-Rate-Limit-Remaining", "0"), ("X-Rate-Limit-Reset", reset)]
            return text_reply(429, RATE_LIMIT_TEXT, headers)
        headers = [("Retry-After", wait)]
        if verdict.headers:
            headers += [
                verdict.headers[0],
                ("X-Rate-Limit-Remaining", "0"),
                ("X-Rate-Limit-Reset", reset),
            ]
        return text_reply(429, RATE_LIMIT_TEXT, headers)

    def _key(self, company_id: int, resource: str, project_id: int | None) -> Key:
        if company_id not in self._state.companies:
            raise ValueError(f"no company {company_id}")
        key: Key = tuple(part for part in resource.strip("/").split("/") if part)
        if project_id is not None:
            key = ("projects", str(project_id), *key)
        if not key or key[-1].isdigit() or not self._state.parents_exist(company_id, key):
            raise ValueError(f"{resource!r} does not name a collection of company {company_id}")
        return key


def _limit_header(limits: RateLimiter) -> tuple[str, str]:
    """``X-Rate-Limit-Limit`` for an injected 429 when the fake's own limits are off."""
    return ("X-Rate-Limit-Limit", str(limits.hourly or 3600))


def _project(i: int) -> Record:
    return {"name": f"Project {i:04d}", "project_number": f"P-{i:04d}", "active": True}


def _singular_title(name: str) -> str:
    word = name[:-3] + "y" if name.endswith("ies") else name.removesuffix("s")
    return word.replace("_", " ").capitalize()


async def _drop(send: ASGISend, *, applied: bool) -> NoReturn:
    """Start a response that never completes, then fail: the peer sees a hang-up."""
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"64")]}
    )
    raise ConnectionDropped(applied)


async def _lifespan(receive: ASGIReceive, send: ASGISend) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
