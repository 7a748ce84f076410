"""One reconcile run as the timer and `sentry-ado reconcile` start it: the engine over the runtime's
store and clients, plus the repair of ADO service hook subscriptions ADO disabled; and the frequent
regression scan its own timer runs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from shared.config import Config
from shared.contract import ADO_WEBHOOK_PATH
from shared.reconcile.engine import Reconciler, Report
from shared.reconcile.regressions import ScanReport, scan
from shared.setup.subscriptions import Change, ensure_subscriptions, events_for
from shared.status import record
from shared.store import LinkStore

log = logging.getLogger(__name__)


class Runtime(Protocol):
    """What a run needs of shared/runtime.py's `Runtime`, named here so reconcile does not import the
    runtime, which builds everything and so sits above it: the caller hands its runtime in."""

    config: Config

    @property
    def store(self) -> LinkStore: ...

    @property
    def ado(self) -> Any: ...

    @property
    def sentry(self) -> Any: ...

    @property
    def syncer(self) -> Any: ...

    @property
    def metadata(self) -> Any: ...


def reconciler(rt: Runtime, progress: Callable[[Report], None] | None = None) -> Reconciler:
    return Reconciler(rt.config, rt.store, rt.ado, rt.sentry, rt.syncer, progress=progress)


def repair_subscriptions(rt: Runtime, dry_run: bool = False) -> list[str]:
    """Recreate hook subscriptions ADO disabled (it does after repeated delivery failures), and
    record what each subscription looked like for the status view."""
    s = rt.config.settings
    if not s.app_base_url:
        problem = "subscriptions not checked: set APP_BASE_URL (in Azure, WEBSITE_HOSTNAME is set for you)"
        if not dry_run:
            record.record_subscriptions(rt.store, [], time.time(), problem)
        return [problem]
    projects = sorted({r.ado_project for r in rt.config.rules.routes})
    try:
        changes = ensure_subscriptions(rt.ado, projects, f"{s.app_base_url}{ADO_WEBHOOK_PATH}",
                                       s.ado_hook_secret.reveal(), dry_run=dry_run,
                                       events=events_for(rt.config.rules.commit_tracking))
    except Exception as exc:
        if not dry_run:
            record.record_subscriptions(rt.store, [], time.time(), f"could not check: {type(exc).__name__}: {exc}")
        raise
    if not dry_run:
        record.record_subscriptions(rt.store, [subscription_health(c) for c in changes], time.time())
    return [f"subscription {c.action}: {c.event_type} in {c.project} ({c.reason})" for c in changes
            if c.action != "keep"]


def subscription_health(change: Change) -> dict[str, Any]:
    """One subscription as the status view shows it: healthy, or what was wrong and what was done."""
    healthy = change.action == "keep"
    return {"project": change.project, "event_type": change.event_type, "id": change.subscription_id,
            "healthy": healthy, "action": change.action, "detail": change.reason}


def summary(report: Report) -> str:
    state = "finished" if report.finished else "stopped early; the next run resumes from the checkpoint"
    return (f"reconcile {state}: {report.links} links in {report.pages} pages, {report.drifted} drifted, "
            f"{report.writes} writes, {report.created} work items created, {report.unlinked} unlinked, "
            f"{len(report.bad)} links skipped (each logged with its key, reason and fix)")


def regression_scan(rt: Runtime, dry_run: bool = False) -> ScanReport:
    """One regression scan over the routed Sentry projects (their ids cached in the store for an hour)."""
    slugs = {slug for route in rt.config.rules.routes for slug in route.sentry_projects}
    ids = rt.metadata.sentry_project_ids()
    wanted = sorted(ids[slug] for slug in slugs if slug in ids)
    return scan(rt.config, rt.store, rt.sentry, rt.syncer, wanted, datetime.now(UTC), dry_run)
