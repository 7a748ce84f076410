"""Every channel Sentry and Azure DevOps deliver on, end to end through the function app: Sentry's
workflow activity alerts alone (an organization whose app receives no ``issue`` webhooks) and
beside the webhooks (the same change carried once, the second copy at no API call), and a hook
that shows an earlier change was lost, repaired with the hook's own write."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.core import Faults
from sandbox.sentry.world import WORKFLOW_ACTIVITY_TYPES
from sandbox.stack import SandboxStack, sandbox_stack
from shared.contract import SENTRY_ACTIVITY_ISSUE_ACTION
from shared.runtime import runtime
from tests.functions.test_end_to_end import linked_issue, writes

AVA = "Ava Chen <ava@contoso.com>"
SETTINGS = [{"name": "project", "value": "Shop"}, {"name": "work_item_type", "value": "Bug"}]


@pytest.fixture
def stack() -> Iterator[SandboxStack]:
    with sandbox_stack() as s:
        yield s


def calls(stack: SandboxStack) -> int:
    """Every API request the app made to either service so far."""
    return len(stack.sentry.journal.entries()) + len(stack.ado.journal.entries())


def alerts(stack: SandboxStack) -> list[str]:
    return [h.headers["Sentry-Hook-Resource"] for h, _ in stack.sentry.webhooks.delivered]


def state(link) -> str:
    return runtime().ado.get_work_item(link.work_item_id)["fields"]["System.State"]


def new_linked(stack: SandboxStack, kind: str) -> tuple[dict, object]:
    issue = stack.sentry.new_error("backend", kind, "boom")["issue"]
    stack.settle()
    link = runtime().store.get_by_issue("acme", issue["id"])
    assert link is not None and link.is_linked
    return issue, link


def only_alerts(stack: SandboxStack) -> tuple[dict, object]:
    """An organization whose app subscribes to no webhook resource: an alert rule with our action
    makes the work item, a workflow with our action sends the issue's activity."""
    stack.sentry.subscribe([])
    stack.sentry.add_alert_rule("New issues to ADO", SETTINGS)
    stack.sentry.add_workflow("Issue activity to ADO")
    issue = stack.sentry.new_error("backend", "KeyError", "only alerts", release="backend@1.0.0")["issue"]
    stack.settle()
    link = runtime().store.get_by_issue("acme", issue["id"])
    assert link is not None and link.is_linked
    assert "issue" not in alerts(stack)
    return issue, link


def test_an_organization_with_only_the_activity_channel_syncs_resolves(stack: SandboxStack) -> None:
    """Today's Sentry evaluates workflows on resolves only: each kind of resolve closes the work
    item, and the reopening the scan finds (no webhook says it) is carried by the regression timer."""
    issue, link = only_alerts(stack)
    for how in ({"status": "resolved"}, {"status": "resolved", "statusDetails": {"inNextRelease": True}}):
        stack.sentry.act("alice@example.com", issue["id"], how)
        stack.settle()
        assert state(link) == "Closed"
        assert alerts(stack)[-1] == "activity_alert"
        stack.ado.act_update(link.work_item_id, {"System.State": "Active"}, as_=AVA)
        stack.settle()
        assert runtime().sentry.get_issue(issue["id"])["status"] == "unresolved"
    assert "issue" not in alerts(stack) and stack.host.poison == {}


@pytest.mark.parametrize(("change", "activity", "wanted"), [
    ({"status": "resolved"}, "status_resolved", "Closed"),
    ({"status": "resolved", "statusDetails": {"inNextRelease": True}}, "status_resolved_in_release", "Closed"),
    ({"status": "resolved", "statusDetails": {"inCommit": {"commit": "abc", "repository": "shop"}}},
     "status_resolved_in_commit", "Closed"),
    ({"status": "unresolved"}, "status_unresolved", "Active"),
    ("regression", "status_regression", "Active"),
    ("escalation", "status_escalating", "Active"),
])
def test_every_status_activity_sentry_can_send_is_carried_alone(stack: SandboxStack, change, activity: str,
                                                                wanted: str) -> None:
    """With every status change evaluated (as Sentry rolls them out), each activity type reaches the
    work item on this channel alone."""
    stack.sentry.evaluate_workflow_activities(list(SENTRY_ACTIVITY_ISSUE_ACTION))
    issue, link = only_alerts(stack)
    if wanted == "Active":  # start from a closed work item (the issue resolved by it)
        stack.ado.act_update(link.work_item_id, {"System.State": "Closed"}, as_=AVA)
        stack.settle()
        assert runtime().sentry.get_issue(issue["id"])["status"] == "resolved"
    if change == "escalation":  # only an issue archived until escalating escalates
        stack.sentry.act("alice@example.com", issue["id"], {"status": "ignored",
                                                            "substatus": "archived_until_escalating"})
        stack.settle()
    if change == "regression":
        stack.sentry.new_error("backend", "KeyError", "only alerts")
    elif change == "escalation":
        stack.sentry.escalate(issue["id"])
    else:
        stack.sentry.act("alice@example.com", issue["id"], change)
    stack.settle()
    sent = [h for h, _ in stack.sentry.webhooks.delivered if h.headers["Sentry-Hook-Resource"] == "activity_alert"]
    assert activity.encode() in sent[-1].body
    assert state(link) == wanted and stack.host.poison == {}


def test_today_only_resolves_are_evaluated() -> None:
    assert set(WORKFLOW_ACTIVITY_TYPES) == {k for k, v in SENTRY_ACTIVITY_ISSUE_ACTION.items()
                                            if v == "resolved"}


def test_the_same_resolve_on_both_channels_is_carried_once_at_one_changes_cost(stack: SandboxStack) -> None:
    """issue.resolved and the workflow's activity alert both arrive: one PATCH, and the second copy
    costs no API call (the same resolve with the webhook alone costs exactly as much)."""
    warm, _ = new_linked(stack, "KeyError")
    alone, alone_link = new_linked(stack, "ValueError")
    both, both_link = new_linked(stack, "TypeError")
    stack.sentry.act("alice@example.com", warm["id"], {"status": "resolved"})  # caches filled
    stack.settle()
    start = calls(stack)
    stack.sentry.act("alice@example.com", alone["id"], {"status": "resolved"})
    stack.settle()
    one_channel = calls(stack) - start
    stack.sentry.add_workflow("Issue activity to ADO")
    ado_before, sentry_before = writes(stack)
    start = calls(stack)
    stack.sentry.act("alice@example.com", both["id"], {"status": "resolved"})
    stack.settle()
    assert alerts(stack)[-2:] in (["issue", "activity_alert"], ["activity_alert", "issue"])
    assert calls(stack) - start == one_channel
    assert writes(stack) == (ado_before + 1, sentry_before)
    assert state(both_link) == state(alone_link) == "Closed" and stack.host.poison == {}


def test_a_sentry_hook_reveals_an_assignment_whose_webhook_was_lost(stack: SandboxStack) -> None:
    issue, link = linked_issue(stack)
    stack.sentry.set_faults(Faults(webhook_drop_rate=1.0))
    stack.sentry.act("alice@example.com", issue["id"], {"assignedTo": "bob@example.com"})
    stack.settle()
    stack.sentry.set_faults(Faults())
    assert "AssignedTo" not in str(runtime().ado.get_work_item(link.work_item_id)["fields"])  # lost
    ado_before, _ = writes(stack)
    stack.sentry.act("alice@example.com", issue["id"], {"status": "resolved"})
    stack.settle()
    fields = runtime().ado.get_work_item(link.work_item_id)["fields"]
    assert fields["System.State"] == "Closed" and "jamal" in str(fields["System.AssignedTo"]).lower()
    assert writes(stack)[0] == ado_before + 1  # both in the resolve's one PATCH
    assert stack.host.poison == {}


def test_an_ado_hook_reveals_a_state_change_whose_hook_was_lost(stack: SandboxStack) -> None:
    issue, link = linked_issue(stack)
    stack.ado.set_faults(Faults(webhook_drop_rate=1.0))
    stack.ado.act_update(link.work_item_id, {"System.State": "Closed"}, as_=AVA)
    stack.settle()
    stack.ado.set_faults(Faults())
    assert runtime().sentry.get_issue(issue["id"])["status"] == "unresolved"  # the hook was lost
    _, sentry_before = writes(stack)
    stack.ado.act_update(link.work_item_id, {"System.Tags": "customer"}, as_=AVA)
    stack.settle()
    assert runtime().sentry.get_issue(issue["id"])["status"] == "resolved"
    assert writes(stack)[1] == sentry_before + 1 and stack.host.poison == {}


def test_an_ignore_sent_as_activity_follows_the_ignored_rule(stack: SandboxStack) -> None:
    """status_ignored plans as issue.ignored: the default rules leave the work item as it is."""
    stack.sentry.evaluate_workflow_activities(list(SENTRY_ACTIVITY_ISSUE_ACTION))
    issue, link = only_alerts(stack)
    ado_before, sentry_before, start = *writes(stack), state(link)
    stack.sentry.act("alice@example.com", issue["id"], {"status": "ignored", "substatus": "archived_forever"})
    stack.settle()
    assert alerts(stack)[-1] == "activity_alert"
    assert state(link) == start and writes(stack) == (ado_before, sentry_before) and stack.host.poison == {}


def test_an_auto_resolve_by_age_closes_the_work_item(stack: SandboxStack) -> None:
    """Sentry's auto-resolve records status_resolved_by_age; only the workflow reports it here."""
    issue, link = only_alerts(stack)
    start = state(link)
    stack.sentry.evaluate_workflow_activities([])  # the resolve itself sends nothing...
    stack.sentry.act("alice@example.com", issue["id"], {"status": "resolved"})
    stack.settle()
    assert state(link) == start
    stack.sentry.fire_workflow("Issue activity to ADO", issue["id"], "status_resolved_by_age")  # ...but this
    stack.settle()
    assert state(link) == "Closed" and stack.host.poison == {}


@pytest.mark.parametrize("activity", ["seer_root_cause_completed", "appeared_in_pull_request"])
def test_activities_that_change_nothing_we_sync_write_nothing(stack: SandboxStack, activity: str) -> None:
    issue, _ = only_alerts(stack)
    before, ado_sentry = calls(stack), writes(stack)
    stack.sentry.fire_workflow("Issue activity to ADO", issue["id"], activity)
    stack.settle()
    assert writes(stack) == ado_sentry and calls(stack) == before and stack.host.poison == {}


def test_an_ado_hook_reveals_an_assignment_whose_hook_was_lost(stack: SandboxStack) -> None:
    issue, link = linked_issue(stack)
    stack.ado.set_faults(Faults(webhook_drop_rate=1.0))
    stack.ado.act_update(link.work_item_id, {"System.AssignedTo": "Jamal Hartnett <jamal@contoso.com>"}, as_=AVA)
    stack.settle()
    stack.ado.set_faults(Faults())
    assert runtime().sentry.get_issue(issue["id"])["assignedTo"] is None  # the hook was lost
    _, sentry_before = writes(stack)
    stack.ado.act_update(link.work_item_id, {"System.State": "Closed"}, as_=AVA)
    stack.settle()
    after = runtime().sentry.get_issue(issue["id"])
    assert after["status"] == "resolved" and after["assignedTo"]["email"] == "bob@example.com"
    assert writes(stack)[1] == sentry_before + 1 and stack.host.poison == {}  # both in one update
