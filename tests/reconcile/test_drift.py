"""Drift detection and conflict decisions (pure)."""

from __future__ import annotations

import pytest

from shared.planner import RECONCILE
from shared.reconcile.drift import (
    ado_event,
    ado_values,
    changed_fields,
    decide_conflict,
    sentry_change_time,
    sentry_event,
    sentry_values,
)
from shared.store.model import LINKED, Link, SyncedValues

LINK = Link(sentry_org="acme", sentry_issue_id="1", work_item_id=7, state=LINKED,
            synced=SyncedValues(sentry_status="unresolved", sentry_assignee="user:1", sentry_title="Boom",
                                ado_state="Active", ado_assignee="alice@contoso.com", ado_title="[B-1] Boom",
                                ado_rev=4))
ISSUE = {"id": "1", "status": "unresolved", "assignedTo": {"type": "user", "id": "1"}, "title": "Boom"}
ITEM = {"id": 7, "rev": 4, "fields": {"System.State": "Active", "System.Title": "[B-1] Boom",
                                      "System.AssignedTo": {"uniqueName": "alice@contoso.com"},
                                      "System.ChangedBy": "Dana <dana@contoso.com>",
                                      "System.ChangedDate": "2026-11-27T06:00:00Z"}}


def test_in_sync_pair_has_no_drift() -> None:
    assert changed_fields(LINK, "sentry", sentry_values(ISSUE)) == set()
    assert changed_fields(LINK, "ado", ado_values(ITEM)) == set()


@pytest.mark.parametrize(("change", "expect"), [
    ({"status": "resolved"}, {"status"}),
    ({"assignedTo": None}, {"assignee"}),
    ({"assignedTo": {"type": "team", "id": "11"}}, {"assignee"}),
    ({"title": "Boom!", "status": "ignored"}, {"status", "title"}),
])
def test_sentry_changes_are_seen(change: dict, expect: set) -> None:
    assert changed_fields(LINK, "sentry", sentry_values({**ISSUE, **change})) == expect


def test_ado_changes_are_seen() -> None:
    moved = {**ITEM, "fields": {**ITEM["fields"], "System.State": "Closed", "System.AssignedTo": None}}
    assert changed_fields(LINK, "ado", ado_values(moved)) == {"status", "assignee"}


@pytest.mark.parametrize(("rule", "s_time", "a_time", "winner"), [
    ("latest", "2026-11-27T06:00:00Z", "2026-11-27T05:00:00Z", "sentry"),
    ("latest", "2026-11-27T05:00:00+00:00", "2026-11-27T06:00:00Z", "ado"),
    ("latest", None, "2026-11-27T06:00:00Z", "ado"),
    ("latest", "2026-11-27T06:00:00Z", None, "sentry"),
    ("latest", None, None, "ado"),
    ("sentry", "2026-11-27T05:00:00Z", "2026-11-27T06:00:00Z", "sentry"),
    ("ado", "2026-11-27T07:00:00Z", "2026-11-27T06:00:00Z", "ado"),
])
def test_conflicts(rule: str, s_time, a_time, winner: str) -> None:
    decision = decide_conflict("status", rule, s_time, a_time)
    assert decision.winner == winner and decision.reason


def test_sentry_change_time_reads_activity() -> None:
    detail = {"activity": [{"type": "set_resolved", "dateCreated": "2026-11-27T05:00:00Z"},
                           {"type": "note", "dateCreated": "2026-11-27T07:00:00Z"},
                           {"type": "set_unresolved", "dateCreated": "2026-11-27T06:00:00Z"},
                           {"type": "assigned", "dateCreated": "2026-11-27T08:00:00Z"}]}
    assert sentry_change_time(detail, "status").startswith("2026-11-27T06:00:00")
    assert sentry_change_time(detail, "assignee").startswith("2026-11-27T08:00:00")
    assert sentry_change_time({}, "status") is None


def test_synthesised_events_carry_the_change() -> None:
    resolved = {**ISSUE, "status": "resolved", "assignedTo": None}
    events = sentry_event(resolved, {"status", "assignee"})
    assert [(e.source, e.kind) for e in events] == [("sentry", "issue.resolved"), ("sentry", "issue.assigned")]
    assert {e.origin for e in events} == {RECONCILE} and "assignee" not in events[1].data
    moved = {**ITEM, "rev": 5, "fields": {**ITEM["fields"], "System.State": "Closed"}}
    hook = ado_event(LINK, moved, {"status"})
    assert (hook.source, hook.kind, hook.origin) == ("ado", "workitem.updated", RECONCILE)
    assert hook.body["resource"]["fields"] == {"System.State": {"oldValue": "Active", "newValue": "Closed"}}
    assert hook.body["resource"]["revisedBy"]["uniqueName"] == "dana@contoso.com" and hook.body["resource"]["rev"] == 5
    assert ado_event(LINK, moved, set()) is None
