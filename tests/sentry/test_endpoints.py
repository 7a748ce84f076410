"""The Sentry builders render documented routes and refuse input that would hit the wrong route."""

from __future__ import annotations

import pytest

from shared.sentry import endpoints as sentry


def test_issue_routes_end_with_slash() -> None:
    assert sentry.get_issue("acme", 42).path == "/api/0/organizations/acme/issues/42/"
    assert sentry.latest_event("acme", "42").path == "/api/0/organizations/acme/issues/42/events/latest/"
    req = sentry.update_issue("acme", 42, {"status": "resolved"})
    assert (req.method, req.body) == ("PUT", {"status": "resolved"})


@pytest.mark.parametrize("bad", ["PROJ-1A", "", 0, -3, True, None])
def test_issue_id_must_be_numeric(bad: object) -> None:
    with pytest.raises(ValueError, match="issue id"):
        sentry.get_issue("acme", bad)  # type: ignore[arg-type]


def test_update_rejects_unknown_fields_and_statuses() -> None:
    with pytest.raises(ValueError, match="colour"):
        sentry.update_issue("acme", 1, {"colour": "red"})
    with pytest.raises(ValueError, match="archived"):
        sentry.update_issue("acme", 1, {"status": "archived"})
    with pytest.raises(ValueError, match="non-empty"):
        sentry.update_issue("acme", 1, {})


def test_list_issues_params() -> None:
    req = sentry.list_issues("acme", query="", project_ids=[1, 2], cursor="0:100:0", limit=50)
    assert req.query == {"limit": "50", "query": "", "project": ("1", "2"), "cursor": "0:100:0"}
    by_id = sentry.list_issues("acme", ids=[5, "6"])
    assert by_id.query["group"] == ("5", "6")
    with pytest.raises(ValueError, match="101"):
        sentry.list_issues("acme", ids=list(range(1, 102)))
    with pytest.raises(ValueError, match="limit"):
        sentry.list_issues("acme", limit=101)


def test_comments_members_external_issues() -> None:
    assert sentry.create_comment("acme", 1, "hi").body == {"text": "hi"}
    assert sentry.list_comments("acme", 1, cursor="c").query == {"cursor": "c"}
    assert sentry.list_members("acme", email="a@b.c").query == {"query": "email:a@b.c"}
    with pytest.raises(ValueError, match="email"):
        sentry.list_members("acme", email="a b@c")
    ext = sentry.create_external_issue("u-1", "42", "https://dev.azure.com/o/p/_workitems/edit/9", "P", 9)  # type: ignore[arg-type]
    assert ext.path == "/api/0/sentry-app-installations/u-1/external-issues/"
    assert ext.body == {"issueId": 42, "webUrl": "https://dev.azure.com/o/p/_workitems/edit/9",
                        "project": "P", "identifier": "9"}
    assert sentry.delete_external_issue("u-1", 7).path == "/api/0/sentry-app-installations/u-1/external-issues/7/"
    with pytest.raises(ValueError, match="web_url"):
        sentry.create_external_issue("u-1", 42, "javascript:alert(1)", "P", "9")
