"""What an issue PUT does, as pure functions: validate the body the way Sentry's GroupValidator
does, compute the issue's new state and the webhook actions the change fires.

Semantics (reference/sentry-api.md §2.1, §3.3, §3.4): ``resolvedInNextRelease`` and
``statusDetails.inNextRelease`` resolve in the next release, ``inRelease`` in a release of the
project (``latest``: its latest), each refused without one (``resolutions.py``); ``muted`` is an alias of ``ignored``;
ignoring without conditions infers ``archived_forever``, with count/user/duration conditions
``archived_until_condition_met``; ``issue.unresolved`` fires only for resolved→unresolved
(un-archiving sends nothing); ``assigned`` fires for every new assignee and there is no
unassigned webhook.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sandbox.sentry.model import Assignee, Issue, Organization
from sandbox.sentry.resolutions import ReleaseProblem, resolve_in_release

STATUSES = ("resolved", "unresolved", "ignored", "resolvedInNextRelease", "muted")
PRIORITIES = ("low", "medium", "high")
ARCHIVED = ("archived_until_escalating", "archived_until_condition_met", "archived_forever")
UNRESOLVED_SUB = ("ongoing", "escalating", "regressed", "new")
CONDITIONS = ("ignoreDuration", "ignoreCount", "ignoreWindow", "ignoreUserCount", "ignoreUserWindow")
FLAGS = {"hasSeen": "has_seen", "isBookmarked": "is_bookmarked", "isPublic": "is_public"}
MAX_WINDOW_MINUTES = 10080


class InvalidUpdate(ValueError):
    """A 400: ``errors`` is the body Sentry would send ({field: [message]} or {"detail": ...})."""

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__(str(errors))
        self.errors = errors


@dataclass(frozen=True)
class UpdateOutcome:
    issue: Issue
    actions: tuple[str, ...]  # webhook actions, in the order Sentry would send them
    applied: dict[str, Any]  # the fields the bulk endpoint echoes back


def resolve_assignee(org: Organization, project_id: int, value: object) -> Assignee | None:
    """``user:ID`` | ``team:ID`` | bare user id | username | primary email | "" (unassign)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidUpdate({"assignedTo": ["Unknown actor input"]})
    kind, _, ident = value.partition(":") if value.startswith(("user:", "team:")) else ("", "", value)
    if kind == "team":
        team = org.teams.get(int(ident)) if ident.isdigit() else None
        if team is None:
            raise InvalidUpdate({"assignedTo": ["Unknown actor input"]})
        if team.id not in org.projects[project_id].team_ids:
            raise InvalidUpdate({"assignedTo": ["Cannot assign to a team without access to the project"]})
        return Assignee("team", team.id)
    members = [m.user for m in org.members.values()]
    if kind == "user" or ident.isdigit():
        user = next((u for u in members if str(u.id) == ident), None)
    else:
        user = next((u for u in members if ident.lower() in (u.username.lower(), u.email.lower())), None)
    if user is None:
        raise InvalidUpdate({"assignedTo": ["Unknown actor input"]})
    project_users = set().union(*(org.teams[t].user_ids for t in org.projects[project_id].team_ids))
    if user.id not in project_users:
        raise InvalidUpdate({"assignedTo": ["Cannot assign to non-team member"]})
    return Assignee("user", user.id)


def _check_details(details: object) -> dict[str, Any]:
    if details is None:
        return {}
    if not isinstance(details, Mapping):
        raise InvalidUpdate({"statusDetails": ["Expected a dictionary of items."]})
    for key in ("ignoreWindow", "ignoreUserWindow"):
        value = details.get(key)
        if isinstance(value, int) and value > MAX_WINDOW_MINUTES:
            raise InvalidUpdate({"statusDetails": {key: [
                f"Ensure this value is less than or equal to {MAX_WINDOW_MINUTES}."]}})
    return dict(details)


def last_release(org: Organization, issue: Issue) -> str | None:
    """The release the issue was last seen in (``Group.get_last_release``)."""
    seen = [e for e in org.events.values() if e.issue_id == issue.id and e.release]
    return max(seen, key=lambda e: e.received).release if seen else None


def _status_change(org: Organization, issue: Issue, status: str, substatus: object, details: dict[str, Any],
                   now: datetime) -> tuple[Issue, str | None]:
    """New status fields and the webhook action (None when Sentry sends none)."""
    if status in ("resolved", "resolvedInNextRelease"):
        if substatus is not None:
            raise InvalidUpdate({"substatus": ["Substatus must be empty for resolved status"]})
        try:
            in_release = resolve_in_release(details, status, org.releases, org.projects[issue.project_id].slug,
                                            last_release(org, issue))
        except ReleaseProblem as exc:
            raise InvalidUpdate(exc.errors) from None
        if in_release is not None:
            new_details, resolution = in_release
        else:
            new_details, resolution = ({"inCommit": details["inCommit"]} if details.get("inCommit") else {}), None
        return replace(issue, status="resolved", substatus=None, status_details=new_details,
                       resolution=resolution), "resolved"
    if status == "unresolved":
        if substatus is not None and substatus not in UNRESOLVED_SUB:
            raise InvalidUpdate({"substatus": [f"Invalid substatus for unresolved status: {substatus}"]})
        action = "unresolved" if issue.status == "resolved" else None
        return replace(issue, status="unresolved", substatus=substatus or "ongoing", status_details={},
                       resolution=None), action
    if substatus is not None and substatus not in ARCHIVED:
        raise InvalidUpdate({"substatus": [f"Invalid substatus for ignored status: {substatus}"]})
    conditions = {k: details[k] for k in CONDITIONS if details.get(k)}
    if substatus is None:
        substatus = "archived_until_condition_met" if conditions else "archived_forever"
    if "ignoreDuration" in conditions:
        conditions["ignoreUntil"] = (now + timedelta(minutes=int(conditions["ignoreDuration"]))).strftime(
            "%Y-%m-%dT%H:%M:%S.%fZ")
    return replace(issue, status="ignored", substatus=str(substatus), status_details=conditions,
                   resolution=None), "ignored"


def apply_update(org: Organization, issue: Issue, body: Mapping[str, Any], now: datetime) -> UpdateOutcome:
    """The issue after ``body`` is applied; raises ``InvalidUpdate`` and changes nothing on bad input."""
    if not isinstance(body, Mapping):
        raise InvalidUpdate({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})
    updated, actions, applied = replace(issue), [], {}
    status = body.get("status")
    if status is not None:
        if status not in STATUSES:
            raise InvalidUpdate({"status": [f'"{status}" is not a valid choice.']})
        details = _check_details(body.get("statusDetails"))
        updated, action = _status_change(org, updated, "ignored" if status == "muted" else status,
                                         body.get("substatus"), details, now)
        changed = (issue.status, issue.substatus, issue.status_details) != (
            updated.status, updated.substatus, updated.status_details)
        if action and changed:
            actions.append(action)
        applied.update(status=updated.status, substatus=updated.substatus, statusDetails=updated.status_details)
    elif "substatus" in body and body["substatus"] is not None:
        raise InvalidUpdate({"status": ["This field is required when substatus is set."]})
    if "assignedTo" in body:
        assignee = resolve_assignee(org, issue.project_id, body["assignedTo"])
        if assignee is not None and assignee != issue.assigned_to:
            actions.append("assigned")
        updated = replace(updated, assigned_to=assignee)
        applied["assignedTo"] = body["assignedTo"]
    if "priority" in body:
        if body["priority"] not in PRIORITIES:
            raise InvalidUpdate({"priority": [f'"{body["priority"]}" is not a valid choice.']})
        updated = replace(updated, priority=body["priority"])
        applied["priority"] = body["priority"]
    for key, attr in FLAGS.items():
        if key in body:
            if not isinstance(body[key], bool):
                raise InvalidUpdate({key: ["Must be a valid boolean."]})
            updated = replace(updated, **{attr: body[key]})
            applied[key] = body[key]
    return UpdateOutcome(updated, tuple(actions), applied)
