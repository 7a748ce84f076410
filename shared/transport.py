"""Carry an ``ApiRequest`` over HTTP: session, timeouts, retries, rate limits, a request counter.

Why not urllib3's ``Retry``: it cannot honour ``Retry-After`` on a 200 (Azure DevOps sends it while
delaying a throttled identity, and the *next* call must wait), it does not know Sentry's
``X-Sentry-Rate-Limit-Reset`` (an epoch, not a delay), and it has no wall-clock budget per call.
So the retry decisions are small pure functions here, and ``Transport`` is the thin shell.

Retry rules (the decision is ``should_retry``):
- 429: always retried (the service refused the request, so nothing happened), after the
  server's wait when it gives one, else exponential backoff with full jitter.
- 5xx, read timeouts, connections dropped after sending: retried only for idempotent requests,
  because a POST that reached the server may have created something already.
- Connection refused / connect timeout: always retried (the request never left).
- Everything else is the caller's to interpret.
Every call has a total time budget; a wait that would overrun it is not started.
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import requests
import urllib3.exceptions

from shared.api_request import ApiRequest

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

HeaderSource = Callable[[], Mapping[str, str]]


@dataclass(frozen=True)
class RetryPolicy:
    """How hard one call tries. Defaults suit a queue-triggered function (minutes of budget)."""

    max_attempts: int = 6
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    total_budget_s: float = 90.0
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts!r}")
        for name in ("base_delay_s", "max_delay_s", "total_budget_s", "connect_timeout_s", "read_timeout_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")


class NetworkError(Exception):
    """No HTTP response after every allowed attempt (refused, timed out, dropped)."""

    def __init__(self, method: str, path: str, attempts: int, cause: BaseException) -> None:
        super().__init__(f"{method} {path}: no response after {attempts} attempt(s): "
                         f"{type(cause).__name__}")
        self.method, self.path, self.attempts = method, path, attempts
        self.__cause__ = cause


# --- the functional core: pure decisions --------------------------------------------------------

def backoff_delay(attempt: int, policy: RetryPolicy, draw: float) -> float:
    """Full-jitter exponential backoff; ``draw`` in [0, 1) keeps this pure and testable."""
    ceiling = min(policy.max_delay_s, policy.base_delay_s * (2 ** (attempt - 1)))
    return ceiling * draw


def server_wait(headers: Mapping[str, str], now_epoch: float) -> float | None:
    """Seconds the server asked us to wait, or None. ``Retry-After`` is delta-seconds or an HTTP
    date (RFC 9110); ``X-Sentry-Rate-Limit-Reset`` is the epoch second the window reopens."""
    waits: list[float] = []
    retry_after = headers.get("Retry-After")
    if retry_after:
        try:
            waits.append(float(retry_after))
        except ValueError:
            with contextlib.suppress(TypeError, ValueError):
                waits.append(parsedate_to_datetime(retry_after).timestamp() - now_epoch)
    reset = headers.get("X-Sentry-Rate-Limit-Reset")
    remaining = headers.get("X-Sentry-Rate-Limit-Remaining")
    if reset and remaining in (None, "0"):
        with contextlib.suppress(ValueError):
            waits.append(float(reset) - now_epoch)
    return max(0.0, *waits) if waits else None


def failed_before_sending(exc: requests.RequestException) -> bool:
    """True when the request bytes cannot have reached the server (connect failed)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if isinstance(exc, requests.ConnectionError) and exc.args:
        reason = getattr(exc.args[0], "reason", exc.args[0])
        return isinstance(reason, (urllib3.exceptions.NewConnectionError,
                                   urllib3.exceptions.ConnectTimeoutError))
    return False


def should_retry(status: int | None, idempotent: bool, sent: bool) -> bool:
    """``status`` None means no response; ``sent`` whether the request may have reached the server."""
    if status is None:
        return idempotent or not sent
    if status == 429:
        return True
    return status in RETRY_STATUSES and idempotent


def encode_body(request: ApiRequest) -> bytes | None:
    if request.body is None:
        return None
    if isinstance(request.body, bytes):
        return request.body
    if "json" in request.content_type:
        return json.dumps(request.body).encode("utf-8")
    return str(request.body).encode("utf-8")


# --- the shell ----------------------------------------------------------------------------------

class Transport:
    """One ``requests.Session`` per client, shared by all its calls (connection reuse).

    ``headers`` is called before every attempt, so a token refreshed between retries is used.
    ``request_count`` counts requests put on the wire (retries included) for the benchmarks.
    """

    def __init__(self, base_url: str, headers: HeaderSource, policy: RetryPolicy | None = None, *,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time,
                 random_draw: Callable[[], float] = random.random,
                 session: requests.Session | None = None) -> None:
        if not isinstance(base_url, str) or not base_url.startswith(("https://", "http://")):
            raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.policy = policy or RetryPolicy()
        self._headers = headers
        self._sleep, self._clock, self._wall, self._draw = sleep, clock, wall_clock, random_draw
        self.session = session or requests.Session()
        self._lock = threading.Lock()
        self._not_before = 0.0
        self.request_count = 0
        self.retry_count = 0

    def __repr__(self) -> str:
        return f"Transport({self.base_url!r}, requests={self.request_count})"

    def close(self) -> None:
        self.session.close()

    def send(self, request: ApiRequest, idempotent: bool | None = None,
             extra_headers: Mapping[str, str] | None = None) -> requests.Response:
        """Send with retries; returns the final response (any status) or raises ``NetworkError``.

        ``idempotent`` defaults from the method; pass True for read-only POSTs (batch, WIQL) and
        for PATCHes guarded by ``test /rev`` (a replay cannot apply twice).
        """
        if idempotent is None:
            idempotent = request.method.upper() in IDEMPOTENT_METHODS
        deadline = self._clock() + self.policy.total_budget_s
        attempt = 0
        while True:
            attempt += 1
            self._wait_until(self._pending_pause(), deadline)
            remaining = deadline - self._clock()
            try:
                response = self._attempt(request, extra_headers, max(remaining, 0.001))
            except requests.RequestException as exc:
                sent = not failed_before_sending(exc)
                delay = backoff_delay(attempt, self.policy, self._draw())
                if not self._may_retry(attempt, deadline, delay) or not should_retry(None, idempotent, sent):
                    raise NetworkError(request.method, request.path, attempt, exc) from exc
                self._pause(delay)
                continue
            wait = server_wait(response.headers, self._wall())
            if wait is not None and response.status_code < 400:
                self._defer_next(wait)
            if not should_retry(response.status_code, idempotent, True):
                return response
            delay = wait if wait is not None else backoff_delay(attempt, self.policy, self._draw())
            if not self._may_retry(attempt, deadline, delay):
                return response
            response.close()
            self._pause(delay)

    # -- helpers --

    def _attempt(self, request: ApiRequest, extra: Mapping[str, str] | None,
                 remaining: float) -> requests.Response:
        headers = {"Accept": "application/json", **self._headers(), **(extra or {})}
        body = encode_body(request)
        if body is not None:
            headers["Content-Type"] = request.content_type
        with self._lock:
            self.request_count += 1
        timeout = (min(self.policy.connect_timeout_s, remaining), min(self.policy.read_timeout_s, remaining))
        return self.session.request(request.method, self.base_url + request.path, params=dict(request.query),
                                    data=body, headers=headers, timeout=timeout, allow_redirects=False)

    def _may_retry(self, attempt: int, deadline: float, delay: float) -> bool:
        return attempt < self.policy.max_attempts and self._clock() + delay < deadline

    def _pause(self, delay: float) -> None:
        with self._lock:
            self.retry_count += 1
        if delay > 0:
            self._sleep(delay)

    def _defer_next(self, wait: float) -> None:
        """A 2xx with Retry-After: this call succeeded, the next one must wait."""
        with self._lock:
            self._not_before = max(self._not_before, self._clock() + wait)

    def _pending_pause(self) -> float:
        with self._lock:
            return max(0.0, self._not_before - self._clock())

    def _wait_until(self, pause: float, deadline: float) -> None:
        if pause > 0:
            self._sleep(min(pause, max(0.0, deadline - self._clock())))


def response_json(response: requests.Response) -> Any:
    """The body as JSON, or None for an empty body (204, DELETE)."""
    if not response.content:
        return None
    return response.json()
