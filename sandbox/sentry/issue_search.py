"""Sentry's issue search, the subset our clients and sentry-cli use, as pure functions.

Supported tokens: ``is:unresolved|resolved|ignored|archived|assigned|unassigned|linked|unlinked``
(and ``!is:``),
``assigned:me|<email>|<username>|user:<id>|#<team>`` (``me`` = the caller), ``level:``,
``issue:<SHORT-ID>``, ``project:<slug>``, ``lastSeen:``/``firstSeen:`` (``>``/``>=``/``<``/``<=`` an
ISO time, or ``-1h`` for the last hour), any other ``key:value`` as an event tag of the latest
event, and free text matched against title and culprit. Time windows (``statsPeriod`` like
``24h``/``14d``/``30m``/``2w``, or ``start``/``end``) keep issues last seen inside the window.
Sort orders ``date`` (last seen), ``new`` (first seen), ``freq`` (count), ``user`` (users).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from sandbox.sentry.model import Assignee, Event, Issue, Organization

PERIOD = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
SORTS: dict[str, Callable[[Issue], tuple]] = {
    "date": lambda i: (i.last_seen, i.id), "new": lambda i: (i.first_seen, i.id),
    "freq": lambda i: (i.count, i.id), "user": lambda i: (len(i.user_ids), i.id),
    "trends": lambda i: (i.last_seen, i.id), "inbox": lambda i: (i.first_seen, i.id),
    "recommended": lambda i: (i.last_seen, i.id),
}


class InvalidSearch(ValueError):
    """A query Sentry would answer with 400 ``{"detail": ...}``."""


def parse_period(text: str) -> timedelta:
    match = PERIOD.match(text)
    if not match:
        raise InvalidSearch(f"Invalid statsPeriod: {text!r}")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def time_window(stats_period: str | None, start: str | None, end: str | None,
                now: datetime) -> tuple[datetime | None, datetime | None]:
    """The [start, end] bounds the request asks for; (None, None) means no time filter."""
    if stats_period:
        return now - parse_period(stats_period), None
    if bool(start) != bool(end):
        raise InvalidSearch("start and end are both required")
    if start and end:
        try:
            lo, hi = datetime.fromisoformat(start), datetime.fromisoformat(end)
        except ValueError as exc:
            raise InvalidSearch(f"Invalid date range: {exc}") from exc
        if lo.tzinfo is None or hi.tzinfo is None:
            lo, hi = lo.replace(tzinfo=now.tzinfo), hi.replace(tzinfo=now.tzinfo)
        if lo > hi:
            raise InvalidSearch("start must be before end")
        return lo, hi
    return None, None


def _status_test(value: str, org: Organization) -> Callable[[Issue], bool]:
    linked = {x.issue_id for x in org.external_issues.values()} | {x.issue_id for x in org.integration_issues.values()}
    tests: dict[str, Callable[[Issue], bool]] = {
        # linked to a Sentry App's external issue or an integration's (search/snuba/backend.py linked_filter)
        "linked": lambda i: i.id in linked, "unlinked": lambda i: i.id not in linked,
        "unresolved": lambda i: i.status == "unresolved", "resolved": lambda i: i.status == "resolved",
        "ignored": lambda i: i.status == "ignored", "archived": lambda i: i.status == "ignored",
        "muted": lambda i: i.status == "ignored", "assigned": lambda i: i.assigned_to is not None,
        "unassigned": lambda i: i.assigned_to is None, "for_review": lambda i: i.substatus == "new",
    }
    if value not in tests:
        raise InvalidSearch(f"Error parsing search query: invalid value {value!r} for 'is:' filter")
    return tests[value]


def _assigned_test(org: Organization, value: str, caller_user_id: int | None) -> Callable[[Issue], bool]:
    if value.startswith("#"):
        team = next((t for t in org.teams.values() if t.slug == value[1:]), None)
        wanted = Assignee("team", team.id) if team else None
        return lambda i: wanted is not None and i.assigned_to == wanted
    if value == "me":
        user_id = caller_user_id
    else:
        ident = value.removeprefix("user:")
        user = next((u for u in org.users.values()
                     if ident.lower() in (str(u.id), u.username.lower(), u.email.lower())), None)
        user_id = user.id if user else None
    return lambda i: (i.assigned_to is not None and i.assigned_to.kind == "user"
                      and i.assigned_to.id == user_id)


def _seen_test(key: str, value: str, now: datetime) -> Callable[[Issue], bool]:
    """``lastSeen:>2026-01-02T03:04:05Z`` (also ``>=``, ``<``, ``<=``) or relative ``lastSeen:-1h``
    (seen within the last hour), as Sentry's issue search reads them."""
    attr = "last_seen" if key == "lastSeen" else "first_seen"
    if value.startswith("-"):
        since = now - parse_period(value[1:])
        return lambda i: getattr(i, attr) >= since
    match = re.match(r"^(>=|<=|>|<)(.+)$", value)
    if not match:
        raise InvalidSearch(f"Error parsing search query: invalid date {value!r} for '{key}:' filter")
    try:
        at = datetime.fromisoformat(match.group(2).replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidSearch(f"Error parsing search query: invalid date {value!r} for '{key}:' filter") from exc
    if at.tzinfo is None:
        at = at.replace(tzinfo=now.tzinfo)
    compare = {">": lambda a: a > at, ">=": lambda a: a >= at, "<": lambda a: a < at, "<=": lambda a: a <= at}
    op = compare[match.group(1)]
    return lambda i: op(getattr(i, attr))


def _token_test(org: Organization, token: str, caller_user_id: int | None,
                latest: Callable[[Issue], Event | None], now: datetime) -> Callable[[Issue], bool]:
    negate = token.startswith("!")
    key, sep, value = token.lstrip("!").partition(":")
    if not sep or not key or not value:
        text = token.lower()
        return lambda i: text in i.title.lower() or text in i.culprit.lower()
    if key == "is":
        test = _status_test(value, org)
    elif key in ("assigned", "assigned_or_suggested"):
        test = _assigned_test(org, value, caller_user_id)
    elif key == "level":
        test = lambda i: i.level == value  # noqa: E731
    elif key == "issue":
        test = lambda i: i.short_id.lower() == value.lower()  # noqa: E731
    elif key == "project":
        test = lambda i: org.projects[i.project_id].slug == value  # noqa: E731
    elif key in ("lastSeen", "firstSeen"):
        test = _seen_test(key, value, now)
    else:
        def test(issue: Issue) -> bool:
            event = latest(issue)
            tags = {"environment": event.environment, **event.tags} if event else {}
            return tags.get(key) == value
    return (lambda i: not test(i)) if negate else test


def search(org: Organization, issues: Sequence[Issue], query: str, caller_user_id: int | None,
           latest: Callable[[Issue], Event | None], now: datetime | None = None) -> list[Issue]:
    """The issues matching every token of ``query`` (an empty query matches all)."""
    try:
        tokens = shlex.split(query)
    except ValueError as exc:
        raise InvalidSearch(f"Error parsing search query: {exc}") from exc
    now = now or datetime.now(UTC)
    tests = [_token_test(org, t, caller_user_id, latest, now) for t in tokens]
    return [i for i in issues if all(t(i) for t in tests)]


def in_window(issue: Issue, lo: datetime | None, hi: datetime | None) -> bool:
    return (lo is None or issue.last_seen >= lo) and (hi is None or issue.last_seen <= hi)


def sort_issues(issues: Sequence[Issue], sort: str) -> list[Issue]:
    if sort not in SORTS:
        raise InvalidSearch(f"Invalid sort: {sort!r}")
    return sorted(issues, key=SORTS[sort], reverse=True)
