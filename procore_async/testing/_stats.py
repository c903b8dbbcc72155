"""Counters a test can assert on: what reached the fake and what it answered."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, fields

__all__ = ["FakeStats"]


@dataclass
class FakeStats:
    """What the fake saw since it was built (or since :meth:`reset`).

    ``requests`` counts every request that reached the app, dropped ones included;
    ``by_path`` keys are paths without the query; ``by_status`` counts the responses
    sent (a dropped connection sends none); ``token_grants`` counts successful token
    responses by grant type and ``oauth_errors`` failed ones by RFC 6749 error code;
    ``rate_limited`` counts every 429 (injected or real); ``faults`` counts injected
    faults by kind; ``replays`` counts responses served from the idempotency store.
    """

    requests: int = 0
    by_path: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)
    token_grants: Counter[str] = field(default_factory=Counter)
    oauth_errors: Counter[str] = field(default_factory=Counter)
    rate_limited: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    replays: int = 0

    @property
    def refreshes(self) -> int:
        """Successful ``refresh_token`` grants: the number a single-flight test checks."""
        return self.token_grants["refresh_token"]

    @property
    def faults_injected(self) -> int:
        return sum(self.faults.values())

    def reset(self) -> None:
        """Zero every counter (the fake's data and tokens are left alone)."""
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Counter):
                value.clear()
            else:
                setattr(self, f.name, 0)
