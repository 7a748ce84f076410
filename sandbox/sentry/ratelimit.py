"""Sentry's per-caller, per-endpoint fixed-window rate-limit bookkeeping and its headers.

Every rate-limited response carries ``X-Sentry-Rate-Limit-Limit``, ``-Remaining``, ``-Reset`` (epoch
seconds), ``-ConcurrentLimit`` and ``-ConcurrentRemaining``; the window key is (caller, endpoint,
method), and a Sentry App's caller is its organization. A 429's body is ``{"detail": "You are
attempting to use this endpoint too frequently. ..."}`` with no ``Retry-After``
(getsentry/sentry src/sentry/middleware/ratelimit.py). The emulator only
counts (so the headers move like the real ones); it refuses with 429 when ``enforce`` is set or
when the ``rate_limit`` fault fires.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Quota:
    limit: int
    remaining: int
    reset_epoch: int
    concurrent_limit: int
    concurrent_remaining: int

    def headers(self) -> dict[str, str]:
        return {
            "X-Sentry-Rate-Limit-Limit": str(self.limit),
            "X-Sentry-Rate-Limit-Remaining": str(self.remaining),
            "X-Sentry-Rate-Limit-Reset": str(self.reset_epoch),
            "X-Sentry-Rate-Limit-ConcurrentLimit": str(self.concurrent_limit),
            "X-Sentry-Rate-Limit-ConcurrentRemaining": str(self.concurrent_remaining),
        }


def too_many_requests_message(limit: int, window_s: int) -> str:
    return f"You are attempting to use this endpoint too frequently. Limit is {limit} requests in {window_s} seconds"


def exhausted(limit: int, concurrent_limit: int, now: float, retry_after_s: float) -> Quota:
    """The headers of a refused request: nothing left until ``now + retry_after_s``."""
    return Quota(limit, 0, math.ceil(now + retry_after_s), concurrent_limit, concurrent_limit)


class RateLimiter:
    """Fixed windows keyed by (caller, endpoint, method); thread-safe."""

    def __init__(self, limit: int = 100, window_s: int = 1, concurrent_limit: int = 25) -> None:
        self.limit, self.window_s, self.concurrent_limit = limit, window_s, concurrent_limit
        self.enforce = False
        self._counts: dict[tuple[str, str, str, int], int] = {}
        self._in_flight = 0
        self._lock = threading.Lock()

    def take(self, caller: str, endpoint: str, method: str, now: float) -> tuple[Quota, bool]:
        """Count one request; returns its quota and whether it is over the limit."""
        window = int(now // self.window_s)
        key = (caller, endpoint, method, window)
        with self._lock:
            self._counts = {k: v for k, v in self._counts.items() if k[3] == window}
            used = self._counts.get(key, 0) + 1
            self._counts[key] = used
            self._in_flight += 1
            concurrent_left = max(self.concurrent_limit - self._in_flight, 0)
        quota = Quota(self.limit, max(self.limit - used, 0), (window + 1) * self.window_s,
                      self.concurrent_limit, concurrent_left)
        return quota, self.enforce and used > self.limit

    def done(self) -> None:
        with self._lock:
            self._in_flight = max(self._in_flight - 1, 0)
