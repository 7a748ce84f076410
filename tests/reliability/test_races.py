"""The faults scenario's races, each forced in one order (held webhooks, ordered deliveries, a
reconcile run between them), through the real HTTP routes, queue functions and reconcile engine
against the emulators."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.stack import SandboxStack, sandbox_stack
from shared.reconcile.run import reconciler
from shared.runtime import runtime
from tests.reliability.scenario import (
    ADO_PEOPLE,
    BRIDGE_ADO,
    FAST_POLICY,
    SENTRY_PEOPLE,
    HookTap,
    use_fast_clients,
    write_rules,
)
from tests.reliability.test_ordering import linked

AVA, JAMAL = ADO_PEOPLE["alice@example.com"], ADO_PEOPLE["bob@example.com"]


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[SandboxStack]:
    with sandbox_stack(workdir=str(tmp_path), sync_config=write_rules(tmp_path)) as s:
        yield s


def bridge_states(stack: SandboxStack, wid: int) -> list[str]:
    """The states the bridge wrote to the work item, in order."""
    revs = stack.ado.work_item(wid).revisions
    return [str(rev.fields.get("System.State")) for prev, rev in itertools.pairwise(revs)
            if BRIDGE_ADO in str(rev.fields.get("System.ChangedBy"))
            and prev.fields.get("System.State") != rev.fields.get("System.State")]


def test_reconcile_carrying_both_sides_of_one_pair_plans_each_from_what_it_wrote(stack: SandboxStack) -> None:
    """Both hooks lost: ADO people reopened a work item whose issue was resolved, Sentry people
    assigned the issue. One run carries the reopening to Sentry, then the assignment to ADO; the
    assignment must not also carry the status its (pre-run) read of the issue showed back to ADO."""
    issue_id, wid = linked(stack)
    stack.ado.act_update(wid, {"System.State": "Closed"}, as_=AVA)
    stack.settle()
    assert runtime().sentry.get_issue(issue_id)["status"] == "resolved"
    with HookTap(stack.ado).hold(), HookTap(stack.sentry).hold():
        stack.ado.act_update(wid, {"System.State": "Active"}, as_=AVA)
        stack.sentry.act("alice@example.com", issue_id, {"assignedTo": "bob@example.com"})
    reconciler(runtime()).run()
    stack.settle()
    issue = runtime().sentry.get_issue(issue_id)
    fields = stack.ado.work_item(wid).current.fields
    assert (issue["status"], issue["assignedTo"]["id"]) == ("unresolved", SENTRY_PEOPLE["bob@example.com"])
    assert fields["System.State"] == "Active" and "jamal@contoso.com" in str(fields["System.AssignedTo"])
    assert bridge_states(stack, wid) == []  # the state is the ADO people's: the bridge never wrote it


def test_a_write_whose_answer_was_lost_is_recorded_when_the_retry_finds_it_landed(stack: SandboxStack) -> None:
    """Sentry people resolve; the bridge's PATCH closes the work item but its answer is lost, so the
    guarded replay fails (412) and the re-read shows the item already Closed. The link must record
    that both sides agree: when people then reopen the issue in Sentry (no webhook: Sentry sends
    none for that by default), reconciliation carries the reopening, not the Closed back."""
    issue_id, wid = linked(stack)
    use_fast_clients()
    stack.ado.lose_answer("PATCH", f"/workitems/{wid}", delay_s=2 * FAST_POLICY.read_timeout_s)
    stack.sentry.act("alice@example.com", issue_id, {"status": "resolved"})
    stack.settle()
    assert stack.ado.work_item(wid).current.fields["System.State"] == "Closed"
    stack.sentry.act("alice@example.com", issue_id, {"status": "unresolved"})
    reconciler(runtime()).run()
    stack.settle()
    assert runtime().sentry.get_issue(issue_id)["status"] == "unresolved"
    assert stack.ado.work_item(wid).current.fields["System.State"] == "Active"
    assert stack.host.poison == {}


def test_a_create_whose_answer_was_lost_is_found_not_made_again(stack: SandboxStack) -> None:
    """ADO makes the work item but its answer is lost (the client stopped waiting). The queue's retry
    must find that work item by what it holds (its title and its link to the issue) and link it,
    not create a second one."""
    use_fast_clients()
    stack.ado.lose_answer("POST", "/_apis/wit/workitems/$", delay_s=2 * FAST_POLICY.read_timeout_s)
    issue = stack.sentry.new_error("backend", "KeyError", "answer lost")["issue"]
    stack.settle()
    link = runtime().store.get_by_issue("acme", issue["id"])
    made = [w.id for w in stack.ado.items.values()
            if f"/issues/{issue['id']}/" in json.dumps(w.current.relations, default=str)]
    creates = [e for e in stack.ado.journal.entries() if e["method"] == "POST" and "/workitems/$" in e["path"]]
    print(f"\ncreate requests {len(creates)}, work items for the issue {made}")
    assert link is not None and link.is_linked and made == [link.work_item_id]
    externals = [x for x in stack.sentry.world.org.external_issues.values() if str(x.issue_id) == issue["id"]]
    assert [x.identifier for x in externals] == [str(link.work_item_id)]
    assert stack.host.poison == {}
