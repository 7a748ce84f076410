"""Bodies no parser should be made to swallow, sent over real HTTP to every POST route of the local
host (the function app as Azure runs it, wired to both emulators): each is a 400 with a JSON body
that names the problem, and neither emulator's journal records a request because of it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import requests

from sandbox.sentry import seed
from sandbox.stack import HOOK_SECRET, SandboxStack, sandbox_stack
from shared.contract import (
    ADO_WEBHOOK_PATH,
    ALERT_RULE_ACTION_PATH,
    ISSUE_LINK_CREATE_PATH,
    ISSUE_LINK_LINK_PATH,
    SENTRY_WEBHOOK_PATH,
)
from shared.intake import MAX_JSON_DEPTH, sentry_signature

POST_ROUTES = (SENTRY_WEBHOOK_PATH, ADO_WEBHOOK_PATH, ISSUE_LINK_CREATE_PATH, ISSUE_LINK_LINK_PATH,
               ALERT_RULE_ACTION_PATH)


def wrap(inner: bytes) -> bytes:
    return b'{"action":"created","data":{"issue":{"id":"1","x":' + inner + b"}}}"


BODIES = {
    "nested 1,000 levels": (wrap(b"[" * 1000 + b"]" * 1000), f"deeper than {MAX_JSON_DEPTH} levels"),
    "nested 100,000 levels": (wrap(b'{"a":' * 100_000 + b"1" + b"}" * 100_000),
                              f"deeper than {MAX_JSON_DEPTH} levels"),
    "nested 200 levels": (wrap(b"[" * 200 + b"]" * 200), f"deeper than {MAX_JSON_DEPTH} levels"),
    "a 5,000-digit integer": (wrap(b"9" * 5000), "4300 digits"),
    "NaN": (wrap(b"NaN"), "NaN is not JSON"),
    "invalid UTF-8": (wrap(b'"\xc3\x28"'), "not UTF-8"),
    "truncated": (wrap(b"[1,")[:-3], "not valid JSON"),
}


@pytest.fixture(scope="module")
def stack() -> Iterator[SandboxStack]:
    with sandbox_stack(projects=("Shop",)) as s:
        s.settle()
        yield s


def signed_post(stack: SandboxStack, path: str, body: bytes) -> requests.Response:
    headers = {"Content-Type": "application/json"}
    if path == ADO_WEBHOOK_PATH:
        headers["X-Hook-Secret"] = HOOK_SECRET
    elif path == SENTRY_WEBHOOK_PATH:
        headers |= {"Sentry-Hook-Resource": "issue", "Sentry-Hook-Timestamp": str(int(time.time())),
                    "Sentry-Hook-Signature": sentry_signature(seed.CLIENT_SECRET, body)}
    else:
        headers["Sentry-App-Signature"] = sentry_signature(seed.CLIENT_SECRET, body)
    return requests.post(f"{stack.app_url}{path}", data=body, headers=headers, timeout=60)


def journal_size(stack: SandboxStack) -> int:
    return len(stack.sentry.journal.entries()) + len(stack.ado.journal.entries())


@pytest.mark.parametrize("path", POST_ROUTES)
@pytest.mark.parametrize("case", list(BODIES))
def test_unparseable_bodies_are_a_400_naming_the_problem(stack: SandboxStack, path: str, case: str) -> None:
    body, fragment = BODIES[case]
    before = journal_size(stack)
    resp = signed_post(stack, path, body)
    assert resp.status_code == 400, resp.text[:300]
    assert resp.headers["Content-Type"].startswith("application/json")
    answer = resp.json()
    assert fragment in (answer.get("error") or answer.get("message")), answer
    stack.settle()
    assert journal_size(stack) == before  # nothing enqueued, nothing asked of either service
    assert not stack.host.poison


@pytest.mark.parametrize("kind", ["types", "areas", "workitems"])
@pytest.mark.parametrize("dependent", ["[" * 5000, '{"project":' + "9" * 5000 + "}", "[" * 100 + "]" * 100])
def test_options_dependent_data_that_is_no_json_object_is_a_400(stack: SandboxStack, kind: str,
                                                                 dependent: str) -> None:
    resp = requests.get(f"{stack.app_url}/api/sentry/issue-link/options/{kind}", timeout=60,
                        params={"dependentData": dependent, "query": "x"},
                        headers={"Sentry-App-Signature": sentry_signature(seed.CLIENT_SECRET, b"")})
    assert resp.status_code == 400 and "dependentData" in resp.json()["message"], resp.text[:300]


def test_a_failure_inside_a_route_is_json_never_an_html_page(stack: SandboxStack,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The store gone mid-request is the deployment's trouble (503), whether the store wrapped its
    driver's error or not; a bug of ours is a JSON 500."""
    from shared import runtime
    from shared.store import StoreUnavailable

    def unavailable(*_args, **_kwargs):
        raise StoreUnavailable("SQLite link store at 'links.sqlite': disk I/O error")

    rt = runtime.runtime()
    monkeypatch.setattr(rt.store, "get_by_issue", unavailable)
    body = json.dumps({"fields": {"work_item": "1"}, "issueId": 1, "installationId": seed.INSTALLATION_UUID}).encode()
    resp = signed_post(stack, ISSUE_LINK_LINK_PATH, body)
    assert resp.status_code == 503 and "link store unavailable" in resp.json()["message"]
    import sqlite3

    def locked(*_args, **_kwargs):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(rt.store, "get_by_issue", locked)
    resp = signed_post(stack, ISSUE_LINK_LINK_PATH, body)
    assert resp.status_code == 503 and resp.json()["message"] == "link store unavailable: OperationalError"
    monkeypatch.setattr(rt.store, "get_by_issue", lambda *_a, **_k: 1 / 0)
    resp = signed_post(stack, ISSUE_LINK_LINK_PATH, body)
    assert resp.status_code == 500 and resp.json()["message"].startswith("internal error (ZeroDivisionError)")
