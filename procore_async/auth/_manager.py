"""The token manager: one fresh token for every request, one refresh at a time.

Procore refresh tokens are single use, so two refreshes racing lock one caller
out for good.  The manager makes that impossible:

* **single flight in the process**: an ``anyio.Lock``; whoever takes it second
  finds the new token already there (double-checked) and makes no call;
* **single flight across processes**: when the store offers ``lock()``, the
  refresh happens under it and the store is read again inside it, because
  another process may have refreshed already;
* **compare-and-invalidate on 401**: a 401 only throws the token away if the
  token that failed is still the current one, so a slow request cannot discard
  a newer token;
* the new token is saved before any waiter uses it, and the grant plus the save
  run shielded from cancellation, so the store never holds a consumed refresh
  token;
* a failed refresh is reported to every caller that was waiting for it rather
  than retried by each of them in turn;
* a refresh whose reply was lost (read timeout, connection dropped after
  sending, a 5xx) is not replayed blindly: the store is read again first, since
  another process may have saved the new token meanwhile.  Only if it still
  holds the token that was sent is the grant sent once more: Procore documents
  that any refresh call, successful or not, invalidates the refresh token it
  names, so a replay either succeeds (the first call never arrived) or is
  refused, and cannot mint a second token.  A refusal then says plainly that
  the token was spent by the call whose reply was lost.
"""

from __future__ import annotations

import logging
import time
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import TYPE_CHECKING, Literal

import anyio

from .._errors import MissingTokenError, OAuthError, may_have_applied

if TYPE_CHECKING:
    from ..stores._base import TokenStore
    from ._oauth import OAuthClient
    from ._token import Token

__all__ = ["GrantType", "TokenManager"]

GrantType = Literal["refresh_token", "client_credentials"]

_MISSING = (
    "no access token in {store!r}: save a token first (client.exchange_code(), or "
    "store.save(Token(...))), or use grant_type='client_credentials'"
)


class TokenManager:
    """Hands out the current token and renews it when due or rejected."""

    __slots__ = (
        "_attempts",
        "_last_error",
        "_lock",
        "_token",
        "grant_type",
        "leeway",
        "logger",
        "oauth",
        "store",
    )

    def __init__(
        self,
        store: TokenStore,
        oauth: OAuthClient,
        *,
        grant_type: GrantType,
        leeway: float,
        logger: logging.Logger,
    ) -> None:
        self.store = store
        self.oauth = oauth
        self.grant_type = grant_type
        self.leeway = leeway
        self.logger = logger
        self._token: Token | None = None
        self._lock: anyio.Lock | None = None
        self._attempts = 0
        self._last_error: BaseException | None = None

    @property
    def lock(self) -> anyio.Lock:
        # Created on first use, inside the event loop that will use it.
        if self._lock is None:
            self._lock = anyio.Lock()
        return self._lock

    async def current(self) -> Token:
        """The token to send now; renewed first when it is missing or due."""
        token = self._token
        if token is not None:
            expires_at = token.expires_at
            if expires_at is not None and expires_at - time.time() > self.leeway:
                return token  # the hot path: Token.is_due, inlined
        return await self._renew(stale=token, force=False)

    async def refresh(self) -> Token:
        """Renew now, even if the current token is still good (``client.refresh()``)."""
        return await self._renew(stale=None, force=True)

    async def rejected(self, failed: Token) -> Token:
        """A request with ``failed`` got a 401: the token to replay it with.

        If a newer token is already current (another task refreshed while this
        request was in flight), that one is returned and nothing is renewed.
        """
        current = self._token
        if current is not None and current.access_token != failed.access_token:
            return current
        return await self._renew(stale=failed, force=True)

    def forget(self) -> None:
        """Drop the cached token (after revoke); the store is read again next time."""
        self._token = None

    async def _renew(self, *, stale: Token | None, force: bool) -> Token:
        attempts_seen = self._attempts
        async with self.lock:
            if self._attempts != attempts_seen:
                # Someone renewed while we waited: use their token, or their error.
                token = self._token
                if token is not None and token is not stale and not token.is_due(self.leeway):
                    return token
                if self._last_error is not None:
                    raise self._last_error
            token = await self.store.fetch()
            if self._usable(token, stale, force):
                assert token is not None
                self._token = token
                return token
            store_lock = getattr(self.store, "lock", None)
            guard: AbstractAsyncContextManager[object] = (
                store_lock() if callable(store_lock) else nullcontext()
            )
            async with guard:
                if store_lock is not None:
                    token = await self.store.fetch()
                    if self._usable(token, stale, force):
                        assert token is not None
                        self._token = token
                        return token
                return await self._obtain(token)

    async def _refresh(self, current: Token) -> Token:
        """The refresh grant, with the lost-reply rule of the module docstring."""
        try:
            return await self.oauth.refresh(current)
        except Exception as exc:
            if not may_have_applied(exc):
                raise
            lost = exc
        stored = await self.store.fetch()
        if (
            stored is not None
            and not stored.invalid
            and stored.refresh_token != current.refresh_token
            and not stored.is_due(self.leeway)
        ):
            self.logger.warning(
                "a token refresh reply was lost (%s); using the newer token found in %r",
                type(lost).__name__, self.store,
            )  # fmt: skip
            return stored
        self.logger.warning(
            "a token refresh reply was lost (%s); sending the grant once more", type(lost).__name__
        )
        try:
            return await self.oauth.refresh(current)
        except OAuthError as refused:
            if refused.status_code not in (400, 401):
                raise
            raise OAuthError(
                "the reply to a token refresh was lost and Procore now refuses the refresh "
                "token (single use, so the lost call spent it): sign in again "
                f"({refused.error or refused.status_code})",
                response=refused.response,
                error=refused.error,
                error_description=refused.error_description,
            ) from lost

    def _usable(self, token: Token | None, stale: Token | None, force: bool) -> bool:
        if token is None or token.invalid or token.is_due(self.leeway):
            return False
        if not force:
            return True
        # A forced renewal accepts only a token other than the one being replaced
        # (and, with nothing to replace, none at all: client.refresh() always renews).
        return stale is not None and token.access_token != stale.access_token

    async def _obtain(self, current: Token | None) -> Token:
        self._attempts += 1
        if self.grant_type == "refresh_token" and (current is None or current.invalid):
            self._last_error = MissingTokenError(_MISSING.format(store=self.store))
            raise self._last_error
        try:
            # Shielded: once a single-use refresh token is spent, the new token must
            # reach the store even if the caller is cancelled meanwhile.
            with anyio.CancelScope(shield=True):
                if self.grant_type == "client_credentials":
                    token = await self.oauth.client_credentials()
                else:
                    assert current is not None
                    token = await self._refresh(current)
                await self.store.save(token)
        except Exception as exc:
            self._last_error = exc
            self.logger.warning("token renewal failed for %r: %s", self.store, type(exc).__name__)
            raise
        self._last_error = None
        self._token = token
        self.logger.info("token renewed (%s) for %r", self.grant_type, self.store)
        return token
