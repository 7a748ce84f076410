"""The creation form end to end (issue page "Create" and the alert-rule action): every choice through
the function routes, the app, and both emulators; options signed, read from the chosen project and
type; required fields discovered; Azure DevOps' rule refusals answered as form errors naming the field."""

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
tags = ["sentry", "backend"]

[[routes]]
sentry_projects = ["frontend"]
ado_project = "Custom"
work_item_type = "Bug"
fields = { "Custom.Team" = "Sales" }     # not one of the picklist's values: ADO refuses it
"""
ENGINEER = "Dana Dev <dana@contoso.com>"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxStack]:
    path = Path(tmp_path_factory.mktemp("cfg")) / "sync.toml"
    path.write_text(RULES)
    with sandbox_stack(sync_config=path, projects=("Shop", "Custom")) as s:
        yield s


def options(stack: SandboxStack, kind: str, signed: bool = True, **params: str) -> requests.Response:
    headers = {"Sentry-App-Signature": sentry_signature(seed.CLIENT_SECRET, b"")} if signed else {}
    return requests.get(f"{stack.app_url}/api/sentry/issue-link/options/{kind}", params=params, timeout=10,
                        headers=headers)


def chosen(**values: str) -> str:
    return json.dumps(values)


def post(stack: SandboxStack, path: str, body: dict) -> requests.Response:
    raw = json.dumps(body).encode()
    return requests.post(f"{stack.app_url}{path}", data=raw, timeout=10,
                         headers={"Content-Type": "application/json",
                                  "Sentry-App-Signature": sentry_signature(seed.CLIENT_SECRET, raw)})


def create(stack: SandboxStack, issue_id: str, fields: dict, project: str = "backend") -> requests.Response:
    return post(stack, "/api/sentry/issue-link/create", {
        "fields": fields, "issueId": int(issue_id), "installationId": seed.INSTALLATION_UUID,
        "webUrl": "http://sentry/issue", "project": {"slug": project, "id": 21}, "actor": {"type": "user", "id": 1}})


def creates(stack: SandboxStack) -> list[dict]:
    return [e for e in stack.ado.journal.entries() if e["method"] == "POST" and "/workitems/$" in e["path"]]


def test_every_options_endpoint_reads_the_chosen_project_and_type_and_is_signed(stack: SandboxStack) -> None:
    iterations = options(stack, "iterations", dependentData=chosen(project="Shop")).json()
    assert {"label": "Shop\\Sprint 2", "value": "Shop\\Sprint 2"} in iterations
    assert [o["value"] for o in options(stack, "iterations", dependentData=chosen(project="Shop"),
                                        query="sprint 3").json()] == ["Shop\\Sprint 3"]
    bug = chosen(project="Shop", work_item_type="Bug")
    assert [o["value"] for o in options(stack, "priorities", dependentData=bug).json()] == ["1", "2", "3", "4"]
    assert "1 - Critical" in [o["value"] for o in options(stack, "severities", dependentData=bug).json()]
    assert options(stack, "severities", dependentData=chosen(project="Shop", work_item_type="Task")).json() == []
    # without a chosen type, the route of the Sentry project decides
    assert options(stack, "priorities", projectSlug="backend").json() == options(stack, "priorities",
                                                                                 dependentData=bug).json()
    custom_bug = chosen(project="Custom", work_item_type="Bug")
    assert options(stack, "required-1", dependentData=custom_bug, projectSlug="backend").json() == [
        {"label": f"Team: {t}", "value": f"Custom.Team={t}"} for t in ("Checkout", "Payments", "Platform")]
    assert options(stack, "required-2", dependentData=custom_bug, projectSlug="backend").json() == []
    # the frontend route sets Team itself: nothing to ask its issues for
    assert options(stack, "required-1", dependentData=custom_bug, projectSlug="frontend").json() == []
    assert options(stack, "required-1", dependentData=bug).json() == []  # a stock Bug requires nothing more
    assert options(stack, "assignees", query="ava@contoso.com").json() == [
        {"label": "Ava Chen <ava@contoso.com>", "value": "ava@contoso.com"}]
    assert options(stack, "assignees", query="a").json() == []  # too short to search
    for kind in ("iterations", "priorities", "severities", "assignees", "required-1"):
        assert options(stack, kind, signed=False, dependentData=bug).status_code == 401
    missing = options(stack, "priorities", dependentData=chosen(project="Shop", work_item_type="Gizmo"))
    assert missing.status_code == 400 and "'work_item_type': Shop has no work item type 'Gizmo'" in missing.text


def test_searches_and_definitions_are_cached(stack: SandboxStack) -> None:
    bug = chosen(project="Shop", work_item_type="User Story")
    options(stack, "priorities", dependentData=bug)
    options(stack, "assignees", query="jamal@contoso.com")
    before = len(stack.ado.journal.entries())
    for _ in range(3):
        options(stack, "priorities", dependentData=bug)
        options(stack, "severities", dependentData=bug)
        options(stack, "required-1", dependentData=bug)
        options(stack, "assignees", query="jamal@contoso.com")
    assert len(stack.ado.journal.entries()) == before


def test_create_with_iteration_tags_priority_severity_assignee_and_parent(stack: SandboxStack) -> None:
    parent = stack.ado.act_create("Shop", "Feature", {"System.Title": "Checkout revamp"}, as_=ENGINEER)
    issue = stack.sentry.new_error("backend", "KeyError", "'coupon'", level="warning", fingerprint="coupon")["issue"]
    fields = {"project": "Shop", "work_item_type": "Bug", "title": "Coupon crash", "area_path": "Shop\\Web",
              "iteration_path": "Shop\\Sprint 2", "tags": "checkout; p1", "priority": "1",
              "severity": "1 - Critical", "assignee": "ava@contoso.com", "parent": str(parent.id)}
    resp = create(stack, issue["id"], fields)
    assert resp.status_code == 201, resp.text
    item = stack.ado.work_item(int(resp.json()["identifier"])).current
    assert item.fields["System.IterationPath"] == "Shop\\Sprint 2"
    assert item.fields["System.Tags"] == "backend; checkout; p1; sentry"  # the route's and the person's
    assert item.fields["Microsoft.VSTS.Common.Priority"] == 1
    assert item.fields["Microsoft.VSTS.Common.Severity"] == "1 - Critical"  # not the level's "3 - Medium"
    assert item.fields["System.AssignedTo"].unique_name == "ava@contoso.com"
    (up,) = [r for r in item.relations if r["rel"] == "System.LinkTypes.Hierarchy-Reverse"]
    assert up["url"].endswith(f"/_apis/wit/workItems/{parent.id}")
    stack.settle()
    assert stack.sentry.world.issue(issue["id"]).assigned_to is None  # the ADO assignee is not sent back


@pytest.mark.parametrize(("fields", "fragment"), [
    ({"iteration_path": "Shop\\Sprint 9"}, "'iteration_path': Shop has no iteration path"),
    ({"priority": "7"}, "'priority': 7 is not one of 1, 2, 3, 4"),
    ({"severity": "Meh"}, "'severity': 'Meh' is not one of"),
    ({"assignee": "nobody@contoso.com"}, "'assignee': no Azure DevOps identity 'nobody@contoso.com'"),
    ({"parent": "99999"}, "'parent': no work item 99999"),
    ({"parent": "soon"}, "'parent'"),
    ({"tags": "a" * 401}, "'tags': a tag is at most 400 characters"),
    ({"required_field_1": "Custom.Team=Payments"}, "'required_field_1': Custom.Team is not a field Bug requires"),
])
def test_a_bad_choice_is_a_form_error_naming_the_field_and_writes_nothing(stack: SandboxStack, fields: dict,
                                                                         fragment: str) -> None:
    issue = stack.sentry.new_error("backend", "KeyError", f"bad {fragment}", level="warning",
                                   fingerprint=f"bad-{fragment}")["issue"]
    before = len(creates(stack))
    resp = create(stack, issue["id"], {"project": "Shop", "work_item_type": "Bug", "title": "t", **fields})
    assert resp.status_code == 400 and fragment in resp.json()["message"], resp.text
    assert len(creates(stack)) == before


def test_a_field_the_type_requires_is_asked_for_then_set(stack: SandboxStack) -> None:
    issue = stack.sentry.new_error("backend", "KeyError", "'team'", level="warning", fingerprint="team")["issue"]
    form = {"project": "Custom", "work_item_type": "Bug", "title": "Needs a team"}
    before = len(creates(stack))
    missing = create(stack, issue["id"], form)
    assert missing.status_code == 400
    assert "'required_field_1': Bug in Custom requires Team (Custom.Team)" in missing.json()["message"]
    assert len(creates(stack)) == before
    resp = create(stack, issue["id"], {**form, "required_field_1": "Custom.Team=Payments"})
    assert resp.status_code == 201, resp.text
    assert stack.ado.work_item(int(resp.json()["identifier"])).current.fields["Custom.Team"] == "Payments"


def test_a_rule_refusal_comes_back_as_a_form_error_naming_the_field(stack: SandboxStack) -> None:
    """The frontend route's default Team is not an allowed value: ADO answers TF401320 naming the
    field; Sentry shows it as the form's error (400), not as a failure, and nothing stays claimed."""
    issue = stack.sentry.new_error("frontend", "TypeError", "x is undefined", level="warning", fingerprint="x")["issue"]
    form = {"project": "Custom", "work_item_type": "Bug", "title": "Undefined x"}
    resp = create(stack, issue["id"], form, project="frontend")
    assert resp.status_code == 400, resp.text
    message = resp.json()["message"]
    assert message.startswith("'Custom.Team': Azure DevOps refused it: TF401320")
    again = create(stack, issue["id"], form, project="frontend")
    assert again.status_code == 400 and "TF401320" in again.json()["message"]  # not "being created"


def test_alert_rule_settings_offer_and_check_the_same_choices(stack: SandboxStack) -> None:
    def check(settings: dict) -> requests.Response:
        return post(stack, "/api/sentry/alert-rule-action", {
            "fields": [{"name": k, "value": v} for k, v in settings.items()], "installationId": seed.INSTALLATION_UUID})

    base = {"project": "Shop", "work_item_type": "Bug"}
    ok = check({**base, "iteration_path": "Shop\\Sprint 1", "tags": "alerts", "severity": "2 - High",
                "assignee": "jamal@contoso.com"})
    assert ok.status_code == 200, ok.text
    bad = check({**base, "iteration_path": "Shop\\Sprint 9", "assignee": "nobody@contoso.com"})
    assert bad.status_code == 400
    assert "'iteration_path'" in bad.json()["message"] and "'assignee'" in bad.json()["message"]
    # Sentry names no Sentry project when a rule is saved: a route to Custom setting Team suffices
    assert check({"project": "Custom", "work_item_type": "Bug"}).status_code == 200
    wrong = check({"project": "Shop", "work_item_type": "Bug", "required_field_1": "Custom.Team=Payments"})
    assert wrong.status_code == 400 and "'required_field_1': Custom.Team is not a field Bug requires" in wrong.text


def test_the_alert_rule_action_creates_with_iteration_tags_and_parent(stack: SandboxStack) -> None:
    parent = stack.ado.act_create("Shop", "Feature", {"System.Title": "Stability"}, as_=ENGINEER)
    stack.sentry.add_alert_rule("Page with context", [
        {"name": "project", "value": "Shop"}, {"name": "work_item_type", "value": "Bug"},
        {"name": "iteration_path", "value": "Shop\\Sprint 3"}, {"name": "tags", "value": "on-call"},
        {"name": "parent", "value": str(parent.id)}], project="backend")
    issue = stack.sentry.new_error("backend", "ZeroDivisionError", "division by zero", level="error",
                                   fingerprint="zero")["issue"]
    stack.settle()
    created = [i for i in stack.ado.items.values() if i.current.fields.get("System.Title", "").endswith(
        "ZeroDivisionError: division by zero")]
    assert len(created) == 1, [i.current.fields.get("System.Title") for i in stack.ado.items.values()]
    fields = created[0].current.fields
    assert fields["System.IterationPath"] == "Shop\\Sprint 3" and "on-call" in fields["System.Tags"]
    assert any(r["rel"] == "System.LinkTypes.Hierarchy-Reverse" and r["url"].endswith(f"/workItems/{parent.id}")
               for r in created[0].current.relations)
    assert issue["id"]


def test_on_azure_devops_server_the_form_assigns_domain_accounts(tmp_path: Path) -> None:
    """Server 2022.1: people are DOMAIN\\user accounts (found by the account, not an email), the
    parent link points under the collection, and the required-field rules are the same."""
    path = tmp_path / "sync.toml"
    path.write_text(RULES)
    with sandbox_stack(sync_config=path, projects=("Shop", "Custom"), ado_server=True) as server:
        account = next(p.unique_name for p in server.ado.people if p.display_name == "Ava Chen")
        assert [o["value"] for o in options(server, "assignees", query=account).json()] == [account]
        parent = server.ado.act_create("Shop", "Feature", {"System.Title": "Reliability"}, as_=server.ado.bridge)
        issue = server.sentry.new_error("backend", "KeyError", "'srv'", level="warning", fingerprint="srv")["issue"]
        resp = create(server, issue["id"], {"project": "Custom", "work_item_type": "Bug", "title": "On Server",
                                            "iteration_path": "Custom\\Sprint 1", "assignee": account,
                                            "parent": str(parent.id), "required_field_1": "Custom.Team=Platform"})
        assert resp.status_code == 201, resp.text
        item = server.ado.work_item(int(resp.json()["identifier"])).current
        assert item.fields["System.AssignedTo"].unique_name == account and item.fields["Custom.Team"] == "Platform"
        (up,) = [r["url"] for r in item.relations if r["rel"] == "System.LinkTypes.Hierarchy-Reverse"]
        assert up == f"{server.env['ADO_ORG_URL']}/_apis/wit/workItems/{parent.id}" and "/tfs/" in up
