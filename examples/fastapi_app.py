"""A FastAPI app on Procore: the app's own calls and each signed-in user's calls.

    pip install procore-async fastapi uvicorn itsdangerous
    uvicorn examples.fastapi_app:app           # then open http://127.0.0.1:8000/login

Without PROCORE_CLIENT_ID set it talks to an in-process FakeProcore (whose sign-in page
approves at once); with PROCORE_CLIENT_ID, PROCORE_CLIENT_SECRET and PROCORE_REDIRECT_URI
(this app's /callback, registered in the Procore app) it talks to Procore.

* One connection pool for the process, opened and closed by the lifespan, and one
  client-credentials client on it for the app's own calls (``/companies``).
* Each user's token is theirs: a per-request client on the same pool, its token in a
  ``SessionStore``.  The cookie session is signed, not encrypted, so the session holds
  only a random reference and the token lives server-side (a ``RedisStore`` when
  REDIS_URL is set, else a 0600 ``FileStore`` on this machine).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import RedirectResponse
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
    config = procore_async.Config()
    if fake is not None:
        config = config.replace(host=FAKE_HOST, login_host=FAKE_LOGIN_HOST)
    transport = fake.transport() if fake is not None else None
    async with httpx.AsyncClient(transport=transport, timeout=config.http_timeout) as http:
        client_id = fake.client_id if fake else CLIENT_ID
        client_secret = fake.client_secret if fake else CLIENT_SECRET
        app.state.fake, app.state.http, app.state.config = fake, http, config
        app.state.credentials = (client_id, client_secret)
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


def user_client(request: Request) -> procore_async.AsyncClient:
    """A light client for this user: the shared pool, the user's own token."""
    state = request.app.state

    def tokens_for(reference: str) -> TokenStore:
        if state.redis is not None:
            return RedisStore(redis=state.redis, key=f"user-{reference}")
        return FileStore(TOKENS, key=reference)

    store = SessionStore(session=request.session, reference_store=tokens_for)
    client_id, client_secret = state.credentials
    return procore_async.AsyncClient(
        client_id, client_secret, store, config=state.config, http_client=state.http
    )


@app.get("/companies")
async def companies(request: Request) -> Any:
    """The app's own view (its service account), shared by every request."""
    service: procore_async.AsyncClient = request.app.state.service
    fake = request.app.state.fake
    company = fake.company_id if fake else os.environ.get("PROCORE_COMPANY_ID")
    return (await service.get("companies", company_id=company)).body


@app.get("/login")
async def login(request: Request) -> RedirectResponse:
    request.session["oauth_state"] = state = secrets.token_urlsafe(24)
    fake = request.app.state.fake
    if fake is not None:  # the fake has no consent page: approve at once
        code = fake.authorization_code(REDIRECT_URI)
        return RedirectResponse(f"/callback?code={code}&state={state}")
    async with user_client(request) as client:
        return RedirectResponse(client.authorization_url(REDIRECT_URI, state))


@app.get("/callback")
async def callback(request: Request, code: str, state: str) -> RedirectResponse:
    if not secrets.compare_digest(state, request.session.pop("oauth_state", "")):
        raise HTTPException(400, "sign-in state does not match; start again at /login")
    async with user_client(request) as client:
        await client.exchange_code(code, REDIRECT_URI)  # saved in the user's store
    return RedirectResponse("/me")


@app.get("/me")
async def me(request: Request) -> Any:
    async with user_client(request) as client:  # closing it leaves the shared pool open
        try:
            return (await client.get("me")).body
        except (procore_async.MissingTokenError, procore_async.AuthorizationError):
            raise HTTPException(401, "not signed in: visit /login") from None


@app.get("/logout")
async def logout(request: Request) -> dict[str, str]:
    async with user_client(request) as client:
        try:
            await client.revoke()
        except procore_async.MissingTokenError:
            pass
    return {"status": "signed out"}
