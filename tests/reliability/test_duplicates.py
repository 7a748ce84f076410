"""Duplicate deliveries under real concurrency: 4 worker processes (spawned, each with its own runtime
built from app settings) share the Azure Table link store in Azurite and run the real queue function
on the same creation events at once. The claim (a conditional insert) must make exactly one of them
create the work item."""

from __future__ import annotations

import multiprocessing
import random
import uuid
from collections import Counter
from pathlib import Path

import pytest
from requests.structures import CaseInsensitiveDict

from sandbox.sentry import seed
from sandbox.stack import sandbox_stack
from shared.intake import check_sentry_webhook
from shared.store.table import TableLinkStore
from tests.reliability.scenario import HookTap, queue_worker, write_rules

COPIES = 50
WORKERS = 4
ALERT_SETTINGS = [{"name": "project", "value": "Shop"}, {"name": "work_item_type", "value": "Bug"},
                  {"name": "description", "value": "raised by the duplicates test"}]

pytestmark = [pytest.mark.azurite, pytest.mark.slow]


def queue_message(hook) -> str:
    """What the webhook function enqueues for this exact delivery (the same pure intake code)."""
    verdict = check_sentry_webhook(CaseInsensitiveDict(hook.headers), hook.body, seed.CLIENT_SECRET,
                                   float(hook.headers["Sentry-Hook-Timestamp"]), 300, 1_000_000)
    assert verdict.status == 202 and verdict.message, verdict.detail
    return verdict.message


def test_fifty_concurrent_copies_of_creation_events_make_one_work_item(tmp_path: Path,
                                                                      azurite_connection: str) -> None:
    """Issue A (backend, auto-create on) gets 50 ``issue.created`` and 50 ``event_alert.triggered``;
    issue B (frontend, auto-create off) gets 50 ``event_alert.triggered`` carrying our alert-rule
    action settings. All 150 queue messages, shuffled, go to 4 processes x 4 threads at once.
    Each issue must end with exactly one work item in ADO, one linked link, one Sentry external issue."""
    rules = write_rules(tmp_path, frontend_auto=False)
    with sandbox_stack(workdir=str(tmp_path), sync_config=rules, with_host=False) as stack:
        # issue ids unique to this run: the Table store's table is shared by the test session
        stack.sentry.world.org.next_id = 10_000 + uuid.uuid4().int % 10**9
        stack.sentry.configure_webhook("http://127.0.0.1:9/unused", seed.CLIENT_SECRET)
        tap = HookTap(stack.sentry)
        stack.sentry.add_alert_rule("create work item", ALERT_SETTINGS)
        with tap.hold() as held:
            issue_a = stack.sentry.new_error("backend", "KeyError", "dup-a")["issue"]
            issue_b = stack.sentry.new_error("frontend", "TypeError", "dup-b")["issue"]
        kinds = Counter((h.headers["Sentry-Hook-Resource"], json_issue(h)) for h in held)
        assert kinds == {("issue", issue_a["id"]): 1, ("event_alert", issue_a["id"]): 1,
                         ("issue", issue_b["id"]): 1, ("event_alert", issue_b["id"]): 1}
        messages = [queue_message(h) for h in held
                    if not (h.headers["Sentry-Hook-Resource"] == "issue" and json_issue(h) == issue_b["id"])]
        deliveries = [m for m in messages for _ in range(COPIES)]
        random.Random(7).shuffle(deliveries)

        env = {**stack.env, "LINK_STORE": "table", "AzureWebJobsStorage": azurite_connection}
        ctx = multiprocessing.get_context("spawn")
        barrier, results = ctx.Barrier(WORKERS), ctx.Queue()
        procs = [ctx.Process(target=queue_worker, args=(env, deliveries[i::WORKERS], barrier, results))
                 for i in range(WORKERS)]
        for p in procs:
            p.start()
        outcomes = [results.get(timeout=120) for _ in procs]
        for p in procs:
            p.join(timeout=30)
            assert p.exitcode == 0
        print(f"\n{len(deliveries)} deliveries to {WORKERS} processes: "
              + "; ".join(f"pid {o['pid']}: ok {o['ok']} retries {o['retries']} poison {o['poison']}"
                          for o in outcomes))
        for error in sorted(set(e for o in outcomes for e in o["errors"]))[:10]:
            print("  worker error:", error)
        assert sum(o["ok"] for o in outcomes) == len(deliveries)
        assert sum(o["poison"] for o in outcomes) == 0

        store = TableLinkStore.from_settings(azurite_connection, None)
        items = [w for w in stack.ado.items.values() if not w.deleted]
        externals = list(stack.sentry.world.org.external_issues.values())
        for issue in (issue_a, issue_b):
            link = store.get_by_issue(seed.ORG_SLUG, issue["id"])
            assert link is not None and link.is_linked, link
            mine = [w for w in items if f"/issues/{issue['id']}/" in json_dump([w.current.fields, w.current.relations])]
            assert [w.id for w in mine] == [link.work_item_id], f"issue {issue['id']}: {[w.id for w in mine]}"
            assert [x.identifier for x in externals if str(x.issue_id) == issue["id"]] == [str(link.work_item_id)]
            assert store.get_by_work_item(stack.env["ADO_ORG_URL"], link.work_item_id) == link
        assert len(items) == 2
        # B was created by the alert rule's action alone, in the project its settings name
        b_item = stack.ado.work_item(store.get_by_issue(seed.ORG_SLUG, issue_b["id"]).work_item_id)
        assert b_item.current.fields["System.TeamProject"] == "Shop"
        creates = [e for e in stack.ado.journal.entries() if e["method"] == "POST" and "/$" in e["path"]]
        print(f"ADO create requests: {len(creates)}; work items: {len(items)}; external issues: {len(externals)}")
        assert len(creates) == 2  # the losers of the claim never even asked ADO


def json_issue(hook) -> str:
    import json

    data = json.loads(hook.body)["data"]
    return str((data.get("issue") or {}).get("id") or (data.get("event") or {}).get("issue_id"))


def json_dump(value) -> str:
    import json

    return json.dumps(value, default=str)
