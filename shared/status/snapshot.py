"""Everything the status view shows, gathered in a bounded number of reads, never one per link.

Reads: two point reads (links by state, subscriptions), three short marker lists (runs, days,
failures: each kept bounded by `record`), and per sync queue its depth and its poison queue's depth
and oldest few messages. The result is plain JSON data; `render` turns it into HTML or text.
Nothing secret is in it: settings that hold a secret are shown as set or not set.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.config import Config
from shared.queues import SYNC_QUEUES, QueueAccess, poison_of
from shared.status import record
from shared.store import LinkStore

CHART_DAYS = 7
SHOWN_RUNS = 10
SHOWN_FAILURES = 20
PEEKED = 3


def gather(config: Config, store: LinkStore, queues: QueueAccess | None, now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    failures = record.recent_failures(store, now)
    return {
        "generated_at": record.iso(now),
        "links": record.link_counts(store),
        "runs": record.recent_runs(store)[:SHOWN_RUNS],
        "chart": chart(record.daily_totals(store), failures, now),
        "failures": failures[:SHOWN_FAILURES],
        "failure_count": len(failures),
        "queues": queue_view(store, queues),
        "subscriptions": record.subscriptions(store),
        "config": config_view(config),
    }


def chart(days: dict[str, dict[str, int]], failures: list[dict[str, Any]], now: float) -> list[dict[str, Any]]:
    """Drift repaired (reconcile's writes) and sync failures (failing messages and links) per day,
    oldest first, the last `CHART_DAYS` days including today."""
    today = datetime.fromtimestamp(now, UTC).date()
    labels = [(today - timedelta(days=n)).isoformat() for n in range(CHART_DAYS - 1, -1, -1)]
    failed: dict[str, int] = {}
    for f in failures:
        day = record.day_of(float(f.get("at", 0)))
        failed[day] = failed.get(day, 0) + 1
    return [{"day": d, "repaired": (days.get(d) or {}).get("repaired", 0),
             "drifted": (days.get(d) or {}).get("drifted", 0), "failures": failed.get(d, 0)} for d in labels]


def queue_view(store: LinkStore, queues: QueueAccess | None) -> dict[str, Any]:
    if queues is None:
        return {"available": False, "detail": "no queue storage configured (AzureWebJobsStorage)", "queues": []}
    out = []
    try:
        for name in SYNC_QUEUES:
            poison = poison_of(name)
            oldest = []
            for message in queues.peek(poison, PEEKED):
                about = record.describe_message(message.text)
                failure = record.failure_of_message(store, name, message.text)
                oldest.append({"summary": about["summary"],
                               "since": record.iso(message.inserted_at) if message.inserted_at else None,
                               "reason": failure["reason"] if failure else "not recorded (older than the failure TTL)"})
            out.append({"queue": name, "depth": queues.depth(name), "poison": poison,
                        "poison_depth": queues.depth(poison), "oldest": oldest})
    except Exception as exc:  # the page still shows the rest
        return {"available": False, "detail": f"could not read the queues: {type(exc).__name__}", "queues": out}
    return {"available": True, "detail": "", "queues": out}


def config_view(config: Config) -> dict[str, Any]:
    s, rules = config.settings, config.rules
    secrets = {"SENTRY_TOKEN": s.sentry_token, "SENTRY_CLIENT_SECRET": s.sentry_client_secret,
               "ADO_HOOK_SECRET": s.ado_hook_secret, "ADO_PAT": s.ado_pat, "ADO_CLIENT_SECRET": s.ado_client_secret}
    return {
        "settings": {"SENTRY_BASE_URL": s.sentry_base_url, "SENTRY_ORG": s.sentry_org, "ADO_ORG_URL": s.ado_org_url,
                     "ADO_AUTH": s.ado_auth, "LINK_STORE": s.link_store, "RECONCILE_SCHEDULE": s.reconcile_schedule,
                     "SENTRY_INSTALLATION_UUID": s.sentry_installation_uuid or "(learned from webhooks)",
                     "APP_BASE_URL": s.app_base_url or "(not set)"},
        "secrets": {name: "set" if value else "not set" for name, value in secrets.items()},
        "routes": [{"sentry_projects": list(r.sentry_projects), "ado_project": r.ado_project,
                    "work_item_type": r.work_item_type, "area_path": r.area_path or "",
                    "iteration_path": r.iteration_path or "", "auto_create": r.auto_create.enabled,
                    "resolution": rules.resolution_strategy(r.sentry_projects[0]) if r.sentry_projects
                    else rules.states.resolution_strategy}
                   for r in rules.routes],
        "rules": {"directions": dict(rules.directions), "conflict": rules.conflict,
                  "done_categories": list(rules.states.done_categories), "ignored": rules.states.ignored_action,
                  "commit_tracking": rules.releases is not None},
    }
