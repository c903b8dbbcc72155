"""Integrations with other systems, each behind its own extra (``procore_async.contrib.*``)."""
