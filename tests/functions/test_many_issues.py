"""Several Sentry issues linked to one work item, end to end: the Link form over HTTP, both
emulators sending their real webhooks to the function app, the reconcile timer. Each change is
counted in the emulators' journals: a work item change is one write per linked issue, a Sentry
change one write to the work item, and nothing bounces to the sibling issues."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from cli.main import main as cli
from sandbox.core import Faults
from sandbox.stack import SandboxStack, sandbox_stack
from shared.runtime import runtime
from shared.store.base import link_key
from tests.functions.test_end_to_end import writes
from tests.functions.test_issue_link import signed_post, ui_body

PERSON = "Ava Chen <ava@contoso.com>"


@pytest.fixture
def stack() -> Iterator[SandboxStack]:
    with sandbox_stack() as s:
        yield s


def link_form(stack: SandboxStack, issue_id: str, work_item_id: int) -> requests.Response:
    return signed_post(stack, "/api/sentry/issue-link/link", ui_body(issue_id, {"work_item": str(work_item_id)}))


def reconcile(stack: SandboxStack) -> None:
    assert requests.post(f"{stack.app_url}/admin/timers/reconcile", timeout=60).status_code == 200
    stack.settle()


def three_issues_one_work_item(stack: SandboxStack) -> tuple[list[dict], int]:
    """Issue A's work item made by auto-create; B and C (warnings: no auto-create) linked to it
    from their Sentry issue pages. (Sentry makes their external issues from the form's answers;
    the emulator does not show the form, so the reconcile run at the end does: an upsert.)"""
    first = stack.sentry.new_error("backend", "KeyError", "cart on iOS")["issue"]
    stack.settle()
    wid = runtime().store.get_by_issue("acme", first["id"]).work_item_id
    others = [stack.sentry.new_error("backend", name, "cart", level="warning")["issue"]
              for name in ("IndexError", "LookupError")]
    stack.settle()
    for issue in others:
        resp = link_form(stack, issue["id"], wid)
        assert resp.status_code == 200, resp.text
        assert resp.json()["identifier"] == str(wid)
    stack.settle()
    reconcile(stack)
    return [first, *others], wid


def hyperlinks(stack: SandboxStack, wid: int) -> list[str]:
    return [r["url"] for r in stack.ado.work_item(wid).current.relations if r.get("rel") == "Hyperlink"]


def status(issue: dict) -> str:
    return runtime().sentry.get_issue(issue["id"])["status"]


def notes(issue: dict) -> list[str]:
    return [n["data"]["text"] for n in runtime().sentry.list_comments(issue["id"])]


def test_the_link_form_links_more_issues_to_one_work_item_each_with_its_hyperlink(stack: SandboxStack) -> None:
    issues, wid = three_issues_one_work_item(stack)
    store = runtime().store
    assert sorted(link.sentry_issue_id for link in store.links_for_work_item(stack.env["ADO_ORG_URL"], wid)) == \
        sorted(i["id"] for i in issues)
    assert sorted(hyperlinks(stack, wid)) == sorted(i["permalink"] for i in issues)  # one per issue
    before = writes(stack)
    again = link_form(stack, issues[1]["id"], wid)
    assert again.status_code == 200 and again.json()["identifier"] == str(wid)  # the same pair: nothing written
    other = stack.ado.act_create("Shop", "Bug", {"System.Title": "Another bug"}, as_=PERSON)
    moved = link_form(stack, issues[1]["id"], other.id)
    assert moved.status_code == 409 and f"Shop#{wid}" in moved.json()["message"]
    assert writes(stack) == before and len(hyperlinks(stack, wid)) == 3
    # each issue has its external issue in Sentry, pointing at the one work item
    for issue in issues:
        external = [x for x in stack.sentry.world.org.external_issues.values() if str(x.issue_id) == issue["id"]]
        assert [(x.project, x.identifier) for x in external] == [("Shop", str(wid))], external
    assert stack.host.poison == {}


def test_a_change_on_either_side_is_one_write_per_target_and_nothing_bounces(stack: SandboxStack) -> None:
    issues, wid = three_issues_one_work_item(stack)
    ado0, sentry0 = writes(stack)
    stack.ado.act_update(wid, {"System.State": "Closed"}, as_=PERSON)
    stack.settle()
    assert [status(i) for i in issues] == ["resolved"] * 3
    assert writes(stack) == (ado0, sentry0 + 3)  # one update per linked issue, nothing back to ADO

    stack.ado.act_comment(wid, "fixed in the cart service", PERSON)
    stack.settle()
    assert [sum("fixed in the cart service" in n for n in notes(i)) for i in issues] == [1, 1, 1]
    assert writes(stack) == (ado0, sentry0 + 6)

    stack.sentry.comment("alice@example.com", issues[1]["id"], "still seen on Android")
    stack.settle()
    ado_comments = [c["text"] for c in runtime().ado.list_comments("Shop", wid)]
    assert sum("still seen on Android" in c for c in ado_comments) == 1
    assert [sum("still seen on Android" in n for n in notes(i)) for i in issues] == [0, 1, 0]  # B's own only
    assert writes(stack) == (ado0 + 1, sentry0 + 6)

    stack.sentry.act("alice@example.com", issues[0]["id"], {"assignedTo": "user:1"})
    stack.settle()
    assert "ava@contoso.com" in str(stack.ado.work_item(wid).current.fields["System.AssignedTo"])
    assigned = [runtime().sentry.get_issue(i["id"]).get("assignedTo") for i in issues]
    assert [bool(a) for a in assigned] == [True, False, False]  # no bounce to B and C
    assert writes(stack) == (ado0 + 2, sentry0 + 6)
    # reconciliation finds the pairs as the bridge left them: nothing to repair
    reconcile(stack)
    assert writes(stack) == (ado0 + 2, sentry0 + 6)
    assert stack.host.poison == {}


def test_reconcile_repairs_a_lost_work_item_change_on_every_issue_once(stack: SandboxStack) -> None:
    issues, wid = three_issues_one_work_item(stack)
    stack.ado.set_faults(Faults(webhook_drop_rate=1.0))
    stack.ado.act_update(wid, {"System.State": "Closed"}, as_=PERSON)
    stack.settle()
    stack.ado.set_faults(Faults())
    assert [status(i) for i in issues] == ["unresolved"] * 3  # the hook was lost
    ado0, sentry0 = writes(stack)
    reconcile(stack)
    assert [status(i) for i in issues] == ["resolved"] * 3
    assert writes(stack) == (ado0, sentry0 + 3)
    reconcile(stack)
    assert writes(stack) == (ado0, sentry0 + 3)  # converged
    assert stack.host.poison == {}


def test_unlinking_one_issue_leaves_the_others_linked(stack: SandboxStack, capsys) -> None:
    issues, wid = three_issues_one_work_item(stack)
    store = runtime().store
    gone = store.get_by_issue("acme", issues[1]["id"])
    assert cli(["links", "remove", link_key(gone)]) == 0
    assert [link.sentry_issue_id for link in store.links_for_work_item(stack.env["ADO_ORG_URL"], wid)] == \
        sorted((issues[0]["id"], issues[2]["id"]), key=lambda i: i.zfill(20))
    stack.ado.act_update(wid, {"System.State": "Closed"}, as_=PERSON)
    stack.settle()
    assert [status(i) for i in issues] == ["resolved", "unresolved", "resolved"]
    assert stack.host.poison == {}


def test_reconcile_link_by_work_item_repairs_each_of_its_issues(stack: SandboxStack, capsys) -> None:
    issues, wid = three_issues_one_work_item(stack)
    stack.ado.set_faults(Faults(webhook_drop_rate=1.0))
    stack.ado.act_update(wid, {"System.State": "Closed"}, as_=PERSON)
    stack.settle()
    stack.ado.set_faults(Faults())
    capsys.readouterr()
    assert cli(["reconcile", "--link", f"ado:{wid}"]) == 0
    out = capsys.readouterr().out
    assert out.count(f"<-> work item {wid}") == 3 and out.count("drifted; made 1 change(s)") == 3
    assert [status(i) for i in issues] == ["resolved"] * 3
