"""Releases, commits, deploys and "Fixes SHORT-ID" resolution in the Sentry emulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from sandbox.core import RunningServer
from sandbox.sentry.emulator import SentryEmulator, serve
from sandbox.sentry.releases import referenced_short_ids
from sandbox.sentry.seed import USER_TOKENS

AUTH = {"Authorization": f"Bearer {USER_TOKENS['alice@example.com']}"}
RELEASES = "/api/0/organizations/acme/releases/"


@pytest.fixture()
def sentry() -> Iterator[tuple[SentryEmulator, RunningServer]]:
    emulator, server = serve()
    yield emulator, server
    server.stop()


def call(server: RunningServer, method: str, path: str, body: object = None) -> requests.Response:
    return requests.request(method, server.url + path, json=body, headers=AUTH, timeout=10)


@pytest.mark.parametrize(("message", "expected"), [
    ("Fixes BACKEND-1A", ["BACKEND-1A"]),
    ("fix: BACKEND-1, frontend-2 and a follow-up", ["BACKEND-1", "FRONTEND-2", "FOLLOW-UP"]),
    ("[Resolves BACKEND-3](https://example.invalid/x)", ["BACKEND-3"]),
    ("Mentions BACKEND-4 without a keyword", []),
])
def test_referenced_short_ids(message: str, expected: list[str]) -> None:
    assert referenced_short_ids(message) == expected


def test_commits_resolve_referenced_issues_in_the_release(sentry: tuple[SentryEmulator, RunningServer]) -> None:
    emulator, server = sentry
    fixed = emulator.new_error("backend", "KeyError", "a", fingerprint="a")["issue"]
    untouched = emulator.new_error("backend", "KeyError", "b", fingerprint="b")["issue"]
    body = {"version": "web@1.2.3", "projects": ["backend"],
            "commits": [{"id": "a" * 40, "repository": "Web/app", "message": f"Fixes {fixed['shortId']}",
                         "timestamp": "2026-01-01T00:00:00Z"}]}
    created = call(server, "POST", RELEASES, body)
    assert created.status_code == 201 and created.json()["commitCount"] == 1
    assert call(server, "POST", RELEASES, body).status_code == 208
    issue = call(server, "GET", f"/api/0/issues/{fixed['id']}/").json()
    assert (issue["status"], issue["statusDetails"]) == ("resolved", {"inRelease": "web@1.2.3"})
    assert call(server, "GET", f"/api/0/issues/{untouched['id']}/").json()["status"] == "unresolved"
    commits = call(server, "GET", f"{RELEASES}web@1.2.3/commits/").json()
    assert [c["id"] for c in commits] == ["a" * 40]
    assert [r["name"] for r in call(server, "GET", "/api/0/organizations/acme/repos/").json()] == ["Web/app"]


def test_release_validation(sentry: tuple[SentryEmulator, RunningServer]) -> None:
    _, server = sentry
    assert call(server, "POST", RELEASES, {"version": "1.0", "projects": ["nope"]}).json() == {
        "projects": ["Invalid project ids or slugs"]}
    assert call(server, "POST", RELEASES, {"version": "latest", "projects": ["backend"]}).status_code == 400
    refs = call(server, "POST", RELEASES, {"version": "1.0", "projects": ["backend"],
                                          "refs": [{"repository": "unknown", "commit": "abc"}]})
    assert refs.json() == {"refs": ["Invalid repository names: unknown"]}
    assert call(server, "PUT", f"{RELEASES}9.9/", {"ref": "x"}).status_code == 404


def test_deploys_are_recorded_each_time(sentry: tuple[SentryEmulator, RunningServer]) -> None:
    _, server = sentry
    call(server, "POST", RELEASES, {"version": "2.0", "projects": ["backend"]})
    for _ in range(2):
        assert call(server, "POST", f"{RELEASES}2.0/deploys/", {"environment": "production"}).status_code == 201
    assert len(call(server, "GET", f"{RELEASES}2.0/deploys/").json()) == 2
    assert call(server, "POST", f"{RELEASES}2.0/deploys/", {"name": "no env"}).status_code == 400
    assert call(server, "POST", f"{RELEASES}3.0/deploys/", {"environment": "production"}).status_code == 404
    updated = call(server, "PUT", f"{RELEASES}2.0/", {"commits": [{"id": "b" * 40, "repository": "r"}]})
    assert updated.json()["commitCount"] == 1
    assert call(server, "PUT", f"{RELEASES}2.0/", {"refs": []}).json()["commitCount"] == 0
