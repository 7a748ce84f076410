"""Replay and reordering through the real HTTP webhook routes (valid Sentry signatures, the ADO hook
secret): an old event delivered after a newer one must change nothing on either side.

The webhooks are the emulators' own deliveries, taken from their senders with a tap and POSTed to
the local function host byte for byte (so signatures stay valid)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox.core import Webhook
from sandbox.stack import SandboxStack, sandbox_stack
from shared.runtime import runtime
from tests.reliability.scenario import ADO_PEOPLE, SENTRY_PEOPLE, HookTap, write_rules

AVA, JAMAL = ADO_PEOPLE["alice@example.com"], ADO_PEOPLE["bob@example.com"]


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[SandboxStack]:
    with sandbox_stack(workdir=str(tmp_path), sync_config=write_rules(tmp_path)) as s:
        yield s


def linked(stack: SandboxStack) -> tuple[str, int]:
    issue = stack.sentry.new_error("backend", "KeyError", "ordering")["issue"]
    stack.settle()
    link = runtime().store.get_by_issue("acme", issue["id"])
    assert link is not None and link.is_linked
    return issue["id"], link.work_item_id


def snapshot(stack: SandboxStack, issue_id: str, wid: int) -> dict[str, Any]:
    """Both sides' synced fields and how many writes each emulator has received so far."""
    item = stack.ado.work_item(wid)
    issue = runtime().sentry.get_issue(issue_id)
    writes = [e for e in stack.ado.journal.entries() + stack.sentry.journal.entries()
              if e["method"] in ("POST", "PATCH", "PUT", "DELETE") and "workitemsbatch" not in e["path"]
              and "wiql" not in e["path"]]
    return {"ado_rev": item.rev, "state": item.current.fields.get("System.State"),
            "ado_assignee": str(item.current.fields.get("System.AssignedTo") or ""),
            "status": issue["status"], "assignee": (issue.get("assignedTo") or {}).get("id"),
            "writes": len(writes)}


def deliver(stack: SandboxStack, hooks: list[Webhook]) -> None:
    """POST each webhook to its URL (the host's real route) as the service would, then drain."""
    for hook in hooks:
        resp = requests.post(hook.url, data=hook.body, headers=hook.headers, timeout=10)
        assert resp.status_code == 202 and resp.json().get("status") == "queued", resp.text
    stack.settle()
    assert stack.host.poison == {}


def sentry_hook(hooks: list[Webhook], action: str) -> Webhook:
    found = [h for h in hooks if h.headers.get("Sentry-Hook-Resource") == "issue"
             and json.loads(h.body)["action"] == action and json.loads(h.body)["actor"]["type"] == "user"]
    assert len(found) == 1, [json.loads(h.body)["action"] for h in hooks]
    return found[0]


def ado_updates(hooks: list[Webhook], by: str) -> list[Webhook]:
    return [h for h in hooks if json.loads(h.body)["eventType"] == "workitem.updated"
            and by in json.dumps(json.loads(h.body)["resource"].get("revisedBy"))]


def test_sentry_status_replayed_or_reordered_changes_nothing(stack: SandboxStack) -> None:
    """resolved then unresolved: replaying the old ``resolved`` (signed, in the timestamp window) after
    the newer one, and delivering a held pair newest-first, leaves ADO open and writes nothing.
    The organization has turned on the flag that makes Sentry send ``issue.unresolved``."""
    stack.sentry.set_feature("organizations:webhooks-unresolved", True)
    issue_id, wid = linked(stack)
    tap = HookTap(stack.sentry)
    stack.sentry.act("alice@example.com", issue_id, {"status": "resolved"})
    stack.settle()
    assert stack.ado.work_item(wid).current.fields["System.State"] == "Closed"
    stack.sentry.act("alice@example.com", issue_id, {"status": "unresolved"})
    stack.settle()
    after = snapshot(stack, issue_id, wid)
    assert after["state"] in ("New", "Active") and after["status"] == "unresolved"

    deliver(stack, [sentry_hook(tap.sent, "resolved")] * 2)
    assert snapshot(stack, issue_id, wid) == after

    with tap.hold() as held:
        stack.sentry.act("bob@example.com", issue_id, {"status": "resolved"})
        stack.sentry.act("bob@example.com", issue_id, {"status": "unresolved"})
    assert [json.loads(h.body)["action"] for h in held] == ["resolved", "unresolved"]
    deliver(stack, list(reversed(held)))
    assert snapshot(stack, issue_id, wid) == after


def closed_then_active(stack: SandboxStack) -> tuple[str, int, HookTap, dict[str, Any]]:
    issue_id, wid = linked(stack)
    tap = HookTap(stack.ado)
    stack.ado.act_update(wid, {"System.State": "Closed"}, as_=AVA)
    stack.settle()
    assert runtime().sentry.get_issue(issue_id)["status"] == "resolved"
    stack.ado.act_update(wid, {"System.State": "Active"}, as_=AVA)
    stack.settle()
    after = snapshot(stack, issue_id, wid)
    assert after["status"] == "unresolved" and after["state"] == "Active"
    return issue_id, wid, tap, after


def test_ado_revision_replayed_after_a_newer_one_changes_nothing(stack: SandboxStack) -> None:
    """Closed (rev n) then Active (rev n+1), both synced: replaying rev n twice leaves Sentry
    unresolved and writes nothing."""
    issue_id, wid, tap, after = closed_then_active(stack)
    old = ado_updates(tap.sent, "ava@contoso.com")[0]
    assert json.loads(old.body)["resource"]["fields"]["System.State"]["newValue"] == "Closed"
    deliver(stack, [old, old])
    assert snapshot(stack, issue_id, wid) == after


def test_ado_revisions_delivered_newest_first_change_nothing(stack: SandboxStack) -> None:
    """Closed (rev n+1) then Active (rev n+2) made while both hooks are held, delivered newest-first:
    the work item ends Active, so Sentry must stay unresolved and get no write."""
    issue_id, wid, tap, after = closed_then_active(stack)
    with tap.hold() as held:
        stack.ado.act_update(wid, {"System.State": "Closed"}, as_=JAMAL)
        stack.ado.act_update(wid, {"System.State": "Active"}, as_=JAMAL)
    pair = ado_updates(held, "jamal@contoso.com")
    assert [json.loads(h.body)["resource"]["rev"] for h in pair] == [after["ado_rev"] + 1, after["ado_rev"] + 2]
    deliver(stack, list(reversed(pair)))
    now = snapshot(stack, issue_id, wid)
    print(f"\nnewest-first delivery of revs {after['ado_rev'] + 2}, {after['ado_rev'] + 1}: Sentry is "
          f"{now['status']}, work item {now['state']}, {now['writes'] - after['writes']} write(s)")
    assert (now["status"], now["state"], now["writes"]) == ("unresolved", "Active", after["writes"])


def test_ado_assignment_replayed_changes_nothing(stack: SandboxStack) -> None:
    """Assigned to Ava (rev n) then Jamal (rev n+1) in ADO: replaying rev n keeps Sentry on bob."""
    issue_id, wid = linked(stack)
    tap = HookTap(stack.ado)
    stack.ado.act_update(wid, {"System.AssignedTo": AVA}, as_=AVA)
    stack.settle()
    stack.ado.act_update(wid, {"System.AssignedTo": JAMAL}, as_=AVA)
    stack.settle()
    after = snapshot(stack, issue_id, wid)
    assert after["assignee"] == SENTRY_PEOPLE["bob@example.com"]
    deliver(stack, [ado_updates(tap.sent, "ava@contoso.com")[0]])
    assert snapshot(stack, issue_id, wid) == after


def test_sentry_assignment_replayed_changes_nothing(stack: SandboxStack) -> None:
    """Assigned to alice then bob in Sentry: replaying the old ``issue.assigned`` (alice) must keep the
    work item on Jamal (bob's ADO identity)."""
    issue_id, wid = linked(stack)
    tap = HookTap(stack.sentry)
    stack.sentry.act("alice@example.com", issue_id, {"assignedTo": "alice@example.com"})
    stack.settle()
    stack.sentry.act("alice@example.com", issue_id, {"assignedTo": "bob@example.com"})
    stack.settle()
    after = snapshot(stack, issue_id, wid)
    assert "jamal@contoso.com" in after["ado_assignee"] and after["assignee"] == SENTRY_PEOPLE["bob@example.com"]
    old = next(h for h in tap.sent if json.loads(h.body)["action"] == "assigned")
    deliver(stack, [old])
    now = snapshot(stack, issue_id, wid)
    print(f"\nreplayed issue.assigned(alice) after bob: work item assignee now {now['ado_assignee']}")
    assert now == after


def test_reconcile_repairs_a_lost_revision_followed_by_a_synced_one(stack: SandboxStack) -> None:
    """rev n (State Closed) is lost, rev n+1 (assigned to Ava) is delivered and synced; one reconcile
    run must still resolve the Sentry issue."""
    from shared.reconcile.run import reconciler

    issue_id, wid = linked(stack)
    tap = HookTap(stack.ado)
    with tap.hold():
        stack.ado.act_update(wid, {"System.State": "Closed"}, as_=AVA)  # its hook is never delivered
    stack.ado.act_update(wid, {"System.AssignedTo": AVA}, as_=AVA)
    stack.settle()
    assert runtime().sentry.get_issue(issue_id)["assignedTo"]["id"] == SENTRY_PEOPLE["alice@example.com"]
    report = reconciler(runtime()).run()
    status = runtime().sentry.get_issue(issue_id)["status"]
    print(f"\nafter reconcile: drifted {report.drifted}, writes {report.writes}, Sentry {status}, work item Closed")
    assert status == "resolved"
