"""The ADO client against the emulator where Azure DevOps behaves in ways a naive client misses:
lists that page by response header, throttling that delays with a 200 before it ever refuses,
subscriptions whose secrets read back masked.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from sandbox.ado.emulator import PROJECTS_PAGE, AdoEmulator
from sandbox.ado.seed import DEFAULT_TOKEN
from sandbox.ado.testing import running_ado
from sandbox.ado.throttling import Meter, Throttling
from shared.ado.auth import PatAuth
from shared.ado.client import AdoClient
from shared.ado.errors import AdoAuthError, AdoRateLimited
from shared.contract import ADO_SECRET_HEADER
from shared.setup.subscriptions import ensure_subscriptions
from shared.transport import RetryPolicy

FAST = RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.05, total_budget_s=10)


@pytest.fixture
def ado() -> Iterator[AdoEmulator]:
    with running_ado() as (emulator, _server):
        yield emulator


def client_for(ado: AdoEmulator, policy: RetryPolicy = FAST, **options: object) -> AdoClient:
    return AdoClient(ado.base_url, PatAuth(DEFAULT_TOKEN), policy=policy, **options)


def test_projects_follow_the_continuation_header_past_the_first_page(ado: AdoEmulator) -> None:
    added = [ado.add_project(f"Team {i:03d}").name for i in range(PROJECTS_PAGE + 20 - len(ado.projects))]
    names = [p["name"] for p in client_for(ado).projects()]
    assert len(names) == len(set(names)) == PROJECTS_PAGE + 20
    assert added[-1] in names  # on the second page
    calls = [e for e in ado.journal.entries() if e["path"].endswith("/_apis/projects")]
    assert [c["query"].get("continuationToken") for c in calls] == [None, str(PROJECTS_PAGE)]


# Tight limits so the phases show within a few calls: 5 requests per window are free, the next 5
# are delayed (200 + Retry-After), beyond that blocked (429).
TIGHT = Throttling(limit_tstu=5, window_s=20, request_tstu=1, block_at=2, max_delay_s=0.01)


class ManualClock:
    """The emulator's throttling window and the client's waits share this clock, so the tests do
    not depend on how fast a loaded machine answers: time passes only when the client sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


# Waits of a throttled minute fit in the budget (on the manual clock they take no real time).
PATIENT = RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.05, total_budget_s=3600)


@pytest.fixture
def clock(ado: AdoEmulator) -> ManualClock:
    clock = ManualClock()
    ado.throttle = Meter(clock)
    ado.throttle.configure(TIGHT)
    return clock


def test_throttled_identity_is_first_delayed_with_a_200_carrying_retry_after(ado: AdoEmulator,
                                                                            clock: ManualClock) -> None:
    session = requests.Session()
    session.auth = ("", DEFAULT_TOKEN)
    answers = [session.get(f"{ado.base_url}/_apis/projects", params={"api-version": "7.1"}, timeout=10)
               for _ in range(12)]
    assert [r.status_code for r in answers] == [200] * 10 + [429] * 2
    assert all("Retry-After" not in r.headers for r in answers[:5])
    delayed = answers[5]
    assert delayed.json()["count"] > 0  # a real answer, not an error
    assert float(delayed.headers["Retry-After"]) == TIGHT.window_s  # until the first request leaves the window
    assert delayed.headers["X-RateLimit-Remaining"] == "0"
    assert {"X-RateLimit-Resource", "X-RateLimit-Delay", "X-RateLimit-Limit", "X-RateLimit-Reset"} <= set(
        delayed.headers)
    assert answers[-1].json()["message"].startswith("TF400733")
    clock.sleep(TIGHT.window_s)
    again = session.get(f"{ado.base_url}/_apis/projects", params={"api-version": "7.1"}, timeout=10)
    assert again.status_code == 200 and "Retry-After" not in again.headers  # the window emptied


def test_client_waits_out_retry_after_from_a_200_and_is_never_blocked(ado: AdoEmulator, clock: ManualClock) -> None:
    client = client_for(ado, PATIENT, sleep=clock.sleep, clock=clock)
    for _ in range(25):
        client.connection_data()
    assert ado.throttle.delayed > 0 and ado.throttle.blocked == 0
    assert client.transport.retry_count == 0  # waiting is not retrying: every call succeeded first time


def test_a_client_ignoring_retry_after_on_a_200_gets_blocked(ado: AdoEmulator, clock: ManualClock) -> None:
    """The control: the same calls from a client that never waits are refused, so the test above
    can fail."""
    client = client_for(ado, PATIENT, sleep=lambda _seconds: None, clock=clock)
    with pytest.raises(AdoRateLimited, match="TF400733"):
        for _ in range(25):
            client.connection_data()
    assert ado.throttle.blocked > 0


def test_subscriptions_read_back_masked_are_kept_not_replaced_on_every_run(ado: AdoEmulator) -> None:
    """ADO answers a subscription with its header values masked; the timer's repair runs every
    few minutes and must not take the mask for a wrong secret and rewrite every hook each time."""
    client = client_for(ado)
    url, secret = "https://sync.example.net/api/ado/webhook", "s3cret-value"
    first = ensure_subscriptions(client, ["Shop", "Scrum"], url, secret)
    assert {c.action for c in first} == {"create"}
    listed = client.list_hook_subscriptions()
    assert listed and all(s["consumerInputs"]["httpHeaders"] == f"{ADO_SECRET_HEADER}:********" for s in listed)
    ado.journal.clear()
    second = ensure_subscriptions(client, ["Shop", "Scrum"], url, secret)
    assert {c.action for c in second} == {"keep"} and len(second) == len(first)
    assert [e["method"] for e in ado.journal.entries() if "/hooks/" in e["path"]] == ["GET"]
    stored = next(iter(ado.subscriptions.values()))
    assert f"{ADO_SECRET_HEADER}:{secret}" in stored.consumer_inputs["httpHeaders"]  # still delivered in full


def test_a_write_refused_for_a_missing_scope_names_the_scope_it_needed(ado: AdoEmulator) -> None:
    """ADO's 401 names no scope; the client names the one the refused call needed, so the sync's
    log line and `check` say what to add to the PAT."""
    ado.add_token("read-only-pat", "Sentry Bridge <sentry-bridge@contoso.com>", ["vso.work", "vso.project"])
    client = AdoClient(ado.base_url, PatAuth("read-only-pat"), policy=FAST)
    assert client.projects() and client.work_item_types("Shop")  # reads are admitted
    with pytest.raises(AdoAuthError) as refused:
        client.create_work_item("Shop", "Bug", [{"op": "add", "path": "/fields/System.Title", "value": "x"}])
    assert refused.value.status == 401 and refused.value.scope == "vso.work_write"
    assert "vso.work_write" in str(refused.value)
    with pytest.raises(AdoAuthError, match=r"vso\.build"):
        client.get_build("Shop", 1)
