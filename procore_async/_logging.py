"""The package logger and the filter that keeps secrets out of every record.

The client logs metadata only (method, URL without secret-looking query values,
status, duration, attempt, request id).  The filter is a second line of defence:
whatever reaches a ``procore_async`` logger is scrubbed of bearer tokens and
OAuth fields before any handler sees it.  Nothing is configured at import time
besides attaching that filter: no handlers, no levels, no files.
"""

from __future__ import annotations

import logging
import re

__all__ = ["RedactingFilter", "install_redaction", "logger", "redact"]

logger = logging.getLogger("procore_async")

_PATTERNS = (
    (re.compile(r"(?i)(bearer\s+)[^\s'\",;]+"), r"\1[REDACTED]"),
    (
        re.compile(
            # ``sig``: the signature of a presigned storage URL Procore hands out (#14);
            # ``credential``: S3's X-Amz-Credential (the access key id and scope).
            r"(?i)((?:token|secret|password|code|api_key|signature|sig|credential)"
            r"[\"']?\s*[=:]\s*[\"']?)[^\s&'\",;}]+"
        ),
        r"\1[REDACTED]",
    ),
)


def redact(text: str) -> str:
    """Replace bearer tokens and ``secret=value`` pairs in ``text``."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Scrub secrets from a record's message and arguments before it is emitted."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            try:
                message = record.getMessage()
            except Exception:
                # A bad format/argument pair must not turn a log call into a crash;
                # keep the text and the arguments' reprs, both scrubbed.
                message = f"{record.msg} {record.args!r}"
            record.msg = redact(message)
            record.args = None
        elif isinstance(record.msg, str):
            record.msg = redact(record.msg)
        else:
            record.msg = redact(str(record.msg))
        return True


_FILTER = RedactingFilter()


def install_redaction(target: logging.Logger) -> None:
    """Attach the redaction filter to ``target`` once."""
    if _FILTER not in target.filters:
        target.addFilter(_FILTER)


install_redaction(logger)
