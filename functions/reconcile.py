"""Timer: reconcile on RECONCILE_SCHEDULE (UTC, NCRONTAB). Repairs drift left by lost webhooks and
recreates ADO hook subscriptions that ADO disabled. A run that nears the function timeout stops
after a page and leaves a checkpoint; the next run resumes there."""

from __future__ import annotations

import logging

import azure.functions as func

from shared.error_reporting import reported
from shared.runtime import runtime

bp = func.Blueprint()
log = logging.getLogger(__name__)
BUDGET_S = 8 * 60  # host.json functionTimeout is 10 minutes


@bp.function_name("reconcile")
@bp.timer_trigger(arg_name="timer", schedule="%RECONCILE_SCHEDULE%", run_on_startup=False, use_monitor=True)
@reported("reconcile")
def reconcile(timer: func.TimerRequest) -> None:
    from shared.reconcile.run import reconciler, repair_subscriptions, summary  # heavy: kept off cold start

    rt = runtime()
    if timer.past_due:
        log.info("reconcile timer is past due; running now")
    for line in repair_subscriptions(rt):
        log.info(line)
    report = reconciler(rt).run(deadline_s=BUDGET_S)
    for decision in report.decisions:
        log.info("conflict: %s", decision)
    for outcome in report.outcomes:
        log.info("drift: %s", outcome)
    log.info(summary(report))
