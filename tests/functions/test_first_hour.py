"""The first hour of a new user, through the function routes: health names broken routes, the
Sentry installation is learned rather than required, and reconcile explains every drift it finds."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import pytest
import requests

from cli.main import main as cli
from sandbox.sentry import seed
from sandbox.stack import SandboxStack, sandbox_stack
from shared.runtime import runtime


@pytest.fixture
def stack() -> Iterator[SandboxStack]:
    with sandbox_stack() as s:
        yield s


def linked_issue(stack: SandboxStack) -> tuple[dict, object]:
    issue = stack.sentry.new_error("backend", "KeyError", "boom")["issue"]
    stack.settle()
    link = runtime().store.get_by_issue("acme", issue["id"])
    assert link is not None and link.is_linked
    return issue, link


def test_health_names_routes_whose_project_or_type_does_not_exist(tmp_path) -> None:
    from shared.setup import route_health

    route_health.forget()
    rules = tmp_path / "sync.toml"
    rules.write_text('[[routes]]\nsentry_projects = ["backend"]\nado_project = "Shop"\n'
                     '[[routes]]\nsentry_projects = ["frontend"]\nado_project = "NoSuchProject"\n'
                     '[[routes]]\nsentry_projects = ["mobile"]\nado_project = "Basic"\nwork_item_type = "Bug"\n',
                     encoding="utf-8")
    with sandbox_stack(sync_config=rules, projects=("Shop",)) as stack:
        resp = requests.get(f"{stack.app_url}/api/health", timeout=10)
    body = resp.json()
    assert resp.status_code == 503 and body["ok"] is False and body["routes_checked"] is True
    assert [(p["route"], p["ado_project"]) for p in body["route_problems"]] == [(1, "NoSuchProject"), (2, "Basic")]
    assert "work item type" in body["route_problems"][1]["problem"]
    route_health.forget()


def test_the_installation_is_learned_and_a_missing_external_issue_repaired(stack: SandboxStack, monkeypatch) -> None:
    """Without SENTRY_INSTALLATION_UUID: the installation is learned from the webhooks (and, before
    any, from the API), and reconcile shows a work item whose Sentry link is missing."""
    from shared import runtime as rt_module
    from shared.sync import INSTALLATION_MARKER

    monkeypatch.delenv("SENTRY_INSTALLATION_UUID")
    rt_module.reset()
    issue, _ = linked_issue(stack)
    assert runtime().store.get_marker(*INSTALLATION_MARKER)["uuid"] == seed.INSTALLATION_UUID
    org = stack.sentry.world.org
    assert int(issue["id"]) in {x.issue_id for x in org.external_issues.values()}
    # the external-issue call failed back then: Sentry shows no work item and the link knows it
    for key in [k for k, x in org.external_issues.items() if x.issue_id == int(issue["id"])]:
        del org.external_issues[key]
    runtime().store.save(replace(runtime().store.get_by_issue("acme", issue["id"]), external_issue_id=None))
    runtime().store.set_marker(*INSTALLATION_MARKER, {})  # and nothing learned: the API tells it
    rt_module.reset()
    assert cli(["reconcile"]) == 0
    assert int(issue["id"]) in {x.issue_id for x in org.external_issues.values()}
    assert runtime().store.get_by_issue("acme", issue["id"]).external_issue_id


def test_every_drift_reconcile_counts_says_what_became_of_it(stack: SandboxStack, capsys) -> None:
    """A Sentry issue reopened (webhook lost) while its work item sits in Resolved, a state of the
    Resolved category, which the default rules do not count as done: the pair needs no write, and
    the run says so, with the reason, in the dry run and in the real run."""
    from shared.store.model import LINKED

    issue, link = linked_issue(stack)
    stack.ado.act_update(link.work_item_id, {"System.State": "Resolved"}, as_="Ava Chen <ava@contoso.com>")
    stack.settle()
    org = stack.sentry.world.org
    org.issues[int(issue["id"])].status = "resolved"  # as the bridge last synced it
    stored = runtime().store.get_by_issue("acme", issue["id"])
    runtime().store.save(stored.with_synced(sentry_status="resolved", ado_state="Resolved"))
    assert stored.state == LINKED
    org.issues[int(issue["id"])].status = "unresolved"  # reopened in Sentry; its webhook never came
    capsys.readouterr()
    assert cli(["reconcile", "--dry-run"]) == 0
    out = capsys.readouterr().out
    drift = [x for x in out.splitlines() if x.startswith("drift: ")]
    assert len(drift) == 1 and f"work item {link.work_item_id}" in drift[0]
    assert "skip: " in drift[0] and "work item already agrees" in drift[0], drift
    assert cli(["reconcile", "--dry-run", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["drifted"] == 1 and report["drift"] == [drift[0].removeprefix("drift: ")]
    assert any(a.get("kind") == "skip" for a in report["actions"])
    assert cli(["reconcile"]) == 0
    out = capsys.readouterr().out
    assert "1 drifted" in out and [x for x in out.splitlines() if x.startswith("drift: ")] == drift


def test_one_info_line_per_delivery_and_a_missing_timestamp_is_refused(stack: SandboxStack, caplog) -> None:
    import time

    from shared.intake import sentry_signature

    caplog.set_level("INFO")
    stack.sentry.new_error("backend", "KeyError", "boom")
    stack.settle()
    lines = [r.getMessage() for r in caplog.records if r.name == "functions.sync"]
    assert any(x.startswith("sentry-events: issue.created") and "create_work_item" in x for x in lines), lines
    assert all(x.count("sentry-events:") + x.count("ado-events:") == 1 for x in lines)
    delivered = len(stack.sentry.webhooks.delivered) + len(stack.ado.webhooks.delivered)
    assert len(lines) <= delivered and not [r for r in caplog.records if r.name == "shared.apply"]

    body = b'{"action":"resolved","data":{"issue":{"id":"1"}}}'
    headers = {"Content-Type": "application/json", "Sentry-Hook-Resource": "issue",
               "Sentry-Hook-Signature": sentry_signature(seed.CLIENT_SECRET, body)}
    resp = requests.post(f"{stack.app_url}/api/sentry/webhook", data=body, headers=headers, timeout=10)
    assert resp.status_code == 401 and "Sentry-Hook-Timestamp" in resp.json()["error"]
    old = requests.post(f"{stack.app_url}/api/sentry/webhook", data=body, timeout=10,
                        headers={**headers, "Sentry-Hook-Timestamp": str(int(time.time()) - 3600)})
    assert old.status_code == 401 and "s old; the window is 300s" in old.json()["error"]


def test_a_reopened_issue_whose_work_item_sits_in_resolved_says_why_nothing_is_written(stack: SandboxStack,
                                                                                       caplog) -> None:
    """The issue report's silent gap, through the webhook: Sentry reopens an issue while its work item
    sits in Resolved (a Resolved-category state the default rules do not count as done). The
    delivery is answered with one INFO line giving the skip's reason (reconcile's `drift:` line is
    test_every_drift_reconcile_counts_says_what_became_of_it)."""
    from sandbox.sentry.emulator import UNRESOLVED_FLAG

    issue, link = linked_issue(stack)
    stack.sentry.set_feature(UNRESOLVED_FLAG, True)
    stack.ado.act_update(link.work_item_id, {"System.State": "Resolved"}, as_="Ava Chen <ava@contoso.com>")
    stack.settle()
    org = stack.sentry.world.org
    org.issues[int(issue["id"])].status = "resolved"  # resolved in Sentry, as the bridge last synced it
    stored = runtime().store.get_by_issue("acme", issue["id"])
    runtime().store.save(stored.with_synced(sentry_status="resolved", ado_state="Resolved"))
    caplog.set_level("INFO")
    stack.sentry.act("alice@example.com", issue["id"], {"status": "unresolved"})
    stack.settle()
    lines = [r.getMessage() for r in caplog.records if r.name == "functions.sync"]
    reopened = [x for x in lines if x.startswith("sentry-events: issue.unresolved")]
    assert len(reopened) == 1 and "skip: " in reopened[0] and "already agrees" in reopened[0], lines
    assert runtime().ado.get_work_item(link.work_item_id)["fields"]["System.State"] == "Resolved"


def test_a_dropped_webhook_is_one_info_line_naming_what_was_dropped(stack: SandboxStack, caplog) -> None:
    import json
    import time

    from shared.intake import sentry_signature

    caplog.set_level("INFO")
    body = json.dumps({"action": "created", "data": {}, "installation": {"uuid": seed.INSTALLATION_UUID}}).encode()
    headers = {"Content-Type": "application/json", "Sentry-Hook-Resource": "seer",
               "Sentry-Hook-Timestamp": str(int(time.time())),
               "Sentry-Hook-Signature": sentry_signature(seed.CLIENT_SECRET, body)}
    resp = requests.post(f"{stack.app_url}/api/sentry/webhook", data=body, headers=headers, timeout=10)
    assert resp.status_code == 202
    dropped = [r for r in caplog.records if "webhook dropped" in r.getMessage()]
    assert len(dropped) == 1 and dropped[0].levelname == "INFO" and "'seer'" in dropped[0].getMessage()
