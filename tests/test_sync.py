"""The webhook path at its API-call floor: a webhook that the body, the link and the store's cache
decide (our own write coming back, a re-delivery, a stale revision, an unlinked issue or work item)
makes no API call, and a carried change makes its write plus at most one read.

Real webhooks the emulators send, held back by a tap and delivered through the real queue
functions; each test asserts how far both clients' request counts moved. (Counts, not timings:
bench/sync_calls.py measures a whole mixed stream.)"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import azure.functions as func
import pytest
from requests.structures import CaseInsensitiveDict

from functions.sync import sync_from_ado, sync_from_sentry
from sandbox.core import Webhook
from sandbox.local_host import OutBinding
from sandbox.sentry import seed
from sandbox.stack import HOOK_SECRET, SandboxStack, sandbox_stack
from shared.intake import check_ado_webhook, check_sentry_webhook
from shared.runtime import runtime
from shared.store import Link
from tests.reliability.scenario import HookTap

JAMAL = "Jamal Hartnett <jamal@contoso.com>"


@pytest.fixture
def stack() -> Iterator[SandboxStack]:
    with sandbox_stack() as s:
        yield s


def calls() -> int:
    rt = runtime()
    return rt.ado.request_count + rt.sentry.request_count


def deliver(hook: Webhook) -> None:
    """One captured webhook, verified and enqueued as the webhook route does, through the queue function."""
    headers = CaseInsensitiveDict(hook.headers)
    if "Sentry-Hook-Resource" in headers:
        verdict = check_sentry_webhook(headers, hook.body, seed.CLIENT_SECRET, time.time(), 300, 1 << 20)
        handler = sync_from_sentry
    else:
        verdict = check_ado_webhook(headers, hook.body, HOOK_SECRET, 1 << 20)
        handler = sync_from_ado
    assert verdict.message is not None, verdict
    poison = OutBinding()
    handler.build().get_user_function()(func.QueueMessage(id="t", body=verdict.message.encode()), poison)
    assert poison.value is None, "the message went to the poison queue"


def body(hook: Webhook) -> dict:
    return json.loads(hook.body)


def linked(stack: SandboxStack) -> tuple[str, Link]:
    issue = stack.sentry.new_error("backend", "KeyError", "boom")["issue"]
    stack.settle()
    link = runtime().store.get_by_issue("acme", issue["id"])
    assert link is not None and link.is_linked and link.work_item_id
    return issue["id"], link


def warm(stack: SandboxStack, issue_id: str, link: Link) -> None:
    """A change each way, so the store's cache holds what carrying needs (type states, the bridge's
    identity, Sentry members): loaded once an hour, not per webhook."""
    stack.sentry.act("alice@example.com", issue_id, {"assignedTo": "user:1"})
    stack.settle()
    stack.ado.act_update(link.work_item_id, {"System.AssignedTo": JAMAL}, JAMAL)
    stack.settle()


def costs(hooks: list[Webhook]) -> int:
    before = calls()
    for hook in hooks:
        deliver(hook)
    return calls() - before


def test_our_ado_write_coming_back_costs_no_call(stack: SandboxStack) -> None:
    issue_id, _ = linked(stack)
    ado = HookTap(stack.ado)
    with ado.hold() as held:
        stack.sentry.act("alice@example.com", issue_id, {"status": "resolved"})
        stack.settle()
    [echo] = held
    assert body(echo)["eventType"] == "workitem.updated" and "sentry-bridge" in json.dumps(body(echo)["resource"])
    assert costs(held) == 0


def test_our_sentry_write_coming_back_costs_no_call(stack: SandboxStack) -> None:
    _, link = linked(stack)
    with HookTap(stack.sentry).hold() as held:
        stack.ado.act_update(link.work_item_id, {"System.State": "Closed"}, JAMAL)
        stack.settle()
    [echo] = held
    assert body(echo)["action"] == "resolved"
    assert costs(held) == 0


def test_a_redelivered_sentry_change_costs_no_call(stack: SandboxStack) -> None:
    issue_id, _ = linked(stack)
    sentry = HookTap(stack.sentry)
    stack.sentry.act("alice@example.com", issue_id, {"assignedTo": "user:2"})
    stack.settle()
    [change] = [h for h in sentry.sent if body(h)["action"] == "assigned"]
    assert costs([change]) == 0


def test_a_carried_sentry_change_is_one_read_and_its_write(stack: SandboxStack) -> None:
    """The issue is read (is the change still current?); the work item is not: the PATCH carries
    test /rev with the link's rev."""
    issue_id, link = linked(stack)
    warm(stack, issue_id, link)
    sentry = HookTap(stack.sentry)
    with sentry.hold() as held:  # warm() left it assigned to bob
        stack.sentry.act("alice@example.com", issue_id, {"assignedTo": "user:1"})
    HookTap(stack.ado).holding = True  # keep the echo out of the count
    assert costs(held) == 2


def test_a_carried_ado_change_is_one_read_and_its_write(stack: SandboxStack) -> None:
    issue_id, link = linked(stack)
    warm(stack, issue_id, link)
    ado = HookTap(stack.ado)
    with ado.hold() as held:
        stack.ado.act_update(link.work_item_id, {"System.AssignedTo": "Ava Chen <ava@contoso.com>"}, JAMAL)
    HookTap(stack.sentry).holding = True
    assert costs(held) == 2


def test_a_redelivered_ado_change_costs_no_call(stack: SandboxStack) -> None:
    _, link = linked(stack)
    ado = HookTap(stack.ado)
    stack.ado.act_update(link.work_item_id, {"System.State": "Closed"}, JAMAL)
    stack.settle()
    [change] = [h for h in ado.sent if "Jamal" in json.dumps(body(h)["resource"].get("revisedBy"))]
    assert costs([change]) == 0


def test_a_stale_revision_costs_no_call(stack: SandboxStack) -> None:
    _, link = linked(stack)
    ado = HookTap(stack.ado)
    with ado.hold() as held:
        stack.ado.act_update(link.work_item_id, {"System.AssignedTo": JAMAL}, JAMAL)
        stack.ado.act_update(link.work_item_id, {"System.State": "Closed"}, JAMAL)
    older, newer = held
    deliver(newer)
    stack.settle()
    assert costs([older]) == 0


def test_our_comment_coming_back_costs_no_call(stack: SandboxStack) -> None:
    issue_id, link = linked(stack)
    stack.ado.act_update(link.work_item_id, {"System.State": "Closed"}, JAMAL)  # an ADO event warms the cache
    stack.settle()
    with HookTap(stack.ado).hold() as ado_held:
        stack.sentry.comment("alice@example.com", issue_id, "seen in prod")
        stack.settle()
    with HookTap(stack.sentry).hold() as sentry_held:
        stack.ado.act_comment(link.work_item_id, "fixed on main", JAMAL)
        stack.settle()
    # a comment is a revision too: ADO sends workitem.updated (System.History) and workitem.commented
    assert sorted(body(h)["eventType"] for h in ado_held) == ["workitem.commented", "workitem.updated"]
    assert [h.headers["Sentry-Hook-Resource"] for h in sentry_held] == ["comment"]
    assert costs(ado_held + sentry_held) == 0


def test_a_comment_revision_does_not_cost_the_next_write_a_conflict(stack: SandboxStack) -> None:
    """Comments add work item revisions; the link follows them, so the next guarded PATCH is not
    refused (412) and re-read."""
    issue_id, link = linked(stack)
    stack.ado.act_comment(link.work_item_id, "looking", JAMAL)
    stack.sentry.comment("alice@example.com", issue_id, "thanks")
    stack.settle()
    with HookTap(stack.sentry).hold() as held:
        stack.sentry.act("alice@example.com", issue_id, {"status": "resolved"})
    HookTap(stack.ado).holding = True
    assert costs(held) == 2
    assert runtime().ado.get_work_item(link.work_item_id)["fields"]["System.State"] == "Closed"


def test_creation_delivered_again_costs_no_call(stack: SandboxStack) -> None:
    sentry = HookTap(stack.sentry)
    linked(stack)
    [created] = [h for h in sentry.sent if body(h)["action"] == "created"]
    assert costs([created]) == 0


def test_events_for_an_unlinked_issue_or_work_item_cost_no_call(stack: SandboxStack) -> None:
    sentry, ado = HookTap(stack.sentry), HookTap(stack.ado)
    with sentry.hold() as sentry_held, ado.hold() as ado_held:
        issue = stack.sentry.new_error("backend", "UserWarning", "slow", level="warning")["issue"]  # not auto-created
        stack.sentry.act("alice@example.com", issue["id"], {"status": "resolved"})
        stack.sentry.comment("alice@example.com", issue["id"], "ignore this one")
        item = stack.ado.act_create("Shop", "Bug", {"System.Title": "made by hand"}, JAMAL)
        stack.ado.act_update(item.id, {"System.State": "Closed"}, JAMAL)
        stack.ado.act_comment(item.id, "done", JAMAL)
    assert len(sentry_held) == 3 and len(ado_held) == 3  # created, resolved, comment; updated x2, commented
    assert costs(sentry_held + ado_held) == 0
    assert runtime().store.get_by_issue("acme", issue["id"]) is None
