"""The bridge reports its own errors to Sentry (SENTRY_DSN) and nothing secret leaves with them:
envelopes received by the Sentry emulator on the DSN's endpoint are searched for every secret."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator

import pytest
import requests

from sandbox.ado.seed import BRIDGE
from sandbox.stack import ADO_PAT, SandboxStack, sandbox_stack
from shared import error_reporting
from shared.intake import sentry_signature

SECRET_KEYS = ("SENTRY_TOKEN", "SENTRY_CLIENT_SECRET", "ADO_PAT", "ADO_HOOK_SECRET")


@pytest.fixture(scope="module")
def stack() -> Iterator[SandboxStack]:
    with sandbox_stack(report_errors=True) as s:
        yield s


def wait_for_events(stack: SandboxStack, n: int, timeout_s: float = 10.0) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    while True:
        error_reporting.flush()
        events = [e for env in stack.sentry.envelopes for e in env.events()]
        if len(events) >= n or time.monotonic() > deadline:
            return events
        time.sleep(0.1)


def test_a_sync_that_lands_in_the_poison_queue_arrives_in_sentry_tagged(stack: SandboxStack) -> None:
    issue = stack.sentry.new_error("backend", "KeyError", "boom")["issue"]
    stack.settle()
    stack.ado.revoke_token(ADO_PAT)  # the bridge's PAT expired: every ADO call is a 401
    before = len(wait_for_events(stack, 0, 0))
    try:
        stack.sentry.act("alice@example.com", issue["id"], {"status": "resolved"})
        stack.settle()
    finally:
        stack.ado.add_token(ADO_PAT, BRIDGE.distinct())
    assert len(stack.host.poison["sentry-events-poison"]) == 1
    events = wait_for_events(stack, before + 1)
    # a refused credential is permanent: one attempt, one event, naming the cause and the fix
    (event,) = [e for e in events[before:] if e.get("level") == "error"]
    tags = dict(event["tags"])
    assert tags["function"] == "sync sentry-events" and tags["event_type"] == "issue.resolved"
    assert tags["sentry_issue"] == issue["id"]
    text = json.dumps(event)
    assert "AdoAuthError" in text and "not retried, moved to sentry-events-poison" in text
    assert "fix: ADO_PAT was refused" in text


def test_no_secret_leaves(stack: SandboxStack) -> None:
    secrets = [stack.env[k] for k in SECRET_KEYS]
    body = b'{"action": "created"}'
    signature = sentry_signature(stack.env["SENTRY_CLIENT_SECRET"], body)
    log = logging.getLogger("shared.sync")
    pat, hook = stack.env["ADO_PAT"], stack.env["ADO_HOOK_SECRET"]
    log.warning("breadcrumb with Authorization: Bearer %s", stack.env["SENTRY_TOKEN"])
    log.error("webhook failed: Sentry-Hook-Signature %s, X-Hook-Secret %s", signature, hook)
    try:
        token = stack.env["SENTRY_TOKEN"]  # a local variable holding a secret
        raise RuntimeError(f"ADO said 401 to Basic {pat} and token={token}")
    except RuntimeError:
        log.exception("sync failed for url https://user:%s@dev.azure.com/contoso", pat)
    events = wait_for_events(stack, 3)
    raw = b"".join(env.raw for env in stack.sentry.envelopes)
    assert b"breadcrumb with Authorization" in raw and b"webhook failed" in raw  # they did arrive
    leaked = [s for s in [*secrets, signature] if s.encode() in raw]
    assert leaked == []
    assert b"[Filtered]" in raw and len(events) >= 3


def test_the_dsn_endpoint_refuses_a_wrong_key(stack: SandboxStack) -> None:
    url = f"{stack.sentry_server.url}/api/21/envelope/"
    envelope = b'{"event_id": "0" }\n{"type": "event"}\n{"message": "x"}\n'
    assert requests.post(url, data=envelope, timeout=5).status_code == 401
    bad = {"X-Sentry-Auth": "Sentry sentry_key=0123456789abcdef0123456789abcdef, sentry_version=7"}
    assert requests.post(url, data=envelope, headers=bad, timeout=5).status_code == 403
    key = stack.env["SENTRY_DSN"].split("//")[1].split("@")[0]
    good = requests.post(url, data=envelope, headers={"X-Sentry-Auth": f"Sentry sentry_key={key}, sentry_version=7"},
                         timeout=5)
    assert good.status_code == 200 and good.json() == {"id": "0"}


def test_scrub_replaces_credentials_by_key_value_and_shape() -> None:
    event = {"request": {"headers": {"Authorization": "Bearer abc", "X-Hook-Secret": "s3cr3t!!", "Accept": "json"}},
             "extra": {"ado_pat": "p", "path": "/api/x", "note": "AccountKey=QUJD;EndpointSuffix=core"},
             "message": "value my-secret-value here"}
    clean = error_reporting.scrub(event, ("my-secret-value",))
    assert clean["request"]["headers"] == {"Authorization": "[Filtered]", "X-Hook-Secret": "[Filtered]",
                                           "Accept": "json"}
    assert clean["extra"]["ado_pat"] == "[Filtered]" and clean["extra"]["path"] == "/api/x"
    assert clean["extra"]["note"] == "AccountKey=[Filtered];EndpointSuffix=core"
    assert clean["message"] == "value [Filtered] here"


def test_without_a_dsn_nothing_starts() -> None:
    assert error_reporting.start({}) is False
    assert error_reporting.start({"SENTRY_DSN": "not a dsn"}) is False  # logged; the app still runs


def test_a_pair_reconcile_cannot_repair_is_reported_tagged_and_recorded(stack: SandboxStack,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from sandbox.core import Faults
    from shared.reconcile.run import reconciler
    from shared.runtime import runtime
    from shared.status import record

    issue = stack.sentry.new_error("backend", "ValueError", "pair that will not repair")["issue"]
    stack.settle()
    stack.sentry.set_faults(Faults(webhook_drop_rate=1.0))
    stack.sentry.act("alice@example.com", issue["id"], {"status": "ignored"})
    stack.settle()  # the webhook is dropped (before the faults are lifted)
    stack.sentry.set_faults(Faults())
    rt = runtime()

    def refuse(*args: object, **kwargs: object) -> list:
        raise RuntimeError("ADO refused this pair")

    monkeypatch.setattr(rt.syncer, "handle", refuse)
    before = len(wait_for_events(stack, 0, 0))
    report = reconciler(rt).run()
    assert [e for e in report.errors if f"acme:{issue['id'].zfill(20)}: RuntimeError" in e]  # (and the pair
    # the first test left unsynced: every drifted pair fails here)
    events = [e for e in wait_for_events(stack, before + 2)[before:]
                if dict(e.get("tags") or {}).get("sentry_issue") == issue["id"]]
    (event,) = events
    assert dict(event["tags"])["function"] == "reconcile" and "reconcile: link" in json.dumps(event)
    (failure,) = [f for f in record.recent_failures(rt.store) if f["source"] == "reconcile"
                  and f["sentry_issue_id"] == issue["id"]]
    assert failure["reason"] == "RuntimeError: ADO refused this pair" and failure["sentry_issue_id"] == issue["id"]


def test_a_route_or_timer_that_fails_is_reported_with_its_function(stack: SandboxStack,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import shared.reconcile.run
    import shared.status.snapshot

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the page broke")

    monkeypatch.setattr(shared.status.snapshot, "gather", broken)
    monkeypatch.setattr(shared.reconcile.run, "reconciler", broken)
    before = len(wait_for_events(stack, 0, 0))
    resp = requests.get(f"{stack.app_url}/api/status", headers={"Accept": "application/json"}, timeout=10)
    assert resp.status_code == 500 and "RuntimeError" in resp.json()["error"]
    with pytest.raises(RuntimeError):
        stack.host.run_timer("reconcile")
    events = wait_for_events(stack, before + 2)[before:]
    assert {dict(e["tags"]).get("function") for e in events} >= {"status", "reconcile"}
    assert all(e["exception"]["values"][-1]["value"] == "the page broke" for e in events)
