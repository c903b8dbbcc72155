"""A FastAPI app on Procore: the app's own calls and each signed-in user's calls.

    pip install procore-async fastapi uvicorn itsdangerous
    uvicorn examples.fastapi_app:app           # then open http://127.0.0.1:8000/login

Three ways to run it:

* nothing set: an in-process FakeProcore (its sign-in approves at once);
* against ``procore-async fake-server --redirect-uri http://127.0.0.1:8000/callback``:
  export the ``PROCORE_*`` variables it prints (``PROCORE_HOST``, ``PROCORE_LOGIN_HOST``,
  ``PROCORE_CLIENT_ID``, ``PROCORE_CLIENT_SECRET``, ``PROCORE_COMPANY_ID``);
* against Procore: the same variables for your app (``Config.from_env()`` reads the
  hosts), and ``PROCORE_REDIRECT_URI``, this app's /callback as registered in Procore.

* One connection pool for the process, opened and closed by the lifespan, and one
  client-credentials client on it for the app's own calls (``/companies``).
* Each user's token is theirs: a per-request client on the same pool (a FastAPI
  dependency), its token in a ``SessionStore``.  The cookie session is signed, not
  encrypted, so the session holds only a random reference and the token lives
  server-side (a ``RedisStore`` when REDIS_URL is set, else a 0600 ``FileStore``).
* A user who is not signed in gets 401 with where to sign in, from one exception handler
  for ``MissingTokenError`` and ``AuthorizationError``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import httpx
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.middleware.sessions import SessionMiddleware

import procore_async
from procore_async.stores import FileStore, RedisStore, SessionStore, TokenStore
from procore_async.testing import FAKE_HOST, FAKE_LOGIN_HOST, FakeProcore

CLIENT_ID = os.environ.get("PROCORE_CLIENT_ID", "")
CLIENT_SECRET = os.environ.get("PROCORE_CLIENT_SECRET", "")
REDIRECT_URI = os.environ.get("PROCORE_REDIRECT_URI", "http://127.0.0.1:8000/callback")
TOKENS = os.environ.get("TOKEN_FILE", "user-tokens.json")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    fake = None if CLIENT_ID else FakeProcore(redirect_uri=REDIRECT_URI)
    if fake is None:
        config = procore_async.Config.from_env()  # PROCORE_HOST, PROCORE_LOGIN_HOST, ...
        company = os.environ.get("PROCORE_COMPANY_ID")
    else:
        config = procore_async.Config(host=FAKE_HOST, login_host=FAKE_LOGIN_HOST)
        company = str(fake.company_id)
    transport = fake.transport() if fake is not None else None
    async with httpx.AsyncClient(transport=transport, timeout=config.http_timeout) as http:
        client_id = fake.client_id if fake else CLIENT_ID
        client_secret = fake.client_secret if fake else CLIENT_SECRET
        app.state.fake, app.state.http, app.state.config = fake, http, config
        app.state.credentials, app.state.company = (client_id, client_secret), company
        app.state.redis = None
        if os.environ.get("REDIS_URL"):
            from redis.asyncio import Redis

            app.state.redis = Redis.from_url(os.environ["REDIS_URL"])
        async with procore_async.AsyncClient(
            client_id, client_secret, config=config, http_client=http,
            grant_type="client_credentials",
        ) as service:  # fmt: skip
            app.state.service = service
            yield
        if app.state.redis is not None:
            await app.state.redis.aclose()


app = FastAPI(lifespan=lifespan)
app.add_middleware(
    SessionMiddleware, secret_key=os.environ.get("SESSION_SECRET", secrets.token_hex(32))
)


@app.exception_handler(procore_async.MissingTokenError)
@app.exception_handler(procore_async.AuthorizationError)
async def not_signed_in(request: Request, exc: Exception) -> JSONResponse:
    """No token for this user, or Procore no longer accepts it: send them to sign in."""
    return JSONResponse({"detail": "not signed in", "login": "/login"}, status_code=401)


async def user_client(request: Request) -> AsyncIterator[procore_async.AsyncClient]:
    """A dependency: a light client for this user on the shared pool, with their own token."""
    state = request.app.state

    def tokens_for(reference: str) -> TokenStore:
        if state.redis is not None:
            return RedisStore(redis=state.redis, key=f"user-{reference}")
        return FileStore(TOKENS, key=reference)

    store = SessionStore(session=request.session, reference_store=tokens_for)
    client_id, client_secret = state.credentials
    async with procore_async.AsyncClient(
        client_id, client_secret, store, config=state.config, http_client=state.http
    ) as client:  # closing it leaves the shared pool open
        yield client


UserClient = Annotated[procore_async.AsyncClient, Depends(user_client)]


@app.get("/companies")
async def companies(request: Request) -> Any:
    """The app's own view (its service account), shared by every request."""
    service: procore_async.AsyncClient = request.app.state.service
    return (await service.get("companies", company_id=request.app.state.company)).body


@app.get("/login")
async def login(request: Request, client: UserClient) -> RedirectResponse:
    request.session["oauth_state"] = state = secrets.token_urlsafe(24)
    fake = request.app.state.fake
    if fake is not None:  # the in-process fake has no sign-in page: approve at once
        code = fake.authorization_code(REDIRECT_URI)
        return RedirectResponse(f"/callback?code={code}&state={state}")
    return RedirectResponse(client.authorization_url(REDIRECT_URI, state))


@app.get("/callback")
async def callback(request: Request, client: UserClient, code: str, state: str) -> RedirectResponse:
    if not secrets.compare_digest(state, request.session.pop("oauth_state", "")):
        raise HTTPException(400, "sign-in state does not match; start again at /login")
    await client.exchange_code(code, REDIRECT_URI)  # saved in the user's store
    return RedirectResponse("/projects")


@app.get("/me")
async def me(client: UserClient) -> Any:
    return (await client.get("me")).body


@app.get("/projects")
async def projects(
    request: Request,
    client: UserClient,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    """One page of the company's projects, as the signed-in user sees them, with links
    to the neighbouring pages of this app (Procore's own ``Link`` URLs hold the API host)."""
    company = request.app.state.company
    query = {"company_id": company, "page": page, "per_page": per_page}
    response = await client.get("projects", query=query, company_id=company)
    links = response.pagination

    def here(number: int) -> str:
        return str(request.url.include_query_params(page=number, per_page=per_page))

    return {
        "projects": [{"id": p["id"], "name": p["name"]} for p in response.body],
        "page": page,
        "total": response.total,
        "next": here(page + 1) if "next" in links else None,
        "prev": here(page - 1) if "prev" in links else None,
    }


@app.get("/logout")
async def logout(client: UserClient) -> dict[str, str]:
    try:
        await client.revoke()
    except procore_async.MissingTokenError:
        pass
    return {"status": "signed out"}
