"""The in-process store: one token per store instance."""

from __future__ import annotations

from collections.abc import Hashable

from ..auth._token import Token

__all__ = ["MemoryStore"]


class MemoryStore:
    """Keeps the token in a private dict of this instance; nothing leaves the process."""

    __slots__ = ("_tokens", "key")

    def __init__(self, key: Hashable = "default") -> None:
        self.key = key
        self._tokens: dict[Hashable, Token] = {}

    async def fetch(self) -> Token | None:
        return self._tokens.get(self.key)

    async def save(self, token: Token) -> None:
        self._tokens[self.key] = token

    async def delete(self) -> None:
        self._tokens.pop(self.key, None)

    def __repr__(self) -> str:
        return f"MemoryStore(key={self.key!r})"
