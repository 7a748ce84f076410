"""The function app through real HTTP: the local host serving function_app, both emulators sending
their real webhooks. Covers each route's rejections, a round trip with no echo, the timer, deploys,
and `sentry-ado plan` on a real deployment event."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import requests

from cli.main import main as cli
from sandbox.core import Faults
from sandbox.sentry import seed
from sandbox.stack import HOOK_SECRET, SandboxStack, sandbox_stack
from shared.intake import sentry_signature
from shared.runtime import runtime


@pytest.fixture
def stack() -> Iterator[SandboxStack]:
    with sandbox_stack() as s:
        yield s


def writes(stack: SandboxStack) -> tuple[int, int]:
    """(ADO writes, Sentry writes) our app made so far (the journals also hold the control API)."""
    ado = [e for e in stack.ado.journal.entries() if e["method"] in ("POST", "PATCH")
           and "/_apis/wit/" in e["path"] and "workitemsbatch" not in e["path"].lower() and "wiql" not in e["path"]]
    sentry = [e for e in stack.sentry.journal.entries() if e["method"] in ("PUT", "POST", "DELETE")]
    return len(ado), len(sentry)


def linked_issue(stack: SandboxStack) -> tuple[dict, object]:
    issue = stack.sentry.new_error("backend", "KeyError", "boom")["issue"]
    stack.settle()
    link = runtime().store.get_by_issue("acme", issue["id"])
    assert link is not None and link.is_linked
    return issue, link


def test_round_trip_makes_one_write_and_no_echo(stack: SandboxStack) -> None:
    issue, link = linked_issue(stack)
    ado_before, sentry_before = writes(stack)
    stack.sentry.act("alice@example.com", issue["id"], {"status": "resolved"})
    stack.settle()
    assert writes(stack) == (ado_before + 1, sentry_before)  # one PATCH to ADO, nothing back to Sentry
    assert runtime().ado.get_work_item(link.work_item_id)["fields"]["System.State"] == "Closed"
    stack.ado.act_update(link.work_item_id, {"System.State": "Active"}, as_="Ava Chen <ava@contoso.com>")
    stack.settle()
    assert writes(stack) == (ado_before + 1, sentry_before + 1)  # one PUT to Sentry, nothing back to ADO
    assert runtime().sentry.get_issue(issue["id"])["status"] == "unresolved"
    assert stack.host.poison == {}


def post(stack: SandboxStack, path: str, body: bytes, headers: dict) -> requests.Response:
    return requests.post(f"{stack.app_url}{path}", data=body, headers=headers, timeout=10)


def sentry_headers(body: bytes, **over: str) -> dict:
    return {"Content-Type": "application/json", "Sentry-Hook-Resource": "issue",
            "Sentry-Hook-Timestamp": str(int(time.time())),
            "Sentry-Hook-Signature": sentry_signature(seed.CLIENT_SECRET, body), **over}


@pytest.mark.parametrize(("body", "over", "status"), [
    (b'{"action":"resolved","data":{"issue":{"id":"1"}}}', {"Sentry-Hook-Signature": "0" * 64}, 401),
    (b'{"action":"resolved","data":{"issue":{"id":"1"}}}', {"Sentry-Hook-Timestamp": "1000"}, 401),
    (b'{"action":"resolved","data":{"issue":{"id":"1"}}}', {"Sentry-Hook-Resource": "comment"}, 400),
    (b'{"action":"resolved"', {}, 400),
    (b"x" * 1_048_577, {}, 413),
])
def test_sentry_webhook_rejections_over_http(stack: SandboxStack, body: bytes, over: dict, status: int) -> None:
    resp = post(stack, "/api/sentry/webhook", body, sentry_headers(body, **over))
    assert resp.status_code == status and resp.json()["error"]
    stack.settle()
    assert stack.host.queues["sentry-events"].qsize() == 0 and stack.host.poison == {}


def test_ado_webhook_rejections_over_http(stack: SandboxStack) -> None:
    body = json.dumps({"eventType": "workitem.updated", "resource": {"workItemId": 1}}).encode()
    assert post(stack, "/api/ado/webhook", body, {"X-Hook-Secret": "wrong"}).status_code == 401
    assert post(stack, "/api/ado/webhook", body, {}).status_code == 401
    assert post(stack, "/api/ado/webhook", b"[]", {"X-Hook-Secret": HOOK_SECRET}).status_code == 400
    dropped = post(stack, "/api/ado/webhook", json.dumps({"eventType": "git.push", "resource": {}}).encode(),
                   {"X-Hook-Secret": HOOK_SECRET})
    assert dropped.status_code == 202 and "not synced" in dropped.json()["status"]


def test_health_and_unknown_routes(stack: SandboxStack) -> None:
    health = requests.get(f"{stack.app_url}/api/health", timeout=10).json()
    assert health["ok"] is True and health["store"] == "sqlite"
    assert requests.get(f"{stack.app_url}/api/nope", timeout=10).status_code == 404
    assert requests.get(f"{stack.app_url}/api/sentry/webhook", timeout=10).status_code == 405


def test_timer_reconciles_a_lost_webhook_and_repairs_a_disabled_hook(stack: SandboxStack) -> None:
    issue, link = linked_issue(stack)
    stack.ado.set_faults(Faults(webhook_drop_rate=1.0))
    stack.ado.act_update(link.work_item_id, {"System.State": "Closed"}, as_="Ava Chen <ava@contoso.com>")
    stack.settle()
    stack.ado.set_faults(Faults())
    assert runtime().sentry.get_issue(issue["id"])["status"] == "unresolved"  # the webhook was lost
    hooks = runtime().ado.list_hook_subscriptions()
    updated = next(h for h in hooks if h["eventType"] == "workitem.updated")
    stack.ado.set_subscription_status(updated["id"], "disabledBySystem")
    assert requests.post(f"{stack.app_url}/admin/timers/reconcile", timeout=30).status_code == 200
    assert runtime().sentry.get_issue(issue["id"])["status"] == "resolved"
    statuses = {h["id"]: h["status"] for h in runtime().ado.list_hook_subscriptions()
                if h["eventType"] == "workitem.updated"}
    assert len(statuses) == 2 and set(statuses.values()) == {"enabled"}  # Shop and Basic, the disabled one repaired


def test_plan_explains_a_real_deployment_event(stack: SandboxStack, tmp_path, capsys, monkeypatch) -> None:
    from sandbox.ado.testing import HookReceiver
    from sandbox.core import RunningServer

    receiver = HookReceiver()
    server = RunningServer(receiver)
    try:
        runtime().ado.create_hook_subscription({
            "publisherId": "pipelines", "eventType": "ms.vss-pipelines.stage-state-changed-event",
            "resourceVersion": "5.1-preview.1", "consumerId": "webHooks", "consumerActionId": "httpRequest",
            "publisherInputs": {"projectId": stack.ado.project("Shop").id},
            "consumerInputs": {"url": f"{server.url}/hook", "resourceDetailsToSend": "all"}})
        stack.ado.push_commits("Shop", "shop-web", [{"message": "one", "changes": []}])
        stack.ado.complete_stage(stack.ado.queue_run("Shop", "shop-web"), "deploy_prod")
        stack.ado.webhooks.flush()
    finally:
        server.stop()
    path = tmp_path / "event.json"
    path.write_text(json.dumps(receiver.received[-1].body))
    monkeypatch.delenv("SYNC_CONFIG_PATH", raising=False)  # the sandbox default rules map deploy_prod
    assert cli(["plan", "ado", str(path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["deployment"]["action"] == "release-and-deploy"
    assert out["deployment"]["environment"] == "production"


def test_alert_rule_action_creates_one_work_item_with_its_settings(stack: SandboxStack) -> None:
    stack.sentry.add_alert_rule("to ADO", [
        {"name": "project", "value": "Shop"}, {"name": "work_item_type", "value": "Task"},
        {"name": "area_path", "value": "Shop\\Mobile"}, {"name": "priority", "value": "2"}], project="frontend")
    issue = stack.sentry.new_error("frontend", "TypeError", "undefined is not a function", level="warning")["issue"]
    stack.settle()  # the frontend route would make an Issue in Basic; the rule's settings win, and only once
    link = runtime().store.get_by_issue("acme", issue["id"])
    assert link is not None and link.is_linked and (link.ado_project, link.work_item_type) == ("Shop", "Task")
    fields = runtime().ado.get_work_item(link.work_item_id)["fields"]
    assert fields["System.AreaPath"] == "Shop\\Mobile" and fields["Microsoft.VSTS.Common.Priority"] == 2
    creates = [e for e in stack.ado.journal.entries() if e["method"] == "POST" and "/workitems/$" in e["path"]]
    assert len(creates) == 1
    [alert] = [h for h, _ in stack.sentry.webhooks.delivered if h.headers["Sentry-Hook-Resource"] == "event_alert"]
    assert requests.post(alert.url, data=alert.body, headers=alert.headers, timeout=10).status_code == 202
    stack.settle()  # the same alert delivered again: nothing new is created
    assert len([e for e in stack.ado.journal.entries() if e["method"] == "POST" and "/workitems/$" in e["path"]]) == 1


def test_changes_made_by_another_integration_reach_ado(stack: SandboxStack) -> None:
    """Sentry reports any app's change with *our* app's uuid and sends only the installation uuid,
    so the actor cannot tell our writes from another integration's: the content does."""
    issue, link = linked_issue(stack)
    stack.sentry.install("http://127.0.0.1:9/unused", "other-secret", "other-app", "alice@example.com")
    stack.sentry.add_token("other-app-token", "app:other-app")
    other = {"Authorization": "Bearer other-app-token"}
    issue_url = f"{stack.sentry_server.url}/api/0/organizations/acme/issues/{issue['id']}/"
    assert requests.put(issue_url, json={"status": "resolved"}, headers=other, timeout=10).status_code == 200
    assert requests.post(issue_url + "comments/", json={"text": "fixed upstream"}, headers=other,
                         timeout=10).status_code == 201
    stack.settle()
    ado = runtime().ado
    assert ado.get_work_item(link.work_item_id)["fields"]["System.State"] == "Closed"
    assert any("fixed upstream" in c["text"] for c in ado.list_comments("Shop", link.work_item_id))
    # the bridge's own write coming back is still an echo: one change, one write, none back
    ado_before, sentry_before = writes(stack)
    stack.ado.act_update(link.work_item_id, {"System.State": "Active"}, as_="Ava Chen <ava@contoso.com>")
    stack.settle()
    assert writes(stack) == (ado_before, sentry_before + 1)
    assert stack.host.poison == {}


def test_a_workflow_alert_creates_a_work_item_like_an_issue_alert(stack: SandboxStack) -> None:
    """Sentry's workflow engine delivers our action as ``activity_alert``; its settings make the
    work item as an ``event_alert``'s do, once however often it is delivered."""
    issue = stack.sentry.new_error("frontend", "TypeError", "x is undefined", level="warning")["issue"]
    stack.settle()  # a warning: the frontend route does not auto-create
    assert runtime().store.get_by_issue("acme", issue["id"]) is None
    settings = [{"name": "project", "value": "Shop"}, {"name": "work_item_type", "value": "Task"}]
    stack.sentry.fire_workflow("to ADO", issue["id"], "status_regression", settings)
    stack.sentry.fire_workflow("to ADO", issue["id"], "status_regression", settings)
    stack.settle()
    link = runtime().store.get_by_issue("acme", issue["id"])
    assert link is not None and link.is_linked and (link.ado_project, link.work_item_type) == ("Shop", "Task")
    assert len([e for e in stack.ado.journal.entries() if e["method"] == "POST" and "/workitems/$" in e["path"]]) == 1


@pytest.mark.parametrize(("resource", "action", "data"), [
    ("seer", "root_cause_completed", {"run_id": 7, "group_id": 1, "root_cause": {}}),
    ("preprod_artifact", "size_analysis_completed", {"buildId": "b-1", "projectId": 1}),
    ("uptime_monitor", "opened", {"monitor": {"id": 3}}),
])
def test_resources_we_do_not_sync_are_acknowledged_and_named_in_the_log(
        stack: SandboxStack, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, resource: str,
        action: str, data: dict) -> None:
    from sandbox.sentry import webhooks

    # a resource newer than the emulator is sent as Sentry would send any
    monkeypatch.setattr(webhooks, "RESOURCES", tuple({*webhooks.RESOURCES, resource}))
    with caplog.at_level("INFO"):
        stack.sentry.send_resource(resource, action, data)
        stack.settle()
    (status,) = [s for h, s in stack.sentry.webhooks.delivered if h.headers["Sentry-Hook-Resource"] == resource]
    assert status == 202
    assert any(f"resource {resource!r} is not synced" in r.getMessage() for r in caplog.records)
    assert stack.host.poison == {} and stack.host.queues["sentry-events"].qsize() == 0


def issue_searches(stack: SandboxStack) -> int:
    """Sentry issue-list reads (the scan's query; the work item's echo reads the issue itself)."""
    return len([e for e in stack.sentry.journal.entries()
                if e["method"] == "GET" and e["path"] == "/api/0/organizations/acme/issues/"])


def test_a_regression_reopens_its_work_item_without_the_unresolved_webhook(stack: SandboxStack) -> None:
    """sentry.io sends no issue.unresolved by default (an organization feature flag): the two-minute
    regression scan finds regressions and escalations by lastSeen, at one call per run."""
    issue, link = linked_issue(stack)
    other = stack.sentry.new_error("backend", "TypeError", "escalates")["issue"]
    stack.settle()
    other_link = runtime().store.get_by_issue("acme", other["id"])
    stack.sentry.act("alice@example.com", issue["id"], {"status": "resolved"})
    stack.sentry.act("alice@example.com", other["id"], {"status": "ignored", "substatus": "archived_until_escalating"})
    stack.settle()
    stack.host.run_timer("regressions")  # the first run: nothing regressed yet
    ado = runtime().ado
    assert ado.get_work_item(link.work_item_id)["fields"]["System.State"] == "Closed"
    stack.sentry.new_error("backend", "KeyError", "boom")  # the same fingerprint: a regression
    stack.sentry.escalate(other["id"])
    stack.settle()
    assert [b for b, _ in stack.sentry.webhooks.delivered
            if b.headers["Sentry-Hook-Resource"] == "issue" and b"\"action\":\"unresolved\"" in b.body] == []
    assert ado.get_work_item(link.work_item_id)["fields"]["System.State"] == "Closed"  # no webhook came
    before = issue_searches(stack)
    stack.host.run_timer("regressions")
    assert ado.get_work_item(link.work_item_id)["fields"]["System.State"] == "Active"
    # ignored_action = "none": the archived issue's work item stayed New; escalated, it agrees again
    assert ado.get_work_item(other_link.work_item_id)["fields"]["System.State"] == "New"
    assert runtime().store.get_by_issue("acme", other["id"]).synced.sentry_status == "unresolved"
    assert issue_searches(stack) == before + 1  # one call found both
    writes_before = writes(stack)
    stack.host.run_timer("regressions")  # nothing new since: one call, no write
    assert issue_searches(stack) == before + 2 and writes(stack) == writes_before
    assert stack.host.poison == {}


def test_a_refused_sentry_write_logs_the_scope_it_needed(stack: SandboxStack, caplog: pytest.LogCaptureFixture) -> None:
    from sandbox.stack import applied_env

    issue, link = linked_issue(stack)
    stack.sentry.add_token("no-write-integration-token", "application", ["event:read", "org:read", "member:read"])
    with applied_env({"SENTRY_TOKEN": "no-write-integration-token"}), caplog.at_level("WARNING"):
        stack.ado.act_update(link.work_item_id, {"System.State": "Closed"}, as_="Ava Chen <ava@contoso.com>")
        stack.settle()
    assert "403: You do not have permission to perform this action. (this call needs the token scope " \
           "event:write)" in caplog.text
    assert stack.sentry.world.issue(issue["id"]).status == "unresolved" and stack.host.poison


def test_our_own_write_coming_back_costs_no_api_call(stack: SandboxStack) -> None:
    """The resolve the bridge wrote to Sentry comes back as issue.resolved naming our app; its
    content matches the link, so it is dropped before anything is fetched."""
    _, link = linked_issue(stack)
    stack.ado.act_update(link.work_item_id, {"System.State": "Closed"}, as_="Ava Chen <ava@contoso.com>")
    stack.settle()
    echo, = [h for h, _ in stack.sentry.webhooks.delivered
             if h.headers["Sentry-Hook-Resource"] == "issue" and json.loads(h.body)["action"] == "resolved"]
    rt = runtime()
    before = (rt.sentry.request_count, rt.ado.request_count)
    done = rt.syncer.handle_message({"source": "sentry", "resource": "issue", "body": json.loads(echo.body)})
    assert (rt.sentry.request_count, rt.ado.request_count) == before
    assert [d["kind"] for d in done] == ["skip"] and "the link already has status resolved" in done[0]["reason"]


def test_a_bad_queue_message_goes_to_poison_with_its_reason_and_blocks_no_other(stack: SandboxStack) -> None:
    """Queued before identifiers were checked at the door: the alert for Sentry issue "0" (the issue
    report's) and a work item event for a malformed id, between good deliveries."""
    alert = json.dumps({"source": "sentry", "resource": "event_alert", "request_id": None,
                        "body": {"action": "triggered", "data": {"event": {"issue_id": "0"}}}})
    update = json.dumps({"source": "ado", "event_type": "workitem.updated",
                         "body": {"eventType": "workitem.updated", "resource": {"workItemId": "7; DROP"}}})
    stack.host.enqueue("sentry-events", alert)
    stack.host.enqueue("ado-events", update)
    issue, link = linked_issue(stack)  # created, queued and synced after them
    stack.sentry.act("alice@example.com", issue["id"], {"status": "resolved"})
    stack.settle()
    assert runtime().ado.get_work_item(link.work_item_id)["fields"]["System.State"] == "Closed"
    assert stack.host.poison == {"sentry-events-poison": [alert], "ado-events-poison": [update]}  # as they came
    from shared.status.record import failure_of_message

    alert_failure = failure_of_message(runtime().store, "sentry-events", alert)
    update_failure = failure_of_message(runtime().store, "ado-events", update)
    assert alert_failure["attempt"] == 1 and "data.event.issue_id must be a Sentry issue id" in alert_failure["reason"]
    assert update_failure["attempt"] == 1 and "resource.workItemId must be a work item id" in update_failure["reason"]
    assert runtime().store.get_by_issue("acme", "0") is None


def test_a_route_to_a_missing_project_fails_once_with_the_fix_and_lands_in_poison(tmp_path, caplog) -> None:
    """A permanent failure (ADO has no such project) is not retried: one attempt, one ERROR line
    naming the cause and `sentry-ado check`, no traceback, and the message kept in the poison queue."""
    rules = tmp_path / "sync.toml"
    rules.write_text('[[routes]]\nsentry_projects = ["backend"]\nado_project = "NoSuchProject"\n'
                     'auto_create = { enabled = true }\n', encoding="utf-8")
    caplog.set_level("INFO")
    with sandbox_stack(sync_config=rules, projects=("Shop",)) as stack:
        stack.sentry.new_error("backend", "KeyError", "boom")
        stack.settle()
        tried = [e for e in stack.ado.journal.entries() if "/NoSuchProject/" in e["path"]]
        assert len(tried) == 1, tried  # one attempt, not five
        assert len(stack.host.poison.get("sentry-events-poison", [])) == 1
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1, errors
    assert "NoSuchProject" in errors[0] and "sentry-ado check" in errors[0] and "not retried" in errors[0]
    assert "Traceback" not in caplog.text



def requests_since(stack: SandboxStack, mark: tuple[int, int]) -> list[tuple[str, str]]:
    """The requests both emulators received since ``mark`` (their journal lengths then)."""
    sentry, ado = stack.sentry.journal.entries(), stack.ado.journal.entries()
    return [(e["method"], e["path"]) for e in sentry[mark[0]:] + ado[mark[1]:]]


def journal_mark(stack: SandboxStack) -> tuple[int, int]:
    return len(stack.sentry.journal.entries()), len(stack.ado.journal.entries())


def test_an_issue_alert_on_a_regression_reopens_the_linked_work_item_once(stack: SandboxStack) -> None:
    """An issue alert rule firing on regressions (Sentry's RegressionEventCondition) sends our action
    as ``event_alert`` for an issue already linked; the body names neither the condition nor the
    issue's status. The work item Closed with the resolve is reopened once (one issue read, one
    write: the unresolved webhook's floor); a re-fire for the open issue costs no call."""
    stack.sentry.add_alert_rule("to ADO on regression", [{"name": "project", "value": "Shop"}], project="backend",
                                conditions=("regression_event",))
    issue, link = linked_issue(stack)
    stack.ado.act_update(link.work_item_id, {"System.State": "Closed"}, as_="Ava Chen <ava@contoso.com>")
    stack.settle()
    assert stack.sentry.world.issue(issue["id"]).status == "resolved"
    stack.sentry.new_error("backend", "KeyError", "boom")  # the same error again: a regression
    mark = journal_mark(stack)
    stack.settle()
    made = [r for r in requests_since(stack, mark) if "/workitemtypes/" not in r[1]]  # the type's states: cached
    assert made == [("GET", f"/api/0/organizations/acme/issues/{issue['id']}/"),
                    ("PATCH", f"/contoso/_apis/wit/workitems/{link.work_item_id}")]
    [alert] = [h for h, _ in stack.sentry.webhooks.delivered if h.headers["Sentry-Hook-Resource"] == "event_alert"]
    assert runtime().ado.get_work_item(link.work_item_id)["fields"]["System.State"] == "Active"
    assert runtime().store.get_by_issue("acme", issue["id"]).synced.sentry_status == "unresolved"
    mark = journal_mark(stack)
    assert requests.post(alert.url, data=alert.body, headers=alert.headers, timeout=10).status_code == 202
    stack.settle()  # the same alert again, the issue open: nothing read, nothing written
    assert requests_since(stack, mark) == []
    assert stack.host.poison == {}
