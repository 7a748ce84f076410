"""Drift: how a linked pair differs from what was last synced, and which side's change wins. Pure.

Theory of operation. A link remembers the values both sides agreed on at the last sync
(`SyncedValues`). Reconciliation reads both sides in batches and, per field, compares each side's
current value with that memory:
- only Sentry changed  -> Sentry's change is carried to ADO;
- only ADO changed     -> ADO's change is carried to Sentry;
- both changed         -> the configured rule decides (``latest``: the later change wins, by the
                          Sentry activity time vs ``System.ChangedDate``; or ``sentry`` / ``ado``),
                          and the decision is returned so the caller can log it;
- neither changed      -> nothing to do.

A detected change is not turned into API calls here. It is turned into the event a lost delivery
would have carried (`sentry_event`, `ado_event`, origin ``RECONCILE``), and the one planner plans
it, so the rules for "how an ADO state becomes a Sentry status" live in one place for webhooks and
reconciliation alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.contract import WORKITEM_UPDATED
from shared.mapping.identities import ado_unique_name, sentry_actor
from shared.planner import ADO, RECONCILE, SENTRY, Event
from shared.store.model import Link

FIELDS = ("status", "assignee", "title")
# Sentry activity types that record each field's change (issue details' ``activity`` list).
_ACTIVITY_TYPES = {
    "status": {"set_resolved", "set_unresolved", "set_ignored", "set_regression", "set_resolved_in_release",
               "set_resolved_by_age", "set_resolved_in_commit", "set_resolved_in_pull_request", "set_escalating",
               "auto_set_ongoing"},
    "assignee": {"assigned", "unassigned"},
    "title": set(),
}


def sentry_values(issue: dict[str, Any]) -> dict[str, Any]:
    return {"status": issue.get("status"), "assignee": sentry_actor(issue.get("assignedTo")),
            "title": issue.get("title")}


def ado_values(work_item: dict[str, Any]) -> dict[str, Any]:
    fields = work_item.get("fields", {})
    return {"status": fields.get("System.State"), "assignee": ado_unique_name(fields.get("System.AssignedTo")),
            "title": fields.get("System.Title")}


def _synced(link: Link, side: str) -> dict[str, Any]:
    s = link.synced
    if side == "sentry":
        return {"status": s.sentry_status, "assignee": s.sentry_assignee, "title": s.sentry_title}
    return {"status": s.ado_state, "assignee": s.ado_assignee, "title": s.ado_title}


def changed_fields(link: Link, side: str, current: dict[str, Any], fields: tuple[str, ...] = FIELDS) -> set[str]:
    """Fields whose current value on `side` differs from the value last synced from or to it."""
    before = _synced(link, side)
    return {f for f in fields if current.get(f) != before.get(f)}


@dataclass(frozen=True)
class Decision:
    field: str
    winner: str  # "sentry" | "ado"
    reason: str


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def sentry_change_time(issue_detail: dict[str, Any], field: str) -> str | None:
    """When Sentry last changed `field`, from the issue details' activity (None when unknown)."""
    kinds = _ACTIVITY_TYPES.get(field, set())
    times = [a.get("dateCreated") for a in issue_detail.get("activity") or [] if a.get("type") in kinds]
    parsed = [t for t in (parse_time(x) for x in times) if t is not None]
    return max(parsed).isoformat() if parsed else None


def decide_conflict(field: str, rule: str, sentry_time: str | None, ado_time: str | None) -> Decision:
    """Both sides changed `field` since the last sync: who wins, and why (for the log)."""
    if rule in ("sentry", "ado"):
        return Decision(field, rule, f"both changed; sync.conflict = {rule!r}")
    s, a = parse_time(sentry_time), parse_time(ado_time)
    if s is None and a is None:
        return Decision(field, "ado", "both changed; neither time known, ADO kept (it holds the work)")
    if s is None or (a is not None and a >= s):
        return Decision(field, "ado", f"both changed; ADO's change ({ado_time}) is the later")
    return Decision(field, "sentry", f"both changed; Sentry's change ({sentry_time}) is the later")


def sentry_event(issue: dict[str, Any], fields: set[str]) -> list[Event]:
    """The Sentry events a lost delivery would have carried for these changed fields."""
    events = []
    if "status" in fields:
        action = {"resolved": "resolved", "ignored": "ignored"}.get(issue.get("status") or "", "unresolved")
        events.append(Event(SENTRY, f"issue.{action}", {"data": {"issue": issue}}, RECONCILE))
    if "assignee" in fields:
        data: dict[str, Any] = {"issue": issue}
        if issue.get("assignedTo"):
            data["assignee"] = issue["assignedTo"]
        events.append(Event(SENTRY, "issue.assigned", {"data": data}, RECONCILE))
    return events


def ado_event(link: Link, work_item: dict[str, Any], fields: set[str]) -> Event | None:
    """The ``workitem.updated`` event a lost delivery would have carried."""
    if not fields:
        return None
    current = work_item.get("fields", {})
    before = _synced(link, "ado")
    refs = {"status": "System.State", "assignee": "System.AssignedTo", "title": "System.Title"}
    changes: dict[str, Any] = {}
    for f in sorted(fields):
        change: dict[str, Any] = {}
        if before.get(f) is not None:
            change["oldValue"] = before[f]
        if current.get(refs[f]) is not None:
            change["newValue"] = current[refs[f]]
        changes[refs[f]] = change
    changed_by = current.get("System.ChangedBy")
    revised_by = changed_by if isinstance(changed_by, dict) else {"name": changed_by, "uniqueName":
                                                                    ado_unique_name(changed_by)}
    resource = {"id": work_item.get("rev"), "workItemId": work_item.get("id"), "rev": work_item.get("rev"),
                "revisedBy": revised_by, "revisedDate": current.get("System.ChangedDate"), "fields": changes,
                "revision": {"id": work_item.get("id"), "rev": work_item.get("rev"), "fields": current,
                             "url": work_item.get("url")}}
    return Event(ADO, WORKITEM_UPDATED, {"resource": resource}, RECONCILE)
