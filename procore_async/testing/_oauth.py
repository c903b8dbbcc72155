"""The fake's OAuth 2.0 server: Procore's token, revoke, authorize and token-info endpoints.

Procore runs Doorkeeper, so where Procore's docs are silent (error bodies, token info)
the fake answers as Doorkeeper does: RFC 6749 ``{"error", "error_description"}`` with
400 for a bad grant and 401 for a bad client.  Refresh tokens are single-use: any
refresh call, successful or not, spends the refresh token it names.  A refresh does not
revoke the previous access token; it stays valid until it expires, as Procore's docs
describe nothing else.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from ._http import BodyError, Reply, Request, json_reply
from ._stats import FakeStats

__all__ = [
    "OOB_REDIRECT_URI",
    "TOKEN_EXPIRED",
    "TOKEN_INVALID",
    "Grant",
    "OAuthServer",
    "RegisteredApp",
]

TOKEN_EXPIRED = (
    "Your access token has expired, please use your refresh token to obtain a fresh token."
)
TOKEN_INVALID = "The access token is invalid"
REFRESH_INVALID = "The refresh token is invalid"
OOB_REDIRECT_URI = "urn:ietf:wg:oauth:2.0:oob"
CODE_LIFETIME = 600.0

_BAD_CLIENT = (
    "Client authentication failed due to unknown client, no client authentication "
    "included, or unsupported authentication method."
)
_BAD_GRANT = (
    "The provided authorization grant is invalid, expired, revoked, does not match the "
    "redirection URI used in the authorization request, or was issued to another client."
)
_NO_STORE = (("Cache-Control", "no-store"), ("Pragma", "no-cache"))


@dataclass(frozen=True, slots=True)
class RegisteredApp:
    client_id: str
    client_secret: str
    redirect_uri: str


@dataclass(slots=True)
class Grant:
    """One issued access token (and its refresh token, for user grants)."""

    access_token: str
    refresh_token: str | None
    client_id: str
    user_id: int | None  # None: a client-credentials (service account) token
    created_at: int
    expires_at: float
    revoked: bool = False

    @property
    def is_user(self) -> bool:
        return self.user_id is not None


@dataclass(frozen=True, slots=True)
class _Code:
    client_id: str
    redirect_uri: str
    user_id: int
    expires_at: float


class OAuthServer:
    """Issues, checks and revokes tokens; serves the ``/oauth/*`` routes."""

    def __init__(
        self,
        app: RegisteredApp,
        *,
        lifetime: int,
        clock: Callable[[], float],
        secret: Callable[[str], str],
        stats: FakeStats,
        default_user_id: int,
        service_user_id: int,
        allow_basic: bool = False,
    ) -> None:
        self.app = app
        #: Procore takes the client credentials in the form body only; a strict fake
        #: refuses HTTP Basic (``invalid_client``), a lenient one accepts it.
        self.allow_basic = allow_basic
        self.lifetime = lifetime
        self._clock = clock
        self._secret = secret
        self._stats = stats
        self.default_user_id = default_user_id
        self.service_user_id = service_user_id
        self._access: dict[str, Grant] = {}
        self._refresh: dict[str, Grant] = {}
        self._codes: dict[str, _Code] = {}

    # -- used by FakeProcore and the API --------------------------------------------

    def issue(self, user_id: int | None, *, expires_in: float | None = None) -> Grant:
        """Mint a token; user tokens get a refresh token, service-account tokens none."""
        now = self._clock()
        grant = Grant(
            access_token=self._secret("access"),
            refresh_token=self._secret("refresh") if user_id is not None else None,
            client_id=self.app.client_id,
            user_id=user_id,
            created_at=int(now),
            expires_at=now + (self.lifetime if expires_in is None else expires_in),
        )
        self._access[grant.access_token] = grant
        if grant.refresh_token is not None:
            self._refresh[grant.refresh_token] = grant
        return grant

    def new_code(self, redirect_uri: str | None = None, user_id: int | None = None) -> str:
        code = self._secret("code")
        self._codes[code] = _Code(
            self.app.client_id,
            redirect_uri or self.app.redirect_uri,
            user_id or self.default_user_id,
            self._clock() + CODE_LIFETIME,
        )
        return code

    def lookup(self, access_token: str | None) -> Grant | None:
        """The grant an access token belongs to, valid or not (used for rate buckets)."""
        return None if access_token is None else self._access.get(access_token)

    def check(self, access_token: str | None) -> Grant | str:
        """The live grant for a bearer token, or the 401 message Procore sends."""
        grant = self.lookup(access_token)
        if grant is None or grant.revoked:
            return TOKEN_INVALID
        if grant.expires_at <= self._clock():
            return TOKEN_EXPIRED
        return grant

    def expire(self, access_token: str) -> None:
        grant = self._access.get(access_token)
        if grant is not None:
            grant.expires_at = self._clock() - 1

    def revoke(self, token: str) -> None:
        """Revoke an access or refresh token; the pair goes together, as at Procore."""
        grant = self._access.get(token) or self._refresh.get(token)
        if grant is not None:
            grant.revoked = True
            if grant.refresh_token is not None:
                self._refresh.pop(grant.refresh_token, None)

    # -- routes -----------------------------------------------------------------------

    def handle(self, request: Request) -> Reply | None:
        """Serve an ``/oauth/*`` request, or None when no such route exists."""
        route = (request.method, request.path.rstrip("/"))
        if route == ("POST", "/oauth/token"):
            return self._token(request)
        if route == ("POST", "/oauth/revoke"):
            return self._revoke(request)
        if route == ("GET", "/oauth/authorize"):
            return self._authorize(request)
        if route == ("GET", "/oauth/token/info"):
            return self._info(request)
        return None

    def _error(self, status: int, error: str, description: str) -> Reply:
        self._stats.oauth_errors[error] += 1
        body = {"error": error, "error_description": description}
        return json_reply(status, body, _NO_STORE)

    def _token(self, request: Request) -> Reply:
        try:
            params: dict[str, Any] = dict(request.query)
            params.update(request.parse_body())
        except BodyError as exc:
            return self._error(400, "invalid_request", str(exc))
        grant_type = params.get("grant_type")
        # Spend the refresh token before anything can fail: any call invalidates it.
        spent = None
        if grant_type == "refresh_token":
            spent = self._refresh.pop(str(params.get("refresh_token")), None)
        client_id, client_secret = params.get("client_id"), params.get("client_secret")
        basic = request.basic_auth() if self.allow_basic else None
        if client_id is None and basic is not None:
            client_id, client_secret = basic
        if not self._client_ok(client_id, client_secret):
            return self._error(401, "invalid_client", _BAD_CLIENT)
        if grant_type == "client_credentials":
            grant = self.issue(None)
        elif grant_type == "refresh_token":
            if spent is None or spent.revoked or spent.client_id != client_id:
                return self._error(400, "invalid_grant", REFRESH_INVALID)
            grant = self.issue(spent.user_id)
        elif grant_type == "authorization_code":
            code = self._codes.pop(str(params.get("code")), None)
            redirect_uri = params.get("redirect_uri") or self.app.redirect_uri
            if (
                code is None
                or code.expires_at <= self._clock()
                or code.client_id != client_id
                or code.redirect_uri != redirect_uri
            ):
                return self._error(400, "invalid_grant", _BAD_GRANT)
            grant = self.issue(code.user_id)
        elif grant_type is None:
            return self._error(400, "invalid_request", "Missing required parameter: grant_type.")
        else:
            return self._error(
                400,
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization server.",
            )
        self._stats.token_grants[str(grant_type)] += 1
        body: dict[str, Any] = {
            "access_token": grant.access_token,
            "token_type": "bearer",
            "expires_in": self.lifetime,
            "created_at": grant.created_at,
        }
        if grant.refresh_token is not None:
            body["refresh_token"] = grant.refresh_token
        return json_reply(200, body, _NO_STORE)

    def _client_ok(self, client_id: Any, client_secret: Any) -> bool:
        if client_id != self.app.client_id or not isinstance(client_secret, str):
            return False
        return hmac.compare_digest(client_secret.encode(), self.app.client_secret.encode())

    def _revoke(self, request: Request) -> Reply:
        try:
            params = request.parse_body()
        except BodyError:
            params = {}
        token = params.get("token") or request.param("token")
        if isinstance(token, str):
            self.revoke(token)
        return json_reply(200, {})

    def _authorize(self, request: Request) -> Reply:
        if request.param("client_id") != self.app.client_id:
            return self._error(401, "invalid_client", _BAD_CLIENT)
        redirect_uri = request.param("redirect_uri") or self.app.redirect_uri
        if redirect_uri not in (self.app.redirect_uri, OOB_REDIRECT_URI):
            return self._error(
                400,
                "invalid_redirect_uri",
                "The requested redirect uri is malformed or doesn't match client redirect URI.",
            )
        state = request.param("state")
        if request.param("response_type") != "code":
            query = {"error": "unsupported_response_type"}
            return _redirect(redirect_uri, query if state is None else {**query, "state": state})
        code = self.new_code(redirect_uri)
        if redirect_uri == OOB_REDIRECT_URI:
            return json_reply(200, {"code": code})
        return _redirect(
            redirect_uri, {"code": code} if state is None else {"code": code, "state": state}
        )

    def _info(self, request: Request) -> Reply:
        found = self.check(request.bearer())
        if isinstance(found, str):
            return self._error(401, "invalid_token", found)
        now = self._clock()
        return json_reply(
            200,
            {
                "resource_owner_id": found.user_id or self.service_user_id,
                "scopes": [],
                "expires_in_seconds": max(0, int(found.expires_at - now)),
                "application": {"uid": found.client_id},
                "created_at": found.created_at,
            },
        )


def _redirect(uri: str, query: dict[str, str]) -> Reply:
    location = f"{uri}{'&' if '?' in uri else '?'}{urlencode(query)}"
    return Reply(302, b"", [("Location", location)], None)
