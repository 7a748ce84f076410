"""Queue and timer functions called as Microsoft documents (build().get_user_function()), and the
contract between the manifest Sentry is given and the routes the app really serves."""

from __future__ import annotations

import json
import re
from typing import Any

import azure.functions as func
import pytest
from azure.functions.timer import TimerRequest

from functions.reconcile import reconcile
from functions.sync import sync_from_ado, sync_from_sentry
from sandbox.local_host import OutBinding, indexed_functions
from shared.runtime import runtime
from shared.setup.manifest import build_manifest


def message(body: Any) -> func.QueueMessage:
    return func.QueueMessage(id="m1", body=json.dumps(body).encode())



def run_queue_function(fn: Any, msg: func.QueueMessage) -> str | None:
    """Call a queue function as the host does; answer what it wrote to its poison queue."""
    poison = OutBinding()
    fn.build().get_user_function()(msg, poison)
    return poison.value


def test_sync_from_sentry_skips_a_comment_on_an_unlinked_issue(app_env, caplog) -> None:
    caplog.set_level("INFO")
    assert run_queue_function(sync_from_sentry, message({
        "source": "sentry", "resource": "comment", "request_id": None,
        "body": {"action": "created", "data": {"comment_id": 5, "issue_id": 77, "comment": "hi"},
                 "actor": {"type": "user", "id": 1, "name": "Alice"}}})) is None
    assert "has no linked work item" in caplog.text
    assert runtime().store.get_by_issue("acme", "77") is None


def test_sync_from_ado_skips_an_unlinked_work_item(app_env, caplog) -> None:
    caplog.set_level("INFO")
    assert run_queue_function(sync_from_ado, message({
        "source": "ado", "event_type": "workitem.deleted",
        "body": {"eventType": "workitem.deleted", "resource": {"id": 9}}})) is None
    assert "not linked to a Sentry issue" in caplog.text


def _reason(queue: str, text: str) -> dict[str, Any]:
    from shared.status import record

    return record.failure_of_message(runtime().store, queue, text)


def test_a_message_that_is_not_json_goes_to_the_poison_queue_at_once(app_env) -> None:
    assert run_queue_function(sync_from_sentry, func.QueueMessage(id="m2", body=b"{broken")) == "{broken"
    failure = _reason("sentry-events", "{broken")
    assert "BadRecord: sentry-events: message m2 is not JSON" in failure["reason"] and failure["attempt"] == 1


ALERT_FOR_ISSUE_ZERO = {"source": "sentry", "resource": "event_alert", "request_id": None, "body": {
    "action": "triggered", "data": {"event": {"issue_id": "0"}, "issue_alert": {"settings": [
        {"name": "project", "value": "Shop"}, {"name": "work_item_type", "value": "Bug"}]}}}}


def test_a_bad_record_goes_to_the_poison_queue_at_once_with_the_reason(app_env) -> None:
    """A message queued before identifiers were checked at the door (the issue report's alert for
    Sentry issue "0"): retrying cannot help, so it is not retried; nothing is claimed. The poison
    copy is the message as it came, so the recorded reason is found by its content."""
    text = json.dumps(ALERT_FOR_ISSUE_ZERO)
    assert run_queue_function(sync_from_sentry, message(ALERT_FOR_ISSUE_ZERO)) == text
    failure = _reason("sentry-events", text)
    assert "data.event.issue_id must be a Sentry issue id" in failure["reason"] and failure["attempt"] == 1
    assert runtime().store.get_by_issue("acme", "0") is None
    update = {"source": "ado", "event_type": "workitem.updated",
              "body": {"eventType": "workitem.updated", "resource": {"workItemId": -1}}}
    assert run_queue_function(sync_from_ado, message(update)) == json.dumps(update)
    assert "resource.workItemId must be a work item id" in _reason("ado-events", json.dumps(update))["reason"]


def test_a_damaged_link_sends_its_messages_to_the_poison_queue(app_env) -> None:
    import sqlite3

    from shared.store.base import issue_key

    runtime().store.ping()
    with sqlite3.connect(app_env["SQLITE_PATH"], isolation_level=None) as conn:
        conn.execute("INSERT INTO links VALUES (?, NULL, 1, '{broken')", (issue_key("acme", "77"),))
    body = {"source": "sentry", "resource": "issue", "request_id": None,
            "body": {"action": "resolved", "data": {"issue": {"id": "77", "status": "resolved"}}}}
    assert run_queue_function(sync_from_sentry, message(body)) is not None
    assert "DamagedRecord: acme:00000000000000000077: stored link is not readable" in \
        _reason("sentry-events", json.dumps(body))["reason"]


ISSUE_CREATED = {"source": "sentry", "resource": "issue", "request_id": None, "body": {
    "action": "created", "installation": {"uuid": "i-1"}, "actor": {"type": "application", "id": "s", "name": "S"},
    "data": {"issue": {"id": "42", "shortId": "BACKEND-1", "title": "boom", "status": "unresolved",
                       "level": "error", "count": "1", "project": {"slug": "backend", "id": "1"},
                       "permalink": "https://sentry.example/issues/42/"}}}}


def test_a_permanent_failure_is_logged_once_with_its_fix_and_not_retried(app_env, monkeypatch, caplog) -> None:
    """A route to an ADO project that does not exist: retrying cannot help, so the message goes to
    the poison queue at once, with one line that names the cause and points at `sentry-ado check`."""
    from shared.ado.errors import AdoNotFound

    calls: list[Any] = []

    def refuse(message: Any) -> Any:
        calls.append(message)
        raise AdoNotFound("TF200016: The following project does not exist: Nope", status=404, method="POST",
                          path="/Nope/_apis/wit/workitems/$Bug")

    monkeypatch.setattr(runtime().syncer, "handle_message", refuse)
    caplog.set_level("INFO")
    poison = run_queue_function(sync_from_sentry, message(ISSUE_CREATED))
    assert len(calls) == 1 and poison is not None and json.loads(poison) == ISSUE_CREATED
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "TF200016" in errors[0].getMessage()
    assert "sentry-ado check" in errors[0].getMessage() and "not retried" in errors[0].getMessage()
    assert "Traceback" not in caplog.text


def test_a_transient_failure_raises_so_the_host_retries_it(app_env, monkeypatch) -> None:
    from shared.ado.errors import AdoServerError

    def fail(message: Any) -> Any:
        raise AdoServerError("busy", status=503)

    monkeypatch.setattr(runtime().syncer, "handle_message", fail)
    with pytest.raises(AdoServerError):
        run_queue_function(sync_from_sentry, message(ISSUE_CREATED))


def test_timer_runs_a_reconcile_over_an_empty_store(app_env, caplog) -> None:
    caplog.set_level("INFO")
    reconcile.build().get_user_function()(TimerRequest(past_due=True))
    assert "past due" in caplog.text and "reconcile finished: 0 links" in caplog.text
    assert "subscriptions not checked: set APP_BASE_URL" in caplog.text


def test_manifest_points_only_at_routes_the_app_serves() -> None:
    import function_app

    bindings = [b for fn in indexed_functions(function_app.app)
                for b in json.loads(fn.get_function_json())["bindings"]]
    paths = {re.sub(r"\{\w+\}", "{}", "/api/" + b["route"]) for b in bindings if b["type"] == "httpTrigger"}
    manifest = build_manifest("https://app.example.net")
    uris = {u.replace("https://app.example.net", "") for u in _uris(manifest.schema)} | {
        manifest.webhook_url.replace("https://app.example.net", "")}
    normalised = {re.sub(r"/options/[\w-]+$", "/options/{}", u) for u in uris}
    assert normalised <= paths, normalised - paths
    assert {"/api/sentry/webhook", "/api/sentry/issue-link/create", "/api/sentry/issue-link/link",
            "/api/sentry/alert-rule-action", "/api/sentry/issue-link/options/{}"} <= normalised


def _uris(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "uri" and isinstance(v, str)] + \
            [u for v in node.values() for u in _uris(v)]
    if isinstance(node, list):
        return [u for v in node for u in _uris(v)]
    return []


def test_importing_the_app_defers_heavy_libraries() -> None:
    """The host imports function_app on every cold start; the planner, the API clients and their
    libraries load on first use (bench/coldstart.py measures the effect)."""
    import subprocess
    import sys
    from pathlib import Path

    heavy = ("msal", "requests", "markdownify", "bs4", "markdown_it", "nh3", "azure.data.tables",
             "azure.identity", "azure.storage.queue", "sentry_sdk", "shared.planner", "shared.ado.client",
             "shared.sentry.client")
    code = f"import function_app, sys; print(','.join(m for m in {heavy!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).resolve().parents[2]).stdout.strip()
    assert loaded == ""


def test_a_failing_message_is_recorded_with_its_reason_for_the_status_view(app_env) -> None:
    from shared.status import record
    from shared.store import Link

    body = {"source": "ado", "event_type": "workitem.updated",
            "body": {"eventType": "workitem.updated", "resource": {
                "workItemId": 9, "rev": 2, "fields": {"System.State": {"oldValue": "New", "newValue": "Active"}}}}}
    text = json.dumps(body)
    runtime().store.claim(Link(
        sentry_org="acme", sentry_issue_id="5", ado_org_url=app_env["ADO_ORG_URL"], work_item_id=9,
        state="linked", work_item_type="Bug", ado_project="Shop"))
    with pytest.raises(Exception):  # noqa: B017 - ADO is a closed port: the sync fails
        run_queue_function(sync_from_ado, func.QueueMessage(id="m3", body=text.encode()))
    failure = record.failure_of_message(runtime().store, "ado-events", text)
    assert failure["summary"] == "workitem.updated for work item 9" and failure["work_item_id"] == 9
    assert "Error" in failure["reason"] and failure["source"] == "ado-events"


def test_the_poison_threshold_matches_host_json() -> None:
    from pathlib import Path

    from functions.sync import MAX_DEQUEUE_COUNT

    host = json.loads((Path(__file__).resolve().parents[2] / "host.json").read_text())
    assert host["extensions"]["queues"]["maxDequeueCount"] == MAX_DEQUEUE_COUNT
