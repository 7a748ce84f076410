"""The pure parts of the Sentry emulator: spec validation, pagination, short ids, issue updates."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sandbox.sentry.issue_update import InvalidUpdate, apply_update
from sandbox.sentry.model import Issue
from sandbox.sentry.pagination import InvalidCursor, paginate, parse_cursor
from sandbox.sentry.releases import Release
from sandbox.sentry.seed import default_organization
from sandbox.sentry.spec import validate_request
from sandbox.sentry.world import short_id

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
ISSUE = "/api/0/organizations/acme/issues/1/"


@pytest.mark.parametrize(("method", "path", "query", "body", "expected"), [
    ("PUT", ISSUE, {}, {"status": "bogus"}, ['body status: "bogus" is not a valid choice.']),
    ("PUT", ISSUE, {}, {"status": "ignored", "statusDetails": {"ignoreWindow": 20000}},
     ["body statusDetails.ignoreWindow"]),
    ("GET", "/api/0/organizations/acme/issues/", {"limit": "ten"}, None, ["query limit: 'ten' is not an integer"]),
    ("GET", "/api/0/organizations/acme/issues/", {"sort": "oldest"}, None, ["query sort:"]),
    ("POST", "/api/0/issues/1/comments/", {}, {"text": ""}, ["body text:"]),
    ("POST", "/api/0/sentry-app-installations/u/external-issues/", {}, {"issueId": 1}, ["body webUrl"]),
    ("PATCH", ISSUE, {}, None, ["method: PATCH is not allowed"]),
    ("GET", "/api/0/no-such-thing/", {}, None, ["route:"]),
])
def test_validate_request_names_the_bad_input(method: str, path: str, query: dict, body: object,
                                              expected: list[str]) -> None:
    problems = validate_request(method, path, query, "application/json", body)
    assert len(problems) >= len(expected)
    for prefix in expected:
        assert any(p.startswith(prefix) for p in problems), problems


@pytest.mark.parametrize(("method", "path", "query", "body"), [
    ("PUT", ISSUE, {}, {"status": "resolved", "statusDetails": {"inNextRelease": True}}),
    ("PUT", ISSUE, {}, {"assignedTo": ""}),
    ("GET", "/api/0/organizations/acme/issues/", {"group": ["1", "2"], "query": "", "cursor": ""}, None),
    ("GET", "/api/0/organizations/acme/issues/1/events/latest/", {}, None),
    ("PUT", "/api/0/projects/acme/backend/issues/", {"id": ["1", "2"]}, {"status": "resolved",
                                                                        "snoozeDuration": None}),
    ("POST", "/api/0/organizations/acme/issues/1/comments/", {}, {"text": "hello"}),
])
def test_validate_request_accepts_what_sentry_accepts(method: str, path: str, query: dict, body: object) -> None:
    assert validate_request(method, path, query, "application/json", body) == []


def test_wrong_content_type_is_reported() -> None:
    assert validate_request("PUT", ISSUE, {}, "text/plain", {"status": "resolved"})[0].startswith("content_type")


def test_paginate_offsets_and_link_flags() -> None:
    items = list(range(5))
    first = paginate(items, None, 2, "http://h/api/0/x/", [("query", "is:unresolved")])
    assert first.items == [0, 1]
    assert first.link == ('<http://h/api/0/x/?query=is%3Aunresolved&cursor=0:0:1>; rel="previous"; results="false"; '
                          'cursor="0:0:1", <http://h/api/0/x/?query=is%3Aunresolved&cursor=0:2:0>; rel="next"; '
                          'results="true"; cursor="0:2:0"')
    last = paginate(items, "0:4:0", 2, "http://h/api/0/x/", [])
    assert last.items == [4] and 'rel="next"; results="false"' in last.link and 'cursor="0:2:1"' in last.link
    with pytest.raises(InvalidCursor):
        parse_cursor("4")


@pytest.mark.parametrize(("number", "expected"), [(1, "BACKEND-1"), (31, "BACKEND-Z"), (42, "BACKEND-1A"),
                                                  (1024, "BACKEND-100")])
def test_short_ids_use_sentrys_base32(number: int, expected: str) -> None:
    assert short_id("backend", number) == expected


def _issue() -> Issue:
    return Issue(id=5, short_id="BACKEND-1", project_id=21, title="E: x", culprit="c", level="error",
                 fingerprint="f", first_seen=NOW, last_seen=NOW, metadata={})


@pytest.mark.parametrize(("body", "status", "details", "actions"), [
    ({"status": "resolvedInNextRelease"}, "resolved", {"inNextRelease": True}, ("resolved",)),
    ({"status": "resolved", "statusDetails": {"inRelease": "1.2.3"}}, "resolved", {"inRelease": "1.2.3"},
     ("resolved",)),
    ({"status": "muted"}, "ignored", {}, ("ignored",)),
    ({"status": "ignored", "statusDetails": {"ignoreDuration": 30}}, "ignored",
     {"ignoreDuration": 30, "ignoreUntil": "2026-01-02T03:34:05.000000Z"}, ("ignored",)),
    ({"status": "unresolved"}, "unresolved", {}, ()),
    ({"assignedTo": "team:11", "priority": "low"}, "unresolved", {}, ("assigned",)),
])
def test_apply_update(body: dict, status: str, details: dict, actions: tuple) -> None:
    org = default_organization()
    org.releases["1.2.3"] = Release("1.2.3", ["backend"], "2026-01-01T00:00:00.000000Z")
    outcome = apply_update(org, _issue(), body, NOW)
    assert (outcome.issue.status, outcome.issue.status_details, outcome.actions) == (status, details, actions)


@pytest.mark.parametrize("body", [{"status": "done"}, {"priority": "urgent"}, {"assignedTo": "team:12"},
                                  {"assignedTo": "user:99"}, {"status": "resolved", "substatus": "ongoing"},
                                  {"hasSeen": "yes"}])
def test_apply_update_rejects_and_leaves_the_issue_alone(body: dict) -> None:
    issue = _issue()
    with pytest.raises(InvalidUpdate):
        apply_update(default_organization(), issue, body, NOW)
    assert (issue.status, issue.assigned_to, issue.priority) == ("unresolved", None, "high")
