"""The Sentry emulator over real HTTP: sentry-cli, auth, validation, pagination, rate-limit headers."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from sandbox.core import RunningServer
from sandbox.sentry.emulator import SentryEmulator, serve
from sandbox.sentry.seed import APP_TOKEN, USER_TOKENS

SENTRY_CLI = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "sentry-cli"
ALICE = USER_TOKENS["alice@example.com"]
LINK_PART = re.compile(r'<([^>]+)>; rel="(previous|next)"; results="(true|false)"; cursor="([^"]+)"')


@pytest.fixture()
def sentry() -> Iterator[tuple[SentryEmulator, RunningServer]]:
    emulator, server = serve()
    yield emulator, server
    server.stop()


def api(server: RunningServer, method: str, path: str, token: str = ALICE, **kwargs: object) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.request(method, server.url + path, headers=headers, timeout=10, **kwargs)


def cli(server: RunningServer, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SENTRY_ORG": "acme", "SENTRY_PROJECT": "backend"}
    env.pop("SENTRY_AUTH_TOKEN", None)
    return subprocess.run([str(SENTRY_CLI), "--url", server.url, "--auth-token", token, *args],
                          capture_output=True, text=True, timeout=60, env=env, check=False)


def new_issue(emulator: SentryEmulator, project: str = "backend", name: str = "KeyError", n: int = 0) -> dict:
    return emulator.new_error(project, name, f"missing key {n}", fingerprint=f"{project}-{name}-{n}")["issue"]


def links(response: requests.Response) -> dict[str, tuple[str, bool, str]]:
    return {rel: (url, results == "true", cursor)
            for url, rel, results, cursor in LINK_PART.findall(response.headers["Link"])}


def test_sentry_cli_lists_project_issues(sentry: tuple[SentryEmulator, RunningServer]) -> None:
    emulator, server = sentry
    backend = new_issue(emulator, "backend", "ZeroDivisionError")
    frontend = new_issue(emulator, "frontend", "TypeError")
    result = cli(server, ALICE, "issues", "list", "-o", "acme", "-p", "backend")
    assert result.returncode == 0, result.stderr
    assert backend["shortId"] in result.stdout and "ZeroDivisionError" in result.stdout
    assert frontend["shortId"] not in result.stdout


def test_sentry_cli_resolves_one_issue_and_leaves_the_others(sentry: tuple[SentryEmulator, RunningServer]) -> None:
    emulator, server = sentry
    target, other = new_issue(emulator, n=1), new_issue(emulator, n=2)
    result = cli(server, APP_TOKEN, "issues", "resolve", "-i", target["id"])
    assert result.returncode == 0, result.stderr
    status = {i["id"]: i["status"] for i in api(server, "GET", "/api/0/organizations/acme/issues/?query=").json()}
    assert status == {target["id"]: "resolved", other["id"]: "unresolved"}
    sent = [e for e in emulator.journal.entries() if e["method"] == "PUT"]
    assert sent[0]["path"] == "/api/0/projects/acme/backend/issues/" and sent[0]["query"] == {"id": target["id"]}


def test_sentry_cli_fails_with_a_bad_token(sentry: tuple[SentryEmulator, RunningServer]) -> None:
    emulator, server = sentry
    new_issue(emulator)
    result = cli(server, "f" * 64, "issues", "list", "-o", "acme", "-p", "backend")
    assert result.returncode != 0


@pytest.mark.parametrize(("header", "detail"), [
    (None, "Authentication credentials were not provided."),
    ("Bearer " + "0" * 64, "Invalid token"),
    ("Basic abc", "Invalid token header. No credentials provided."),
])
def test_requests_without_a_valid_token_get_401(sentry: tuple[SentryEmulator, RunningServer], header: str | None,
                                                detail: str) -> None:
    _, server = sentry
    headers = {"Authorization": header} if header else {}
    response = requests.get(server.url + "/api/0/organizations/acme/issues/", headers=headers, timeout=10)
    assert (response.status_code, response.json()) == (401, {"detail": detail})


def test_bad_status_value_is_rejected_and_changes_nothing(sentry: tuple[SentryEmulator, RunningServer]) -> None:
    emulator, server = sentry
    issue = new_issue(emulator)
    response = api(server, "PUT", f"/api/0/organizations/acme/issues/{issue['id']}/", json={"status": "closed"})
    assert response.status_code == 400
    assert response.json() == {"status": ['"closed" is not a valid choice.']}
    assert api(server, "GET", f"/api/0/issues/{issue['id']}/").json()["status"] == "unresolved"


def test_limit_above_100_is_rejected(sentry: tuple[SentryEmulator, RunningServer]) -> None:
    _, server = sentry
    assert api(server, "GET", "/api/0/organizations/acme/issues/?limit=101").status_code == 400
    assert api(server, "GET", "/api/0/organizations/acme/issues/?limit=100").status_code == 200


def test_bad_cursor_and_unknown_issue(sentry: tuple[SentryEmulator, RunningServer]) -> None:
    _, server = sentry
    bad = api(server, "GET", "/api/0/organizations/acme/issues/?cursor=nonsense")
    assert (bad.status_code, bad.json()) == (400, {"detail": "Invalid cursor parameter."})
    assert api(server, "GET", "/api/0/organizations/acme/issues/424242/").status_code == 404
    assert api(server, "GET", "/api/0/organizations/other-org/issues/").status_code == 404


def test_pagination_walks_every_issue_once_over_several_pages(sentry: tuple[SentryEmulator, RunningServer]) -> None:
    emulator, server = sentry
    created = {new_issue(emulator, n=n)["id"] for n in range(7)}
    seen: list[str] = []
    url = server.url + "/api/0/organizations/acme/issues/?limit=3&query=is:unresolved"
    pages = 0
    while True:
        response = requests.get(url, headers={"Authorization": f"Bearer {ALICE}"}, timeout=10)
        pages += 1
        seen += [i["id"] for i in response.json()]
        rel = links(response)
        assert rel["previous"][1] is (pages > 1)
        if not rel["next"][1]:
            break
        url = rel["next"][0]
    assert pages == 3 and len(seen) == 7 and set(seen) == created


def test_link_header_has_sentrys_exact_shape(sentry: tuple[SentryEmulator, RunningServer]) -> None:
    emulator, server = sentry
    new_issue(emulator, n=1)
    new_issue(emulator, n=2)
    response = api(server, "GET", "/api/0/organizations/acme/members/?cursor=")
    base = f"{server.url}/api/0/organizations/acme/members/"
    assert response.headers["Link"] == (
        f'<{base}?&cursor=0:0:1>; rel="previous"; results="false"; cursor="0:0:1", '
        f'<{base}?&cursor=0:100:0>; rel="next"; results="false"; cursor="0:100:0"')


def test_several_ids_fetch_exactly_those_issues(sentry: tuple[SentryEmulator, RunningServer]) -> None:
    emulator, server = sentry
    ids = [new_issue(emulator, n=n)["id"] for n in range(4)]
    api(server, "PUT", f"/api/0/issues/{ids[0]}/", json={"status": "resolved"})
    wanted = [ids[0], ids[2]]
    response = api(server, "GET", "/api/0/organizations/acme/issues/", params=[("group", wanted[0]), ("id", wanted[1])])
    assert sorted(i["id"] for i in response.json()) == sorted(wanted)


def test_query_filters_status_and_assignee(sentry: tuple[SentryEmulator, RunningServer]) -> None:
    emulator, server = sentry
    first, second = new_issue(emulator, n=1), new_issue(emulator, n=2)
    emulator.act("alice@example.com", first["id"], {"assignedTo": "bob@example.com"})
    emulator.act("alice@example.com", second["id"], {"status": "ignored"})
    ids = lambda q: [i["id"] for i in api(server, "GET", "/api/0/organizations/acme/issues/",  # noqa: E731
                                           params={"query": q}).json()]
    assert ids("is:unresolved") == [first["id"]]
    assert ids("is:ignored") == [second["id"]]
    assert ids("assigned:bob@example.com") == [first["id"]]
    assert set(ids("")) == {first["id"], second["id"]}


def test_assign_in_every_documented_form_and_unassign(sentry: tuple[SentryEmulator, RunningServer]) -> None:
    emulator, server = sentry
    issue = new_issue(emulator)
    path = f"/api/0/organizations/acme/issues/{issue['id']}/"
    for value, expected in [("user:2", ("user", "2")), ("team:11", ("team", "11")), ("1", ("user", "1")),
                            ("bob", ("user", "2")), ("alice@example.com", ("user", "1"))]:
        assigned = api(server, "PUT", path, json={"assignedTo": value}).json()["assignedTo"]
        assert (assigned["type"], assigned["id"]) == expected
    assert api(server, "PUT", path, json={"assignedTo": ""}).json()["assignedTo"] is None
    carol = api(server, "PUT", path, json={"assignedTo": "carol@example.com"})  # not in the backend team
    assert (carol.status_code, carol.json()) == (400, {"assignedTo": ["Cannot assign to non-team member"]})


def test_ignore_infers_substatus_and_unresolve_clears_it(sentry: tuple[SentryEmulator, RunningServer]) -> None:
    emulator, server = sentry
    path = f"/api/0/issues/{new_issue(emulator)['id']}/"
    forever = api(server, "PUT", path, json={"status": "ignored"}).json()
    assert (forever["status"], forever["substatus"]) == ("ignored", "archived_forever")
    counted = api(server, "PUT", path, json={"status": "ignored", "statusDetails": {"ignoreCount": 5}}).json()
    assert (counted["substatus"], counted["statusDetails"]) == ("archived_until_condition_met", {"ignoreCount": 5})
    reopened = api(server, "PUT", path, json={"status": "unresolved"}).json()
    assert (reopened["status"], reopened["substatus"], reopened["statusDetails"]) == ("unresolved", "ongoing", {})
    mismatch = api(server, "PUT", path, json={"status": "unresolved", "substatus": "archived_forever"})
    assert mismatch.status_code == 400


def test_latest_event_has_in_app_frames(sentry: tuple[SentryEmulator, RunningServer]) -> None:
    emulator, server = sentry
    frames = [{"filename": "lib/http.py", "function": "send", "lineno": 3, "in_app": False},
              {"filename": "app/orders.py", "function": "total", "lineno": 88, "in_app": True}]
    issue = emulator.new_error("backend", "KeyError", "'price'", frames=frames)["issue"]
    assert issue["culprit"] == "app/orders.py in total"
    for path in (f"/api/0/organizations/acme/issues/{issue['id']}/events/latest/",
                 f"/api/0/issues/{issue['id']}/events/latest/"):
        event = api(server, "GET", path).json()
        got = event["entries"][0]["data"]["values"][0]["stacktrace"]["frames"]
        assert [(f["function"], f["inApp"]) for f in got] == [("send", False), ("total", True)]


def test_comments_create_list_and_duplicate_rejection(sentry: tuple[SentryEmulator, RunningServer]) -> None:
    emulator, server = sentry
    issue = new_issue(emulator)
    for path in (f"/api/0/organizations/acme/issues/{issue['id']}/comments/", f"/api/0/issues/{issue['id']}/comments/"):
        text = f"via {path}"
        created = api(server, "POST", path, json={"text": text})
        assert created.status_code == 201 and created.json()["data"] == {"text": text}
        again = api(server, "POST", path, json={"text": text})
        assert (again.status_code, again.json()) == (400, {"detail": "You have already posted that comment."})
    listed = api(server, "GET", f"/api/0/issues/{issue['id']}/comments/").json()
    assert [c["data"]["text"] for c in listed] == [f"via /api/0/issues/{issue['id']}/comments/",
                                                   f"via /api/0/organizations/acme/issues/{issue['id']}/comments/"]
    missing = api(server, "POST", f"/api/0/issues/{issue['id']}/comments/", json={})
    assert (missing.status_code, missing.json()) == (400, {"text": ["This field is required."]})


def test_only_the_author_may_edit_a_comment(sentry: tuple[SentryEmulator, RunningServer]) -> None:
    emulator, server = sentry
    issue = new_issue(emulator)
    note = emulator.comment("bob", issue["id"], "bob's note")
    path = f"/api/0/issues/{issue['id']}/comments/{note['id']}/"
    assert api(server, "PUT", path, json={"text": "hijack"}).status_code == 404
    bob = USER_TOKENS["bob@example.com"]
    assert api(server, "PUT", path, token=bob, json={"text": "edited"}).json()["data"]["text"] == "edited"
    assert api(server, "DELETE", path, token=bob).status_code == 204


def test_members_query_by_email(sentry: tuple[SentryEmulator, RunningServer]) -> None:
    _, server = sentry
    found = api(server, "GET", "/api/0/organizations/acme/members/", params={"query": "email:bob@example.com"}).json()
    assert [(m["email"], m["user"]["id"]) for m in found] == [("bob@example.com", "2")]


def test_external_issue_upsert_and_delete(sentry: tuple[SentryEmulator, RunningServer]) -> None:
    emulator, server = sentry
    issue = new_issue(emulator)
    uuid = emulator.world.org.installations and next(iter(emulator.world.org.installations))
    path = f"/api/0/sentry-app-installations/{uuid}/external-issues/"
    body = {"issueId": int(issue["id"]), "webUrl": "https://dev.azure.com/acme/web/_workitems/edit/7",
            "project": "Web", "identifier": "7"}
    first = api(server, "POST", path, token=APP_TOKEN, json=body).json()
    second = api(server, "POST", path, token=APP_TOKEN, json={**body, "identifier": "8"}).json()
    assert first["id"] == second["id"] and second["displayName"] == "Web#8"
    bad = api(server, "POST", path, token=APP_TOKEN, json={**body, "webUrl": "ftp://x"})
    assert bad.status_code == 400
    assert api(server, "DELETE", f"{path}{first['id']}/", token=APP_TOKEN).status_code == 204
    assert api(server, "GET", f"/api/0/issues/{issue['id']}/external-issues/").json() == []


def test_every_response_carries_rate_limit_headers(sentry: tuple[SentryEmulator, RunningServer]) -> None:
    _, server = sentry
    for response in (api(server, "GET", "/api/0/organizations/acme/projects/"),
                     api(server, "GET", "/api/0/organizations/acme/projects/", token="")):
        assert int(response.headers["X-Sentry-Rate-Limit-Reset"]) >= int(time.time())
        for suffix in ("Limit", "Remaining", "ConcurrentLimit", "ConcurrentRemaining"):
            assert response.headers[f"X-Sentry-Rate-Limit-{suffix}"].isdigit()


def test_rate_limit_fault_answers_429_as_sentrys_middleware(sentry: tuple[SentryEmulator, RunningServer]) -> None:
    _, server = sentry
    requests.post(server.url + "/_sandbox/faults", json={"rate_limit_rate": 1.0, "retry_after_s": 3}, timeout=10)
    response = api(server, "GET", "/api/0/organizations/acme/issues/")
    assert response.status_code == 429 and "Retry-After" not in response.headers
    assert response.headers["X-Sentry-Rate-Limit-Remaining"] == "0"
    assert int(response.headers["X-Sentry-Rate-Limit-Reset"]) >= int(time.time()) + 2
    assert "too frequently" in response.json()["detail"]


def test_an_apps_tokens_share_their_organizations_limit(sentry: tuple[SentryEmulator, RunningServer]) -> None:
    emulator, server = sentry
    emulator.add_token("second-app-token", "application")
    requests.post(server.url + "/_sandbox/rate-limit", json={"limit": 2, "window_s": 3600, "enforce": True},
                  timeout=10)
    codes = [api(server, "GET", "/api/0/organizations/acme/teams/", token=t).status_code
             for t in (APP_TOKEN, "second-app-token", "second-app-token")]
    member = api(server, "GET", "/api/0/organizations/acme/teams/", token=USER_TOKENS["bob@example.com"])
    assert codes == [200, 200, 429] and member.status_code == 200


def test_enforced_limit_refuses_the_request_past_the_limit(sentry: tuple[SentryEmulator, RunningServer]) -> None:
    _, server = sentry
    requests.post(server.url + "/_sandbox/rate-limit", json={"limit": 2, "window_s": 3600, "enforce": True},
                  timeout=10)
    codes = [api(server, "GET", "/api/0/organizations/acme/teams/").status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_control_api_acts_as_a_member(sentry: tuple[SentryEmulator, RunningServer]) -> None:
    _, server = sentry
    created = requests.post(server.url + "/_sandbox/errors", timeout=10,
                            json={"project": "frontend", "exception_type": "TypeError", "exception_value": "x"})
    assert created.status_code == 201
    issue = created.json()["issue"]
    assert re.fullmatch(r"FRONTEND-[0-9A-Z]+", issue["shortId"])
    updated = requests.post(f"{server.url}/_sandbox/issues/{issue['id']}/update", timeout=10,
                            json={"as": "carol", "status": "resolved", "assignedTo": "carol@example.com"})
    assert updated.json()["status"] == "resolved" and updated.json()["assignedTo"]["email"] == "carol@example.com"
    nobody = requests.post(f"{server.url}/_sandbox/issues/{issue['id']}/comments", json={"text": "hi"}, timeout=10)
    assert nobody.status_code == 400
    unknown = requests.post(server.url + "/_sandbox/errors", json={"project": "nope", "exception_type": "E",
                                                                   "exception_value": "v"}, timeout=10)
    assert unknown.status_code == 404


def test_last_seen_search_finds_what_changed_since_a_time(sentry: tuple[SentryEmulator, RunningServer]) -> None:
    emulator, server = sentry
    old = new_issue(emulator, n=1)
    cut = api(server, "GET", f"/api/0/organizations/acme/issues/{old['id']}/").json()["lastSeen"]
    time.sleep(0.01)
    fresh = new_issue(emulator, n=2)
    url = "/api/0/organizations/acme/issues/"
    found = api(server, "GET", url, params={"query": f"is:unresolved lastSeen:>{cut}"}).json()
    assert [i["id"] for i in found] == [fresh["id"]]
    recent = api(server, "GET", url, params={"query": "lastSeen:-1h"}).json()
    assert {i["id"] for i in recent} == {old["id"], fresh["id"]}
    assert api(server, "GET", url, params={"query": "lastSeen:yesterday"}).status_code == 400


def test_a_token_without_the_scope_is_refused_with_sentrys_403(sentry: tuple[SentryEmulator, RunningServer]) -> None:
    emulator, server = sentry
    issue = new_issue(emulator)
    emulator.add_token("read-only-app-token", "application", ["event:read", "org:read"])
    path = f"/api/0/organizations/acme/issues/{issue['id']}/"
    assert api(server, "GET", path, token="read-only-app-token").status_code == 200
    refused = api(server, "PUT", path, token="read-only-app-token", json={"status": "resolved"})
    assert refused.status_code == 403
    assert refused.json() == {"detail": "You do not have permission to perform this action."}
    assert api(server, "GET", "/api/0/organizations/acme/members/", token="read-only-app-token").status_code == 403
    assert emulator.world.issue(issue["id"]).status == "unresolved"
    root = api(server, "GET", "/api/0/", token="read-only-app-token").json()
    assert root["version"] == "0" and root["auth"]["scopes"] == ["event:read", "org:read"]
    seeded = api(server, "GET", "/api/0/", token=APP_TOKEN).json()["auth"]["scopes"]
    assert "event:write" in seeded and "event:admin" not in seeded  # what the manifest asks for
    bad = requests.post(server.url + "/_sandbox/tokens", json={"token": "x" * 10, "as": "alice", "scopes": ["root"]},
                        timeout=10)
    assert bad.status_code == 400 and "unknown scopes" in json.dumps(bad.json())
