"""SentryClient against a real loopback server: bearer auth, Link pagination, bulk ids, errors."""

from __future__ import annotations

import time

import pytest
from werkzeug.wrappers import Request, Response

from shared.sentry.client import SentryClient, sentry_base_url
from shared.sentry.errors import (
    DuplicateComment,
    SentryAuthError,
    SentryBadRequest,
    SentryNotFound,
    SentryRateLimited,
)
from shared.sentry.pagination import next_cursor
from tests.ado.scripted_server import FakeTime, reply, serve

TOKEN = "sntrys_secret_token_value"


def client(url: str, fake: FakeTime | None = None) -> SentryClient:
    fake = fake or FakeTime()
    return SentryClient(url, TOKEN, "acme", sleep=fake.sleep, clock=fake.clock, wall_clock=fake.clock)


def link(base: str, cursor: str, more: bool) -> str:
    prev = f'<{base}?cursor=0:0:1>; rel="previous"; results="false"; cursor="0:0:1"'
    nxt = f'<{base}?cursor={cursor}>; rel="next"; results="{"true" if more else "false"}"; cursor="{cursor}"'
    return f"{prev}, {nxt}"


def paged(request: Request) -> Response:
    page = {None: 0, "0:100:0": 1, "0:200:0": 2}[request.args.get("cursor")]
    items = [{"id": str(page * 10 + i)} for i in range(3)]
    nxt = f"0:{(page + 1) * 100}:0"
    return reply(items, headers={"Link": link("http://x/api/0/organizations/acme/issues/", nxt, page < 2)})


def test_iter_issues_follows_three_pages_then_stops() -> None:
    with serve(paged) as (app, url):
        issues = list(client(url).iter_issues(query="is:unresolved", project_ids=[7, 8]))
    assert [i["id"] for i in issues] == ["0", "1", "2", "10", "11", "12", "20", "21", "22"]
    assert [s.query.get("cursor") for s in app.seen] == [None, ["0:100:0"], ["0:200:0"]]
    assert all(s.query["project"] == ["7", "8"] and s.query["query"] == ["is:unresolved"] for s in app.seen)
    assert app.seen[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert app.seen[0].path == "/api/0/organizations/acme/issues/"


def test_next_cursor_needs_results_true() -> None:
    assert next_cursor(link("u", "0:100:0", True)) == "0:100:0"
    assert next_cursor(link("u", "0:100:0", False)) is None
    assert next_cursor(None) is None and next_cursor("garbage") is None


def test_issues_by_ids_in_chunks_of_100() -> None:
    def by_group(request: Request) -> Response:
        return reply([{"id": g} for g in request.args.getlist("group") if int(g) % 50])

    with serve(by_group) as (app, url):
        found = client(url).get_issues_by_ids([*range(1, 251), 3])
    assert [len(s.query["group"]) for s in app.seen] == [100, 100, 50]
    assert len(found) == 245 and "query" not in app.seen[0].query


def test_member_lookup_by_email_is_cached() -> None:
    member = {"id": "m1", "email": "a@b.c", "user": {"id": "u1", "email": "a@b.c", "emails": []}}
    with serve(reply([member])) as (app, url):
        c = client(url)
        assert c.member_by_email("A@b.c")["user"]["id"] == "u1"
        assert c.member_by_email("a@b.c")["id"] == "m1"
    assert len(app.seen) == 1 and app.seen[0].query["query"] == ["email:A@b.c"]


def test_rate_limit_string_body_and_reset_header() -> None:
    fake = FakeTime()
    body = '"You are attempting to use this endpoint too frequently. Limit is 40 requests in 1 seconds"'
    limited = reply(body, 429, {"X-Sentry-Rate-Limit-Reset": str(int(fake.now) + 5),
                                "X-Sentry-Rate-Limit-Remaining": "0"})
    with serve(limited, reply({"id": "1"})) as (_, url):
        assert client(url, fake).get_issue(1) == {"id": "1"}
    assert fake.sleeps == [pytest.approx(5)]
    never = reply(body, 429, {"X-Sentry-Rate-Limit-Reset": str(int(fake.now) + 10_000)})
    with serve(never) as (_, url), pytest.raises(SentryRateLimited, match="too frequently") as info:
        client(url, fake).get_issue(1)
    assert info.value.retry_after is not None


def test_typed_errors_without_the_token() -> None:
    cases = [(reply({"detail": "Invalid token"}, 401), SentryAuthError),
             (reply({"detail": "The requested resource does not exist"}, 404), SentryNotFound),
             (reply({"detail": "You have already posted that comment."}, 400), DuplicateComment),
             (reply({"status": ["not a valid choice"]}, 400), SentryBadRequest)]
    for answer, kind in cases:
        with serve(answer) as (_, url), pytest.raises(kind) as info:
            client(url).create_comment(5, "hello")
        assert TOKEN not in str(info.value)
    assert info.value.field_errors == {"status": ["not a valid choice"]}
    assert TOKEN not in repr(client("https://sentry.io"))


def test_comment_post_is_not_replayed_but_external_issue_upsert_is() -> None:
    with serve(reply({}, 502), reply({"id": "n"})) as (app, url), pytest.raises(Exception, match="502"):
        client(url).create_comment(5, "hello")
    assert len(app.seen) == 1
    with serve(reply({}, 502), reply({"id": "7", "displayName": "P#9"})) as (app, url):
        out = client(url).create_external_issue("uuid-1", 5, "https://dev.azure.com/o/P/_workitems/edit/9", "P", "9")
    assert out["id"] == "7" and len(app.seen) == 2
    assert app.seen[1].json() == {"issueId": 5, "webUrl": "https://dev.azure.com/o/P/_workitems/edit/9",
                                  "project": "P", "identifier": "9"}


def test_base_url_forms() -> None:
    assert sentry_base_url("de") == "https://de.sentry.io"
    assert sentry_base_url("https://sentry.example.com/api/0/") == "https://sentry.example.com"
    with pytest.raises(ValueError, match="region code"):
        sentry_base_url("sentry.io")
    with pytest.raises(ValueError, match="org"):
        SentryClient("https://sentry.io", TOKEN, " ")


def test_sentrys_own_429_is_waited_out_until_the_reset_header() -> None:
    """The emulator answers as Sentry's middleware does: ``{"detail": ...}``, no Retry-After, the
    window's end in ``X-Sentry-Rate-Limit-Reset``, and one budget for all of an app's tokens."""
    from sandbox.sentry.emulator import serve as serve_sentry
    from sandbox.sentry.seed import APP_TOKEN

    emulator, server = serve_sentry()
    try:
        emulator.add_token("sntrys_second_app_token", "application")
        emulator.limiter.limit, emulator.limiter.window_s, emulator.limiter.enforce = 2, 2, True
        # Sentry's windows are fixed (now // window): start just after a boundary, so the three calls
        # share one window however slowly a loaded machine makes them.
        time.sleep(2 - time.time() % 2 + 0.01)
        slept: list[float] = []
        first = SentryClient(server.url, APP_TOKEN, "acme", sleep=slept.append)
        second = SentryClient(server.url, "sntrys_second_app_token", "acme", sleep=slept.append)
        assert first.list_projects() and first.list_projects()
        with pytest.raises(SentryRateLimited, match="too frequently") as info:  # slept.append does not wait
            second.list_projects()
        assert info.value.retry_after is not None and 0 < info.value.retry_after <= 3
        assert slept and all(0 < s <= 3 for s in slept)
        assert SentryClient(server.url, APP_TOKEN, "acme").list_projects()  # really waits out the window
    finally:
        server.stop()


@pytest.mark.parametrize(("method", "path", "scope"), [
    ("PUT", "/api/0/organizations/acme/issues/5/", "event:write"),
    ("POST", "/api/0/organizations/acme/issues/5/comments/", "event:write"),
    ("DELETE", "/api/0/organizations/acme/issues/5/comments/9/", "event:admin"),
    ("GET", "/api/0/organizations/acme/issues/", "event:read"),
    ("GET", "/api/0/organizations/acme/members/", "member:read"),
    ("GET", "/api/0/organizations/acme/projects/", "org:read"),
    ("POST", "/api/0/organizations/acme/releases/", "project:releases"),
    ("GET", "/api/0/", None),
])
def test_a_403_names_the_scope_the_call_needed(method: str, path: str, scope: str | None) -> None:
    from shared.sentry.errors import SentryPermissionDenied, error_from_response

    error = error_from_response(403, '{"detail": "You do not have permission to perform this action."}', method, path)
    assert isinstance(error, SentryPermissionDenied) and error.scope == scope
    assert (f"needs the token scope {scope}" in str(error)) if scope else "needs" not in str(error)
