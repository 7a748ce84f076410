"""`sentry-ado plan`: a dry run of one webhook body through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.main import main
from tests.fixtures import SENTRY_EXAMPLES as EXAMPLES


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    for key in ("SYNC_CONFIG_PATH", "SENTRY_ORG", "ADO_ORG_URL", "SENTRY_INSTALLATION_UUID"):
        monkeypatch.delenv(key, raising=False)


def _write(tmp_path: Path, name: str, data) -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def _run(capsys, *argv) -> tuple[int, dict | None, str]:
    code = main(["plan", *argv])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else None), err


def test_issue_created_for_a_routed_project_plans_a_work_item(tmp_path, capsys):
    body = json.loads((EXAMPLES / "issue.created.json").read_text())
    body["data"]["issue"]["project"] = {"id": "1", "slug": "backend"}
    code, out, _ = _run(capsys, "sentry", str(_write(tmp_path, "b.json", body)))
    assert code == 0
    (action,) = out["actions"]
    assert action["system"] == "ado" and action["kind"] == "create_work_item"
    assert action["request"]["path"].startswith("/Shop/_apis/wit/workitems/$Bug")
    ops = {op["path"]: op["value"] for op in action["request"]["body"]}
    assert ops["/fields/System.AreaPath"] == "Shop\\Api"


def test_skips_carry_their_reason(capsys):
    code, out, _ = _run(capsys, "sentry", str(EXAMPLES / "metric_alert.critical.json"))
    assert code == 0
    assert out["actions"][0]["kind"] == "skip" and "metric alerts" in out["actions"][0]["reason"]


def test_ado_state_change_with_link_and_states(tmp_path, capsys):
    link = {"sentry_org": "example", "sentry_issue_id": "123", "work_item_id": 42, "work_item_type": "Issue",
            "ado_project": "Basic", "state": "linked", "synced": {"sentry_status": "unresolved", "ado_rev": 3}}
    states = {"count": 3, "value": [{"name": "To Do", "category": "Proposed"},
                                    {"name": "Doing", "category": "InProgress"},
                                    {"name": "Done", "category": "Completed"}]}
    hook = {"eventType": "workitem.updated", "resource": {
        "workItemId": 42, "rev": 4, "revisedBy": {"uniqueName": "jane@example.com"},
        "fields": {"System.State": {"oldValue": "Doing", "newValue": "Done"}},
        "revision": {"fields": {"System.WorkItemType": "Issue"}}}}
    code, out, _ = _run(capsys, "ado", str(_write(tmp_path, "h.json", hook)), "--link",
                        str(_write(tmp_path, "l.json", link)), "--states", str(_write(tmp_path, "s.json", states)))
    assert code == 0
    assert out["actions"] == [{"system": "sentry", "kind": "update_sentry_issue", "request": {
        "method": "PUT", "path": "/api/0/organizations/example/issues/123/", "body": {"status": "resolved"}}}]


@pytest.mark.parametrize(("source", "content", "message"), [
    ("sentry", "not json", "not JSON"),
    ("sentry", "[1, 2]", "is a JSON object, got list"),
    ("sentry", '{"hello": "world"}', "has no 'action'"),
    ("ado", '{"resource": {}}', "has no 'eventType'"),
])
def test_no_webhook_at_all_exits_2_with_a_clear_error(tmp_path, capsys, source, content, message):
    code, out, err = _run(capsys, source, str(_write(tmp_path, "x.json", content)))
    assert code == 2 and out is None and message in err


def test_bad_states_file_is_named(tmp_path, capsys):
    bad = _write(tmp_path, "s.json", [{"name": "X", "category": "Finished"}])
    code, _, err = _run(capsys, "sentry", str(EXAMPLES / "issue.resolved.json"), "--states", str(bad))
    assert code == 2 and "--states" in err and "'X'" in err


def test_sync_config_path_is_used(tmp_path, capsys, monkeypatch):
    rules = _write(tmp_path, "r.toml", '[[routes]]\nsentry_projects = ["ipe"]\nado_project = "Ops"\n'
                                       "[routes.auto_create]\nenabled = true\n")
    code, _, err = _run(capsys, "sentry", str(EXAMPLES / "issue.created.json"))
    assert code == 0 and "SYNC_CONFIG_PATH is not set, so these are the SANDBOX's sync rules" in err
    monkeypatch.setenv("SYNC_CONFIG_PATH", str(rules))
    code, out, err = _run(capsys, "sentry", str(EXAMPLES / "issue.created.json"))
    assert code == 0 and out["actions"][0]["request"]["path"].startswith("/Ops/_apis/wit/workitems/$Bug")
    assert "SANDBOX" not in err


def test_missing_file_exits_2(capsys, tmp_path):
    code, _, err = _run(capsys, "ado", str(tmp_path / "nope.json"))
    assert code == 2 and "cannot read" in err


@pytest.mark.parametrize(("resource", "body", "reason"), [
    (None, {"action": "root_cause_completed", "data": {"run_id": 7, "group_id": 1}}, "Seer's analysis is not synced"),
    (None, {"action": "size_analysis_completed", "data": {"buildId": "b-1"}}, "build artifacts are not synced"),
    (None, {"action": "opened", "data": {"monitor": {"id": 3}}}, "data keys ['monitor'] do not tell"),
    ("uptime", {"action": "opened", "data": {"monitor": {"id": 3}}}, "'uptime.opened' is not synced"),
    (None, {"action": "triggered", "data": {"issue": {"id": "5"}, "activity": {"type": "seer_pr_created"},
                                            "alert": {"id": 1, "name": "wf"}}}, "workflow alert 'wf'"),
])
def test_resources_newer_than_the_app_are_explained_not_refused(tmp_path, capsys, resource, body, reason):
    extra = ["--resource", resource] if resource else []
    code, out, err = _run(capsys, "sentry", str(_write(tmp_path, "r.json", body)), *extra)
    assert code == 0 and [x for x in err.splitlines() if "SANDBOX" not in x] == []
    (action,) = out["actions"]
    assert action["kind"] == "skip" and reason in action["reason"]


def test_members_and_identities_can_be_given_to_an_assignment(tmp_path, capsys):
    link = {"sentry_org": "example", "sentry_issue_id": "123", "work_item_id": 42, "work_item_type": "Bug",
            "ado_project": "Shop", "state": "linked", "synced": {"sentry_status": "unresolved", "ado_rev": 3}}
    hook = {"eventType": "workitem.updated", "resource": {
        "workItemId": 42, "rev": 4, "revisedBy": {"uniqueName": "jane@example.com"},
        "fields": {"System.AssignedTo": {"newValue": "Ava Chen <ava@contoso.com>"}},
        "revision": {"fields": {"System.WorkItemType": "Bug"}}}}
    args = ["ado", str(_write(tmp_path, "h.json", hook)), "--link", str(_write(tmp_path, "l.json", link))]
    _, without, _ = _run(capsys, *args)
    assert "--members" in without["actions"][0]["reason"]
    members = [{"id": "m1", "email": "alice@example.com", "user": {"id": "7", "name": "Alice"}},
               {"id": "m2", "email": "pending@example.com", "user": None}]
    identities = [{"uniqueName": "ava@contoso.com", "displayName": "Ava Chen"}]
    code, out, _ = _run(capsys, *args, "--members", str(_write(tmp_path, "m.json", members)),
                        "--identities", str(_write(tmp_path, "i.json", identities)))
    assert code == 0 and out["actions"][0]["request"]["body"] == {"assignedTo": "user:7"}
    code, _, err = _run(capsys, *args, "--identities", str(_write(tmp_path, "bad.json", [{"name": "x"}])))
    assert code == 2 and "--identities" in err and "uniqueName" in err
