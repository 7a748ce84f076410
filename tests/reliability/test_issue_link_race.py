"""The issue page's "Create" under a race: many requests for one Sentry issue at once, on two
instances of the app (separate processes) sharing one link store, over real HTTP. Every request is
answered with the one work item; a request for another project is told which one it is."""

from __future__ import annotations

import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from sandbox.sentry import seed
from sandbox.stack import sandbox_stack
from shared.contract import ISSUE_LINK_CREATE_PATH
from shared.intake import sentry_signature
from tests.reliability.hosts import app_instances

REQUESTS = 80
RULES = """
[[routes]]
sentry_projects = ["backend"]
ado_project = "Shop"
work_item_type = "Bug"
"""

pytestmark = pytest.mark.slow


def ui_body(issue_id: str, fields: dict) -> bytes:
    return json.dumps({"fields": fields, "issueId": int(issue_id), "installationId": seed.INSTALLATION_UUID,
                       "webUrl": "http://sentry/issue", "project": {"slug": "backend", "id": 21},
                       "actor": {"type": "user", "id": 1, "name": "Alice Example"}}).encode()


def signed_post(url: str, raw: bytes) -> requests.Response:
    return requests.post(url, data=raw, timeout=60, headers={
        "Content-Type": "application/json", "Sentry-App-Signature": sentry_signature(seed.CLIENT_SECRET, raw)})


def test_racing_creates_on_two_instances_answer_with_one_work_item(tmp_path: Path) -> None:
    rules = tmp_path / "sync.toml"
    rules.write_text(RULES)
    with sandbox_stack(workdir=str(tmp_path), sync_config=rules) as stack, \
            app_instances(stack.env) as [other]:
        issue = stack.sentry.new_error("backend", "ValueError", "racing coupon", level="warning")["issue"]
        stack.settle()  # warning level: nothing is created until someone asks
        urls = [f"{base}{ISSUE_LINK_CREATE_PATH}" for base in (stack.app_url, other)]
        body = ui_body(issue["id"], {"project": "Shop", "work_item_type": "Task", "title": "Coupon race"})
        start = threading.Barrier(16)

        def create(i: int) -> requests.Response:
            if i < 16:
                start.wait()  # the first sixteen leave together
            return signed_post(urls[i % 2], body)

        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(create, range(REQUESTS)))
        statuses = Counter(r.status_code for r in answers)
        bodies = Counter(json.dumps(r.json(), sort_keys=True) for r in answers)
        print(f"\n{REQUESTS} racing creates on 2 instances: statuses {dict(statuses)}")
        assert set(statuses) <= {200, 201} and statuses[201] == 1, [r.text for r in answers if r.status_code > 201]
        assert len(bodies) == 1, bodies
        answer = answers[0].json()
        creates = [e for e in stack.ado.journal.entries() if e["method"] == "POST" and "/$Task" in e["path"]]
        assert len(creates) == 1

        elsewhere = signed_post(urls[1], ui_body(issue["id"], {"project": "Basic", "work_item_type": "Issue",
                                                               "title": "Coupon race"}))
        assert elsewhere.status_code == 409, elsewhere.text
        assert f"Shop#{answer['identifier']}" in elsewhere.json()["message"]
        assert answer["webUrl"] in elsewhere.json()["message"]
        assert len([e for e in stack.ado.journal.entries() if e["method"] == "POST" and "/$" in e["path"]]) == 1


def test_racing_creates_while_azure_devops_fails_answer_the_owners_failure(tmp_path: Path) -> None:
    """The claim's owner sends the one create; ADO fails it (injected, after a delay so every other
    request is waiting). The waiters answer that failure instead of sending the create again."""
    from sandbox.core import Faults

    rules = tmp_path / "sync.toml"
    rules.write_text(RULES)
    with sandbox_stack(workdir=str(tmp_path), sync_config=rules) as stack, \
            app_instances(stack.env) as [other]:
        urls = [f"{base}{ISSUE_LINK_CREATE_PATH}" for base in (stack.app_url, other)]
        fields = {"project": "Shop", "work_item_type": "Task", "title": "Coupon race"}
        for n, url in enumerate(urls):  # each instance caches the type's metadata, as a warm instance has it
            warm = stack.sentry.new_error("backend", f"Warm{n}Error", "warm", level="warning")
            assert signed_post(url, ui_body(warm["issue"]["id"], fields)).status_code == 201
        issue = stack.sentry.new_error("backend", "ValueError", "racing while ADO fails", level="warning")["issue"]
        stack.settle()
        before = len([e for e in stack.ado.journal.entries() if e["method"] == "POST" and "/$Task" in e["path"]])
        stack.ado.set_faults(Faults(error_rate=1.0, latency_s=1.0))
        start = threading.Barrier(12)

        def create(i: int) -> requests.Response:
            start.wait()
            return signed_post(urls[i % 2], ui_body(issue["id"], fields))

        try:
            with ThreadPoolExecutor(12) as pool:
                answers = list(pool.map(create, range(12)))
        finally:
            stack.ado.set_faults(Faults())
        statuses = Counter(r.status_code for r in answers)
        print(f"\n12 racing creates while ADO fails: statuses {dict(statuses)}")
        assert set(statuses) == {502}, [r.text for r in answers]
        assert all(r.json()["message"] for r in answers)
        owners = [r for r in answers if r.json()["message"].startswith("Azure DevOps call failed")]
        assert len(owners) == 1, [r.json()["message"] for r in answers]
        creates = [e for e in stack.ado.journal.entries() if e["method"] == "POST" and "/$Task" in e["path"]]
        assert len(creates) - before == 1  # the waiters did not send it again
        again = signed_post(urls[0], ui_body(issue["id"], fields))  # and the issue is free for the next try
        assert again.status_code == 201, again.text
