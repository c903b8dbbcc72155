"""The OAuth token value object, and its JSON shape shared with the Ruby gem."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from .._errors import OAuthError, TokenStoreError

__all__ = ["MAX_LIFETIME", "ExpiresAt", "Token", "normalize_expires_at"]


def normalize_expires_at(value: Any) -> int | None:
    """Turn any expiry the gem, a database or an OAuth library may hold into epoch seconds.

    Accepts None, int, float, aware or naive (taken as UTC) ``datetime``, a ``date``,
    a numeric string, and ISO-8601 strings such as the ``"2023-11-14T22:13:20.000Z"``
    the gem writes for a Ruby ``Time``.  The gem's own reading of such strings
    (``"2023-...".to_i`` → 2023) made every token look expired; this one does not.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"expires_at must be a time, not {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"expires_at must be finite, not {value!r}")
        return int(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return int(value.timestamp())
    if isinstance(value, date):
        return int(datetime(value.year, value.month, value.day, tzinfo=timezone.utc).timestamp())
    if isinstance(value, str):
        text = value.strip()
        try:
            return normalize_expires_at(float(text))
        except ValueError:
            pass
        iso = text.replace(" UTC", "Z").replace(" Z", "Z")
        if iso.endswith("Z"):
            iso = iso[:-1] + "+00:00"
        if len(iso) > 10 and iso[10] == " ":
            iso = iso[:10] + "T" + iso[11:]
        iso = _trim_fraction(iso)
        try:
            return normalize_expires_at(datetime.fromisoformat(iso))
        except ValueError:
            raise ValueError(f"expires_at is not a time: {value!r}") from None
    raise ValueError(f"expires_at must be a time, not {type(value).__name__}")


def _trim_fraction(iso: str) -> str:
    """Cut fractional seconds to microseconds; Ruby writes nanoseconds, Python 3.10 reads 6."""
    dot = iso.find(".", 19)
    if dot == -1:
        return iso
    end = dot + 1
    while end < len(iso) and iso[end].isdigit():
        end += 1
    return iso[: dot + 1] + iso[dot + 1 : end][:6].ljust(6, "0") + iso[end:]


ExpiresAt = int | float | datetime | date | str | None


@dataclass(frozen=True, slots=True, repr=False, init=False)
class Token:
    """An OAuth token: the access token, its refresh token, and when it expires.

    ``expires_at`` is stored as integer epoch seconds whatever it was given as
    (int, float, ``datetime``, ``date``, numeric or ISO-8601 string).  A token
    without ``expires_at`` counts as expired, as in the gem.  ``repr`` never shows
    the secrets, so a token can appear in a log line or a traceback.
    """

    access_token: str | None
    refresh_token: str | None
    expires_at: int | None

    def __init__(
        self,
        access_token: str | None,
        refresh_token: str | None = None,
        expires_at: ExpiresAt = None,
    ) -> None:
        object.__setattr__(self, "access_token", access_token)
        object.__setattr__(self, "refresh_token", refresh_token)
        object.__setattr__(self, "expires_at", normalize_expires_at(expires_at))

    @property
    def expired(self) -> bool:
        """True once ``expires_at`` has passed (or when it is unknown)."""
        return self.expires_at is None or self.expires_at < int(time.time())

    @property
    def invalid(self) -> bool:
        """True when there is no access token at all."""
        return self.access_token is None

    def expires_in(self, now: float | None = None) -> float | None:
        """Seconds left until expiry (negative once expired), None when unknown."""
        if self.expires_at is None:
            return None
        return self.expires_at - (time.time() if now is None else now)

    def is_due(self, leeway: float, now: float | None = None) -> bool:
        """True when the token should be refreshed: expiry unknown or within ``leeway``."""
        left = self.expires_in(now)
        return left is None or left <= leeway

    def to_dict(self) -> dict[str, Any]:
        """The gem's JSON shape: ``access_token``, ``refresh_token``, ``expires_at``."""
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Token:
        """Build a token from the gem's JSON shape; other keys are ignored."""
        if not isinstance(data, Mapping):
            raise TokenStoreError(f"a stored token must be a mapping, not {type(data).__name__}")
        access, refresh = data.get("access_token"), data.get("refresh_token")
        for name, value in (("access_token", access), ("refresh_token", refresh)):
            if value is not None and not isinstance(value, str):
                raise TokenStoreError(f"stored {name} must be a string")
        try:
            return cls(access, refresh, data.get("expires_at"))
        except ValueError as exc:
            raise TokenStoreError(f"stored token has a bad expires_at: {exc}") from None

    @classmethod
    def from_json(cls, text: str | bytes) -> Token:
        """Parse the gem's JSON shape; anything else raises :class:`TokenStoreError`."""
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise TokenStoreError(f"stored token is not JSON ({exc.__class__.__name__})") from None
        return cls.from_dict(data)

    @classmethod
    def from_oauth(
        cls, payload: Mapping[str, Any], *, previous: Token | None = None, now: float | None = None
    ) -> Token:
        """Build a token from a token-endpoint response.

        ``expires_at`` is ``now + expires_in``; without a new ``refresh_token`` the
        previous one is kept, as oauth2 2.x does for the gem.
        """
        now = time.time() if now is None else now
        access = payload.get("access_token")
        if not isinstance(access, str) or not access:
            raise OAuthError("the token endpoint answered without an access token")
        lifetime = _lifetime(payload.get("expires_in"))
        expires_at = int(now + lifetime) if lifetime is not None else None
        refresh = payload.get("refresh_token")
        if not isinstance(refresh, str) or not refresh:
            refresh = previous.refresh_token if previous else None
        return cls(access, refresh, expires_at)

    def __repr__(self) -> str:
        return (
            f"Token(access_token={_mask(self.access_token)}, "
            f"refresh_token={_mask(self.refresh_token)}, expires_at={self.expires_at})"
        )


#: Longest lifetime believed: Procore's tokens last 2 hours; a bigger figure is clamped
#: so a store (an SQL INTEGER column, a ``datetime``) can still hold the expiry.
MAX_LIFETIME = 366 * 24 * 3600


def _lifetime(value: Any) -> float | None:
    """``expires_in`` as seconds: a JSON number or numeric text, clamped to a year.

    Anything else (a word, a list, a negative or NaN figure) is an :class:`OAuthError`
    naming only its type: the token must not be trusted with an expiry we made up.
    """
    if value is None:
        return None
    number: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    if number is None or math.isnan(number) or number < 0:
        kind = "a negative number" if number is not None and number < 0 else type(value).__name__
        raise OAuthError(f"the token endpoint sent an invalid expires_in ({kind})")
    return min(number, MAX_LIFETIME)


def _mask(secret: str | None) -> str:
    return "None" if secret is None else "'***'"
