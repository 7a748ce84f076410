"""What the status view keeps, kept bounded: runs, days, failures (TTL and cap), one record per
failing subject, and queue messages described without their bodies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.status import record
from shared.store.sqlite import SqliteLinkStore

DAY = 24 * 3600.0


@pytest.fixture
def store(tmp_path: Path) -> SqliteLinkStore:
    return SqliteLinkStore(tmp_path / "links.sqlite")


def run(started: float, writes: int = 1, errors: tuple[str, ...] = ()) -> dict:
    return {"started": started, "duration_s": 1.0, "api_calls": 3, "links": 10, "drifted": writes,
            "writes": writes, "errors": list(errors), "finished": True}


def test_runs_keep_the_newest_and_add_up_per_day(store) -> None:
    t0 = 1_800_000_000.0
    for i in range(record.MAX_RUNS + 7):
        record.record_run(store, run(t0 + i * 900, writes=i % 3, errors=("x",) if i == 0 else ()))
    runs = record.recent_runs(store)
    assert len(runs) == record.MAX_RUNS
    assert runs[0]["started"] == t0 + (record.MAX_RUNS + 6) * 900  # newest first
    totals = record.daily_totals(store)
    assert sum(d["runs"] for d in totals.values()) == record.MAX_RUNS + 7  # days keep every run's totals
    assert sum(d["repaired"] for d in totals.values()) == sum(i % 3 for i in range(record.MAX_RUNS + 7))
    assert sum(d["errors"] for d in totals.values()) == 1


def test_days_are_bounded(store) -> None:
    for i in range(record.MAX_DAYS + 5):
        record.record_run(store, run(1_800_000_000.0 + i * DAY))
    days = sorted(record.daily_totals(store))
    assert len(days) == record.MAX_DAYS and days[-1] == record.day_of(1_800_000_000.0 + (record.MAX_DAYS + 4) * DAY)


def test_a_retried_failure_is_one_record_that_keeps_its_first_time(store) -> None:
    record.record_failure(store, "sentry-events", "abc", "AdoError: 503", attempt=1, now=100.0)
    record.record_failure(store, "sentry-events", "abc", "AdoError: 404 project", attempt=2, now=160.0)
    (only,) = record.recent_failures(store, now=200.0)
    assert (only["first"], only["at"], only["attempt"], only["reason"]) == (100.0, 160.0, 2, "AdoError: 404 project")


def test_failures_expire_and_are_capped(store) -> None:
    now = 1_800_000_000.0
    record.record_failure(store, "reconcile", "old", "boom", now=now - record.FAILURE_TTL_S - 1)
    for i in range(record.MAX_FAILURES + 10):
        record.record_failure(store, "ado-events", f"m{i:04d}", "boom", now=now + i)
    kept = record.recent_failures(store, now=now + record.MAX_FAILURES + 10)
    assert len(kept) == record.MAX_FAILURES
    assert kept[0]["subject"] == f"m{record.MAX_FAILURES + 9:04d}" and kept[-1]["subject"] == "m0010"
    assert len(store.list_markers(record.FAILURES, limit=10_000)) == record.MAX_FAILURES  # pruned, not hidden


def test_a_poison_message_finds_its_failure_by_content(store) -> None:
    text = json.dumps({"source": "sentry", "resource": "issue", "body": {
        "action": "created", "data": {"issue": {"id": "42", "shortId": "BACKEND-7"}}}})
    about = record.describe_message(text)
    assert about == {"summary": "issue.created for Sentry issue BACKEND-7", "event_type": "issue.created",
                     "sentry_issue_id": "42", "work_item_id": None}
    record.record_failure(store, "sentry-events", record.message_digest(text), "AdoError: 401", **about)
    assert record.failure_of_message(store, "sentry-events", text)["reason"] == "AdoError: 401"
    assert record.failure_of_message(store, "sentry-events", text + " ") is None


@pytest.mark.parametrize(("text", "summary"), [
    ('{"source": "ado", "event_type": "workitem.updated", "body": {"resource": {"workItemId": 7}}}',
     "workitem.updated for work item 7"),
    ('{"source": "sentry", "resource": "comment", "body": {"action": "created", "data": {"issue_id": 5}}}',
     "comment.created for Sentry issue 5"),
    ("{broken", "not JSON"),
    ("[1]", "not a JSON object"),
])
def test_messages_are_described_for_a_person(text: str, summary: str) -> None:
    assert record.describe_message(text)["summary"] == summary
