"""procore_async: the asyncio-native Python client for the Procore REST API."""

from ._version import __version__

__all__ = ["__version__"]
