"""Timer: every two minutes, reopen the work items of Sentry issues that regressed or escalated
(shared/reconcile/regressions.py). Sentry sends ``issue.unresolved`` only behind an organization
feature flag, so without this a regression would wait for the full reconciliation."""

from __future__ import annotations

import logging

import azure.functions as func

from shared.error_reporting import reported
from shared.runtime import runtime

bp = func.Blueprint()
log = logging.getLogger(__name__)
SCHEDULE = "0 */2 * * * *"  # NCRONTAB, UTC: one Sentry call per run in the common case


@bp.function_name("regressions")
@bp.timer_trigger(arg_name="timer", schedule=SCHEDULE, run_on_startup=False, use_monitor=True)
@reported("regressions")
def regressions(timer: func.TimerRequest) -> None:
    from shared.reconcile.regressions import summary  # heavy: kept off cold start
    from shared.reconcile.run import regression_scan

    report = regression_scan(runtime())
    for error in report.errors:
        log.warning("regression scan error: %s", error)
    log.info(summary(report))
