"""Issue 18 end to end through the function app and both emulators: a work item moving to done
resolves its issue "in the next release", so the next event from the old release leaves it resolved
(no reopen loop) while a true regression still reopens the work item; a project without releases is
resolved plainly; an archived issue stays archived when its work item is done, and its escalation
reopens the work item; reconciliation carries a lost done the same way."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from sandbox.core import Faults
from sandbox.stack import SandboxStack, sandbox_stack
from shared.runtime import runtime
from tests.functions.test_end_to_end import writes

AVA = "Ava Chen <ava@contoso.com>"
RULES = """
[[routes]]
sentry_projects = ["backend"]
ado_project = "Shop"            # Agile: New, Active, Resolved, Closed
work_item_type = "Bug"
resolution_strategy = "resolve_in_next_release"
[routes.auto_create]
enabled = true

[states]
reopen_on_regression = true     # done_categories left at its default: Resolved and Completed

[identities]
"alice@example.com" = "ava@contoso.com"
"""


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[SandboxStack]:
    rules = tmp_path / "sync.toml"
    rules.write_text(RULES)
    with sandbox_stack(workdir=str(tmp_path), sync_config=rules) as s:
        s.sentry.set_feature("organizations:webhooks-unresolved", True)  # regressions are delivered
        yield s


def linked(stack: SandboxStack, release: str | None = "backend@1.0.0") -> tuple[str, int]:
    issue = stack.sentry.new_error("backend", "KeyError", "boom", release=release)["issue"]
    stack.settle()
    link = runtime().store.get_by_issue("acme", issue["id"])
    assert link is not None and link.is_linked
    return issue["id"], link.work_item_id


def state(wid: int) -> str:
    return runtime().ado.get_work_item(wid)["fields"]["System.State"]


def test_resolved_in_the_next_release_an_old_release_does_not_reopen_a_new_one_does(stack: SandboxStack) -> None:
    issue_id, wid = linked(stack)
    stack.ado.act_update(wid, {"System.State": "Resolved"}, as_=AVA)  # Agile Resolved counts as done by default
    stack.settle()
    issue = runtime().sentry.get_issue(issue_id)
    assert (issue["status"], issue["statusDetails"]) == ("resolved", {"inNextRelease": True})
    before = writes(stack)
    stack.sentry.new_error("backend", "KeyError", "boom", release="backend@1.0.0")  # the old release again
    stack.settle()
    assert runtime().sentry.get_issue(issue_id)["status"] == "resolved"
    assert state(wid) == "Resolved" and writes(stack) == before  # no reopen, no write
    stack.sentry.new_error("backend", "KeyError", "boom", release="backend@1.1.0")  # the fix did not hold
    stack.settle()
    assert runtime().sentry.get_issue(issue_id)["substatus"] == "regressed"
    assert state(wid) == "Active" and stack.host.poison == {}


def test_a_project_without_releases_is_resolved_plainly(stack: SandboxStack) -> None:
    issue_id, wid = linked(stack, release=None)
    before = writes(stack)
    stack.ado.act_update(wid, {"System.State": "Closed"}, as_=AVA)
    stack.settle()
    issue = runtime().sentry.get_issue(issue_id)
    assert (issue["status"], issue["statusDetails"]) == ("resolved", {})
    assert writes(stack)[1] == before[1] + 2  # the refused release resolve, then the plain one
    assert state(wid) == "Closed" and stack.host.poison == {}


def test_an_archived_issue_stays_archived_when_done_and_its_escalation_reopens(stack: SandboxStack) -> None:
    issue_id, wid = linked(stack)
    stack.sentry.act("alice@example.com", issue_id, {"status": "ignored", "substatus": "archived_until_escalating"})
    stack.settle()
    assert state(wid) == "New"  # ignored_action "none": archiving leaves the work item alone
    stack.ado.act_update(wid, {"System.State": "Closed"}, as_=AVA)
    stack.settle()
    issue = runtime().sentry.get_issue(issue_id)
    assert (issue["status"], issue["substatus"]) == ("ignored", "archived_until_escalating")
    stack.sentry.escalate(issue_id)
    stack.settle()
    assert state(wid) == "Active" and stack.host.poison == {}


def test_reconcile_resolves_a_lost_done_in_the_next_release_too(stack: SandboxStack) -> None:
    issue_id, wid = linked(stack)
    stack.ado.set_faults(Faults(webhook_drop_rate=1.0))
    stack.ado.act_update(wid, {"System.State": "Closed"}, as_=AVA)
    stack.settle()
    stack.ado.set_faults(Faults())
    assert runtime().sentry.get_issue(issue_id)["status"] == "unresolved"  # the hook was lost
    assert requests.post(f"{stack.app_url}/admin/timers/reconcile", timeout=60).status_code == 200
    issue = runtime().sentry.get_issue(issue_id)
    assert (issue["status"], issue["statusDetails"]) == ("resolved", {"inNextRelease": True})


def test_done_resolves_an_archived_substatus_the_rules_list(tmp_path: Path) -> None:
    """With ``done_resolves_archived`` naming the issue's substatus, the hook's plan reads the issue
    (the link knows it is archived, not how) and done resolves it, in the next release."""
    rules = tmp_path / "sync.toml"
    rules.write_text(RULES.replace("[states]\n", '[states]\ndone_resolves_archived = ["archived_until_escalating"]\n'))
    with sandbox_stack(workdir=str(tmp_path), sync_config=rules) as stack:
        forever_id, forever_wid = linked(stack)
        escalating_id = stack.sentry.new_error("backend", "TypeError", "other", release="backend@1.0.0")["issue"]["id"]
        stack.settle()
        escalating_wid = runtime().store.get_by_issue("acme", escalating_id).work_item_id
        stack.sentry.act("alice@example.com", forever_id, {"status": "ignored", "substatus": "archived_forever"})
        stack.sentry.act("alice@example.com", escalating_id, {"status": "ignored",
                                                              "substatus": "archived_until_escalating"})
        stack.settle()
        for wid in (forever_wid, escalating_wid):
            stack.ado.act_update(wid, {"System.State": "Closed"}, as_=AVA)
        stack.settle()
        forever, escalating = runtime().sentry.get_issue(forever_id), runtime().sentry.get_issue(escalating_id)
        assert (forever["status"], forever["substatus"]) == ("ignored", "archived_forever")
        assert (escalating["status"], escalating["statusDetails"]) == ("resolved", {"inNextRelease": True})
        assert stack.host.poison == {}
