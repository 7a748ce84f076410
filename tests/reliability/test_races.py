"""The faults scenario's races, each forced in one order (held webhooks, ordered deliveries, a
reconcile run between them), through the real HTTP routes, queue functions and reconcile engine
against the emulators."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.stack import SandboxStack, sandbox_stack
from shared.reconcile.run import reconciler
from shared.runtime import runtime
from tests.reliability.scenario import ADO_PEOPLE, BRIDGE_ADO, SENTRY_PEOPLE, HookTap, write_rules
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
