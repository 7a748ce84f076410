"""GET /api/status and `sentry-ado status` over a real sandbox: what was recorded as the work
happened (a reconcile run, a sync that went to the poison queue, the hook subscriptions) is what the
page shows, as JSON and as HTML, with no secret and no script."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
import requests

from cli.main import main as cli
from sandbox.core import Faults
from sandbox.local_host import indexed_functions
from sandbox.stack import SandboxStack, sandbox_stack
from shared.runtime import runtime


@pytest.fixture(scope="module")
def stack() -> Iterator[SandboxStack]:
    """One linked issue, a reconcile run by the timer, and a comment whose sync failed into poison."""
    with sandbox_stack() as s:
        issue = s.sentry.new_error("backend", "KeyError", "boom")["issue"]
        s.settle()
        requests.post(f"{s.app_url}/admin/timers/reconcile", timeout=60).raise_for_status()
        # the work item is deleted in ADO while its webhook is lost: carrying a comment there fails
        link = runtime().store.get_by_issue("acme", issue["id"])
        s.ado.set_faults(Faults(webhook_drop_rate=1.0))
        s.ado.act_delete(link.work_item_id, "Ava Chen <ava@contoso.com>")
        s.sentry.comment("alice@example.com", issue["id"], "does this reach ADO?")
        s.settle()
        s.ado.set_faults(Faults())
        s.issue = issue  # type: ignore[attr-defined]
        yield s


def get(stack: SandboxStack, accept: str) -> requests.Response:
    return requests.get(f"{stack.app_url}/api/status", headers={"Accept": accept}, timeout=30)


def test_the_route_needs_a_function_key() -> None:
    import function_app

    (binding,) = [b for fn in indexed_functions(function_app.app) if fn.get_function_name() == "status"
                  for b in json.loads(fn.get_function_json())["bindings"] if b["type"] == "httpTrigger"]
    assert binding["authLevel"] == "FUNCTION" and binding["route"] == "status" and binding["methods"] == ["GET"]


def test_json_shows_what_the_work_recorded(stack: SandboxStack) -> None:
    resp = get(stack, "application/json")
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("application/json")
    snap = resp.json()
    assert snap["links"]["by_state"] == {"linked": 1} and snap["links"]["total"] == 1
    (run,) = snap["runs"]
    assert run["finished"] and run["links"] == 1 and run["api_calls"] >= 2 and run["error_count"] == 0
    (failure,) = snap["failures"]
    assert failure["source"] == "sentry-events" and failure["attempt"] == 1  # a 404 is permanent: not retried
    assert failure["summary"] == f"comment.created for Sentry issue {stack.issue['id']}"
    assert "404" in failure["reason"] or "does not exist" in failure["reason"], failure["reason"]
    sentry_q = next(q for q in snap["queues"]["queues"] if q["queue"] == "sentry-events")
    assert sentry_q["poison_depth"] == 1 and sentry_q["depth"] == 0
    assert sentry_q["oldest"][0]["reason"] == failure["reason"]
    subs = snap["subscriptions"]["subscriptions"]
    assert subs and all(s["healthy"] for s in subs)
    assert {s["project"] for s in subs} == {"Shop", "Basic"}
    assert snap["chart"][-1]["failures"] == 1 and len(snap["chart"]) == 7
    assert snap["config"]["secrets"]["SENTRY_TOKEN"] == "set"
    assert snap["config"]["routes"][0]["ado_project"]


def test_no_secret_on_the_page(stack: SandboxStack) -> None:
    secrets = [stack.env[k] for k in ("SENTRY_TOKEN", "SENTRY_CLIENT_SECRET", "ADO_PAT", "ADO_HOOK_SECRET")]
    for accept in ("application/json", "text/html"):
        body = get(stack, accept).text
        assert not [s for s in secrets if s in body]


def test_html_for_a_browser_is_self_contained(stack: SandboxStack) -> None:
    resp = get(stack, "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/html")
    page = resp.text
    assert '<meta name="viewport"' in page and "<svg" in page and 'class="bar failures"' in page
    assert "needs attention" in page and "sentry-events-poison" in page
    assert "<script" not in page.lower() and not re.search(r"(src|href)=\"?https?:", page)
    assert "default-src 'none'" in resp.headers["Content-Security-Policy"]


def test_the_command_line_prints_the_same(stack: SandboxStack, capsys) -> None:
    assert cli(["status", "--json"]) == 1  # needs attention: a poison message
    snap = json.loads(capsys.readouterr().out)
    assert snap["links"]["total"] == 1 and snap["queues"]["queues"][0]["poison_depth"] == 1
    assert cli(["status"]) == 1
    text = capsys.readouterr().out
    assert "needs attention" in text and "1 in sentry-events-poison" in text
    assert runtime().config.settings.sentry_org in text
