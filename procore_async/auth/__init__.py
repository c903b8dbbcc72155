"""Tokens, OAuth grants and the token manager that keeps a client's token fresh."""

from ._token import Token

__all__ = ["Token"]
