"""A ready OpenTelemetry hook: one client span per attempt of every request.

    pip install 'procore-async[otel]'

    from procore_async.otel import instrument
    instrument(client)                      # or instrument(client, tracer_provider=provider)

Each attempt the pipeline sends (API calls, token calls, pages, sync batches,
storage legs) becomes a span of kind CLIENT named ``"<METHOD> procore.<label>"``
with the HTTP semantic-convention attributes: ``http.request.method``,
``url.full`` (the query left out: it may hold secrets or a signature),
``server.address``, ``http.response.status_code``, ``error.type`` (the typed
error's class), ``http.request.resend_count``, plus ``procore.label``,
``procore.paced``, ``procore.authenticated`` and ``procore.request_id``.  A
retry is a zero-length child span ``"retry"`` of the attempt that failed, with
its wait.  No header value or body ever reaches a span.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

if TYPE_CHECKING:
    from ._hooks import Hooks, RequestEvent, ResponseEvent, RetryEvent

__all__ = ["OpenTelemetryHooks", "instrument"]


class OpenTelemetryHooks:
    """The three event hooks that open, annotate and end the spans."""

    def __init__(self, tracer_provider: Any = None) -> None:
        self.tracer = trace.get_tracer("procore_async", tracer_provider=tracer_provider)
        # Spans by (spec, attempt): open ones, and ended ones a retry may still hang on.
        self._open: dict[tuple[int, int], Any] = {}
        self._ended: dict[tuple[int, int], Any] = {}

    def on_request(self, event: RequestEvent) -> None:
        spec = event.spec
        url = spec.url.partition("?")[0]
        span = self.tracer.start_span(
            f"{spec.method} procore.{spec.label}",
            kind=SpanKind.CLIENT,
            attributes={
                "http.request.method": spec.method,
                "url.full": url,
                "server.address": url.split("/")[2].rpartition("@")[2].split(":")[0],
                "http.request.resend_count": event.attempt - 1,
                "procore.label": spec.label,
                "procore.paced": event.paced,
                "procore.authenticated": event.authenticated,
                "procore.replay_after_401": event.replay,
            },
        )
        previous = self._open.pop((id(spec), event.attempt), None)
        if previous is not None:  # the replay after a 401 ends the first try's span
            previous.end()
        self._open[(id(spec), event.attempt)] = span

    def on_response(self, event: ResponseEvent) -> None:
        span = self._open.pop((id(event.spec), event.attempt), None)
        if span is None:
            return
        if event.status_code is not None:
            span.set_attribute("http.response.status_code", event.status_code)
        if event.request_id:
            span.set_attribute("procore.request_id", event.request_id)
        if event.error is not None:
            span.set_attribute("error.type", type(event.error).__name__)
            span.set_status(Status(StatusCode.ERROR, type(event.error).__name__))
        span.end()
        self._ended[(id(event.spec), event.attempt)] = span
        if len(self._ended) > 256:
            self._ended.pop(next(iter(self._ended)))

    def on_retry(self, event: RetryEvent) -> None:
        span = self._ended.pop((id(event.spec), event.retry), None)
        if span is not None:
            with self.tracer.start_as_current_span(
                "retry", context=trace.set_span_in_context(span),
                attributes={"procore.retry": event.retry, "procore.wait_seconds": event.wait,
                            "error.type": type(event.error).__name__},
            ):  # fmt: skip
                pass


class _HasHooks(Protocol):
    @property
    def hooks(self) -> Hooks: ...


def instrument(client: _HasHooks, tracer_provider: Any = None) -> OpenTelemetryHooks:
    """Add the OpenTelemetry hooks to ``client`` (and every ``with_options`` view of it)."""
    hooks = OpenTelemetryHooks(tracer_provider)
    registry = client.hooks
    registry.request.append(hooks.on_request)
    registry.response.append(hooks.on_response)
    registry.retry.append(hooks.on_retry)
    return hooks
