"""Tokens, OAuth grants and the token manager that keeps a client's token fresh."""

from ._manager import GrantType, TokenManager
from ._oauth import OAuthClient
from ._token import Token, normalize_expires_at

__all__ = ["GrantType", "OAuthClient", "Token", "TokenManager", "normalize_expires_at"]
