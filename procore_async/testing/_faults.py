"""Seeded fault injection: error statuses, 429s, dropped connections and latency.

One ``random.Random(seed)`` draws every decision in request-arrival order, so the same
seed and the same request sequence give the same faults.  A dropped connection is
signalled by raising :class:`ConnectionDropped` out of the ASGI app after the response
has started: in process, the fake's transport turns it into the ``httpx`` error a
socket drop produces; over real HTTP, uvicorn closes the socket mid-response.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "ALL_KINDS",
    "ANY_METHOD_KINDS",
    "STORAGE_KINDS",
    "ConnectionDropped",
    "FaultDecision",
    "FaultPlan",
    "Faults",
]

#: Every kind of fault the fake can inject.
ALL_KINDS = ("500", "502", "503", "429", "drop_before", "drop_after")
#: Faults only the storage origin injects (opt in through ``kinds``): a presigned URL
#: refused as expired (403), and a segment answered slowly.
STORAGE_KINDS = ("expired", "slow")
#: Faults a correct client retries whatever the method: the server refused to do any
#: work and said when to come back (a 503 here always carries ``Retry-After``).
ANY_METHOD_KINDS = frozenset({"503", "429"})
#: Idempotent methods: a client may resend them after a 5xx or a lost reply.
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE", "PUT"})


class ConnectionDropped(Exception):
    """Raised by the app to drop the connection; ``applied`` says if the write happened."""

    def __init__(self, applied: bool) -> None:
        super().__init__(
            "connection dropped after the change was applied"
            if applied
            else "connection dropped before the change was applied"
        )
        self.applied = applied


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """What :meth:`FakeProcore.faults` configured; see its docstring for each field."""

    error_rate: float = 0.0
    latency: float | tuple[float, float] = 0.0
    seed: int | None = None
    kinds: tuple[str, ...] = ALL_KINDS
    retry_after: float = 0.0
    only_retryable: bool = True
    oauth: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError("error_rate must be between 0 and 1")
        low, high = self.latency if isinstance(self.latency, tuple) else (self.latency,) * 2
        if low < 0 or high < low:
            raise ValueError("latency must be >= 0 (or a (low, high) range)")
        unknown = set(self.kinds) - set(ALL_KINDS) - set(STORAGE_KINDS)
        if unknown or not self.kinds:
            raise ValueError(f"kinds must be a non-empty subset of {ALL_KINDS + STORAGE_KINDS}")
        if self.retry_after < 0:
            raise ValueError("retry_after must be >= 0")

    @property
    def active(self) -> bool:
        return self.error_rate > 0 or self.latency != 0.0


@dataclass(frozen=True, slots=True)
class FaultDecision:
    kind: str | None
    delay: float


_NONE = FaultDecision(None, 0.0)


class Faults:
    """Draws one decision per request from the plan's seeded generator."""

    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan
        self._rng = random.Random(plan.seed)
        self._any_method = tuple(k for k in plan.kinds if k in ANY_METHOD_KINDS)

    def draw(
        self, method: str, *, idempotent: bool, oauth: bool, storage: bool = False
    ) -> FaultDecision:
        """Decide this request's fate.

        With ``only_retryable`` a 500, a 502 or a dropped connection only hits requests a
        client may safely send again (idempotent methods, or any request carrying an
        ``Idempotency-Token``); other requests get a 503 or a 429, which every client
        retries, or no fault when the plan has neither.
        """
        plan = self.plan
        if not plan.active or (oauth and not plan.oauth):
            return _NONE
        latency = plan.latency
        delay = self._rng.uniform(*latency) if isinstance(latency, tuple) else latency
        if plan.error_rate == 0.0 or self._rng.random() >= plan.error_rate:
            return FaultDecision(None, delay)
        kinds: Iterable[str] = plan.kinds
        if not storage:
            kinds = [k for k in kinds if k not in STORAGE_KINDS]
        if plan.only_retryable and not (idempotent or method in _SAFE_METHODS):
            kinds = self._any_method
        choices = tuple(kinds)
        return FaultDecision(self._rng.choice(choices) if choices else None, delay)
