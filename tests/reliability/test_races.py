"""The faults scenario's races, each forced in one order (held webhooks, ordered deliveries, a
reconcile run between them), through the real HTTP routes, queue functions and reconcile engine
against the emulators."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.core import Webhook
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


def test_the_second_delivery_of_a_new_issue_costs_no_call_while_the_first_reads(stack: SandboxStack) -> None:
    """``issue.created`` and the alert action for one new issue, handled at once by two workers: the
    first claims the issue before it reads (here its read is held until the second is done); the
    second finds the claim and is decided by it, at no API call. One work item."""
    stack.sentry.add_alert_rule("create work item", [{"name": "project", "value": "Shop"},
                                                     {"name": "work_item_type", "value": "Bug"}])
    tap = HookTap(stack.sentry)
    with tap.hold() as held:
        issue = stack.sentry.new_error("backend", "KeyError", "two deliveries")["issue"]
    created, alert = (next(h for h in held if h.headers["Sentry-Hook-Resource"] == kind)
                      for kind in ("issue", "event_alert"))
    reading, release = threading.Event(), threading.Event()
    dispatch = stack.sentry.dispatch

    def held_read(request):  # an observer on the emulator: the first read waits for the test
        if request.method == "GET" and "/events/" in request.path and not release.is_set():
            reading.set()
            release.wait(30)
        return dispatch(request)

    stack.sentry.dispatch = held_read
    syncer = runtime().syncer
    first = threading.Thread(target=syncer.handle_event, args=(raw_of(created),))
    first.start()
    assert reading.wait(30)
    clients = (runtime().ado.transport, runtime().sentry.transport)
    before = sum(c.request_count for c in clients)
    done = syncer.handle_event(raw_of(alert))
    calls = sum(c.request_count for c in clients) - before
    release.set()
    first.join(30)
    print(f"\nsecond delivery: {calls} call(s), {[d.get('reason') or d['kind'] for d in done]}")
    assert calls == 0 and [d["kind"] for d in done] == ["skip"]
    link = runtime().store.get_by_issue("acme", issue["id"])
    made = [w.id for w in stack.ado.items.values()
            if f"/issues/{issue['id']}/" in json.dumps(w.current.relations, default=str)]
    assert link is not None and link.is_linked and made == [link.work_item_id]


def raw_of(hook: Webhook) -> dict[str, Any]:
    """What the queue function hands the syncer for a Sentry delivery."""
    return {"resource": hook.headers["Sentry-Hook-Resource"], "body": json.loads(hook.body)}
