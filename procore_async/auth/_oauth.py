"""The OAuth 2.0 calls to Procore's login host: the three grants and revoke.

Bodies are form-encoded with ``client_id`` and ``client_secret`` in the body, as
Procore documents (not HTTP Basic).  Transient failures (connection errors,
timeouts, 429, 5xx) go through the client's retry policy like any API call;
anything else becomes an :class:`~procore_async.OAuthError` carrying the
server's ``error`` / ``error_description`` and the response.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import httpx

from .._config import Config
from .._errors import OAuthError
from .._response import Response
from .._retry import RetryPolicy, connection_error, server_requested_wait
from ._token import Token

__all__ = ["OAuthClient"]


class OAuthClient:
    """Talks to ``{login_host}/oauth/*`` on behalf of one registered Procore app."""

    __slots__ = ("_client_id", "_client_secret", "_http", "_policy", "config")

    def __init__(
        self,
        http: httpx.AsyncClient,
        config: Config,
        client_id: str,
        client_secret: str,
        policy: RetryPolicy,
    ) -> None:
        self._http = http
        self.config = config
        self._client_id = client_id
        self._client_secret = client_secret
        self._policy = policy

    def authorization_url(self, redirect_uri: str, state: str | None = None) -> str:
        """Where to send a user to grant this app access (authorization-code flow)."""
        params = {
            "response_type": "code",
            "client_id": self._client_id,
            "redirect_uri": redirect_uri,
        }
        if state is not None:
            params["state"] = state
        return f"{self.config.login_host}/oauth/authorize?{urlencode(params)}"

    async def refresh(self, token: Token) -> Token:
        """The refresh-token grant.  Procore refresh tokens are single use."""
        if not token.refresh_token:
            raise OAuthError("the stored token has no refresh token; sign in again")
        payload = await self._grant("refresh_token", refresh_token=token.refresh_token)
        return Token.from_oauth(payload, previous=token)

    async def client_credentials(self) -> Token:
        """The client-credentials grant (a service account, no user, no refresh token)."""
        return Token.from_oauth(await self._grant("client_credentials"))

    async def exchange_code(self, code: str, redirect_uri: str) -> Token:
        """The authorization-code grant: trade the code from the redirect for a token."""
        payload = await self._grant("authorization_code", code=code, redirect_uri=redirect_uri)
        return Token.from_oauth(payload)

    async def revoke(self, token: Token) -> None:
        """Revoke the access token (and with it its refresh token)."""
        if token.access_token is None:
            raise OAuthError("there is no access token to revoke")
        await self._post("/oauth/revoke", {"token": token.access_token})

    async def _grant(self, grant_type: str, **fields: str) -> Mapping[str, Any]:
        response = await self._post("/oauth/token", {"grant_type": grant_type, **fields})
        body = response.body
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            raise OAuthError(
                f"the token endpoint answered {response.status_code} without an access token",
                response=response,
            )
        return body

    async def _post(self, path: str, fields: Mapping[str, str]) -> Response:
        url = self.config.login_host + path
        form = {"client_id": self._client_id, "client_secret": self._client_secret, **fields}
        logger = self.config.logger

        async def attempt() -> Response:
            started = time.perf_counter()
            try:
                raw = await self._http.post(
                    url,
                    data=form,
                    headers={"Accept": "application/json", "User-Agent": self.config.user_agent},
                    timeout=self.config.http_timeout,
                )
            except httpx.TransportError as exc:
                raise connection_error(exc) from exc
            response = Response(raw, request_body=None, logger=logger)
            logger.info(
                "POST %s -> %d in %.0f ms",
                url,
                raw.status_code,
                (time.perf_counter() - started) * 1000,
            )
            if not response.is_success:
                raise _oauth_error(response)
            return response

        return await self._policy.call(attempt, idempotent=True, what=f"POST {url}")


def _oauth_error(response: Response) -> OAuthError:
    body = response.body
    error = description = None
    if isinstance(body, dict):
        raw_error, raw_description = body.get("error"), body.get("error_description")
        error = raw_error if isinstance(raw_error, str) else None
        description = raw_description if isinstance(raw_description, str) else None
    message = f"OAuth request failed: {response.status_code} {response.reason_phrase}"
    if error:
        message += f" ({error})"
    if description:
        message += f": {description}"
    return OAuthError(
        message,
        response=response,
        retry_after=server_requested_wait(response.headers, response.status_code),
        error=error,
        error_description=description,
    )
