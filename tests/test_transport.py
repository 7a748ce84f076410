"""Transport retry behaviour against a real loopback server, with an injected clock."""

from __future__ import annotations

import socket
import time
from email.utils import formatdate

import pytest
from werkzeug.wrappers import Request, Response

from shared.api_request import ApiRequest
from shared.transport import (
    NetworkError,
    RetryPolicy,
    Transport,
    backoff_delay,
    server_wait,
    should_retry,
)
from tests.ado.scripted_server import FakeTime, reply, serve

GET = ApiRequest("GET", "/thing")
POST = ApiRequest("POST", "/things", body={"a": 1})


def transport(url: str, fake: FakeTime, **policy: float) -> Transport:
    return Transport(url, lambda: {"Authorization": "Bearer t"}, RetryPolicy(**policy),  # type: ignore[arg-type]
                     sleep=fake.sleep, clock=fake.clock, wall_clock=fake.clock, random_draw=lambda: 0.5)


def test_429_waits_retry_after_then_succeeds() -> None:
    fake = FakeTime()
    with serve(reply({"x": 1}, 429, {"Retry-After": "7"}), reply({"ok": True})) as (app, url):
        response = transport(url, fake).send(POST)
    assert response.json() == {"ok": True}
    assert fake.sleeps == [7.0]
    assert len(app.seen) == 2 and app.seen[1].json() == {"a": 1}
    assert app.seen[0].headers["Content-Type"] == "application/json"


def test_sentry_reset_epoch_is_honoured() -> None:
    fake = FakeTime()
    reset = str(int(fake.now) + 12)
    limited = reply("Limit is 40 requests in 1 seconds", 429,
                    {"X-Sentry-Rate-Limit-Reset": reset, "X-Sentry-Rate-Limit-Remaining": "0"})
    with serve(limited, reply([])) as (_app, url):
        t = transport(url, fake)
        assert t.send(GET).status_code == 200
    assert fake.sleeps == [pytest.approx(12.0)]
    assert t.request_count == 2 and t.retry_count == 1


def test_503_then_success_for_get_but_post_is_not_replayed() -> None:
    fake = FakeTime()
    with serve(reply({}, 503), reply({"v": 2})) as (app, url):
        assert transport(url, fake).send(GET).json() == {"v": 2}
    assert len(fake.sleeps) == 1 and fake.sleeps[0] > 0
    with serve(reply({}, 503), reply({"v": 2})) as (app, url):
        assert transport(url, fake).send(POST).status_code == 503
        assert len(app.seen) == 1


def test_read_only_post_may_be_marked_idempotent() -> None:
    fake = FakeTime()
    with serve(reply({}, 502), reply({"count": 0})) as (app, url):
        assert transport(url, fake).send(POST, idempotent=True).status_code == 200
    assert len(app.seen) == 2


def test_retry_after_on_200_delays_the_next_call() -> None:
    fake = FakeTime()
    with serve(reply({"a": 1}, 200, {"Retry-After": "4"}), reply({"b": 2})) as (_app, url):
        t = transport(url, fake)
        assert t.send(GET).json() == {"a": 1}
        assert fake.sleeps == []
        assert t.send(GET).json() == {"b": 2}
    assert fake.sleeps == [4.0]


def test_read_timeout_retries_get_but_not_post() -> None:
    def slow(_: Request) -> Response:
        time.sleep(0.5)
        return reply({})

    fake = FakeTime()
    with serve(slow) as (app, url):
        with pytest.raises(NetworkError, match="GET /thing: no response after 3"):
            transport(url, fake, max_attempts=3, read_timeout_s=0.1).send(GET)
        assert len(app.seen) == 3
    with serve(slow) as (app, url):
        with pytest.raises(NetworkError, match="after 1 attempt"):
            transport(url, fake, max_attempts=3, read_timeout_s=0.1).send(POST)
        assert len(app.seen) == 1


def test_connection_refused_is_retried_even_for_post() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    fake = FakeTime()
    t = transport(f"http://127.0.0.1:{port}", fake, max_attempts=4)
    with pytest.raises(NetworkError, match="after 4 attempt") as info:
        t.send(POST)
    assert t.request_count == 4 and len(fake.sleeps) == 3
    assert "Bearer" not in str(info.value)


def test_total_budget_stops_retrying() -> None:
    fake = FakeTime()
    with serve(reply({}, 503, {"Retry-After": "4"})) as (app, url):
        response = transport(url, fake, max_attempts=100, total_budget_s=10).send(GET)
    assert response.status_code == 503
    assert sum(fake.sleeps) <= 10
    assert len(app.seen) == 3  # waits 4 + 4, a third wait would overrun the budget


def test_wait_longer_than_budget_returns_the_429_at_once() -> None:
    fake = FakeTime()
    with serve(reply({}, 429, {"Retry-After": "3600"})) as (app, url):
        assert transport(url, fake, total_budget_s=60).send(GET).status_code == 429
    assert fake.sleeps == [] and len(app.seen) == 1


def test_server_wait_reads_http_dates_and_ignores_garbage() -> None:
    now = 1_700_000_000.0
    assert server_wait({"Retry-After": formatdate(now + 30, usegmt=True)}, now) == pytest.approx(30)
    assert server_wait({"Retry-After": "soon"}, now) is None
    assert server_wait({}, now) is None
    assert server_wait({"Retry-After": "-5"}, now) == 0.0
    assert server_wait({"X-Sentry-Rate-Limit-Reset": str(now + 9), "X-Sentry-Rate-Limit-Remaining": "3"},
                       now) is None


def test_backoff_grows_and_is_capped() -> None:
    policy = RetryPolicy(base_delay_s=1, max_delay_s=10)
    ceilings = [backoff_delay(n, policy, 0.999999) for n in range(1, 7)]
    assert ceilings == sorted(ceilings) and ceilings[-1] <= 10 and ceilings[0] < 1
    assert backoff_delay(3, policy, 0.0) == 0.0


def test_should_retry_table() -> None:
    assert should_retry(429, idempotent=False, sent=True)
    assert not should_retry(503, idempotent=False, sent=True)
    assert should_retry(None, idempotent=False, sent=False)
    assert not should_retry(None, idempotent=False, sent=True)
    assert not should_retry(404, idempotent=True, sent=True)


def test_bad_configuration_is_named() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="base_url"):
        Transport("dev.azure.com/org", dict)
