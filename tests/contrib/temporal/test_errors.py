"""procore_async's errors in Temporal's retry model (no server needed)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.exceptions import ApplicationError

from procore_async import (
    APIConnectionError,
    AuthorizationError,
    ForbiddenError,
    InvalidRequestError,
    MissingTokenError,
    NotFoundError,
    OAuthError,
    RateLimitError,
    ServerError,
)
from procore_async.contrib.temporal import (
    NON_RETRYABLE_TYPES,
    UnkeyedImportError,
    application_error,
    is_retryable,
)
from procore_async.contrib.temporal._errors import translated_errors
from procore_async.contrib.temporal._workflows import retry_policy


def test_rate_limit_retries_after_its_wait() -> None:
    error = application_error(RateLimitError("429", retry_after=7.5))
    assert isinstance(error, ApplicationError)
    assert not error.non_retryable
    assert error.type == "RateLimitError"
    assert error.next_retry_delay == timedelta(seconds=7.5)


def test_rate_limit_without_a_wait_still_waits() -> None:
    error = application_error(RateLimitError("429"))
    assert error.next_retry_delay is not None and error.next_retry_delay > timedelta(0)


@pytest.mark.parametrize(
    "exc",
    [
        InvalidRequestError("400"),
        ForbiddenError("403"),
        NotFoundError("404"),
        MissingTokenError("empty store"),
        UnkeyedImportError("row 3"),
        ValueError("batch_size"),
    ],
)
def test_errors_no_retry_can_fix_are_non_retryable(exc: Exception) -> None:
    error = application_error(exc)
    assert error.non_retryable
    assert error.type == type(exc).__name__
    assert error.next_retry_delay is None
    assert not is_retryable(exc)


@pytest.mark.parametrize(
    "exc",
    [APIConnectionError("reset"), ServerError("503"), AuthorizationError("401"), OSError("x")],
)
def test_transient_errors_retry_with_backoff(exc: Exception) -> None:
    error = application_error(exc)
    assert not error.non_retryable
    assert error.next_retry_delay is None


def test_oauth_refusal_is_final_but_an_oauth_outage_is_not() -> None:
    class _Response:
        def __init__(self, status: int) -> None:
            self.status_code = status

    refused = OAuthError("invalid_grant", response=_Response(400))  # type: ignore[arg-type]
    outage = OAuthError("502", response=_Response(502))  # type: ignore[arg-type]
    assert application_error(refused).non_retryable
    assert not application_error(outage).non_retryable


def test_translated_errors_keeps_the_cause_and_passes_application_errors() -> None:
    with pytest.raises(ApplicationError) as caught, translated_errors():
        raise NotFoundError("404: GET /rest/v1.0/vendors")
    assert isinstance(caught.value.__cause__, NotFoundError)
    assert caught.value.type == "NotFoundError"
    assert caught.value.message == "404: GET /rest/v1.0/vendors"
    own = ApplicationError("mine", type="X")
    with pytest.raises(ApplicationError) as again, translated_errors():
        raise own
    assert again.value is own


def test_the_workflow_policy_names_every_non_retryable_type() -> None:
    policy = retry_policy(5)
    assert sorted(policy.non_retryable_error_types or []) == sorted(NON_RETRYABLE_TYPES)
    assert policy.maximum_attempts == 5


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_concurrent_activities": 0}, "max_concurrent_activities must be at least 1"),
        ({"activities_per_second": 0}, "activities_per_second must be positive"),
    ],
)
def test_worker_options_are_checked_before_connecting(options: dict, message: str) -> None:
    from procore_async.contrib.temporal import create_worker

    with pytest.raises(ValueError, match=message):
        create_worker(None, None, **options)  # type: ignore[arg-type]
