"""Logging: metadata only, secrets never, and nothing configured at import time."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest
import respx

from procore_async import AsyncClient, Config, ServerError, Token
from procore_async._logging import RedactingFilter, install_redaction, redact
from procore_async.stores import MemoryStore

API = "https://api.procore.com"
HOME = f"{API}/rest/v1.0/home"
TOKEN_URL = "https://login.procore.com/oauth/token"

ACCESS = "acc-SECRET-1"
NEW_ACCESS = "acc-SECRET-2"
REFRESH = "ref-SECRET-1"
NEW_REFRESH = "ref-SECRET-2"
CLIENT_SECRET = "cs-SECRET-0"
BODY_SECRET = "body-SECRET-9"
QUERY_SECRET = "qry-SECRET-7"
SECRETS = (ACCESS, NEW_ACCESS, REFRESH, NEW_REFRESH, CLIENT_SECRET, BODY_SECRET, QUERY_SECRET)


def _ours(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.split(".")[0] == "procore_async"]


async def test_a_request_line_carries_the_metadata(
    respx_mock: respx.MockRouter, make_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="procore_async")
    respx_mock.get(url__startswith=HOME).respond(200, headers={"X-Request-Id": "rid-42"})
    await make_client().get("home", query={"page": 2})
    (record,) = _ours(caplog)
    message = record.getMessage()
    assert record.levelno == logging.INFO
    assert record.name == "procore_async"
    assert message.startswith("GET https://api.procore.com/rest/v1.0/home?page=2 -> 200 in ")
    assert " ms " in message
    assert "request id rid-42" in message


async def test_an_error_status_is_logged_too(
    respx_mock: respx.MockRouter, make_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="procore_async")
    respx_mock.delete(HOME).respond(500)
    with pytest.raises(ServerError):
        await make_client().delete("home")
    (line,) = [r.getMessage() for r in _ours(caplog) if r.levelno == logging.INFO]
    assert line.startswith(f"DELETE {HOME} -> 500 in ")
    assert line.endswith("(request id -)")


async def test_nothing_secret_reaches_a_log_record_even_at_debug(
    respx_mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    store = MemoryStore()
    await store.save(Token(ACCESS, REFRESH, int(time.time()) - 10))  # expired: refresh first
    refresh = respx_mock.post(TOKEN_URL).respond(
        200, json={"access_token": NEW_ACCESS, "refresh_token": NEW_REFRESH, "expires_in": 7200}
    )
    api = respx_mock.post(url__startswith=HOME)
    api.side_effect = [
        httpx.Response(401, json={"errors": "expired"}),  # 401: refresh again and replay
        httpx.Response(503, headers={"Retry-After": "0"}),  # retried (idempotency token)
        httpx.Response(200, json={"echo": BODY_SECRET}),
    ]
    config = Config(max_retries=2, retry_backoff=0.01)
    async with AsyncClient("id", CLIENT_SECRET, store, config=config) as client:
        await client.post(
            "home",
            body={"password": BODY_SECRET},
            idempotency_token="idem",
        )
        respx_mock.get(url__startswith=HOME).respond(200)
        query = {"access_token": QUERY_SECRET, "api_key": QUERY_SECRET, "page": 1}
        await client.get("home", query=query)
    assert refresh.call_count == 2
    # Every record, httpx's own request lines included (the client filters those too).
    records = caplog.records
    messages = [record.getMessage() for record in records]
    assert any(message.startswith("retrying POST") for message in messages)
    assert any("token renewed" in message for message in messages)
    redacted = "access_token=[REDACTED]&api_key=[REDACTED]&page=1"
    assert {r.name for r in records if redacted in r.getMessage()} == {"procore_async", "httpx"}
    for record in records:
        text = record.getMessage() + repr(record.args) + repr(record.__dict__)
        for secret in SECRETS:
            assert secret not in text, (secret, record.getMessage())


async def test_a_custom_logger_gets_the_lines_and_the_filter(
    respx_mock: respx.MockRouter, make_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    logger = logging.getLogger("tests.my_app.procore")
    caplog.set_level(logging.INFO, logger=logger.name)
    respx_mock.get(HOME).respond(200)
    await make_client(config=Config(max_retries=0, logger=logger)).get("home")
    assert any(isinstance(f, RedactingFilter) for f in logger.filters)
    assert [r.name for r in caplog.records if r.name.startswith("tests.")] == [logger.name]
    logger.info("Authorization: Bearer %s", "leaked")
    assert "leaked" not in caplog.records[-1].getMessage()


# -- the filter ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer abc.def-123", "abc.def-123"),
        ("authorization: bearer abc123", "abc123"),
        ("POST /oauth/token access_token=abc123&x=1", "abc123"),
        ("refresh_token=r3fr3sh", "r3fr3sh"),
        ('{"client_secret": "s3cr3t", "client_id": "id"}', "s3cr3t"),
        ("{'access_token': 'abc', 'refresh_token': 'def'}", "abc"),
        ("{'access_token': 'abc', 'refresh_token': 'def'}", "def"),
        ("code=auth-code-1&state=xyz", "auth-code-1"),
        ("password: hunter2", "hunter2"),
        ("id_token=eyJhbGciOi", "eyJhbGciOi"),
    ],
)
def test_redact(text: str, secret: str) -> None:
    scrubbed = redact(text)
    assert secret not in scrubbed
    assert "[REDACTED]" in scrubbed


@pytest.mark.parametrize(
    "text", ["GET https://api.procore.com/rest/v1.0/me -> 200 in 12 ms", "page=2&per_page=100"]
)
def test_redact_leaves_ordinary_text_alone(text: str) -> None:
    assert redact(text) == text


def _record(msg: Any, *args: Any) -> logging.LogRecord:
    return logging.LogRecord("procore_async", logging.INFO, __file__, 1, msg, args or None, None)


def test_the_filter_scrubs_arguments_and_keeps_the_record() -> None:
    record = _record("sending %s with %r", "Bearer abc123", {"access_token": "xyz"})
    assert RedactingFilter().filter(record) is True
    message = record.getMessage()
    assert "abc123" not in message
    assert "xyz" not in message
    assert message.startswith("sending Bearer [REDACTED] with ")
    assert record.args is None


def test_the_filter_scrubs_a_non_string_message() -> None:
    record = _record(ValueError("refresh_token=r1"))
    RedactingFilter().filter(record)
    assert "r1" not in record.getMessage()


def test_a_bad_format_string_does_not_raise_from_the_filter() -> None:
    record = _record("%d tokens", "Bearer abc123")
    assert RedactingFilter().filter(record) is True
    assert "abc123" not in record.getMessage()


def test_install_redaction_is_idempotent() -> None:
    logger = logging.getLogger("tests.install_twice")
    install_redaction(logger)
    install_redaction(logger)
    assert sum(isinstance(f, RedactingFilter) for f in logger.filters) == 1


def test_importing_the_package_configures_no_handlers() -> None:
    code = (
        "import logging, procore_async, procore_async.stores, procore_async.auth\n"
        "procore_async.AsyncClient  # names load lazily; this loads the client and its logging\n"
        "pkg = logging.getLogger('procore_async')\n"
        "assert pkg.handlers == [], pkg.handlers\n"
        "assert pkg.level == logging.NOTSET, pkg.level\n"
        "assert pkg.propagate\n"
        "assert logging.getLogger().handlers == [], logging.getLogger().handlers\n"
        "assert logging.getLogger().level == logging.WARNING\n"
        "assert [type(f).__name__ for f in pkg.filters] == ['RedactingFilter']\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == ""
