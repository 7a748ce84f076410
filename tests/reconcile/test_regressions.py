"""The regression scan's own rules, with a scripted Sentry and syncer over a real SQLite store: what
it asks Sentry, which issues it carries, and where the next run starts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shared.config import Config
from shared.planner import Event
from shared.reconcile.regressions import FIRST_LOOKBACK, MARKER, OVERLAP, iso, scan
from shared.store.model import LINKED, Link, SyncedValues
from shared.store.sqlite import SqliteLinkStore
from tests.test_planner import CONFIG

NOW = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)


@dataclass
class ScriptedSentry:
    issues: list[dict[str, Any]]
    asked: list[dict[str, Any]] = field(default_factory=list)

    def iter_issues(self, **query: Any) -> Any:
        self.asked.append(query)
        yield from self.issues


@dataclass
class RecordingSyncer:
    fail_for: str | None = None
    handled: list[tuple[str, str]] = field(default_factory=list)

    def handle(self, event: Event, link: Link | None, **kw: Any) -> list[dict[str, Any]]:
        issue = event.data["issue"]
        if issue["id"] == self.fail_for:
            raise RuntimeError("ADO said 503")
        self.handled.append((issue["id"], event.kind.split(".", 1)[1]))
        return [{"kind": "update_work_item"}]


def issue(issue_id: str, minutes_ago: int, status: str = "unresolved") -> dict[str, Any]:
    return {"id": issue_id, "shortId": f"B-{issue_id}", "status": status,
            "lastSeen": (NOW - timedelta(minutes=minutes_ago)).isoformat()}


def store_with(tmp_path: Path, statuses: dict[str, str]) -> SqliteLinkStore:
    store = SqliteLinkStore(tmp_path / "links.sqlite")
    for n, (issue_id, status) in enumerate(statuses.items(), start=1):
        store.claim(Link(sentry_org=CONFIG.settings.sentry_org, sentry_issue_id=issue_id, work_item_id=n,
                         state=LINKED, synced=SyncedValues(sentry_status=status)))
    return store


def run(store: SqliteLinkStore, sentry: ScriptedSentry, syncer: RecordingSyncer, config: Config = CONFIG,
        now: datetime = NOW) -> Any:
    return scan(config, store, sentry, syncer, [21], now)


def test_only_links_still_resolved_or_ignored_are_carried_as_unresolved(tmp_path: Path) -> None:
    store = store_with(tmp_path, {"1": "resolved", "2": "ignored", "3": "unresolved"})
    sentry = ScriptedSentry([issue("1", 1), issue("2", 2), issue("3", 3), issue("4", 4)])  # 4 has no link
    syncer = RecordingSyncer()
    report = run(store, sentry, syncer)
    assert syncer.handled == [("1", "unresolved"), ("2", "unresolved")]
    assert (report.seen, report.reopened) == (4, 2)
    (asked,) = sentry.asked
    assert asked == {"query": f"is:unresolved lastSeen:>{iso(NOW - FIRST_LOOKBACK)}", "project_ids": [21],
                     "sort": "date"}


def test_the_next_run_starts_at_the_last_one_less_the_overlap_and_stops_at_older_issues(tmp_path: Path) -> None:
    store = store_with(tmp_path, {"1": "resolved", "2": "resolved"})
    run(store, ScriptedSentry([]), RecordingSyncer())
    later = NOW + timedelta(minutes=2)
    sentry = ScriptedSentry([issue("1", -1), issue("2", 30)])  # newest first; 2 is older than the window
    syncer = RecordingSyncer()
    scan(CONFIG, store, sentry, syncer, [21], later)
    assert sentry.asked[0]["query"] == f"is:unresolved lastSeen:>{iso(NOW - OVERLAP)}"
    assert syncer.handled == [("1", "unresolved")]


def test_a_failed_pair_does_not_stop_the_others_and_the_window_is_kept(tmp_path: Path) -> None:
    store = store_with(tmp_path, {"1": "resolved", "2": "resolved"})
    syncer = RecordingSyncer(fail_for="1")
    report = run(store, ScriptedSentry([issue("1", 1), issue("2", 2)]), syncer)
    assert syncer.handled == [("2", "unresolved")] and "ADO said 503" in report.errors[0]
    assert store.get_marker(MARKER, CONFIG.settings.sentry_org) is None  # the next run looks again


def test_no_routed_project_asks_nothing(tmp_path: Path) -> None:
    sentry = ScriptedSentry([issue("1", 1)])
    scan(CONFIG, store_with(tmp_path, {}), sentry, RecordingSyncer(), [], NOW)
    assert sentry.asked == []
