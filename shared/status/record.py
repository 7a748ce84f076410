"""What the status view needs, written by the work itself into the store's markers, bounded.

- Each reconcile run (when, how long, API calls, links read, drift found and repaired, errors): the
  newest `MAX_RUNS` are kept.
- Per day, the drift reconcile repaired (a day's totals, `MAX_DAYS` days kept).
- The links by state as of the last complete reconcile pass (it reads every link anyway, so counting
  costs nothing; the page never reads a link).
- The ADO service hook subscriptions as the timer's repair last found them.
- Sync failures, one record per failing subject (a queue message, a link) so retries overwrite rather
  than pile up; each expires after `FAILURE_TTL_S` and at most `MAX_FAILURES` are kept.

The failure shape is shared by every producer (queue functions, reconcile): `record_failure`'s
arguments. Reasons are exception text from our own clients, which never carry a credential.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime
from typing import Any

from shared.store import LinkStore

RUNS = "status-run"
DAYS = "status-day"
FAILURES = "status-failure"
LATEST = "status"  # point-read markers: ("status", "links"), ("status", "subscriptions")
LINK_COUNTS_KEY = "links"
SUBSCRIPTIONS_KEY = "subscriptions"
MAX_RUNS = 30
MAX_DAYS = 14
MAX_FAILURES = 300
FAILURE_TTL_S = 7 * 24 * 3600  # as long as Azure keeps a poison message (7 days by default)
REASON_CHARS = 500


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def day_of(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d")


def _prune(store: LinkStore, kind: str, keep: int) -> None:
    """Drop the oldest records of a kind beyond `keep` (keys sort by time)."""
    keys = [key for key, _ in store.list_markers(kind, limit=keep + 50)]
    for key in keys[:max(0, len(keys) - keep)]:
        store.delete_marker(kind, key)


# -- reconcile runs ------------------------------------------------------------------------------

def record_run(store: LinkStore, run: dict[str, Any]) -> None:
    """One reconcile run (``started``, epoch seconds, is its key) and its day's totals."""
    started = float(run["started"])
    store.set_marker(RUNS, f"{iso(started)}#{started:.6f}", run)
    _prune(store, RUNS, MAX_RUNS)
    day = day_of(started)
    totals = store.get_marker(DAYS, day) or {}
    store.set_marker(DAYS, day, {"drifted": totals.get("drifted", 0) + run.get("drifted", 0),
                                 "repaired": totals.get("repaired", 0) + run.get("writes", 0),
                                 "errors": totals.get("errors", 0) + len(run.get("errors") or ()),
                                 "runs": totals.get("runs", 0) + 1})
    _prune(store, DAYS, MAX_DAYS)


def recent_runs(store: LinkStore) -> list[dict[str, Any]]:
    """Newest first."""
    return [value for _, value in reversed(store.list_markers(RUNS, limit=MAX_RUNS + 50))]


def daily_totals(store: LinkStore) -> dict[str, dict[str, int]]:
    return dict(store.list_markers(DAYS, limit=MAX_DAYS + 50))


def record_link_counts(store: LinkStore, by_state: dict[str, int], at: float) -> None:
    store.set_marker(LATEST, LINK_COUNTS_KEY, {"at": at, "by_state": by_state, "total": sum(by_state.values())})


def link_counts(store: LinkStore) -> dict[str, Any] | None:
    return store.get_marker(LATEST, LINK_COUNTS_KEY)


def record_subscriptions(store: LinkStore, subscriptions: list[dict[str, Any]], at: float,
                         problem: str | None = None) -> None:
    store.set_marker(LATEST, SUBSCRIPTIONS_KEY, {"at": at, "subscriptions": subscriptions, "problem": problem})


def subscriptions(store: LinkStore) -> dict[str, Any] | None:
    return store.get_marker(LATEST, SUBSCRIPTIONS_KEY)


# -- failures ------------------------------------------------------------------------------------

def message_digest(text: str) -> str:
    """The key of a queue message's failure: its content, which a poison copy keeps byte for byte."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def describe_message(text: str) -> dict[str, Any]:
    """What a queue message (shared/intake.py's shape) is about, for a person: never its body."""
    try:
        message = json.loads(text)
    except ValueError:
        return {"summary": "not JSON", "event_type": None, "sentry_issue_id": None, "work_item_id": None}
    if not isinstance(message, dict):
        return {"summary": "not a JSON object", "event_type": None, "sentry_issue_id": None, "work_item_id": None}
    body = message.get("body") if isinstance(message.get("body"), dict) else {}
    if message.get("source") == "sentry":
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        issue = data.get("issue") if isinstance(data.get("issue"), dict) else {}
        event = data.get("event") if isinstance(data.get("event"), dict) else {}
        issue_id = issue.get("id") or data.get("issue_id") or event.get("issue_id")
        kind = f"{message.get('resource')}.{body.get('action')}"
        short = issue.get("shortId")
        what = f"Sentry issue {short or issue_id}" if issue_id else "no issue"
        return {"summary": f"{kind} for {what}", "event_type": kind,
                "sentry_issue_id": str(issue_id) if issue_id else None, "work_item_id": None}
    resource = body.get("resource") if isinstance(body.get("resource"), dict) else {}
    wid = resource.get("workItemId", resource.get("id"))
    kind = str(message.get("event_type") or body.get("eventType"))
    what = f"work item {wid}" if isinstance(wid, int) else "ADO"
    return {"summary": f"{kind} for {what}", "event_type": kind, "sentry_issue_id": None,
            "work_item_id": wid if isinstance(wid, int) else None}


def record_failure(store: LinkStore, source: str, subject: str, reason: str, *, summary: str = "",
                   event_type: str | None = None, sentry_issue_id: str | None = None,
                   work_item_id: int | None = None, attempt: int | None = None, now: float | None = None) -> None:
    """One failed sync of ``subject`` (a queue message digest, a link key) from ``source`` (the queue
    name, or "reconcile"). A retry of the same subject replaces the record, keeping its first time."""
    now = time.time() if now is None else now
    key = f"{source}:{subject}"
    first = (store.get_marker(FAILURES, key) or {}).get("first", now)
    store.set_marker(FAILURES, key, {
        "at": now, "first": first, "source": source, "subject": subject, "summary": summary,
        "reason": reason[:REASON_CHARS], "event_type": event_type, "sentry_issue_id": sentry_issue_id,
        "work_item_id": work_item_id, "attempt": attempt})
    listed = store.list_markers(FAILURES, limit=MAX_FAILURES * 4)
    stale = [k for k, v in listed if now - float(v.get("at", 0)) > FAILURE_TTL_S]
    fresh = sorted((v.get("at", 0), k) for k, v in listed if k not in stale)
    for k in stale + [k for _, k in fresh[:max(0, len(fresh) - MAX_FAILURES)]]:
        store.delete_marker(FAILURES, k)


def recent_failures(store: LinkStore, now: float | None = None) -> list[dict[str, Any]]:
    """Unexpired failures, newest first."""
    now = time.time() if now is None else now
    found = [v for _, v in store.list_markers(FAILURES, limit=MAX_FAILURES * 4)
             if now - float(v.get("at", 0)) <= FAILURE_TTL_S]
    return sorted(found, key=lambda v: v.get("at", 0), reverse=True)


def failure_of_message(store: LinkStore, queue: str, text: str) -> dict[str, Any] | None:
    """Why a (poison) message failed, if that is still recorded."""
    return store.get_marker(FAILURES, f"{queue}:{message_digest(text)}")
