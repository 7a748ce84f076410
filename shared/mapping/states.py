"""How a Sentry issue status and an Azure DevOps work item state correspond. Pure.

Rules of this module:
- Everything that decides which ADO state a Sentry status becomes, and which Sentry status an ADO
  state change becomes, lives here. The planner and reconciliation ask; they never decide.
- States are compared by *state category* of the work item's actual type (Proposed, InProgress,
  Resolved, Completed, Removed), never by name, so Basic, Agile, Scrum, CMMI and inherited
  processes with custom states all work. Names appear only as configured per-type overrides.
- This module does not know which side an event came from beyond the function it calls; it never
  reads configuration other than the `StateRules` passed in.

Theory of operation. Every state category *means* one of four things, given the rules:

    DONE     a category listed in ``done_categories`` (default: Resolved and Completed, as Sentry's
             own Azure DevOps integration counts them; never Removed)
    IGNORED  Removed, when ``ignored_action = "remove"`` (a removed item is an archived issue)
    INERT    Removed otherwise: someone took the item off the board; it says nothing about Sentry
    OPEN     every other category (Proposed, InProgress, and Resolved when it is not done)

Outbound (Sentry -> ADO), `OUTBOUND` says, for the Sentry status and the meaning of the item's
current state, which meaning the item must move to (or ``None``: leave it). The target meaning is
then turned into a state: the type's override for that status if configured, else the first state,
in workflow order, of the first category in `TARGET_CATEGORIES` the type has.

Inbound (ADO -> Sentry), `INBOUND` says, for the meanings of the old and the new state, which
Sentry status follows (or ``None``: nothing to do). A state change only *moves* Sentry when it
crosses a meaning boundary: resolve on not-done -> done, unresolve on done -> not-done.

Exceptions, written out beside the tables:
- ``ignored_action`` rewrites the row for Sentry's ``ignored``: ``none`` leaves ADO alone (Sentry's
  own integration does the same), ``resolve`` treats it as ``resolved``, ``remove`` moves the item
  to the Removed category (and only then does Removed mean IGNORED).
- A regression (substatus ``regressed`` or ``escalating``) reopens the item only when
  ``reopen_on_regression`` is true; a person reopening the issue always does.
- Removed never reopens a Sentry issue (INERT rows are all ``None``), and a Sentry change never
  pulls an item out of an INERT Removed state: it was removed on purpose.
- A missing old state (a new item, or an ``oldValue`` absent from the hook) counts as OPEN.
- An archived Sentry issue stays archived when its work item moves to done, unless its substatus is
  listed in ``done_resolves_archived`` (`archived_stays`): archiving was a decision about the
  issue, finishing the work item is not a reason to undo it. Escalation (``issue.unresolved`` with
  substatus ``escalating``) then reopens the item like a regression.

How a resolve is written (`resolution`): ``resolution_strategy`` per route, as Sentry's Jira and
GitHub integrations have it (getsentry/sentry ``src/sentry/integrations/tasks/sync_status_inbound.py``):
``resolve`` plainly, ``resolve_in_next_release`` (``statusDetails.inNextRelease``: the next event
from a release the fix is not in is no regression) or ``resolve_in_current_release``
(``statusDetails.inRelease = "latest"``). Both release strategies apply only when the issue's
project has a release; Sentry refuses them otherwise (400 on ``statusDetails``) and the applier
sends the plain resolve instead.

Rejected transitions: ADO validates transitions per type (TF401320). `fallback_state` gives the next
state of the same category, so the applier can retry once with an equally correct state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.config import STATE_CATEGORIES, StateRules

SENTRY_STATUSES = ("unresolved", "resolved", "ignored")
REGRESSION_SUBSTATUSES = frozenset({"regressed", "escalating"})
# Sentry aliases and transient statuses, normalised; None = not a status we sync.
_STATUS_ALIASES: Mapping[str, str | None] = {
    "unresolved": "unresolved", "resolved": "resolved", "ignored": "ignored",
    "resolvedInNextRelease": "resolved", "muted": "ignored", "archived": "ignored",
    "reprocessing": None, "pending_deletion": None, "pending_merge": None,
}

DONE, OPEN, IGNORED, INERT = "done", "open", "ignored", "inert"

# (Sentry status, meaning of the current ADO state) -> meaning to move to, or None to stay.
# "ignored" rows are per ignored_action; the status key is then "ignored/<action>".
OUTBOUND: Mapping[tuple[str, str], str | None] = {
    ("resolved", OPEN): DONE,
    ("resolved", DONE): None,
    ("resolved", IGNORED): DONE,
    ("resolved", INERT): None,  # exception: never pull an item out of Removed
    ("unresolved", OPEN): None,
    ("unresolved", DONE): OPEN,
    ("unresolved", IGNORED): OPEN,
    ("unresolved", INERT): None,  # exception: never pull an item out of Removed
    ("ignored/none", OPEN): None,
    ("ignored/none", DONE): None,
    ("ignored/none", INERT): None,
    ("ignored/resolve", OPEN): DONE,
    ("ignored/resolve", DONE): None,
    ("ignored/resolve", INERT): None,
    ("ignored/remove", OPEN): IGNORED,
    ("ignored/remove", DONE): IGNORED,
    ("ignored/remove", IGNORED): None,
}

# (meaning of the old state, meaning of the new state) -> Sentry status, or None. Pairs not listed
# (same meaning, or anything -> INERT, or INERT -> OPEN) change nothing in Sentry.
INBOUND: Mapping[tuple[str, str], str] = {
    (OPEN, DONE): "resolved",
    (IGNORED, DONE): "resolved",
    (INERT, DONE): "resolved",
    (DONE, OPEN): "unresolved",
    (IGNORED, OPEN): "unresolved",
    (OPEN, IGNORED): "ignored",
    (DONE, IGNORED): "ignored",
}

# Target meaning -> categories to move to, in order of preference. DONE uses the configured
# done categories in workflow order. OPEN prefers InProgress: a reopened bug is work again, and the
# Agile and CMMI Bug workflows allow Closed -> Active but not Closed -> New.
TARGET_CATEGORIES: Mapping[str, tuple[str, ...]] = {
    OPEN: ("InProgress", "Proposed"),
    IGNORED: ("Removed",),
}

# Which Sentry status each meaning stands for (reconciliation's "what should Sentry say").
STATUS_OF_MEANING: Mapping[str, str | None] = {DONE: "resolved", OPEN: "unresolved", IGNORED: "ignored",
                                               INERT: None}


class StateMappingError(ValueError):
    """A state, status or configuration that cannot be mapped; the message names it."""


@dataclass(frozen=True)
class WorkItemState:
    """One state of a work item type, as ``GET .../workitemtypes/{type}/states`` returns it."""

    name: str
    category: str


def parse_states(value: Iterable[Mapping[str, Any]]) -> tuple[WorkItemState, ...]:
    """States from the REST answer's ``value`` list, checking each names a known category."""
    states = []
    for i, raw in enumerate(value):
        if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str) or not raw["name"]:
            raise StateMappingError(f"states[{i}]: expected {{name, category}}, got {raw!r}")
        if raw.get("category") not in STATE_CATEGORIES:
            raise StateMappingError(f"states[{i}] ({raw['name']!r}): category must be one of "
                                    f"{', '.join(STATE_CATEGORIES)}, got {raw.get('category')!r}")
        states.append(WorkItemState(raw["name"], raw["category"]))
    return tuple(states)


def sentry_status(status: object) -> str | None:
    """Sentry's status normalised to unresolved/resolved/ignored; None for transient ones."""
    if not isinstance(status, str) or status not in _STATUS_ALIASES:
        raise StateMappingError(f"unknown Sentry status {status!r}; expected one of {', '.join(_STATUS_ALIASES)}")
    return _STATUS_ALIASES[status]


def meaning_of_category(category: str, rules: StateRules) -> str:
    """Removed is decided first: it never means done, whatever ``done_categories`` says."""
    if category not in STATE_CATEGORIES:
        raise StateMappingError(f"unknown state category {category!r}")
    if category == "Removed":
        return IGNORED if rules.ignored_action == "remove" else INERT
    if category in rules.done_categories:
        return DONE
    return OPEN


def category_of(state: str, states: Sequence[WorkItemState], work_item_type: str) -> str:
    """The category of a state name of this type (ADO compares state names case-insensitively)."""
    for s in states:
        if s.name.casefold() == state.casefold():
            return s.category
    known = ", ".join(s.name for s in states) or "none known"
    raise StateMappingError(f"state {state!r} is not a state of work item type {work_item_type!r} ({known})")


def meaning_of_state(state: str | None, states: Sequence[WorkItemState], work_item_type: str,
                     rules: StateRules) -> str:
    """A missing state counts as OPEN: a new item, or a hook without ``oldValue``."""
    if not state:
        return OPEN
    return meaning_of_category(category_of(state, states, work_item_type), rules)


def status_of_state(state: str, states: Sequence[WorkItemState], work_item_type: str,
                    rules: StateRules) -> str | None:
    """The Sentry status a work item in `state` stands for; None when Removed says nothing."""
    return STATUS_OF_MEANING[meaning_of_state(state, states, work_item_type, rules)]


# --- outbound ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stay:
    """Leave the work item's state as it is, and why (shown in plans)."""

    reason: str


@dataclass(frozen=True)
class MoveTo:
    state: str
    category: str


def _status_key(status: str, rules: StateRules) -> str:
    return f"ignored/{rules.ignored_action}" if status == "ignored" else status


def _target_categories(meaning: str, rules: StateRules) -> tuple[str, ...]:
    if meaning == DONE:
        return tuple(c for c in STATE_CATEGORIES if c in rules.done_categories and c != "Removed")
    return TARGET_CATEGORIES[meaning]


def _override(status: str, states: Sequence[WorkItemState], work_item_type: str,
              rules: StateRules) -> MoveTo | None:
    per_type = {k.casefold(): v for k, v in rules.overrides.items()}.get(work_item_type.casefold(), {})
    name = per_type.get(status)
    if name is None:
        return None
    for s in states:
        if s.name.casefold() == name.casefold():
            return MoveTo(s.name, s.category)
    raise StateMappingError(f"states.overrides.{work_item_type}.{status} = {name!r} is not a state of "
                            f"work item type {work_item_type!r} ({', '.join(s.name for s in states)})")


def first_state_of(meaning: str, states: Sequence[WorkItemState], work_item_type: str,
                   rules: StateRules) -> MoveTo:
    """The first state, in workflow order, of the first preferred category the type has."""
    wanted = _target_categories(meaning, rules)
    for category in wanted:
        for s in states:
            if s.category == category:
                return MoveTo(s.name, s.category)
    raise StateMappingError(f"work item type {work_item_type!r} has no state in categories "
                            f"{', '.join(wanted) or '(none)'} (its states: "
                            f"{', '.join(f'{s.name}={s.category}' for s in states) or 'none known'})")


def outbound(status: str, substatus: str | None, current: str | None, states: Sequence[WorkItemState],
             work_item_type: str, rules: StateRules) -> MoveTo | Stay:
    """Where a work item in `current` must go so it agrees with Sentry's `status`."""
    if status not in SENTRY_STATUSES:
        raise StateMappingError(f"Sentry status must be one of {', '.join(SENTRY_STATUSES)}, got {status!r}")
    if not states:
        raise StateMappingError(f"the states of work item type {work_item_type!r} are unknown")
    meaning = meaning_of_state(current, states, work_item_type, rules)
    key = _status_key(status, rules)
    if (key, meaning) not in OUTBOUND:
        raise StateMappingError(f"no rule for Sentry {status!r} with the work item in {current!r} ({meaning})")
    target = OUTBOUND[(key, meaning)]
    if target is None and key == "ignored/none":
        return Stay(f'states.ignored_action = "none": an ignored issue leaves the work item as it is ({current!r})')
    if target is None:
        return Stay(f"work item already agrees: Sentry {status}, ADO {current!r} ({meaning})"
                    if meaning != INERT else f"work item is Removed ({current!r}); the bridge never reopens it")
    if target == OPEN and substatus in REGRESSION_SUBSTATUSES and not rules.reopen_on_regression:
        return Stay(f"issue {substatus}; states.reopen_on_regression is false")
    return _override(status, states, work_item_type, rules) or first_state_of(target, states, work_item_type,
                                                                                rules)


def fallback_state(rejected: str, states: Sequence[WorkItemState], work_item_type: str) -> str | None:
    """After ADO rejects a transition (TF401320): the next state of the same category, if any."""
    category = category_of(rejected, states, work_item_type)
    same = [s.name for s in states if s.category == category]
    index = next(i for i, name in enumerate(same) if name.casefold() == rejected.casefold())
    return same[index + 1] if index + 1 < len(same) else None


# --- inbound ----------------------------------------------------------------------------------


def inbound(old: str | None, new: str, states: Sequence[WorkItemState], work_item_type: str,
            rules: StateRules) -> str | None:
    """The Sentry status an ADO state change asks for, or None when it asks for nothing."""
    before = meaning_of_state(old, states, work_item_type, rules)
    after = meaning_of_state(new, states, work_item_type, rules)
    return INBOUND.get((before, after))


def archived_stays(asked: str, status: str | None, substatus: str | None, rules: StateRules) -> str | None:
    """Why an archived Sentry issue is left archived though its work item asks for `asked`, or None.
    Only a resolve is held back; `substatus` None (not known) counts as not listed."""
    if asked != "resolved" or status != "ignored" or substatus in rules.done_resolves_archived:
        return None
    listed = ", ".join(rules.done_resolves_archived) or "none"
    return (f"the Sentry issue is archived ({substatus or 'substatus unknown'}) and stays archived: a work item "
            f"moving to done resolves only states.done_resolves_archived ({listed})")


@dataclass(frozen=True)
class Resolution:
    """The issue update that resolves per the strategy. Its ``statusDetails`` (if any) name a
    release; the same update without them is the plain resolve (``UpdateSentryIssue.without_release``)."""

    changes: Mapping[str, Any]


_RESOLUTIONS: Mapping[str, Resolution] = {
    "resolve": Resolution({"status": "resolved"}),
    "resolve_in_next_release": Resolution({"status": "resolved", "statusDetails": {"inNextRelease": True}}),
    "resolve_in_current_release": Resolution({"status": "resolved", "statusDetails": {"inRelease": "latest"}}),
}


def resolution(strategy: str) -> Resolution:
    if strategy not in _RESOLUTIONS:
        raise StateMappingError(f"resolution_strategy must be one of {', '.join(_RESOLUTIONS)}, got {strategy!r}")
    return _RESOLUTIONS[strategy]
