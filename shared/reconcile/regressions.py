"""The regression scan: reopen the work items of issues that regressed or escalated, within minutes,
without the ``issue.unresolved`` webhook.

Sentry sends ``issue.unresolved`` only behind the organization feature flag
``organizations:webhooks-unresolved`` (off by default), so a regression (a resolved issue gets a
new event) or an escalation (an issue archived until escalating escalates) usually reaches us
through nothing. Both bump the issue's ``lastSeen``, so one query finds them:
``is:unresolved lastSeen:>{last run}`` over the routed projects, newest first. Each issue found
whose link still says resolved or ignored becomes the ``issue.unresolved`` webhook the flag would
have sent, and goes through the same planner as every webhook.

Cost per run: one call per 100 unresolved issues seen since the last run in the routed projects
(one call in the common case), plus the project list once an hour (cached in the store); each
reopened work item then costs what its webhook would have (the work item read and one write). A
run that finds no regression makes no other call. Manual unresolves (which bump no ``lastSeen``)
and links of projects without a route are left to the full reconciliation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.config import Config
from shared.reconcile import drift
from shared.reconcile.engine import EventSyncer
from shared.store import LinkStore

log = logging.getLogger(__name__)
MARKER = "regression-scan"
OVERLAP = timedelta(seconds=30)  # Sentry writes lastSeen from a buffer, a little after the event
FIRST_LOOKBACK = timedelta(hours=1)  # the first run, with no marker yet, looks back this far
REOPENED_STATUSES = ("resolved", "ignored")


@dataclass
class ScanReport:
    since: str
    seen: int = 0  # unresolved issues seen since then in the routed projects
    reopened: int = 0  # of them, linked issues whose link said resolved or ignored
    planned: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def scan(config: Config, store: LinkStore, sentry: Any, syncer: EventSyncer, project_ids: list[int | str],
         now: datetime, dry_run: bool = False) -> ScanReport:
    """One run: find what regressed or escalated since the last run and carry it like its webhook."""
    org = config.settings.sentry_org
    marker = store.get_marker(MARKER, org)
    last = drift.parse_time(marker.get("at")) if marker else None
    since = (last - OVERLAP) if last else now - FIRST_LOOKBACK
    report = ScanReport(since=iso(since))
    if not project_ids:
        return report
    query = f"is:unresolved lastSeen:>{iso(since)}"
    for issue in sentry.iter_issues(query=query, project_ids=project_ids, sort="date"):
        seen = drift.parse_time(issue.get("lastSeen"))
        if seen is not None and seen < since:
            break  # newest first: where the filter is not supported, the window's end stops the scan
        report.seen += 1
        link = store.get_by_issue(org, str(issue["id"]))
        if link is None or not link.is_linked or link.synced.sentry_status not in REOPENED_STATUSES:
            continue
        report.reopened += 1
        for event in drift.sentry_event(issue, {"status"}):
            try:
                done = syncer.handle(event, link, issue=issue, dry_run=dry_run)
            except Exception as exc:  # one failing pair must not stop the others; the next run retries it
                report.errors.append(f"Sentry issue {issue.get('shortId') or issue['id']}: {exc}")
                log.warning("regression scan: %s", report.errors[-1])
                continue
            report.planned.extend(done)
    if not dry_run and not report.errors:
        store.set_marker(MARKER, org, {"at": iso(now) + "Z"})
    return report


def summary(report: ScanReport) -> str:
    return (f"regression scan since {report.since}Z: {report.seen} unresolved issues seen, {report.reopened} "
            f"reopened, {len(report.errors)} errors")
