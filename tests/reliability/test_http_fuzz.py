"""Fuzzing every inbound route from outside, over real HTTP, beyond hypothesis' small JSON: nesting
depth, huge numbers, huge strings, invalid UTF-8, duplicate keys, a wrong value in every field of a
correctly signed body, names Azure DevOps does not have in every form field, and many of these at
once. The app runs as two instances (separate processes, as Azure scales out) sharing one link
store, both wired to the emulators; requests alternate between them.

Every answer must be below 500 and JSON; a rejected one (4xx) names the problem and writes nothing
to either service: after both instances drained their queues, the emulators' journals hold no new
write. (An accepted delivery may go on to fail in its queue function; that is the poison queue's
and reconciliation's business, not the route's.)
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox.sentry import seed
from sandbox.stack import HOOK_SECRET, SandboxStack, sandbox_stack
from shared.contract import (
    ADO_WEBHOOK_PATH,
    ALERT_RULE_ACTION_PATH,
    FIELD_AREA,
    FIELD_PROJECT,
    FIELD_TYPE,
    FIELD_WORK_ITEM,
    ISSUE_LINK_CREATE_PATH,
    ISSUE_LINK_LINK_PATH,
    SENTRY_WEBHOOK_PATH,
    options_uri,
)
from shared.intake import sentry_signature
from tests.reliability.hosts import app_instances

pytestmark = pytest.mark.slow
POST_ROUTES = (SENTRY_WEBHOOK_PATH, ADO_WEBHOOK_PATH, ISSUE_LINK_CREATE_PATH, ISSUE_LINK_LINK_PATH,
               ALERT_RULE_ACTION_PATH)
FUZZ = settings(max_examples=40, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])
RULES = """
[[routes]]
sentry_projects = ["backend"]
ado_project = "Shop"
work_item_type = "Bug"
area_path = "Shop\\\\Web"
[routes.auto_create]
enabled = true
levels = ["error", "fatal"]
"""
# A wrong value of every kind JSON has, and of the kinds that break code that trusts a field.
WRONG = [None, True, 0, -1, 2**63, 2**64 + 7, 1.5, 1e308, "", " ", "0", "-1", "\u0000", "\ud800", "x" * 3000,
         "Shop\\..\\..", "'; DROP --", [], [None], {}, {"id": {"id": None}}]
DELETE = object()  # the field is left out


@dataclass
class App:
    """Both instances and the emulators behind them."""

    stack: SandboxStack
    urls: list[str]
    sent: int = 0

    def url(self, path: str) -> str:
        self.sent += 1
        return self.urls[self.sent % len(self.urls)] + path

    def quiet(self) -> None:
        """Every queued message processed and every webhook delivered, on both instances."""
        for url in self.urls[1:]:
            requests.post(f"{url}/admin/drain", timeout=120).raise_for_status()
        self.stack.settle()

    def writes(self) -> list[tuple[str, str, str]]:
        """Requests that change something in either service (the reads ADO takes as POST excluded)."""
        entries = self.stack.ado.journal.entries() + self.stack.sentry.journal.entries()
        return [(e["service"], e["method"], e["path"]) for e in entries
                if e["method"] not in ("GET", "HEAD") and not e["path"].endswith(("/wiql", "/workitemsbatch"))]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    workdir = tmp_path_factory.mktemp("fuzz")
    rules = Path(workdir) / "sync.toml"
    rules.write_text(RULES)
    with sandbox_stack(workdir=str(workdir), sync_config=rules, projects=("Shop",)) as stack, \
            app_instances(stack.env) as others:
        stack.sentry.add_alert_rule("create work item", [{"name": FIELD_PROJECT, "value": "Shop"},
                                                         {"name": FIELD_TYPE, "value": "Bug"}])
        yield App(stack, [stack.app_url, *others])


def signed_headers(path: str, body: bytes, resource: str = "issue") -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if path == ADO_WEBHOOK_PATH:
        return headers | {"X-Hook-Secret": HOOK_SECRET}
    signature = sentry_signature(seed.CLIENT_SECRET, body)
    if path == SENTRY_WEBHOOK_PATH:
        return headers | {"Sentry-Hook-Resource": resource, "Sentry-Hook-Signature": signature,
                          "Sentry-Hook-Timestamp": str(int(time.time()))}
    return headers | {"Sentry-App-Signature": signature}


def exchange(app: App, path: str, body: bytes = b"", headers: dict[str, str] | None = None, method: str = "POST",
             params: dict[str, str] | None = None) -> requests.Response:
    """Send one request and hold the answer to the rules in the module docstring."""
    app.quiet()
    before = app.writes()
    resp = requests.request(method, app.url(path), data=body, params=params, timeout=120,
                            headers=headers if headers is not None else signed_headers(path, body))
    what = f"{method} {path} {body[:120]!r} {params}"
    assert resp.status_code < 500, f"{what} -> {resp.status_code} {resp.text[:300]}"
    assert resp.headers.get("Content-Type", "").startswith("application/json"), f"{what} -> {resp.text[:300]}"
    answer = resp.json()
    if resp.status_code >= 400:
        problem = answer.get("error") or answer.get("message") if isinstance(answer, dict) else None
        assert isinstance(problem, str) and len(problem) > 5, f"{what} -> {answer}"
        app.quiet()
        assert app.writes() == before, f"{what} -> {resp.status_code} {problem!r}, yet wrote " \
                                       f"{app.writes()[len(before):]}"
    return resp


# --- the raw text: depth, numbers, strings, encodings, duplicate keys ------------------------------

def nested(depth: int, kind: str) -> bytes:
    opener, closer = {"array": (b"[", b"]"), "object": (b'{"a":', b"}"), "mixed": (b'[{"a":', b"}]")}[kind]
    return opener * depth + b"1" + closer * depth if kind != "array" else opener * depth + closer * depth


def in_issue_body(value: bytes) -> bytes:
    return b'{"action":"resolved","data":{"issue":{"id":"1","status":"resolved","x":' + value + b"}}}"


numbers = st.one_of(
    st.integers(1, 12_000).map(lambda n: b"9" * n),
    st.integers(1, 12_000).map(lambda n: b"-1" + b"0" * n),
    st.integers(300, 100_000).map(lambda n: f"1e{n}".encode()),
    st.integers(300, 100_000).map(lambda n: f"-0.{'0' * 50}1e-{n}".encode()),
    st.sampled_from([b"NaN", b"Infinity", b"-Infinity", b"1.0e", b"01", b"0x10", b"+1"]))
strings = st.one_of(
    st.integers(0, 900_000).map(lambda n: b'"' + b"a" * n + b'"'),
    st.binary(min_size=1, max_size=40).map(lambda b: b'"' + b.replace(b'"', b"").replace(b"\\", b"") + b'"'),
    st.sampled_from([b'"\\ud800"', b'"\\udfff\\ud800"', b'"\xed\xa0\x80"', b'"\xc0\xaf"', b'"\xf4\x90\x80\x80"',
                     b'"\xff"', b'"\\u0000"', b'"\\x41"', b'"a\x00b"', b"'single'"]))
depths = st.tuples(st.integers(1, 150_000), st.sampled_from(["array", "object", "mixed"])).map(lambda t: nested(*t))
duplicates = st.integers(2, 3000).map(lambda n: b"{" + b",".join(b'"a":%d' % i for i in range(n)) + b"}")
raw_values = st.one_of(numbers, strings, depths, duplicates)


@FUZZ
@given(value=raw_values, path=st.sampled_from(POST_ROUTES))
def test_raw_json_text_never_reaches_a_5xx(app: App, value: bytes, path: str) -> None:
    body = in_issue_body(value)
    exchange(app, path, body)


@FUZZ
@given(prefix=st.binary(max_size=40), suffix=st.binary(max_size=40), path=st.sampled_from(POST_ROUTES))
def test_bytes_around_a_valid_body_never_reach_a_5xx(app: App, prefix: bytes, suffix: bytes, path: str) -> None:
    exchange(app, path, prefix + b'{"action":"resolved","data":{"issue":{"id":"1"}}}' + suffix)


def test_duplicate_keys_are_read_as_every_later_reader_reads_them(app: App) -> None:
    """JSON leaves duplicate keys undefined; the route and the queue function parse the same text
    with the same parser, so the last value is the one checked and the one synced."""
    body = b'{"action":"created","action":"nonsense","data":{"issue":{"id":"1"}},"data":[]}'
    assert exchange(app, SENTRY_WEBHOOK_PATH, body).status_code == 400  # the last 'data' is no object


# --- a wrong value in every field of a correctly signed body ---------------------------------------------

@dataclass(frozen=True)
class Template:
    path: str
    resource: str
    body: dict[str, Any]


def field_paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every field of a document (the first two items of each list), parents before children."""
    if prefix:
        yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from field_paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value[:2]):
            yield from field_paths(child, (*prefix, index))


def replaced(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    parent = out
    for step in path[:-1]:
        parent = parent[step]
    if value is DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return out


def templates(app: App) -> list[Template]:
    """One genuine body of each kind the routes take, captured from the emulators and the forms."""
    stack = app.stack
    app.quiet()
    sentry_seen, ado_seen = len(stack.sentry.webhooks.delivered), len(stack.ado.webhooks.delivered)
    issue = stack.sentry.new_error("backend", "TemplateError", "captured", level="error")["issue"]
    app.quiet()
    stack.sentry.comment("alice@example.com", issue["id"], "a comment to capture")
    stack.sentry.act("alice@example.com", issue["id"], {"status": "resolved"})
    app.quiet()
    link = [x for x in stack.sentry.world.org.external_issues.values() if str(x.issue_id) == issue["id"]]
    wid = int(link[0].identifier)
    stack.ado.act_comment(wid, "an ADO comment to capture", as_="Dana Dev <dana@contoso.com>")
    stack.ado.act_update(wid, {"System.State": "Active"}, as_="Dana Dev <dana@contoso.com>")
    app.quiet()
    out: dict[tuple[str, str], Template] = {}
    for hook, _ in stack.sentry.webhooks.delivered[sentry_seen:]:
        resource = hook.headers["Sentry-Hook-Resource"]
        out.setdefault((SENTRY_WEBHOOK_PATH, resource), Template(SENTRY_WEBHOOK_PATH, resource, json.loads(hook.body)))
    for hook, _ in stack.ado.webhooks.delivered[ado_seen:]:
        body = json.loads(hook.body)
        out.setdefault((ADO_WEBHOOK_PATH, body["eventType"]), Template(ADO_WEBHOOK_PATH, "", body))
    other = stack.sentry.new_error("backend", "FormTemplateError", "forms", level="warning")["issue"]
    common = {"issueId": int(other["id"]), "installationId": seed.INSTALLATION_UUID, "webUrl": other["permalink"],
              "project": {"slug": "backend", "id": 1}, "actor": {"type": "user", "id": 1, "name": "Alice"}}
    forms = [Template(ISSUE_LINK_CREATE_PATH, "", {**common, "fields": {
                 FIELD_PROJECT: "Shop", FIELD_TYPE: "Bug", "title": "t", "description": "d", FIELD_AREA: "Shop"}}),
             Template(ISSUE_LINK_LINK_PATH, "", {**common, "fields": {FIELD_WORK_ITEM: str(wid)}}),
             Template(ALERT_RULE_ACTION_PATH, "", {"installationId": seed.INSTALLATION_UUID, "fields": [
                 {"name": FIELD_PROJECT, "value": "Shop"}, {"name": FIELD_TYPE, "value": "Bug"},
                 {"name": FIELD_AREA, "value": "Shop"}, {"name": "priority", "value": "2"}]})]
    kinds = sorted(out)
    assert {("/api/sentry/webhook", r) for r in ("issue", "comment", "event_alert")} <= set(kinds), kinds
    assert {(ADO_WEBHOOK_PATH, e) for e in ("workitem.updated", "workitem.commented")} <= set(kinds), kinds
    return [out[k] for k in kinds] + forms


def test_a_wrong_value_in_every_field_of_every_signed_body(app: App) -> None:
    """Each field of each genuine body, in turn, is replaced by a wrong value (cycling through
    `WRONG`, and left out): the whole body is then signed as the sender would sign it."""
    tried: dict[int, int] = {}
    for template in templates(app):
        choices = [*WRONG, DELETE]
        for n, path in enumerate(field_paths(template.body)):
            value = choices[(n * 7 + len(path)) % len(choices)]
            body = json.dumps(replaced(template.body, path, value)).encode()
            headers = signed_headers(template.path, body, template.resource)
            status = exchange(app, template.path, body, headers).status_code
            tried[status] = tried.get(status, 0) + 1
    print(f"\nwrong values in every field: answers {dict(sorted(tried.items()))}; poison "
          f"{ {q: len(m) for q, m in app.stack.host.poison.items()} }")
    assert sum(tried.values()) > 300


# --- names Azure DevOps does not have, in every form field -------------------------------------------

unknown_names = st.text(min_size=1, max_size=80).filter(
    lambda s: s.strip() and s.strip().casefold() not in {"shop", "bug", "task", "shop\\web", "shop\\api"})


def form_body(app: App, fields: dict[str, Any]) -> bytes:
    issue_id = app.stack.sentry.world.org.next_id - 1  # the newest issue; only names are at stake here
    return json.dumps({"fields": fields, "issueId": issue_id, "installationId": seed.INSTALLATION_UUID,
                       "project": {"slug": "backend"}}).encode()


@FUZZ
@given(name=unknown_names, field=st.sampled_from([FIELD_PROJECT, FIELD_TYPE, FIELD_AREA]))
def test_unknown_names_in_the_create_form_are_a_400_naming_the_field(app: App, name: str, field: str) -> None:
    fields = {FIELD_PROJECT: "Shop", FIELD_TYPE: "Bug", "title": "unknown names", field: name}
    resp = exchange(app, ISSUE_LINK_CREATE_PATH, form_body(app, fields))
    assert resp.status_code == 400 and f"'{field}'" in resp.json()["message"], resp.text


@FUZZ
@given(name=unknown_names, field=st.sampled_from([FIELD_PROJECT, FIELD_TYPE, FIELD_AREA]))
def test_unknown_names_in_alert_rule_settings_are_a_400_naming_the_field(app: App, name: str, field: str) -> None:
    values = {FIELD_PROJECT: "Shop", FIELD_TYPE: "Bug", field: name}
    body = json.dumps({"fields": [{"name": k, "value": v} for k, v in values.items()]}).encode()
    resp = exchange(app, ALERT_RULE_ACTION_PATH, body)
    assert resp.status_code == 400 and f"'{field}'" in resp.json()["message"], resp.text


@FUZZ
@given(value=st.one_of(st.integers(10**6, 2**80), st.text(max_size=30), st.sampled_from(WRONG)))
def test_work_items_that_do_not_exist_in_the_link_form_are_a_400(app: App, value: Any) -> None:
    resp = exchange(app, ISSUE_LINK_LINK_PATH, form_body(app, {FIELD_WORK_ITEM: value}))
    assert resp.status_code == 400 and f"'{FIELD_WORK_ITEM}'" in resp.json()["message"], resp.text


@FUZZ
@given(kind=st.sampled_from(["types", "areas", "workitems"]), project=unknown_names,
       query=st.one_of(st.text(max_size=300), st.integers(0, 2**70).map(str)),
       dependent=st.booleans())
def test_options_with_unknown_names_and_any_query_never_reach_a_5xx(app: App, kind: str, project: str, query: str,
                                                                     dependent: bool) -> None:
    params = {"query": query, "projectSlug": "backend", "installationId": seed.INSTALLATION_UUID}
    if dependent:
        params["dependentData"] = json.dumps({FIELD_PROJECT: project})
    headers = {"Sentry-App-Signature": sentry_signature(seed.CLIENT_SECRET, b"")}
    resp = exchange(app, options_uri(kind), headers=headers, method="GET", params=params)
    if resp.status_code == 400:
        assert dependent and f"'{FIELD_PROJECT}'" in resp.json()["message"], resp.text
    else:  # a search by id, or for nothing, asks nothing of the project
        assert resp.status_code == 200 and isinstance(resp.json(), list), resp.text
        assert not dependent or kind == "workitems"


# --- many at once ----------------------------------------------------------------------------------------

def test_bad_requests_in_parallel_on_both_instances(app: App) -> None:
    bodies = [in_issue_body(v) for v in (nested(3000, "array"), b"9" * 6000, b"NaN", b'"\xff"', nested(80, "mixed"))]
    work = [(path, body) for path in POST_ROUTES for body in bodies] * 3
    app.quiet()
    before = app.writes()

    def send(item: tuple[str, bytes]) -> requests.Response:
        path, body = item
        return requests.post(app.url(path), data=body, headers=signed_headers(path, body), timeout=120)

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(send, work))
    assert {r.status_code for r in answers} == {400}, {(r.status_code, r.text[:100]) for r in answers}
    assert all(isinstance((r.json().get("error") or r.json().get("message")), str) for r in answers)
    app.quiet()
    assert app.writes() == before


# --- a failing service ------------------------------------------------------------------------------------

@pytest.mark.parametrize("service", ["ado", "sentry"])
def test_a_failing_service_is_a_502_naming_it_and_webhooks_are_still_taken(app: App, service: str) -> None:
    """The one place a 5xx is right: the dependency failed (injected: every call answers 503).
    The webhook routes call nothing, so they answer as always."""
    from sandbox.core import Faults

    issue = app.stack.sentry.new_error("backend", f"Failing{service}Error", "down", level="warning")["issue"]
    app.quiet()
    before = app.writes()
    emulator = getattr(app.stack, service)
    emulator.set_faults(Faults(error_rate=1.0))
    try:
        if service == "ado":  # a title search reaches ADO every time (metadata would come from a cache)
            resp = requests.get(app.url(options_uri("workitems")), timeout=120,
                                params={"query": "coupon", "projectSlug": "backend"},
                                headers={"Sentry-App-Signature": sentry_signature(seed.CLIENT_SECRET, b"")})
        else:  # a create reads the issue from Sentry first
            create = json.dumps({"fields": {FIELD_PROJECT: "Shop", FIELD_TYPE: "Task", "title": "down"},
                                 "issueId": int(issue["id"]), "installationId": seed.INSTALLATION_UUID}).encode()
            resp = requests.post(app.url(ISSUE_LINK_CREATE_PATH), data=create, timeout=120,
                                 headers=signed_headers(ISSUE_LINK_CREATE_PATH, create))
        name = {"ado": "Azure DevOps", "sentry": "Sentry"}[service]
        assert resp.status_code == 502 and resp.json()["message"].startswith(f"{name} call failed"), resp.text
        hook = b'{"action":"resolved","data":{"issue":{"id":"' + issue["id"].encode() + b'"}}}'
        taken = requests.post(app.url(SENTRY_WEBHOOK_PATH), data=hook, timeout=60,
                              headers=signed_headers(SENTRY_WEBHOOK_PATH, hook))
        assert taken.status_code == 202
        assert app.writes() == before
    finally:
        emulator.set_faults(Faults())
