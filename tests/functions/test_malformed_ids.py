"""A malformed identifier in any inbound request is answered 400 naming it, and changes nothing.

Through real HTTP (local host + both emulators), signed as the senders sign: every webhook kind we
act on (Sentry issue, comment, event_alert and activity_alert; ADO's four work item events and three deployment
events) and every Sentry UI request (options, create, link, alert-rule action). After each
rejection neither emulator received a write, nothing was queued and the link store is empty.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from sandbox.sentry import seed
from sandbox.stack import HOOK_SECRET, SandboxStack, sandbox_stack
from shared.identifiers import MalformedIdentifier, ado_project, installation_uuid, sentry_issue_id, work_item_id
from shared.intake import sentry_signature
from shared.store.sqlite import SqliteLinkStore
from tests.releases.events import classic_event_2022, run_event, stage_event

BAD_ISSUE_IDS = ["0", "-1", "012", " 12", "12a", "PROJ-1A", "", "\u0661\u0662", "9" * 30, 0, -3, 1.5, True, None,
                 [1], {"id": 1}]
BAD_WORK_ITEM_IDS = [0, -5, 2**31, "0", "x", 1.5, True, None, [7]]
BAD_PROJECTS = ["", "   ", "Shop/../x", "a" * 65, "Sh\nop", "_Shop", "Shop.", "Sh#op", 12, None]
ADO_NAMED_PROJECTS = ["", "a" * 65, "Sh\nop", 12]  # ADO names its own projects: only the form is checked
BAD_UUIDS = ["", "7a485448", "7a485448a9e24c858a3c4f44175783c9x", "../../organizations", 5]
INSTALL = {"uuid": seed.INSTALLATION_UUID}


def test_the_validators() -> None:
    assert sentry_issue_id("123") == sentry_issue_id(123) == "123"
    assert work_item_id(7) == work_item_id("7") == 7
    assert ado_project("Fabrikam Fiber") == "Fabrikam Fiber"
    assert ado_project("R&D+Ops", named_by_ado=True) == "R&D+Ops"  # API-made; a person could not type it
    assert installation_uuid(seed.INSTALLATION_UUID.upper()) == seed.INSTALLATION_UUID
    for bad in BAD_ISSUE_IDS:
        with pytest.raises(MalformedIdentifier, match="issue id"):
            sentry_issue_id(bad)
    for bad in BAD_WORK_ITEM_IDS:
        with pytest.raises(MalformedIdentifier, match="work item id"):
            work_item_id(bad)
    for bad in BAD_PROJECTS:
        with pytest.raises(MalformedIdentifier, match="project"):
            ado_project(bad)
    for bad in BAD_UUIDS:
        with pytest.raises(MalformedIdentifier, match="uuid"):
            installation_uuid(bad)


@pytest.fixture(scope="module")
def stack() -> Iterator[SandboxStack]:
    with sandbox_stack() as s:
        s.sentry.journal.clear()
        s.ado.journal.clear()  # the hook subscriptions the stack made
        yield s


def _writes(stack: SandboxStack) -> list[str]:
    entries = stack.sentry.journal.entries() + stack.ado.journal.entries()
    return [f"{e['method']} {e['path']}" for e in entries if e["method"] in ("POST", "PUT", "PATCH", "DELETE")
            and "wiql" not in e["path"] and "workitemsbatch" not in e["path"]]


def _links(stack: SandboxStack) -> int:
    store = SqliteLinkStore(stack.env["SQLITE_PATH"])
    return sum(len(page) for page in store.iter_pages())


def _assert_rejected(stack: SandboxStack, resp: requests.Response, names: str) -> None:
    assert resp.status_code == 400, resp.text
    body = resp.json()
    message = body.get("error") or body.get("message")
    assert names in message, message
    stack.settle()
    assert _writes(stack) == [] and _links(stack) == 0


def _sentry_hook(stack: SandboxStack, resource: str, body: dict[str, Any]) -> requests.Response:
    raw = json.dumps(body).encode()
    return requests.post(f"{stack.app_url}/api/sentry/webhook", data=raw, timeout=10, headers={
        "Content-Type": "application/json", "Sentry-Hook-Resource": resource, "Request-ID": "r1",
        "Sentry-Hook-Timestamp": str(int(time.time())),
        "Sentry-Hook-Signature": sentry_signature(seed.CLIENT_SECRET, raw)})


def _ado_hook(stack: SandboxStack, body: dict[str, Any]) -> requests.Response:
    return requests.post(f"{stack.app_url}/api/ado/webhook", json=body, timeout=10,
                         headers={"X-Hook-Secret": HOOK_SECRET})


def _alert(issue_id: Any) -> dict[str, Any]:
    """The request of the issue report: an alert whose event names Sentry issue "0"."""
    settings = [{"name": "project", "value": "Shop"}, {"name": "work_item_type", "value": "Bug"}]
    return {"action": "triggered", "installation": INSTALL, "actor": {"type": "application", "id": "sentry"},
            "data": {"event": {"issue_id": issue_id, "title": "KeyError", "project": 1},
                     "triggered_rule": "to ADO", "issue_alert": {"title": "to ADO", "settings": settings}}}


def _set(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(body)
    *parents, last = path.split(".")
    node = out
    for key in parents:
        node = node[key]
    node[last] = value
    return out


ISSUE = {"action": "resolved", "installation": INSTALL, "actor": {"type": "user", "id": 1},
         "data": {"issue": {"id": "42", "status": "resolved", "project": {"slug": "backend", "id": "1"}}}}
COMMENT = {"action": "created", "installation": INSTALL, "actor": {"type": "user", "id": 1},
           "data": {"comment_id": "7", "issue_id": "42", "comment": "hi", "timestamp": "2026-01-01T00:00:00Z"}}
WORKFLOW = {"action": "triggered", "installation": INSTALL, "actor": {"type": "application", "id": "sentry"},
            "data": {"issue": {"id": "42", "project": {"slug": "backend", "id": "1"}},
                     "activity": {"type": "status_regressed", "details": {}},
                     "alert": {"id": 5, "name": "to ADO", "settings": [{"name": "project", "value": "Shop"}]}}}
SENTRY_CASES: list[tuple[str, dict[str, Any], str, list[Any]]] = [
    ("event_alert", _alert("1"), "data.event.issue_id", BAD_ISSUE_IDS),
    ("activity_alert", WORKFLOW, "data.issue.id", BAD_ISSUE_IDS),
    ("issue", ISSUE, "data.issue.id", BAD_ISSUE_IDS),
    ("comment", COMMENT, "data.issue_id", BAD_ISSUE_IDS),
    ("comment", COMMENT, "data.comment_id", ["0", "x", -1]),
    ("issue", ISSUE, "data.issue.project.slug", ["", "back end", "../x", 3]),
    ("comment", COMMENT, "installation.uuid", BAD_UUIDS),
]


@pytest.mark.parametrize(("resource", "body", "path", "values"), SENTRY_CASES,
                         ids=[f"{r}-{p}" for r, _, p, _ in SENTRY_CASES])
def test_sentry_webhooks(stack: SandboxStack, resource: str, body: dict, path: str, values: list) -> None:
    for value in values:
        _assert_rejected(stack, _sentry_hook(stack, resource, _set(body, path, value)), path.split(".")[-1])


def test_the_reported_alert_for_issue_zero_creates_nothing(stack: SandboxStack) -> None:
    resp = _sentry_hook(stack, "event_alert", _alert("0"))
    _assert_rejected(stack, resp, "data.event.issue_id must be a Sentry issue id")


def _work_item_event(event_type: str, key: str = "id") -> dict[str, Any]:
    fields = {"System.TeamProject": "Shop", "System.State": "Active", "System.Rev": 2}
    resource: dict[str, Any] = {key: 7, "fields": fields}
    if event_type == "workitem.updated":
        resource = {"id": 3, "workItemId": 7, "rev": 2, "revision": {"id": 7, "rev": 2, "fields": fields},
                    "revisedBy": {"uniqueName": "ava@contoso.com"}}  # (without it, id 0 is the Test button's)
    return {"eventType": event_type, "publisherId": "tfs", "resource": resource}


ADO_CASES: list[tuple[dict[str, Any], str, str, list[Any]]] = [
    *[(_work_item_event(t), "resource.id", "resource.id", BAD_WORK_ITEM_IDS)
      for t in ("workitem.commented", "workitem.deleted", "workitem.restored")],
    (_work_item_event("workitem.updated"), "resource.workItemId", "resource.workItemId", BAD_WORK_ITEM_IDS),
    (_work_item_event("workitem.updated"), "resource.revision.fields.System.TeamProject", "System.TeamProject",
     ADO_NAMED_PROJECTS),
    (_work_item_event("workitem.commented"), "resource.fields.System.TeamProject", "System.TeamProject",
     ADO_NAMED_PROJECTS),
    (stage_event(), "resource.run.id", "run.id", [0, -1, "x", True]),
    (run_event(), "resource.run.id", "run.id", [0, "x"]),
    (classic_event_2022(), "resource.environment.release.id", "release.id", [0, "nine"]),
]


def _set_field(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """Like `_set`, but a dotted ADO field name (System.TeamProject) is one key."""
    if ".fields." in path:
        head, field = path.split(".fields.")
        return _set(body, head, {**_get(body, head), "fields": {**_get(body, head)["fields"], field: value}})
    return _set(body, path, value)


def _get(body: dict[str, Any], path: str) -> Any:
    for key in path.split("."):
        body = body[key]
    return body


@pytest.mark.parametrize(("body", "path", "named", "values"), ADO_CASES,
                         ids=[f"{b['eventType']}-{p}" for b, p, _, _ in ADO_CASES])
def test_ado_webhooks(stack: SandboxStack, body: dict, path: str, named: str, values: list) -> None:
    for value in values:
        _assert_rejected(stack, _ado_hook(stack, _set_field(body, path, value)), named)


def _ui_post(stack: SandboxStack, route: str, body: dict[str, Any]) -> requests.Response:
    raw = json.dumps(body).encode()
    return requests.post(f"{stack.app_url}/api/sentry/{route}", data=raw, timeout=10, headers={
        "Content-Type": "application/json", "Sentry-App-Signature": sentry_signature(seed.CLIENT_SECRET, raw)})


def _ui_get(stack: SandboxStack, kind: str, **params: str) -> requests.Response:
    return requests.get(f"{stack.app_url}/api/sentry/issue-link/options/{kind}", params=params, timeout=10,
                        headers={"Sentry-App-Signature": sentry_signature(seed.CLIENT_SECRET, b"")})


CREATE = {"fields": {"project": "Shop", "work_item_type": "Bug", "title": "t"}, "issueId": 42,
          "installationId": seed.INSTALLATION_UUID, "webUrl": "https://sentry.example/issues/42/",
          "project": {"slug": "backend", "id": 1}}
LINK = {**CREATE, "fields": {"work_item": "7"}}
UI_CASES: list[tuple[str, dict[str, Any], str, str, list[Any]]] = [
    ("issue-link/create", CREATE, "issueId", "issueId", BAD_ISSUE_IDS),
    ("issue-link/create", CREATE, "installationId", "installationId", BAD_UUIDS[1:]),
    ("issue-link/create", CREATE, "project.slug", "project.slug", ["back end", "../x"]),
    ("issue-link/create", CREATE, "fields.project", "project", BAD_PROJECTS[2:-2]),
    ("issue-link/link", LINK, "issueId", "issueId", BAD_ISSUE_IDS),
    ("issue-link/link", LINK, "fields.work_item", "work_item", [*BAD_WORK_ITEM_IDS[:-1], "#0", "seven"]),
    ("alert-rule-action", {"fields": [{"name": "project", "value": "Shop"},
                                      {"name": "work_item_type", "value": "Bug"}]},
     "fields", "project", [[{"name": "project", "value": p}, {"name": "work_item_type", "value": "Bug"}]
                           for p in BAD_PROJECTS[2:-2]]),
]


@pytest.mark.parametrize(("route", "body", "path", "named", "values"), UI_CASES,
                         ids=[f"{r}-{p}" for r, _, p, _, _ in UI_CASES])
def test_ui_requests(stack: SandboxStack, route: str, body: dict, path: str, named: str, values: list) -> None:
    for value in values:
        _assert_rejected(stack, _ui_post(stack, route, _set(body, path, value)), named)


OPTION_CASES: list[tuple[str, Callable[[Any], dict[str, str]], str, list[Any]]] = [
    ("types", lambda v: {"dependentData": json.dumps({"project": v})}, "'project'", BAD_PROJECTS[2:-2]),
    ("areas", lambda v: {"dependentData": json.dumps({"project": v})}, "'project'", BAD_PROJECTS[2:-2]),
    ("workitems", lambda v: {"projectSlug": v, "query": "x"}, "projectSlug", ["back end", "../x", "a" * 101]),
    ("projects", lambda v: {"installationId": v}, "installationId", BAD_UUIDS[1:-1]),
]


@pytest.mark.parametrize(("kind", "params", "named", "values"), OPTION_CASES, ids=[c[0] for c in OPTION_CASES])
def test_ui_options(stack: SandboxStack, kind: str, params: Callable, named: str, values: list) -> None:
    for value in values:
        _assert_rejected(stack, _ui_get(stack, kind, **params(value)), named)


def test_well_formed_requests_still_pass(stack: SandboxStack) -> None:
    """The baselines each case above corrupts are accepted (so each 400 is the identifier's)."""
    for resource, body, *_ in SENTRY_CASES:
        assert _sentry_hook(stack, resource, body).status_code == 202
    for body, *_ in ADO_CASES:
        assert _ado_hook(stack, body).status_code == 202
    assert _ui_get(stack, "types", dependentData=json.dumps({"project": "Shop"})).status_code == 200
    assert _ui_post(stack, "alert-rule-action", UI_CASES[-1][1]).status_code == 200
