"""The issue-link UI routes and the alert-rule action, through real HTTP (local host + emulators)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from sandbox.sentry import seed
from sandbox.stack import SandboxStack, sandbox_stack
from shared.intake import sentry_signature

RULES = """
[[routes]]
sentry_projects = ["backend"]
ado_project = "Shop"
work_item_type = "Bug"
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxStack]:
    path = Path(tmp_path_factory.mktemp("cfg")) / "sync.toml"
    path.write_text(RULES)
    with sandbox_stack(sync_config=path) as s:
        yield s


def signed_get(stack: SandboxStack, kind: str, **params: str) -> requests.Response:
    return requests.get(f"{stack.app_url}/api/sentry/issue-link/options/{kind}", params=params, timeout=10,
                        headers={"Sentry-App-Signature": sentry_signature(seed.CLIENT_SECRET, b"")})


def signed_post(stack: SandboxStack, path: str, body: dict) -> requests.Response:
    raw = json.dumps(body).encode()
    return requests.post(f"{stack.app_url}{path}", data=raw, timeout=10,
                         headers={"Content-Type": "application/json",
                                  "Sentry-App-Signature": sentry_signature(seed.CLIENT_SECRET, raw)})


def test_options_lists_come_from_ado(stack: SandboxStack) -> None:
    projects = signed_get(stack, "projects").json()
    assert {"label": "Shop", "value": "Shop"} in projects
    types = signed_get(stack, "types", dependentData=json.dumps({"project": "Shop"})).json()
    assert {"label": "Bug", "value": "Bug"} in types and all(set(o) == {"label", "value"} for o in types)
    areas = signed_get(stack, "areas", dependentData=json.dumps({"project": "Shop"})).json()
    assert areas[0]["value"] == "Shop"
    # without a chosen project, the route for the Sentry project decides
    assert signed_get(stack, "types", projectSlug="backend").json() == types


def test_work_item_search_by_id_and_title(stack: SandboxStack) -> None:
    created = stack.ado.act_create("Shop", "Bug", {"System.Title": "Checkout crashes on coupon"},
                                   as_="Dana Dev <dana@contoso.com>")
    wid = created.id
    by_id = signed_get(stack, "workitems", projectSlug="backend", query=f"#{wid}").json()
    assert by_id == [{"label": f"#{wid} Bug: Checkout crashes on coupon", "value": str(wid)}]
    by_words = signed_get(stack, "workitems", projectSlug="backend", query="coupon").json()
    assert str(wid) in [o["value"] for o in by_words]
    assert signed_get(stack, "workitems", projectSlug="backend", query="o'brien").status_code == 200


def test_ui_routes_reject_bad_signatures_and_kinds(stack: SandboxStack) -> None:
    url = f"{stack.app_url}/api/sentry/issue-link/options/projects"
    assert requests.get(url, timeout=10).status_code == 401
    assert requests.get(url, headers={"Sentry-App-Signature": "0" * 64}, timeout=10).status_code == 401
    bad = signed_get(stack, "colours")
    assert bad.status_code == 404 and "expected one of projects" in bad.json()["message"]
    assert signed_get(stack, "types").status_code == 400  # no project chosen, no route


@pytest.mark.parametrize(("fields", "status", "fragment"), [
    ([{"name": "project", "value": "Shop"}, {"name": "work_item_type", "value": "Bug"}], 200, "created in Shop"),
    ([{"name": "project", "value": "Nope"}, {"name": "work_item_type", "value": "Bug"}], 400, "no Azure DevOps"),
    ([{"name": "project", "value": "Shop"}, {"name": "work_item_type", "value": "Epic?"}], 400, "no work item type"),
    ([{"name": "project", "value": "Shop"}, {"name": "work_item_type", "value": "Bug"},
      {"name": "area_path", "value": "Shop\\Nowhere"}], 400, "no area path"),
    ([{"name": "project", "value": "Shop"}, {"name": "work_item_type", "value": "Bug"},
      {"name": "priority", "value": "9"}], 400, "must be 1-4"),
    ([{"name": "work_item_type", "value": "Bug"}], 400, "'project' is required"),
])
def test_alert_rule_action_settings_are_checked(stack: SandboxStack, fields, status: int, fragment: str) -> None:
    resp = signed_post(stack, "/api/sentry/alert-rule-action", {"fields": fields, "installationId": "x"})
    assert resp.status_code == status and fragment in resp.json()["message"]


def ui_body(issue_id: str, fields: dict) -> dict:
    return {"fields": fields, "issueId": int(issue_id), "installationId": seed.INSTALLATION_UUID,
            "webUrl": "http://sentry/issue", "project": {"slug": "backend", "id": 21},
            "actor": {"type": "user", "id": 1, "name": "Alice Example"}}


def test_create_from_the_issue_page(stack: SandboxStack) -> None:
    issue = stack.sentry.new_error("backend", "ValueError", "bad coupon", level="warning")["issue"]
    stack.settle()  # warning level: no auto-create in this config (no auto_create), nothing linked yet
    fields = {"project": "Shop", "work_item_type": "Task", "title": "Coupon validation fails",
              "description": "Seen by **three** customers", "area_path": "Shop\\Web"}
    resp = signed_post(stack, "/api/sentry/issue-link/create", ui_body(issue["id"], fields))
    assert resp.status_code == 201, resp.text
    answer = resp.json()
    assert answer["project"] == "Shop" and answer["webUrl"].endswith(f"/_workitems/edit/{answer['identifier']}")
    creates = [e for e in stack.ado.journal.entries() if e["method"] == "POST" and "$Task" in e["path"]]
    ops = {op["path"]: op.get("value") for op in creates[-1]["body"]}
    assert ops["/fields/System.Title"].endswith("Coupon validation fails")
    assert ops["/fields/System.AreaPath"] == "Shop\\Web"
    assert "three" in ops["/fields/System.Description"]
    again = signed_post(stack, "/api/sentry/issue-link/create", ui_body(issue["id"], fields))
    assert again.status_code == 200 and again.json() == answer  # idempotent: the same work item, not a second one
    assert len([e for e in stack.ado.journal.entries() if e["method"] == "POST" and "$Task" in e["path"]]) == 1


def test_link_an_existing_work_item(stack: SandboxStack) -> None:
    issue = stack.sentry.new_error("backend", "KeyError", "sku", level="warning")["issue"]
    item = stack.ado.act_create("Shop", "Bug", {"System.Title": "SKU lookup fails"}, as_="Dana Dev <dana@contoso.com>")
    resp = signed_post(stack, "/api/sentry/issue-link/link", ui_body(issue["id"], {"work_item": f"#{item.id}"}))
    assert resp.status_code == 200, resp.text
    assert resp.json()["identifier"] == str(item.id)
    patch = [e for e in stack.ado.journal.entries() if e["method"] == "PATCH"][-1]
    assert patch["path"].endswith(f"/workitems/{item.id}")
    assert patch["body"][0] == {"op": "test", "path": "/rev", "value": 1}
    assert patch["body"][1]["value"]["rel"] == "Hyperlink" and issue["permalink"] == patch["body"][1]["value"]["url"]
    other = stack.sentry.new_error("backend", "IndexError", "other", level="warning")["issue"]
    assert other["id"] != issue["id"]
    second = signed_post(stack, "/api/sentry/issue-link/link", ui_body(other["id"], {"work_item": str(item.id)}))
    assert second.status_code == 200 and second.json()["identifier"] == str(item.id)  # several issues, one work item
    another = stack.ado.act_create("Shop", "Bug", {"System.Title": "Other"}, as_="Dana Dev <dana@contoso.com>")
    clash = signed_post(stack, "/api/sentry/issue-link/link", ui_body(other["id"], {"work_item": str(another.id)}))
    assert clash.status_code == 409 and f"already linked to work item Shop#{item.id}" in clash.json()["message"]
    third = stack.sentry.new_error("backend", "TypeError", "third", level="warning")["issue"]
    missing = signed_post(stack, "/api/sentry/issue-link/link", ui_body(third["id"], {"work_item": "99999"}))
    assert missing.status_code == 400 and "no work item 99999" in missing.json()["message"]
    bad = signed_post(stack, "/api/sentry/issue-link/link", ui_body(third["id"], {"work_item": "soon"}))
    assert bad.status_code == 400 and "'work_item' must be a work item id" in bad.json()["message"]


def test_create_after_the_work_item_was_deleted_says_why_not(stack: SandboxStack) -> None:
    issue = stack.sentry.new_error("backend", "LookupError", "gone", level="warning")["issue"]
    fields = {"project": "Shop", "work_item_type": "Bug", "title": "Gone"}
    created = signed_post(stack, "/api/sentry/issue-link/create", ui_body(issue["id"], fields)).json()
    stack.ado.act_delete(int(created["identifier"]), as_="Dana Dev <dana@contoso.com>")
    stack.settle()  # workitem.deleted: the link is kept, unlinked, for a restore
    again = signed_post(stack, "/api/sentry/issue-link/create", ui_body(issue["id"], fields))
    assert again.status_code == 409 and "was deleted in Azure DevOps" in again.json()["message"]


def fresh_issue(stack: SandboxStack) -> dict:
    """A new Sentry issue of its own (the emulator groups errors by exception type and frame)."""
    fresh_issue.count = getattr(fresh_issue, "count", 0) + 1
    return stack.sentry.new_error("backend", f"Fresh{fresh_issue.count}Error", "fresh", level="warning")["issue"]


def writes(stack: SandboxStack) -> list[tuple[str, str]]:
    """Requests that change something in either service (reads that ADO takes as POST excluded)."""
    return [(e["method"], e["path"]) for e in stack.ado.journal.entries() + stack.sentry.journal.entries()
            if e["method"] != "GET" and not e["path"].endswith(("/wiql", "/workitemsbatch"))]


@pytest.mark.parametrize(("fields", "fragment"), [
    ({"project": "Nope", "work_item_type": "Bug"}, "'project': no Azure DevOps project 'Nope'"),
    ({"project": "Shop", "work_item_type": "Epic?"}, "'work_item_type': Shop has no work item type 'Epic?'"),
    ({"project": "Shop", "work_item_type": "Shared Steps"}, "'work_item_type': Shop has no work item type"),
    ({"project": "Shop", "work_item_type": "Bug", "area_path": "Shop\\Nowhere"},
     "'area_path': Shop has no area path 'Shop\\\\Nowhere'"),
    ({"project": "Shop", "work_item_type": "Bug", "area_path": "Basic"}, "'area_path': Shop has no area path"),
])
def test_create_with_names_azure_devops_does_not_have_is_a_form_error_and_writes_nothing(
        stack: SandboxStack, fields: dict, fragment: str) -> None:
    issue = fresh_issue(stack)
    stack.settle()
    before = writes(stack)
    resp = signed_post(stack, "/api/sentry/issue-link/create", ui_body(issue["id"], {**fields, "title": "x"}))
    assert resp.status_code == 400 and fragment in resp.json()["message"], resp.text
    stack.settle()
    assert writes(stack) == before
    assert stack.host.poison == {}


def test_create_accepts_names_in_another_case_as_azure_devops_does(stack: SandboxStack) -> None:
    issue = fresh_issue(stack)
    stack.settle()
    fields = {"project": "Shop", "work_item_type": "bug", "title": "Case", "area_path": "shop\\web"}
    resp = signed_post(stack, "/api/sentry/issue-link/create", ui_body(issue["id"], fields))
    assert resp.status_code == 201, resp.text
    item = stack.ado.work_item(int(resp.json()["identifier"]))
    assert (item.current.fields["System.WorkItemType"], item.current.fields["System.AreaPath"]) == ("Bug", "Shop\\Web")


@pytest.mark.parametrize("kind", ["types", "areas", "workitems"])
def test_options_for_a_project_azure_devops_does_not_have_name_the_field(stack: SandboxStack, kind: str) -> None:
    resp = signed_get(stack, kind, dependentData=json.dumps({"project": "Nope"}), query="crash")
    assert resp.status_code == 400 and resp.json()["message"] == "'project': no Azure DevOps project 'Nope'"


def test_link_to_a_missing_work_item_or_issue_names_the_field(stack: SandboxStack) -> None:
    issue = fresh_issue(stack)
    before = writes(stack)
    resp = signed_post(stack, "/api/sentry/issue-link/link", ui_body(issue["id"], {"work_item": "424242"}))
    assert resp.status_code == 400 and resp.json()["message"] == "'work_item': no work item 424242 in Azure DevOps"
    item = stack.ado.act_create("Shop", "Bug", {"System.Title": "Orphan"}, as_="Dana Dev <dana@contoso.com>")
    before = writes(stack)
    resp = signed_post(stack, "/api/sentry/issue-link/link", ui_body("987654321", {"work_item": str(item.id)}))
    assert resp.status_code == 400 and "'issueId': Sentry issue 987654321 was not found" in resp.json()["message"]
    assert writes(stack) == before


def test_a_failing_azure_devops_is_a_502_that_says_which_call(stack: SandboxStack) -> None:
    from sandbox.core import Faults

    issue = fresh_issue(stack)
    stack.settle()
    stack.ado.set_faults(Faults(error_rate=1.0))
    try:
        resp = signed_post(stack, "/api/sentry/issue-link/create",
                           ui_body(issue["id"], {"project": "Shop", "work_item_type": "Bug", "title": "x"}))
    finally:
        stack.ado.set_faults(Faults())
    assert resp.status_code == 502 and resp.json()["message"].startswith("Azure DevOps call failed: ")


def test_a_claim_whose_owner_died_is_taken_over_and_a_fresh_one_is_waited_for(stack: SandboxStack) -> None:
    from shared import runtime
    from shared.store import CLAIMED, Link

    store = runtime.runtime().store
    stale, fresh = fresh_issue(stack), fresh_issue(stack)
    stack.settle()
    for issue, at in ((stale, "2020-01-01T00:00:00Z"), (fresh, "2999-01-01T00:00:00Z")):
        assert store.claim(Link(sentry_org=seed.ORG_SLUG, sentry_issue_id=issue["id"], state=CLAIMED, claimed_at=at))
    fields = {"project": "Shop", "work_item_type": "Bug", "title": "Claimed before"}
    taken = signed_post(stack, "/api/sentry/issue-link/create", ui_body(stale["id"], fields))
    assert taken.status_code == 201, taken.text
    waited = signed_post(stack, "/api/sentry/issue-link/create", ui_body(fresh["id"], fields))
    assert waited.status_code == 409 and "is still being created" in waited.json()["message"]
    item = stack.ado.act_create("Shop", "Bug", {"System.Title": "Linked by hand"}, as_="Dana Dev <dana@contoso.com>")
    refused = signed_post(stack, "/api/sentry/issue-link/link", ui_body(fresh["id"], {"work_item": str(item.id)}))
    assert refused.status_code == 409 and "being created right now" in refused.json()["message"]
