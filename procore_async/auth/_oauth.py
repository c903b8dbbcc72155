"""The OAuth 2.0 calls to Procore's login host: the three grants and revoke.

Bodies are form-encoded with ``client_id`` and ``client_secret`` in the body, as
Procore documents (not HTTP Basic).  Every call goes through the client's one
pipeline as a :class:`~procore_async._request.RequestSpec` labelled ``"oauth"``:
no bearer token, no pacing, the same retry policy.  What may be resent follows
what the grant spends:

* client credentials and revoke are idempotent (a second grant just mints
  another token; revoking twice answers 200), so they are retried like a GET;
* a refresh-token or authorization-code grant spends a single-use token, and
  Procore documents that *any* refresh call, successful or not, invalidates the
  refresh token it names.  So these are not idempotent: after a lost reply
  (read timeout, connection dropped after sending) or a 5xx they are not
  resent by the retry loop; the token manager re-reads the store first (another
  process may have saved the new token) before it decides (see ``_manager``).

Anything else becomes an :class:`~procore_async.OAuthError` carrying the
server's ``error`` / ``error_description`` and the response.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from .._config import Config
from .._errors import APIStatusError, OAuthError
from .._payload import Payload
from .._request import RequestSpec
from .._response import Response, server_requested_wait
from ._token import Token

if TYPE_CHECKING:
    from .._pipeline import Pipeline

__all__ = ["OAuthClient"]


class OAuthClient:
    """Talks to ``{login_host}/oauth/*`` on behalf of one registered Procore app."""

    __slots__ = ("_client_id", "_client_secret", "_headers", "_pipeline", "config")

    def __init__(
        self, pipeline: Pipeline, config: Config, client_id: str, client_secret: str
    ) -> None:
        self._pipeline = pipeline
        self.config = config
        self._client_id = client_id
        self._client_secret = client_secret
        self._headers = {"Accept": "application/json", "User-Agent": config.user_agent}

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
        """The refresh-token grant.  Procore refresh tokens are single use: not resent."""
        if not token.refresh_token:
            raise OAuthError("the stored token has no refresh token; sign in again")
        payload = await self._grant(
            "refresh_token", idempotent=False, refresh_token=token.refresh_token
        )
        return Token.from_oauth(payload, previous=token)

    async def client_credentials(self) -> Token:
        """The client-credentials grant (a service account, no user, no refresh token)."""
        return Token.from_oauth(await self._grant("client_credentials", idempotent=True))

    async def exchange_code(self, code: str, redirect_uri: str) -> Token:
        """The authorization-code grant: trade the code from the redirect for a token."""
        payload = await self._grant(
            "authorization_code", idempotent=False, code=code, redirect_uri=redirect_uri
        )
        return Token.from_oauth(payload)

    async def revoke(self, token: Token) -> None:
        """Revoke the access token (and with it its refresh token)."""
        if token.access_token is None:
            raise OAuthError("there is no access token to revoke")
        await self._post("/oauth/revoke", {"token": token.access_token}, idempotent=True)

    async def _grant(
        self, grant_type: str, *, idempotent: bool, **fields: str
    ) -> Mapping[str, Any]:
        response = await self._post(
            "/oauth/token", {"grant_type": grant_type, **fields}, idempotent=idempotent
        )
        body = response.body
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            raise OAuthError(
                f"the token endpoint answered {response.status_code} without an access token",
                response=response,
            )
        return body

    def spec(self, path: str, fields: Mapping[str, str], *, idempotent: bool) -> RequestSpec:
        """The request for one call to ``{login_host}{path}``: a form, no bearer, no pacing."""
        form = {"client_id": self._client_id, "client_secret": self._client_secret, **fields}
        return RequestSpec(
            "POST",
            self.config.login_host + path,
            self._headers,
            payload=Payload(data={key: [value] for key, value in form.items()}),
            idempotent=idempotent,
            timeout=self.config.http_timeout,
            authenticated=False,
            paced=False,
            label="oauth",
        )

    async def _post(self, path: str, fields: Mapping[str, str], *, idempotent: bool) -> Response:
        try:
            return await self._pipeline.send(self.spec(path, fields, idempotent=idempotent))
        except APIStatusError as exc:
            if exc.response is None:  # refused before any I/O
                raise
            raise _oauth_error(exc.response) from None


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
