"""Sync, assignment, comments and reconcile through the real function app against both Azure
DevOps flavours: Services (organization URL, email accounts, Markdown) and Server 2022.1 (a
``/tfs/DefaultCollection`` collection URL, ``DOMAIN\\user`` accounts with no email, HTML only, German
state names). The app learns which one it talks to from connectionData, not from the URL."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from sandbox.core import Faults
from sandbox.stack import SandboxStack, sandbox_stack
from shared.actions import DELETED_NOTE
from shared.runtime import runtime

PEOPLE = {  # Sentry member -> (ADO account on Services, on Server)
    "alice@example.com": ("Ava Chen <ava@contoso.com>", "Ava Chen <CONTOSO\\ava>"),
    "bob@example.com": ("Jamal Hartnett <jamal@contoso.com>", "Jamal Hartnett <CONTOSO\\jamal>"),
}


@pytest.fixture(params=["services", "server"])
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SandboxStack]:
    with sandbox_stack(workdir=str(tmp_path), ado_server=request.param == "server") as s:
        yield s


def ado_person(stack: SandboxStack, sentry_email: str) -> str:
    return PEOPLE[sentry_email][1 if stack.ado.server else 0]


def linked(stack: SandboxStack) -> tuple[str, int]:
    issue = stack.sentry.new_error("backend", "KeyError", "both flavours")["issue"]
    stack.settle()
    link = runtime().store.get_by_issue("acme", issue["id"])
    assert link is not None and link.is_linked, stack.host.poison
    return issue["id"], link.work_item_id


def test_the_work_item_body_is_markdown_on_services_and_html_on_server(stack: SandboxStack) -> None:
    _, wid = linked(stack)
    item = stack.ado.work_item(wid)
    assert stack.ado.base_url.endswith("/tfs/DefaultCollection" if stack.ado.server else "/contoso")
    repro = item.current.fields["Microsoft.VSTS.TCM.ReproSteps"]
    if stack.ado.server:
        assert item.current.formats == {} and repro.lstrip().startswith("<")
    else:
        assert item.current.formats == {"Microsoft.VSTS.TCM.ReproSteps": "markdown"} and "**" in repro
    assert item.current.fields["System.State"] == ("Neu" if stack.ado.server else "New")


def test_status_round_trip_by_category_whatever_the_state_is_called(stack: SandboxStack) -> None:
    issue_id, wid = linked(stack)
    stack.sentry.act("alice@example.com", issue_id, {"status": "resolved"})
    stack.settle()
    assert stack.ado.work_item(wid).current.fields["System.State"] == ("Geschlossen" if stack.ado.server else "Closed")
    active = "Aktiv" if stack.ado.server else "Active"
    stack.ado.act_update(wid, {"System.State": active}, as_=ado_person(stack, "alice@example.com"))
    stack.settle()
    assert runtime().sentry.get_issue(issue_id)["status"] == "unresolved"
    assert stack.host.poison == {}


def test_assignment_both_ways_maps_email_to_the_account_form(stack: SandboxStack) -> None:
    """Sentry emails map to ADO accounts through [identities]: emails on Services, domain accounts
    on Server, where identities have no email at all."""
    issue_id, wid = linked(stack)
    stack.sentry.act("alice@example.com", issue_id, {"assignedTo": "alice@example.com"})
    stack.settle()
    assigned = stack.ado.work_item(wid).current.fields["System.AssignedTo"]
    assert assigned.distinct() == ado_person(stack, "alice@example.com")
    jamal = ado_person(stack, "bob@example.com")
    stack.ado.act_update(wid, {"System.AssignedTo": jamal}, as_=jamal)
    stack.settle()
    issue = runtime().sentry.get_issue(issue_id)
    assert (issue.get("assignedTo") or {}).get("email") == "bob@example.com"
    assert stack.host.poison == {}


def test_a_sentry_comment_is_markdown_on_services_and_html_on_server(stack: SandboxStack) -> None:
    issue_id, wid = linked(stack)
    stack.sentry.comment("alice@example.com", issue_id, "Looks like **cart** again")
    stack.settle()
    [comment] = stack.ado.work_item(wid).comments
    if stack.ado.server:
        assert comment.format == "html" and "<strong>cart</strong>" in comment.text
    else:
        assert comment.format == "markdown" and "**cart**" in comment.text


def test_a_sentry_comment_edit_and_deletion_reach_its_ado_copy(stack: SandboxStack) -> None:
    issue_id, wid = linked(stack)
    note = stack.sentry.comment("alice@example.com", issue_id, "Looks like **cart** again")
    stack.settle()
    stack.sentry.edit_note("alice@example.com", issue_id, note["id"], "Looks like **checkout** instead")
    stack.settle()
    [comment] = stack.ado.work_item(wid).comments
    assert comment.version == 2 and "checkout" in comment.text and "cart" not in comment.text
    assert comment.format == ("html" if stack.ado.server else "markdown")
    assert "<strong>checkout</strong>" in comment.text if stack.ado.server else "**checkout**" in comment.text
    stack.sentry.delete_note("alice@example.com", issue_id, note["id"])
    stack.settle()
    assert [c.is_deleted for c in stack.ado.work_item(wid).comments] == [True]
    assert runtime().store.get_by_issue("acme", issue_id).comment_copies == {}
    assert len(runtime().sentry.list_comments(issue_id)) == 0  # nothing came back as a new comment
    assert stack.host.poison == {}


def test_reconcile_repairs_a_lost_webhook(stack: SandboxStack) -> None:
    issue_id, wid = linked(stack)
    stack.ado.set_faults(Faults(webhook_drop_rate=1.0))
    closed = "Geschlossen" if stack.ado.server else "Closed"
    stack.ado.act_update(wid, {"System.State": closed}, as_=ado_person(stack, "alice@example.com"))
    stack.settle()
    stack.ado.set_faults(Faults())
    assert runtime().sentry.get_issue(issue_id)["status"] == "unresolved"  # the webhook was lost
    assert requests.post(f"{stack.app_url}/admin/timers/reconcile", timeout=60).status_code == 200
    assert runtime().sentry.get_issue(issue_id)["status"] == "resolved"


def reconcile(stack: SandboxStack) -> None:
    assert requests.post(f"{stack.app_url}/admin/timers/reconcile", timeout=60).status_code == 200


def test_reconcile_recovers_lost_comments_and_ado_edits_and_deletions_both_ways(stack: SandboxStack) -> None:
    issue_id, wid = linked(stack)
    ava = ado_person(stack, "alice@example.com")
    stack.ado.set_faults(Faults(webhook_drop_rate=1.0))
    stack.sentry.set_faults(Faults(webhook_drop_rate=1.0))
    note = stack.sentry.comment("alice@example.com", issue_id, "lost in **Sentry**")
    made = stack.ado.act_comment(wid, "lost in ADO", as_=ava, fmt="html")
    stack.settle()
    stack.ado.set_faults(Faults())
    stack.sentry.set_faults(Faults())
    assert stack.ado.work_item(wid).comments == [made]  # both webhooks were lost
    reconcile(stack)
    texts = [c["data"]["text"] for c in runtime().sentry.list_comments(issue_id)]
    assert texts.count("**Ava Chen** (via Azure DevOps): lost in ADO") == 1 and len(texts) == 2
    copies = [c for c in stack.ado.work_item(wid).comments if c.id != made.id]
    assert len(copies) == 1 and "Sentry" in copies[0].text
    # ADO sends no hook for an edit or a deletion: reconciliation finds them by the changed date
    stack.ado.act_edit_comment(wid, made.id, "edited in ADO", as_=ava, fmt="html")
    reconcile(stack)
    texts = [c["data"]["text"] for c in runtime().sentry.list_comments(issue_id)]
    assert "**Ava Chen** (via Azure DevOps): edited in ADO" in texts and len(texts) == 2
    stack.ado.act_delete_comment(wid, made.id, as_=ava)
    reconcile(stack)  # deleting a note needs Issue & Event: Admin; with Read & Write the copy is emptied
    texts = [c["data"]["text"] for c in runtime().sentry.list_comments(issue_id)]
    assert texts == [DELETED_NOTE, note["data"]["text"]]
    reconcile(stack)  # the bridge's own deletion moved the changed date: one ADO list, then quiet
    before = len(comment_lists(stack))
    reconcile(stack)  # nothing left to do: no comment list is read
    assert len(comment_lists(stack)) == before
    assert [c["data"]["text"] for c in runtime().sentry.list_comments(issue_id)] == texts
    assert len([c for c in stack.ado.work_item(wid).comments if not c.is_deleted]) == 1
    assert stack.host.poison == {}


def comment_lists(stack: SandboxStack) -> list[dict]:
    return [e for s in (stack.ado, stack.sentry) for e in s.journal.entries()
            if e["method"] == "GET" and e["path"].rstrip("/").endswith("/comments")]


def identity_searches(stack: SandboxStack) -> list[dict]:
    return [e for e in stack.ado.journal.entries() if e["method"] == "GET" and e["path"].endswith("/_apis/identities")]


def test_people_match_through_the_directory_without_a_table_entry(stack: SandboxStack) -> None:
    """Carol has no [identities] entry. On Services her ADO account is her email; on Server it is
    CONTOSO\\carol, matched by the directory's mail attribute. Both ways, looked up once a day."""
    carol = (stack.ado.add_identity("Carol Diaz <CONTOSO\\carol>", mail="carol@example.com") if stack.ado.server
             else stack.ado.add_identity("Carol Diaz <carol@example.com>"))
    stack.sentry.world.org.teams[11].user_ids.add(3)  # carol joins the backend team (Sentry assigns members only)
    issue_id, wid = linked(stack)
    stack.sentry.act("alice@example.com", issue_id, {"assignedTo": "carol@example.com"})
    stack.settle()
    assert stack.ado.work_item(wid).current.fields["System.AssignedTo"] == carol
    stack.ado.act_update(wid, {"System.AssignedTo": None}, as_=ado_person(stack, "alice@example.com"))
    stack.settle()
    assert runtime().sentry.get_issue(issue_id).get("assignedTo") is None
    stack.ado.act_update(wid, {"System.AssignedTo": carol.distinct()}, as_=carol)
    stack.settle()
    assert (runtime().sentry.get_issue(issue_id).get("assignedTo") or {}).get("email") == "carol@example.com"
    searched = identity_searches(stack)
    assert len(searched) == (2 if stack.ado.server else 1)  # by email, and (Server) by account; then cached
    cached = runtime().store.get_marker("identity", "carol@example.com")
    assert cached and cached["value"]["unique_name"] == carol.unique_name
    assert stack.host.poison == {}


def requests_made(stack: SandboxStack) -> int:
    return len(stack.sentry.journal.entries()) + len(stack.ado.journal.entries())


def test_an_unknown_assignee_is_recorded_on_the_link_so_a_repeat_costs_no_call(stack: SandboxStack) -> None:
    """Carol has no Azure DevOps identity: the first assignment to her looks her up (a miss) and the
    link records that outcome, so the same assignment again (a re-delivery) costs no API call."""
    stack.sentry.world.org.teams[11].user_ids.add(3)
    issue_id, _ = linked(stack)
    stack.sentry.act("alice@example.com", issue_id, {"assignedTo": "carol@example.com"})
    stack.settle()
    [hook] = [h for h, _ in stack.sentry.webhooks.delivered
              if h.headers["Sentry-Hook-Resource"] == "issue" and b'"action":"assigned"' in h.body]
    before = requests_made(stack)
    assert requests.post(hook.url, data=hook.body, headers=hook.headers, timeout=10).status_code == 202
    stack.settle()
    assert requests_made(stack) == before
    link = runtime().store.get_by_issue("acme", issue_id)
    assert link.synced.sentry_assignee_unmatched == "user:3" and link.synced.sentry_assignee != "user:3"
    assert stack.host.poison == {}


def test_an_unknown_person_is_reported_once_a_day_with_the_fix(stack: SandboxStack,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    stack.sentry.world.org.teams[11].user_ids.add(3)
    issue_id, _ = linked(stack)
    with caplog.at_level(logging.WARNING, logger="shared.apply"):
        for _ in range(2):
            stack.sentry.act("alice@example.com", issue_id, {"assignedTo": "carol@example.com"})
            stack.settle()
            stack.sentry.act("alice@example.com", issue_id, {"assignedTo": ""})
            stack.settle()
    reports = [r.getMessage() for r in caplog.records if "unmatched person" in r.getMessage()]
    assert len(reports) == 1 and "carol@example.com" in reports[0] and "[identities]" in reports[0]
    assert len(identity_searches(stack)) == 1  # the miss is cached too
