"""Azure DevOps' global consumption limit, per identity: normal, then delayed (200), then blocked (429).

Per learn.microsoft.com/azure/devops/integrate/concepts/rate-limits: usage is counted in TSTUs over
a sliding five-minute window, 200 TSTUs per identity. Past the limit requests are first *delayed*
(held from a few milliseconds up to 30 s, and still answered 200 with ``Retry-After`` and
``X-RateLimit-*`` headers: "the response is 200, so you don't need to apply retry logic to the
request", but the next one should wait); only if consumption stays high are they *blocked* with 429
TF400733. Delays stop once consumption falls back under the limit.

What a request costs cannot be computed ("TSTUs are intentionally abstract"), so the cost per
request is a setting; the default assumes a light request (1/100 TSTU, 20,000 requests per window).
Where blocking starts is not published either; ``block_at`` (a multiple of the limit) is a setting.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

RESOURCE = "ATCPU"  # the resource name the docs' TF400733 example and real captures name
MAX_DELAY_S = 30.0


@dataclass(frozen=True)
class Throttling:
    """The service's limits; every default is the documented one except the two marked unknown."""

    limit_tstu: float = 200.0
    window_s: float = 300.0
    request_tstu: float = 0.01  # unknown on the real service (see module docstring)
    block_at: float = 1.5  # unknown on the real service: blocked past 1.5x the limit
    max_delay_s: float = MAX_DELAY_S

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Throttling:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown throttling setting(s): {', '.join(sorted(unknown))}")
        out = cls(**{k: float(v) for k, v in data.items()})
        if min(out.limit_tstu, out.window_s, out.request_tstu, out.max_delay_s) <= 0 or out.block_at < 1:
            raise ValueError("throttling settings must be positive and block_at at least 1")
        return out


@dataclass(frozen=True)
class Verdict:
    """What to do with one request: ``phase`` is normal, delayed or blocked; ``delay_s`` is how
    long to hold it; ``headers`` go on the response (none in the normal phase)."""

    phase: str
    delay_s: float
    headers: dict[str, str]


def verdict(usage: float, settings: Throttling, window_reset_epoch: float, retry_after_s: float) -> Verdict:
    """Pure: the phase for a request made when the identity's window already holds ``usage``."""
    if usage <= settings.limit_tstu:
        return Verdict("normal", 0.0, {})
    over = (usage - settings.limit_tstu) / (settings.limit_tstu * (settings.block_at - 1) or 1)
    blocked = usage > settings.limit_tstu * settings.block_at
    delay = 0.0 if blocked else min(settings.max_delay_s, retry_after_s * min(1.0, over))
    headers = {"Retry-After": f"{retry_after_s:g}", "X-RateLimit-Resource": RESOURCE,
               "X-RateLimit-Delay": f"{delay:.3f}", "X-RateLimit-Limit": f"{settings.limit_tstu:g}",
               "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(window_reset_epoch))}
    return Verdict("blocked" if blocked else "delayed", delay, headers)


class Meter:
    """The sliding window of each identity's consumption (the stateful shell around ``verdict``)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = Throttling()
        self._clock = clock
        self._spent: dict[str, deque[tuple[float, float]]] = {}
        self._usage: dict[str, float] = {}  # running sum of each window, so a charge is O(1)
        self._lock = threading.Lock()
        self.delayed = 0
        self.blocked = 0

    def configure(self, settings: Throttling) -> None:
        with self._lock:
            self.settings = settings
            self._spent.clear()
            self._usage.clear()
            self.delayed = self.blocked = 0

    def charge(self, identity: str) -> Verdict:
        """Count one request of ``identity`` and decide its phase."""
        s = self.settings
        now = self._clock()
        with self._lock:
            spent = self._spent.setdefault(identity, deque())
            usage = self._usage.get(identity, 0.0)
            while spent and spent[0][0] <= now - s.window_s:
                usage -= spent.popleft()[1]
            spent.append((now, s.request_tstu))
            usage += s.request_tstu
            self._usage[identity] = usage
            # The wait until enough of the window has slid out to bring usage back to the limit
            # (never more than the service's longest delay, 30 s).
            excess, wait = usage - s.limit_tstu, 0.0
            for at, cost in spent:
                if excess <= 0:
                    break
                excess -= cost
                wait = at + s.window_s - now
            reset = time.time() + (spent[-1][0] + s.window_s - now)
            out = verdict(usage, s, reset, round(min(max(wait, 0.001), MAX_DELAY_S), 3))
            if out.phase == "delayed":
                self.delayed += 1
            elif out.phase == "blocked":
                self.blocked += 1
            return out
