"""From ``path`` and ``version`` to a URL, the same-origin rule, and Rails-style queries.

The gem joins paths like a filesystem (``/me`` and ``me`` give the same URL, a
trailing slash is kept) and encodes queries like rest-client (``filters[ids][]=1``).
Both are kept, so URLs in code ported from Ruby keep working.  Unlike the gem, an
absolute URL is accepted (that is how pagination links are followed), but only on
the configured API host: the bearer token never goes anywhere else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote_plus, urlsplit

from ._config import validate_version
from ._errors import InvalidRequestError

__all__ = ["Origin", "build_url", "encode_query", "is_plain_path", "redact_url"]

_SECRET_KEYS = ("token", "secret", "password", "code", "key", "signature", "credential")


class Origin:
    """The scheme, host and port of the configured API host, and a URL builder for it."""

    __slots__ = ("_origin", "_prefixes", "base", "host")

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")
        parts = urlsplit(self.base)
        self.host = parts.hostname or ""
        self._origin = _origin_of(parts.scheme, parts.hostname, parts.port)
        # Versions seen so far -> their URL prefix: each version is validated once.
        self._prefixes: dict[str, str] = {}

    def prefix(self, version: str) -> str:
        """``{base}/rest/{version}/`` (``/vapid/``); a bad version is InvalidRequestError."""
        found = self._prefixes.get(version) if isinstance(version, str) else None
        if found is None:
            try:
                validate_version(version)
            except ValueError as exc:
                raise InvalidRequestError(str(exc)) from None
            found = self.base + ("/vapid/" if version == "vapid" else f"/rest/{version}/")
            if len(self._prefixes) < 64:
                self._prefixes[version] = found
        return found

    def owns(self, url: str) -> bool:
        """True when ``url`` is on this origin (same scheme, host and port).

        A URL carrying user info (``https://user:pw@host/``) is never owned: httpx
        would turn it into Basic auth in place of the bearer token, and log it.
        """
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:  # a port that is not a number, or out of range
            return False
        if parts.username is not None or parts.password is not None:
            return False
        return _origin_of(parts.scheme, parts.hostname, port) == self._origin


def _origin_of(scheme: str, host: str | None, port: int | None) -> tuple[str, str, int]:
    scheme = scheme.lower()
    default = 443 if scheme == "https" else 80
    return (scheme, (host or "").lower(), port or default)


def is_plain_path(path: object) -> bool:
    """True when ``path`` is relative and holds nothing :func:`build_url` checks for
    (a scheme, dot segments, percent escapes, control characters): the client may then
    join it to its default prefix without calling :func:`build_url`."""
    return (
        type(path) is str and ":" not in path[:6] and "." not in path and "%" not in path
        and path.isprintable()
    )  # fmt: skip


def build_url(origin: Origin, path: str, version: str, query: Any = None) -> str:
    """The full URL for ``path`` under ``version``, with ``query`` appended.

    Raises :class:`InvalidRequestError` for a bad version or an absolute URL on
    another host, before any I/O.
    """
    if not isinstance(path, str):
        raise InvalidRequestError(f"path must be a string, not {type(path).__name__}")
    if not path.isprintable():  # CR/LF/NUL would split or truncate the request line
        raise InvalidRequestError("path holds a control character")
    if path[:8].lower().startswith(("http://", "https://")):
        try:
            owned = origin.owns(path)
            host = urlsplit(path).hostname
        except ValueError:  # a broken IPv6 literal such as "https://[::1/x"
            raise InvalidRequestError("malformed absolute URL (bad host or port)") from None
        if not owned:
            raise InvalidRequestError(
                f"refusing to send credentials to {host!r}: an absolute URL "
                f"must be on {origin.base} (same scheme, host and port, no user info)"
            )
        if _has_dot_segment(urlsplit(path).path):
            raise InvalidRequestError("an absolute URL must not hold '.' or '..' path segments")
        url = path
    else:
        prefix = origin.prefix(version)
        if ("." in path or "%" in path) and _climbs_out(path):
            raise InvalidRequestError(
                f"path {path.split('?')[0]!r} climbs out of {prefix[len(origin.base) :]} "
                "with '..' segments"
            )
        url = prefix + path.lstrip("/")
    if query is not None:
        encoded = encode_query(query)
        if encoded:
            url += ("&" if "?" in url else "?") + encoded
    return url


def _segments(path: str) -> list[str]:
    """The path's segments with ``%2e`` decoded, as a server resolving them would see them."""
    head = path.split("?", 1)[0].split("#", 1)[0]
    return [part.lower().replace("%2e", ".") for part in head.split("/")]


def _has_dot_segment(path: str) -> bool:
    return any(part in (".", "..") for part in _segments(path))


def _climbs_out(path: str) -> bool:
    """True when resolving ``..`` segments would leave the version prefix."""
    depth = 0
    for part in _segments(path):
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part not in ("", "."):
            depth += 1
    return False


def encode_query(query: Any) -> str:
    """Encode ``query`` the way Rails and rest-client do.

    Nested mappings become ``a[b]=1``, lists ``ids[]=1&ids[]=2``, booleans
    ``true``/``false``; ``None`` (and an empty list or mapping) gives a bare key.
    Brackets stay unescaped, as rest-client sends them.  A string is taken as a query
    string already encoded (a leading ``?`` is dropped); one holding ``#``, a space
    or a control character is refused, since it would be cut or mangled on the wire.
    """
    if isinstance(query, str):
        text = query.removeprefix("?")
        if "#" in text or not text.isprintable() or " " in text:
            raise InvalidRequestError(
                "a query string must be already encoded (no '#', spaces or control "
                "characters); pass a mapping to have it encoded"
            )
        return text
    if not isinstance(query, Mapping):
        raise InvalidRequestError(f"query must be a mapping, not {type(query).__name__}")
    pairs: list[str] = []
    for key, value in query.items():
        _encode_pair(pairs, quote_plus(str(key), safe="[]"), value, 0)
    return "&".join(pairs)


#: Deeper than any query Procore reads (``filters[a][b][]``): a self-referencing
#: mapping or list would otherwise end in a RecursionError.
_MAX_QUERY_DEPTH = 32


def _encode_pair(pairs: list[str], key: str, value: Any, depth: int) -> None:
    if depth > _MAX_QUERY_DEPTH and isinstance(value, (Mapping, list, tuple, set, frozenset)):
        raise InvalidRequestError(
            f"query nested more than {_MAX_QUERY_DEPTH} levels deep (circular?) at {key[:60]!r}"
        )
    if isinstance(value, Mapping):
        if not value:
            pairs.append(key)
        for sub_key, sub_value in value.items():
            sub = f"{key}[{quote_plus(str(sub_key), safe='[]')}]"
            _encode_pair(pairs, sub, sub_value, depth + 1)
    elif isinstance(value, (list, tuple, set, frozenset)):
        if not value:
            pairs.append(key)
        for item in value:
            _encode_pair(pairs, f"{key}[]", item, depth + 1)
    elif value is None:
        pairs.append(key)
    elif isinstance(value, bool):
        pairs.append(f"{key}={'true' if value else 'false'}")
    else:
        pairs.append(f"{key}={quote_plus(str(value))}")


def redact_url(url: str) -> str:
    """``url`` with the values of secret-looking query parameters masked, for logs."""
    head, sep, query = url.partition("?")
    if not sep:
        return url
    parts = []
    for pair in query.split("&"):
        name, eq, _ = pair.partition("=")
        if eq and any(word in name.lower() for word in _SECRET_KEYS):
            pair = f"{name}=[REDACTED]"
        parts.append(pair)
    return f"{head}?{'&'.join(parts)}"
