"""The planner: one webhook + the link + what the shell fetched + the config -> actions. Pure.

Rules:
- Every decision about *what* to sync lives here or in shared/mapping/; the shell only fetches
  (`Remote`), applies the actions in order and saves ``action.link_after(...)``.
- Every event yields at least one action; an event that changes nothing yields a `Skip` whose
  reason says why, so every dropped delivery is explained in logs and in ``sentry-ado plan``.
- Echoes are dropped, decided by content, never by who sent them: a Sentry change that matches the
  link's synced values (Sentry's actor cannot tell our app from another: `_sentry_echo`), an ADO
  revision that sets only what the link holds (`_ado_own_revision`; both also match the values of
  a write being sent, ``link.in_flight``), and comments carrying the bridge's marker.
  `plan_without_remote` decides both before the shell fetches anything.
- Stale and repeated events are dropped: ADO revisions not newer than the link's ``ado_rev``, Sentry
  status events that the current issue (when fetched) contradicts, comments already carried.
- What a side holds *now* is the freshest of the fetched object and the link's synced values
  (`_ado_now`): after the first plan's link changes are saved, planning the same event again finds
  the target already in the desired state and skips.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from shared.actions import (
    CREATE_SENT,
    Action,
    AddAdoComment,
    AddSentryComment,
    Agreed,
    CommentGone,
    CreateWorkItem,
    DeleteAdoComment,
    FollowRevision,
    LinkExternalIssue,
    PersonUnmatched,
    Skip,
    Unlink,
    UpdateAdoComment,
    UpdateSentryIssue,
    UpdateWorkItem,
    copy_number,
)
from shared.config import Config, Route
from shared.contract import (
    ALERT_SETTINGS,
    FIELD_DESCRIPTION,
    SENTRY_ACTIVITY_ISSUE_ACTION,
    SENTRY_ACTIVITY_NOT_SYNCED,
    SENTRY_RESOURCE_BY_DATA_KEY,
    SENTRY_RESOURCE_HEADER,
    WORKITEM_COMMENTED,
    WORKITEM_CREATED,
    WORKITEM_DELETED,
    WORKITEM_RESTORED,
    WORKITEM_UPDATED,
)
from shared.create_form import SEVERITY as SEVERITY_FIELD
from shared.create_form import parse_choices
from shared.identifiers import BadRecord
from shared.issue_link import FormError
from shared.mapping import comments, states
from shared.mapping.fields import Target, create_ops
from shared.mapping.identities import (
    AdoIdentity,
    Matched,
    SentryMember,
    Unassigned,
    Unmatched,
    ado_to_sentry,
    parse_ado_identity,
    same_ado_identity,
    sentry_actor,
    sentry_to_ado,
)
from shared.mapping.states import StateMappingError, WorkItemState
from shared.store.model import CLAIMED, LINKED, UNLINKED, Link

SENTRY = "sentry"
ADO = "ado"
# Where an event comes from: a delivery from Sentry or ADO, a change reconciliation found by comparing
# both sides with the link (shared/reconcile/), or a person's request on the Sentry issue page.
WEBHOOK, RECONCILE, UI = "webhook", "reconcile", "ui"
UNKNOWN_RESOURCE = "unknown"  # a Sentry webhook whose resource neither a header nor its data tells
CREATING_EVENTS = ("issue.created", "event_alert.triggered", "activity_alert.triggered")


class WebhookError(BadRecord):
    """The body is no webhook at all (not one Sentry or ADO sends); the message says what is wrong."""


@dataclass(frozen=True)
class Event:
    """One change to carry over. ``body`` has the webhook's shape (``data`` for Sentry, ``resource``
    for ADO) whatever the origin: callers other than webhooks fill in only what the handlers read."""

    source: str  # "sentry" | "ado"
    kind: str  # "issue.resolved", "comment.created", "workitem.updated", ...
    body: Mapping[str, Any]
    origin: str = WEBHOOK  # WEBHOOK | RECONCILE | UI

    @property
    def data(self) -> Mapping[str, Any]:
        return self.body.get("data") or {}


@dataclass(frozen=True)
class Remote:
    """What the shell fetched before planning. Anything left at its default is simply unknown."""

    now: str  # ISO-8601 UTC; the planner never reads the clock
    work_item: Mapping[str, Any] | None = None  # REST WorkItem {id, rev, fields, _links}
    states: tuple[WorkItemState, ...] = ()  # of the work item's (or the route's) type
    type_fields: frozenset[str] | None = None  # field reference names of that type
    issue: Mapping[str, Any] | None = None  # current Sentry issue
    latest_event: Mapping[str, Any] | None = None
    bridge_ado_identity: str | None = None  # uniqueName the bridge writes to ADO as
    installation_uuid: str | None = None
    sentry_members: tuple[SentryMember, ...] = ()
    ado_identities: tuple[AdoIdentity, ...] = ()
    ado_hosted: bool | None = None  # Services (True) or Server (False), as the service said it is
    # an edited Sentry comment's text as Sentry holds it now ("" if it is gone): a late or reordered
    # comment.updated carries the latest text, never the one it was sent with
    current_comment: str | None = None
    # for a claim whose create's answer was lost: the work item that create made ({} when none landed);
    # None when not looked for
    created_work_item: Mapping[str, Any] | None = None


def _ado_is_services(config: Config, remote: Remote) -> bool:
    """What the service says it is (connectionData ``deploymentType``) over what its URL suggests."""
    return config.settings.ado_is_services if remote.ado_hosted is None else remote.ado_hosted


# --- parsing ----------------------------------------------------------------------------------


def parse_webhook(source: str, body: Any) -> Event:
    """Recognise a webhook. Sentry: ``{"resource", "body"}`` (header + JSON) or the bare JSON body,
    whose resource is then told by its ``data``. ADO: the service hook JSON."""
    if source not in (SENTRY, ADO):
        raise WebhookError(f"source must be 'sentry' or 'ado', got {source!r}")
    if not isinstance(body, Mapping):
        raise WebhookError(f"a {source} webhook is a JSON object, got {type(body).__name__}")
    return _parse_sentry(body) if source == SENTRY else _parse_ado(body)


def _parse_sentry(raw: Mapping[str, Any]) -> Event:
    resource, body = raw.get("resource"), raw.get("body")
    if not isinstance(body, Mapping):
        resource, body = None, raw
    action, data = body.get("action"), body.get("data")
    if not isinstance(action, str) or not action:
        raise WebhookError("Sentry webhook has no 'action' (expected e.g. \"created\", \"resolved\")")
    if not isinstance(data, Mapping):
        raise WebhookError(f"Sentry webhook {action!r} has no 'data' object")
    if resource is None:
        resource = next((r for key, r in SENTRY_RESOURCE_BY_DATA_KEY.items() if key in data), UNKNOWN_RESOURCE)
    if not isinstance(resource, str) or not resource:
        raise WebhookError(f"{SENTRY_RESOURCE_HEADER} must be a non-empty string, got {resource!r}")
    return Event(SENTRY, f"{resource}.{action}", body)


def _parse_ado(body: Mapping[str, Any]) -> Event:
    event_type, resource = body.get("eventType"), body.get("resource")
    if not isinstance(event_type, str) or not event_type:
        raise WebhookError("ADO service hook has no 'eventType' (expected e.g. \"workitem.updated\")")
    if not isinstance(resource, Mapping):
        raise WebhookError(f"ADO service hook {event_type!r} has no 'resource' object")
    return Event(ADO, event_type, body)


# --- entry point ------------------------------------------------------------------------------


def as_issue_event(event: Event, link: Link | None) -> Event:
    """An activity alert reporting a status change is that change: planned as the ``issue.*``
    webhook of the same meaning (same rules, same echo check by content), so a change delivered on
    both channels is carried once. Only an alert that would create a work item (our action's
    settings, no link yet) stays an alert."""
    if event.kind != "activity_alert.triggered":
        return event
    data = event.data
    activity = data.get("activity") if isinstance(data.get("activity"), Mapping) else {}
    action = SENTRY_ACTIVITY_ISSUE_ACTION.get(str(activity.get("type")))
    alert = data.get("alert") if isinstance(data.get("alert"), Mapping) else {}
    if action is None or not isinstance(data.get("issue"), Mapping) or (
            link is None and isinstance(alert.get("settings"), list)):
        return event
    return Event(SENTRY, f"issue.{action}", {**event.body, "data": {"issue": data["issue"]}},
                 origin=event.origin)


def plan(event: Event, link: Link | None, remote: Remote, config: Config) -> list[Action]:
    """The actions that carry this event over, in order; never empty."""
    event = as_issue_event(event, link)
    table = _SENTRY_HANDLERS if event.source == SENTRY else _ADO_HANDLERS
    handler = table.get(event.kind) or table.get(event.kind.split(".")[0] + ".*")
    if handler is None:
        return [Skip(f"{event.source} event {event.kind!r} is not synced; the webhook is acknowledged and dropped "
                     "with a log line naming it")]
    actions = handler(event, link, remote, config)
    if event.source == SENTRY and sentry_drift(event, link, config):
        assert link is not None
        actions = _with_sentry_repair(event, link, remote, config, actions)
    return actions or [Skip(f"{event.kind}: nothing to change")]


Handler = Callable[[Event, Link | None, Remote, Config], list[Action]]


# --- shared helpers ---------------------------------------------------------------------------


def _is_linked(link: Link | None) -> bool:
    return link is not None and link.is_linked


def _not_linked(link: Link | None, what: str) -> list[Action]:
    if link is None:
        return [Skip(f"{what}: the Sentry issue has no linked work item")]
    return [Skip(f"{what}: link is {link.state} (work item {link.work_item_id}); nothing to update")]


def _ado_now(link: Link, remote: Remote) -> tuple[Mapping[str, Any], int | None]:
    """ADO's current fields as best known: the fetched item unless the link knows a newer revision."""
    item = remote.work_item
    fetched_rev = item.get("rev") if item else None
    synced_rev = link.synced.ado_rev
    if item and (synced_rev is None or (isinstance(fetched_rev, int) and fetched_rev >= synced_rev)):
        return item.get("fields") or {}, fetched_rev
    return ({"System.State": link.synced.ado_state, "System.AssignedTo": link.synced.ado_assignee},
            synced_rev)


def _sentry_issue_url(issue: Mapping[str, Any], config: Config) -> str:
    url = issue.get("permalink") or issue.get("web_url")
    if isinstance(url, str) and url.startswith(("https://", "http://")):
        return url
    base = config.settings.sentry_base_url.rstrip("/")
    return f"{base}/organizations/{config.settings.sentry_org}/issues/{issue.get('id')}/"


def _sentry_echo(event: Event, link: Link | None) -> str | None:
    """Why this Sentry change is the bridge's own write coming back, or None if it is not.

    Decided by content: Sentry reports every Sentry App's change with the *receiving* app's uuid
    and sends only the installation's uuid, so the actor cannot tell our writes from another
    integration's. A change that matches what the link last synced, or what a write being sent
    will set (``link.in_flight``), is ours (or already carried); any other change is carried,
    whoever made it."""
    if link is None or not link.is_linked:
        return None
    data = event.data
    action = event.kind.split(".", 1)[1]
    if event.kind.startswith("issue.") and action in _ACTION_STATUS:
        status = _ACTION_STATUS[action]
        if status in (link.synced.sentry_status, link.in_flight.get("sentry_status")):
            return f"the link already has status {status} (the bridge's own write, or already carried)"
    if event.kind == "issue.assigned":
        assignee = sentry_actor(_event_assignee(data))
        if link.synced.sentry_assignee == assignee or link.in_flight.get("sentry_assignee", ...) == assignee:
            return f"the link already has assignee {assignee or 'nobody'} (the bridge's own write, or already carried)"
    return None


def plan_without_remote(event: Event, link: Link | None, config: Config) -> list[Action] | None:
    """The plan when the webhook body and the link alone decide it (an echo, a re-delivery, a stale
    revision, an unlinked or unrouted issue or work item), so the shell fetches nothing and the
    event costs no API call; None when the plan needs the remote state."""
    if event.kind == WORKITEM_UPDATED:
        return _workitem_updated_without_remote(event, link)
    if event.kind == "issue.created" and link is None:
        return _creation_gate(event.data.get("issue") or {}, config)[1] or None
    if event.source != SENTRY:
        return None
    if event.kind == "comment.updated":
        return _comment_edit_known(event, link)
    event = as_issue_event(event, link)
    reason = _sentry_echo(event, link) or _unmatched_again(event, link, config)
    if reason is None or sentry_drift(event, link, config):
        return None  # carried, or an echo whose issue shows an earlier change that was lost
    issue = event.data.get("issue") or {}
    return [Skip(f"Sentry issue {issue.get('shortId') or issue.get('id')} {event.kind.split('.', 1)[1]}: "
                 f"{reason}")]


def _unmatched_again(event: Event, link: Link | None, config: Config) -> str | None:
    """Why this assignment changes nothing: its assignee is the one the link recorded as having no
    ADO identity (`_known_unmatched`); None otherwise."""
    assignee = _event_assignee(event.data)
    if event.kind != "issue.assigned" or link is None or not _known_unmatched(assignee, link, config):
        return None
    return f"assignee {sentry_actor(assignee)} has no Azure DevOps identity (recorded on the link); nothing to carry"


def _known_unmatched(assignee: Any, link: Link, config: Config) -> bool:
    """Whether this Sentry assignee is the one the link last found with no ADO identity, and the
    sync rules' [identities] do not name them since: told again at no call."""
    actor = sentry_actor(assignee)
    email = str(assignee.get("email") or "").casefold() if isinstance(assignee, Mapping) else ""
    return (actor is not None and actor == link.synced.sentry_assignee_unmatched
            and email not in {k.casefold() for k in config.rules.identities})


def creation_requested(event: Event) -> bool:
    """Whether this event makes a work item for an issue that has none: ``issue.created``, or an alert
    carrying the bridge's alert-rule action settings (the shell claims the issue before it reads)."""
    data = event.data
    if event.kind == "issue.created":
        return True
    if event.kind == "event_alert.triggered":
        return isinstance((data.get("issue_alert") or {}).get("settings"), list)
    if event.kind == "activity_alert.triggered":
        return isinstance((data.get("alert") or {}).get("settings"), list)
    return False


def _event_assignee(data: Mapping[str, Any]) -> Any:
    """Who the issue is assigned to now: ``assignedTo`` of the issue Sentry sent (``data.assignee``
    is only a summary of the same actor, and may name a team differently)."""
    issue = data.get("issue") or {}
    return issue.get("assignedTo") if "assignedTo" in issue else data.get("assignee")


def _installation(event: Event, remote: Remote) -> str | None:
    return remote.installation_uuid or (event.body.get("installation") or {}).get("uuid")


# --- Sentry: what a hook already carries -----------------------------------------------------


def sentry_drift(event: Event, link: Link | None, config: Config) -> dict[str, Any]:
    """The synced fields that ``data.issue`` (the whole issue, in every ``issue.*`` webhook) shows
    differing from the link's synced values, other than the one the event is about: the trace of an
    earlier webhook that was lost. Field -> the issue's value (status, or assignee actor).

    Empty for reconciliation's events: the run compared every field already and made one event per
    field to carry (a conflict's loser is left out on purpose), and the issue it read before the
    run's first write to this pair may show a status that write has since replaced."""
    if (not event.kind.startswith("issue.") or event.kind == "issue.created" or event.origin == RECONCILE
            or not _is_linked(link)):
        return {}
    assert link is not None
    issue = event.data.get("issue")
    if not isinstance(issue, Mapping):
        return {}
    drift: dict[str, Any] = {}
    action = event.kind.split(".", 1)[1]
    status = issue.get("status")
    if (action not in _ACTION_STATUS and isinstance(status, str) and link.synced.sentry_status
            and config.rules.syncs("status", "ado")):
        try:  # a value a write being sent sets is known too (its webhook may show it first)
            if states.sentry_status(status) not in (link.synced.sentry_status, link.in_flight.get("sentry_status")):
                drift["status"] = states.sentry_status(status)
        except ValueError:
            pass
    actor = sentry_actor(issue.get("assignedTo"))
    if (action != "assigned" and "assignedTo" in issue and config.rules.syncs("assignee", "ado")
            and actor != link.synced.sentry_assignee and actor != link.in_flight.get("sentry_assignee", ...)
            and not _known_unmatched(issue.get("assignedTo"), link, config)):
        drift["assignee"] = issue.get("assignedTo")
    return drift


def _with_sentry_repair(event: Event, link: Link, remote: Remote, config: Config,
                        actions: list[Action]) -> list[Action]:
    """`actions` with the lost changes `_sentry_drift` finds carried too: in the event's own
    work item update when it has one (one PATCH), else in an update of their own; no call more."""
    issue = event.data.get("issue") or {}
    drift = sentry_drift(event, link, config)
    what = f"Sentry issue {issue.get('shortId') or issue.get('id')} {event.kind.split('.', 1)[1]} shows"
    ops: list[dict[str, Any]] = []
    synced: dict[str, Any] = {}
    notes: list[Action] = []
    update = next((a for a in actions if isinstance(a, UpdateWorkItem)), None)
    rev = update.rev if update else _ado_now(link, remote)[1]
    if "status" in drift:
        current = remote.issue if remote.issue is not None else issue  # the freshest copy of the issue
        status = states.sentry_status(current.get("status", drift["status"]))
        outcome = _state_for(status, current.get("substatus"), link, remote, config,
                             f"{what} status {status} (a change not carried before)")
        if isinstance(outcome, Skip):
            notes.append(outcome)  # an `Agreed` records the status the work item is left alone for
        else:
            ops += outcome[0]
            synced |= {"sentry_status": status, "ado_state": outcome[0][0]["value"]}
    if "assignee" in drift:
        assignee = remote.issue.get("assignedTo") if remote.issue is not None else drift["assignee"]
        mapped = sentry_to_ado(assignee, config.rules.identities, remote.sentry_members, remote.ado_identities)
        label = f"{what} assignee {sentry_actor(assignee) or 'nobody'} (a change not carried before)"
        wanted = mapped.value if isinstance(mapped, Matched) else None
        if isinstance(mapped, Unmatched):
            notes.append(PersonUnmatched(f"{label}: {mapped.reason}", mapped.person,
                                         {"sentry_assignee_unmatched": sentry_actor(assignee)}))
        elif same_ado_identity(_ado_now(link, remote)[0].get("System.AssignedTo"), wanted):
            notes.append(Skip(f"{label}: the work item already has it"))
        else:
            ops.append({"op": "add", "path": "/fields/System.AssignedTo", "value": wanted} if wanted
                       else {"op": "remove", "path": "/fields/System.AssignedTo"})
            synced |= {"sentry_assignee": sentry_actor(assignee), "ado_assignee": wanted}
    if not ops:
        return [*actions, *notes]
    synced["sentry_changed_at"] = remote.now
    if update is None:
        return [UpdateWorkItem(link.work_item_id or 0, ops, rev, synced), *actions, *notes]
    merged = UpdateWorkItem(update.work_item_id, [*update.ops, *ops], update.rev, {**synced, **update.synced})
    return [merged if a is update else a for a in actions] + notes


# --- Sentry: creating work items --------------------------------------------------------------


def _existing_link(link: Link | None, what: str, remote: Remote) -> list[Action]:
    if link is None:
        return []
    if link.state == CLAIMED and link.work_item_id is None:
        if CREATE_SENT in link.in_flight and remote.created_work_item is not None:
            return []  # an earlier create's outcome was unknown; what it made is known now
        return [Skip(f"{what}: a work item is already being created (claimed at {link.claimed_at})")]
    if link.state == UNLINKED:
        return [Skip(f"{what}: its work item {link.work_item_id} was deleted in Azure DevOps; not recreated")]
    return [Skip(f"{what}: already linked to work item {link.work_item_id}")]


def _create(issue: Mapping[str, Any], target: Target, link: Link | None, event: Event, remote: Remote,
            config: Config, note: str | None = None) -> list[Action]:
    what = f"Sentry issue {issue.get('shortId') or issue.get('id')}"
    existing = _existing_link(link, what, remote)
    if existing:
        return existing
    url = _sentry_issue_url(issue, config)
    try:
        status = states.sentry_status(issue.get("status", "unresolved"))
        ops = create_ops(issue, remote.latest_event, target, config.rules, remote.type_fields,
                         _ado_is_services(config, remote), url, note)
    except ValueError as exc:
        return [Skip(f"{what}: cannot build the work item: {exc}")]
    assignee = sentry_to_ado(issue.get("assignedTo"), config.rules.identities, remote.sentry_members,
                             remote.ado_identities)
    synced: dict[str, Any] = {"sentry_status": status,
                              "sentry_title": issue.get("title"), "sentry_changed_at": remote.now}
    if target.assignee:  # the person's choice in the form: ADO's assignee, not carried back to Sentry
        ops.insert(1, {"op": "add", "path": "/fields/System.AssignedTo", "value": target.assignee})
        synced |= {"sentry_assignee": sentry_actor(issue.get("assignedTo")), "ado_assignee": target.assignee}
    elif isinstance(assignee, Matched):
        ops.insert(1, {"op": "add", "path": "/fields/System.AssignedTo", "value": assignee.value})
        synced |= {"sentry_assignee": sentry_actor(issue.get("assignedTo")), "ado_assignee": assignee.value}
    project = issue.get("project") or {}
    claim = Link(sentry_org=config.settings.sentry_org, sentry_issue_id=str(issue.get("id")),
                 sentry_project=str(project.get("slug") or ""), sentry_short_id=str(issue.get("shortId") or ""),
                 sentry_url=url, ado_org_url=config.settings.ado_org_url, ado_project=target.project,
                 work_item_type=target.work_item_type, state=CLAIMED, claimed_at=remote.now)
    if link is not None:  # the claim of a create whose answer was lost: taken over at the version read
        claim = replace(claim, etag=link.etag)
    return [CreateWorkItem(claim, target.project, target.work_item_type, ops, synced, _installation(event, remote),
                           remote.created_work_item or None)]


def _route_target(route: Route) -> Target:
    return Target(route.ado_project, route.work_item_type, route.area_path, route.iteration_path, route.tags,
                  route.fields)


def _creation_gate(issue: Mapping[str, Any], config: Config) -> tuple[Route | None, list[Action]]:
    """The route an issue.created would use, or why none: decided by the issue Sentry sent alone."""
    slug = (issue.get("project") or {}).get("slug", "")
    route = config.rules.route_for(slug)
    what = f"Sentry issue {issue.get('shortId') or issue.get('id')}"
    if not slug:
        return None, [Skip(f"{what}: the Sentry project is unknown (the webhook names none)")]
    if route is None:
        return None, [Skip(f"{what}: Sentry project {slug!r} has no route in the sync rules")]
    auto = route.auto_create
    if not auto.enabled:
        return None, [Skip(f"{what}: auto_create is off for project {slug!r}")]
    if issue.get("level") not in auto.levels:
        return None, [Skip(f"{what}: level {issue.get('level')!r} is not in auto_create.levels {list(auto.levels)}")]
    count = int(str(issue.get("count") or "1")) if str(issue.get("count") or "1").isdigit() else 1
    if count < auto.min_events:
        return None, [Skip(f"{what}: {count} event(s), auto_create.min_events is {auto.min_events}")]
    return route, []


def _issue_created(event: Event, link: Link | None, remote: Remote, config: Config) -> list[Action]:
    issue = event.data.get("issue") or {}
    route, skipped = _creation_gate(issue, config)
    if route is None:
        return skipped
    auto = route.auto_create
    environment = (remote.latest_event or {}).get("environment") or _event_tag(remote.latest_event, "environment")
    if auto.environments and environment not in auto.environments:
        seen = f"environment {environment!r}" if environment else "its latest event has no environment, which"
        return [Skip(f"Sentry issue {issue.get('shortId') or issue.get('id')}: {seen} is not in "
                     f"auto_create.environments {list(auto.environments)}")]
    return _create(issue, _route_target(route), link, event, remote, config)


def _event_tag(event: Mapping[str, Any] | None, key: str) -> str | None:
    for t in (event or {}).get("tags") or []:
        if isinstance(t, Mapping) and t.get("key") == key:
            return str(t.get("value"))
    return None


def _alert_target(settings: Mapping[str, Any], route: Route | None, slug: str, org_url: str = "") -> Target | str:
    """The work item target from our alert-rule action settings over the route; or what is wrong."""
    values = {ALERT_SETTINGS[k]: v for k, v in settings.items() if k in ALERT_SETTINGS and v not in (None, "")}
    project = values.get("project") or (route.ado_project if route else None)
    if not project and not slug:
        return "alert-rule settings name no ADO project and the Sentry project is unknown (the alert names none)"
    if not project:
        return f"alert-rule settings name no ADO project and Sentry project {slug!r} has no route in the sync rules"
    base = _route_target(route) if route and route.ado_project == project else Target(project, "Bug")
    priority = values.get("priority")
    if priority is not None:
        if not str(priority).isdigit() or not 1 <= int(priority) <= 4:
            return f"alert-rule setting priority must be 1-4, got {priority!r}"
        priority = int(priority)
    try:
        chosen = parse_choices(settings)
    except FormError as exc:
        return f"alert-rule setting {exc}"
    fields = {**base.fields, **chosen.fields, **({SEVERITY_FIELD: chosen.severity} if chosen.severity else {})}
    tags = base.tags + tuple(t for t in chosen.tags if t.casefold() not in {b.casefold() for b in base.tags})
    parent_url = f"{org_url.rstrip('/')}/_apis/wit/workItems/{chosen.parent}" if chosen.parent else None
    return Target(project, str(values.get("work_item_type") or base.work_item_type),
                  values.get("area_path") or base.area_path, values.get("iteration_path") or base.iteration_path,
                  tags, fields, priority, chosen.assignee, parent_url)


def alert_may_reopen(event: Event, link: Link | None) -> bool:
    """An issue alert for a linked issue the link holds resolved or archived: the event that fired
    it may be a regression (a rule's RegressionEventCondition). The body names neither the rule's
    condition nor the issue's status, so the shell reads the issue; an alert for an issue the link
    holds open changes nothing and costs no call."""
    return (event.kind == "event_alert.triggered" and link is not None and link.is_linked
            and link.synced.sentry_status in ("resolved", "ignored"))


def _event_alert(event: Event, link: Link | None, remote: Remote, config: Config) -> list[Action]:
    data = event.data
    if alert_may_reopen(event, link) and remote.issue and remote.issue.get("status") == "unresolved":
        # the issue regressed (or escalated): carried as the issue.unresolved webhook would be
        reopened = Event(SENTRY, "issue.unresolved", {**event.body, "data": {"issue": dict(remote.issue)}},
                         origin=event.origin)
        return _issue_status(reopened, link, remote, config)
    alert = data.get("issue_alert")
    fired = data.get("event") or {}
    if not isinstance(alert, Mapping) or not isinstance(alert.get("settings"), list):
        return [Skip(f"alert rule {data.get('triggered_rule')!r} fired without the bridge's alert-rule action "
                     "settings; nothing to create")]
    issue = dict(remote.issue) if remote.issue else {
        "id": str(fired.get("issue_id", "")), "title": fired.get("title"), "culprit": fired.get("culprit"),
        "metadata": fired.get("metadata") or {}, "level": fired.get("level"), "status": "unresolved",
        "project": {"slug": fired.get("project_slug", "")}}
    return _alert_create(issue, alert["settings"], link, event, remote, config)


def _activity_alert(event: Event, link: Link | None, remote: Remote, config: Config) -> list[Action]:
    """A workflow-engine alert whose action is ours. Status changes were planned as ``issue.*``
    (`as_issue_event`); what reaches here creates a work item from the action's settings (sent in
    ``data.alert.settings``, made like an event alert), or changes nothing we sync."""
    data = event.data
    alert = data.get("alert") if isinstance(data.get("alert"), Mapping) else {}
    activity = (data.get("activity") or {}).get("type") if isinstance(data.get("activity"), Mapping) else None
    what = f"workflow alert {alert.get('title') or alert.get('name')!r} (activity {activity!r})"
    if link is not None and activity not in SENTRY_ACTIVITY_ISSUE_ACTION:
        why = SENTRY_ACTIVITY_NOT_SYNCED.get(str(activity), "an activity type Sentry does not document for apps")
        return [Skip(f"{what}: {why}; nothing to change on work item {link.work_item_id}")]
    if not isinstance(alert.get("settings"), list):
        return [Skip(f"{what} carries no alert-rule action settings; nothing to create")]
    issue = dict(remote.issue) if remote.issue else dict(data.get("issue") or {})
    return _alert_create(issue, alert["settings"], link, event, remote, config)


def _alert_create(issue: Mapping[str, Any], raw_settings: list[Any], link: Link | None, event: Event,
                  remote: Remote, config: Config) -> list[Action]:
    settings = {s["name"]: s.get("value") for s in raw_settings
                if isinstance(s, Mapping) and isinstance(s.get("name"), str)}
    if not str(issue.get("id") or "").isdigit():
        return [Skip(f"alert carries no numeric issue id (got {issue.get('id')!r})")]
    slug = str((issue.get("project") or {}).get("slug") or "")
    target = _alert_target(settings, config.rules.route_for(slug), slug, config.settings.ado_org_url)
    if isinstance(target, str):
        return [Skip(f"Sentry issue {issue.get('id')}: {target}")]
    note = settings.get(FIELD_DESCRIPTION) if isinstance(settings.get(FIELD_DESCRIPTION), str) else None
    return _create(issue, target, link, event, remote, config, note)


# --- Sentry: status, assignee, comments -------------------------------------------------------


_ACTION_STATUS = {"resolved": "resolved", "unresolved": "unresolved", "ignored": "ignored", "archived": "ignored"}


def _issue_status(event: Event, link: Link | None, remote: Remote, config: Config) -> list[Action]:
    action = event.kind.split(".", 1)[1]
    status = _ACTION_STATUS[action]
    issue = event.data.get("issue") or {}
    what = f"Sentry issue {issue.get('shortId') or issue.get('id')} {action}"
    echo = _sentry_echo(event, link)
    if echo:
        return [Skip(f"{what}: {echo}")]
    if not config.rules.syncs("status", "ado"):
        return [Skip(f"{what}: status does not sync towards ADO (sync.status = {config.rules.direction('status')})")]
    if not _is_linked(link):
        return _not_linked(link, what)
    assert link is not None
    if remote.issue is not None:
        current = states.sentry_status(remote.issue.get("status", status))
        if current != status:
            return [Skip(f"{what}: stale, the issue is {current} now")]
    outcome = _state_for(status, issue.get("substatus"), link, remote, config, what)
    if isinstance(outcome, Skip):
        return [outcome]
    ops, rev = outcome
    synced = {"sentry_status": status, "ado_state": ops[0]["value"], "sentry_changed_at": remote.now}
    return [UpdateWorkItem(link.work_item_id or 0, ops, rev, synced)]


def _state_for(status: str, substatus: Any, link: Link, remote: Remote, config: Config,
               what: str) -> tuple[list[dict[str, Any]], int | None] | Skip:
    """The work item state op that carries a Sentry status, with the rev it applies to; or why none."""
    fields, rev = _ado_now(link, remote)
    state = fields.get("System.State")
    if (config.rules.conflict == "ado" and remote.work_item and link.synced.ado_state
            and state != link.synced.ado_state):
        return Skip(f"{what}: ADO changed the state to {state!r} since the last sync and sync.conflict = 'ado'")
    wit = (fields.get("System.WorkItemType") or link.work_item_type)
    try:
        result = states.outbound(status, substatus, state, remote.states, wit, config.rules.states)
    except StateMappingError as exc:
        return Skip(f"{what}: {exc}")
    if isinstance(result, states.Stay):  # what the work item holds is this status's (recorded as agreed)
        return Agreed(f"{what}: {result.reason}", {"sentry_status": status, **({"ado_state": state} if state else {})})
    return [{"op": "add", "path": "/fields/System.State", "value": result.state}], rev


def _issue_assigned(event: Event, link: Link | None, remote: Remote, config: Config) -> list[Action]:
    issue = event.data.get("issue") or {}
    assignee = _event_assignee(event.data)
    what = f"Sentry issue {issue.get('shortId') or issue.get('id')} assignment"
    echo = _sentry_echo(event, link)
    if echo:
        return [Skip(f"{what}: {echo}")]
    if not config.rules.syncs("assignee", "ado"):
        return [Skip(f"{what}: assignee does not sync towards ADO")]
    if not _is_linked(link):
        return _not_linked(link, what)
    assert link is not None
    if remote.issue is not None and sentry_actor(remote.issue.get("assignedTo")) != sentry_actor(assignee):
        return [Skip(f"{what}: stale, the issue is assigned to "
                     f"{sentry_actor(remote.issue.get('assignedTo')) or 'nobody'} now")]
    mapped = sentry_to_ado(assignee, config.rules.identities, remote.sentry_members, remote.ado_identities)
    if isinstance(mapped, Unmatched):
        return [PersonUnmatched(f"{what}: {mapped.reason}", mapped.person,
                                {"sentry_assignee_unmatched": sentry_actor(assignee)})]
    fields, rev = _ado_now(link, remote)
    current = fields.get("System.AssignedTo")
    wanted = mapped.value if isinstance(mapped, Matched) else None
    if same_ado_identity(current, wanted):
        return [Agreed(f"{what}: work item already {'assigned to ' + wanted if wanted else 'unassigned'}",
                       {"sentry_assignee": sentry_actor(assignee), "ado_assignee": wanted})]
    op = ({"op": "add", "path": "/fields/System.AssignedTo", "value": wanted} if wanted
          else {"op": "remove", "path": "/fields/System.AssignedTo"})
    synced = {"sentry_assignee": sentry_actor(assignee), "ado_assignee": wanted, "sentry_changed_at": remote.now}
    return [UpdateWorkItem(link.work_item_id or 0, [op], rev, synced)]


def _comment_created(event: Event, link: Link | None, remote: Remote, config: Config) -> list[Action]:
    data = event.data
    what = f"Sentry comment {data.get('comment_id')}"
    text = data.get("comment")
    if comments.written_by_bridge(text):
        return [Skip(f"{what}: written by the bridge (it carries the bridge's attribution); not carried back")]
    if not config.rules.syncs("comments", "ado"):
        return [Skip(f"{what}: comments do not sync towards ADO")]
    if not _is_linked(link):
        return _not_linked(link, what)
    assert link is not None
    source_id = f"sentry:{data.get('comment_id')}"
    if source_id in link.comment_ids:
        return [Skip(f"{what}: already carried to work item {link.work_item_id} (or deleted before it was)")]
    if not isinstance(text, str) or not text.strip():
        return [Skip(f"{what}: empty comment")]
    author = (event.body.get("actor") or {}).get("name")
    comment = comments.to_ado(author, text, _ado_is_services(config, remote))
    return [AddAdoComment(link.ado_project, link.work_item_id or 0, comment.text, comment.markdown, source_id,
                          comments.digest(text))]


def _comment_updated(event: Event, link: Link | None, remote: Remote, config: Config) -> list[Action]:
    """An edit reaches the copy the link maps the comment to; a comment never carried (its
    ``comment.created`` was lost) is carried now, in its latest text."""
    data = event.data
    what = f"Sentry comment {data.get('comment_id')} edited"
    text = data.get("comment")
    if comments.written_by_bridge(text):
        return [Skip(f"{what}: written by the bridge; not carried back")]
    if not config.rules.syncs("comments", "ado"):
        return [Skip(f"{what}: comments do not sync towards ADO")]
    if not _is_linked(link):
        return _not_linked(link, what)
    assert link is not None
    source_id = f"sentry:{data.get('comment_id')}"
    copy = link.copy_of(source_id)
    if copy is None:
        if source_id in link.comment_ids:
            return [Skip(f"{what}: its copy on work item {link.work_item_id} is not known (carried before "
                         "copies were mapped, or the bridge's own); left as it is")]
        return _comment_created(event, link, remote, config)
    if remote.current_comment is not None:
        if not remote.current_comment:
            return [Skip(f"{what}: deleted since; comment.deleted deletes its copy")]
        text = remote.current_comment
    if not isinstance(text, str) or not text.strip():
        return [Skip(f"{what}: empty comment")]
    if copy[1] == comments.digest(text):
        return [Skip(f"{what}: work item {link.work_item_id} already has this text")]
    comment = comments.to_ado((event.body.get("actor") or {}).get("name"), text, _ado_is_services(config, remote))
    return [UpdateAdoComment(link.ado_project, link.work_item_id or 0, copy_number(copy[0]), comment.text,
                             comment.markdown, source_id, comments.digest(text))]


def _comment_edit_known(event: Event, link: Link | None) -> list[Action] | None:
    """A comment edit whose text its copy already has (a re-delivery, our own edit's echo), decided
    before reading the comment's current text."""
    source_id = f"sentry:{event.data.get('comment_id')}"
    copy = link.copy_of(source_id) if link is not None else None
    if copy is None or copy[1] != comments.digest(event.data.get("comment")):
        return None
    return [Skip(f"Sentry comment {event.data.get('comment_id')} edited: work item {link.work_item_id if link else ''} "
                 "already has this text")]


def _comment_deleted(event: Event, link: Link | None, remote: Remote, config: Config) -> list[Action]:
    data = event.data
    what = f"Sentry comment {data.get('comment_id')} deleted"
    if not config.rules.syncs("comments", "ado"):
        return [Skip(f"{what}: comments do not sync towards ADO")]
    if not _is_linked(link):
        return _not_linked(link, what)
    assert link is not None
    source_id = f"sentry:{data.get('comment_id')}"
    copy = link.copy_of(source_id)
    if copy is None and source_id not in link.comment_ids:
        return [CommentGone(source_id)]  # it overtook its comment.created: that one must make no copy
    if copy is None:
        return [Skip(f"{what}: no copy of it on work item {link.work_item_id} is known")]
    return [DeleteAdoComment(link.ado_project, link.work_item_id or 0, copy_number(copy[0]), source_id)]


def _static_skip(reason: str) -> Handler:
    def handler(event: Event, link: Link | None, remote: Remote, config: Config) -> list[Action]:
        return [Skip(f"{event.kind}: {reason}")]
    return handler


_SENTRY_HANDLERS: Mapping[str, Handler] = {
    "issue.created": _issue_created,
    "issue.resolved": _issue_status,
    "issue.unresolved": _issue_status,
    "issue.ignored": _issue_status,
    "issue.archived": _issue_status,
    "issue.assigned": _issue_assigned,
    "comment.created": _comment_created,
    "comment.updated": _comment_updated,
    "comment.deleted": _comment_deleted,
    "event_alert.triggered": _event_alert,
    "activity_alert.triggered": _activity_alert,
    "seer.*": _static_skip("Seer's analysis is not synced; work items follow issues"),
    "preprod_artifact.*": _static_skip("build artifacts are not synced; work items follow issues"),
    "metric_alert.*": _static_skip("metric alerts describe a metric, not an issue; no work item is made"),
    "error.*": _static_skip("single error events are not synced; work items follow issues"),
    f"{UNKNOWN_RESOURCE}.*": lambda event, link, remote, config: [Skip(
        f"a Sentry webhook whose resource its data keys {sorted(event.data)} do not tell: not synced; the webhook "
        "function acknowledges it and logs its Sentry-Hook-Resource (pass --resource to name it)")],
    "installation.*": _static_skip("installation lifecycle needs no sync; the installation uuid comes with "
                                   "every webhook"),
}


# --- ADO --------------------------------------------------------------------------------------


def _work_item_id(event: Event) -> Any:
    resource = event.body.get("resource") or {}
    return resource.get("workItemId", resource.get("id"))


def _ado_echo(by: Any, bridge: str | None) -> bool:
    return bool(bridge) and by is not None and same_ado_identity(by, bridge)


_NOT_IN_FLIGHT = object()


def _ado_in_flight(link: Link, ref: str, value: Any) -> bool:
    """A write being sent (``link.in_flight``) sets this work item field to `value`."""
    key = {"System.State": "ado_state", "System.AssignedTo": "ado_assignee"}[ref]
    flying = link.in_flight.get(key, _NOT_IN_FLIGHT)
    if flying is _NOT_IN_FLIGHT:
        return False
    return value == flying if key == "ado_state" else same_ado_identity(value, flying)


def _ado_own_revision(resource: Mapping[str, Any], link: Link) -> str | None:
    """Why this revision is the bridge's own write coming back before its save, or None.

    Decided by content, like a Sentry echo: once the write's answer is saved its rev is the link's
    (`_ado_stale`); before that, every synced field the revision changes is set to what the write
    being sent sets (``link.in_flight``, saved before it was sent), and the whole revision shows no
    other synced field the link has not seen (the trace of a lost change). Who made it decides
    nothing: the bridge's identity may also carry a person's change it re-read."""
    deltas = resource.get("fields") or {}
    changed = [ref for ref in ("System.State", "System.AssignedTo") if ref in deltas]
    if not changed or "System.Title" in deltas:
        return None
    if not all(isinstance(deltas[ref], Mapping) and _ado_in_flight(link, ref, deltas[ref].get("newValue"))
               for ref in changed):
        return None
    if _ado_drift((resource.get("revision") or {}).get("fields") or {}, deltas, link):
        return None
    return f"it sets {' and '.join(r.split('.')[1] for r in changed)} to what the bridge is writing (its own write)"


def _ado_link_check(event: Event, link: Link | None, states_wanted: tuple[str, ...] = (LINKED,)) -> list[Action]:
    wid = _work_item_id(event)
    what = f"work item {wid} {event.kind.split('.', 1)[1]}"
    if link is None:
        return [Skip(f"{what}: not linked to a Sentry issue")]
    if link.work_item_id != wid:
        return [Skip(f"{what}: the link given is for work item {link.work_item_id}")]
    if link.state not in states_wanted:
        return [Skip(f"{what}: link is {link.state}")]
    return []


def _ado_stale(event: Event, link: Link) -> str | None:
    """Why this ADO revision is already known to the link (stale, re-delivered, or the echo of our
    own write, whose rev the link took from the write's answer), or None. Reconciliation found its
    changes by comparing values with the last sync: their order does not matter."""
    if event.origin == RECONCILE:
        return None
    resource = event.body.get("resource") or {}
    rev = resource.get("rev")
    if isinstance(rev, int) and link.synced.ado_rev is not None and rev <= link.synced.ado_rev:
        return f"stale or repeated, the link already has rev {link.synced.ado_rev}"
    changed_at = _changed_at(resource)
    known = link.synced.ado_changed_at
    if not isinstance(rev, int) and changed_at and known and changed_at <= known:
        return f"stale or repeated, changed {changed_at}, link has {link.synced.ado_changed_at}"
    return None


def _changed_at(resource: Mapping[str, Any]) -> Any:
    revision = (resource.get("revision") or {}).get("fields") or {}
    return revision.get("System.ChangedDate") or resource.get("revisedDate")


def _followed(resource: Mapping[str, Any], link: Link, changed_at: Any = None,
              agreed: Mapping[str, Any] | None = None) -> list[Action]:
    """The link's rev follows a revision that asks nothing of Sentry, when it is the very next one
    (a gap means a revision the link has not seen yet, which must not look stale). ``agreed``: the
    values that revision shows both sides already agree on."""
    rev = resource.get("rev")
    if isinstance(rev, int) and link.synced.ado_rev is not None and rev == link.synced.ado_rev + 1:
        return [FollowRevision(rev, changed_at if isinstance(changed_at, str) else None, dict(agreed or {}))]
    return []


_SYNCED_ADO_FIELDS = ("System.State", "System.AssignedTo", "System.Title")


def _already_synced(deltas: Mapping[str, Any], link: Link) -> list[str]:
    """The synced fields a revision sets to the value the link already holds: what the bridge last
    wrote (for this issue, or for another issue linked to the same work item) coming back, or a
    value both sides already agreed on. An echo told by content, whoever the hook names."""
    synced = link.synced
    known = []
    for ref, held in (("System.State", synced.ado_state), ("System.Title", synced.ado_title)):
        delta = deltas.get(ref)
        if isinstance(delta, Mapping) and held is not None and delta.get("newValue") == held:
            known.append(ref)
    delta = deltas.get("System.AssignedTo")
    if isinstance(delta, Mapping) and same_ado_identity(delta.get("newValue"), synced.ado_assignee):
        known.append("System.AssignedTo")
    return known


def _workitem_updated_without_remote(event: Event, link: Link | None) -> list[Action] | None:
    """An ADO revision decided by the hook and the link alone: unlinked, stale, re-delivered, our own
    write coming back (its rev is the link's once our save landed; its values are in flight when
    the hook overtakes that save), or changing no synced field."""
    problem = _ado_link_check(event, link)
    if problem:
        return problem
    assert link is not None
    resource = event.body.get("resource") or {}
    what = f"work item {link.work_item_id} rev {resource.get('rev')}"
    stale = _ado_stale(event, link)
    if stale:
        return [Skip(f"{what}: {stale}")]
    own = None if event.origin == RECONCILE else _ado_own_revision(resource, link)
    if own:
        return [Skip(f"{what}: {own}"), *_followed(resource, link, _changed_at(resource))]
    deltas = resource.get("fields") or {}
    revision = (resource.get("revision") or {}).get("fields") or {}
    if event.origin == RECONCILE:
        return None
    known = _already_synced(deltas, link)
    news = {ref: delta for ref, delta in deltas.items() if ref not in known}
    if any(ref in news for ref in _SYNCED_ADO_FIELDS) or \
            _ado_drift(revision, deltas, link):  # a synced field the revision shows the link never saw
        return None
    if known:
        return [Skip(f"{what}: {', '.join(known)} already as the link last synced (the bridge's own write "
                     "coming back, for this issue or another issue of the work item)"),
                *_followed(resource, link, _changed_at(resource))]
    return [Skip(f"{what}: no synced field changed ({', '.join(sorted(deltas)) or 'none'})"),
            *_followed(resource, link, _changed_at(resource))]


def _workitem_updated(event: Event, link: Link | None, remote: Remote, config: Config) -> list[Action]:
    problem = _ado_link_check(event, link)
    if problem:
        return problem
    assert link is not None
    resource = event.body["resource"]
    what = f"work item {link.work_item_id} rev {resource.get('rev')}"
    # Reconciliation found this change by comparing values with the last sync: neither who made the
    # revision nor its order matters (a lost revision may be older than the link's rev, and the
    # newest revision may be the bridge's own write of another field).
    reconciled = event.origin == RECONCILE
    stale = _ado_stale(event, link)
    if stale:
        return [Skip(f"{what}: {stale}")]
    own = None if reconciled else _ado_own_revision(resource, link)
    if own:
        return [Skip(f"{what}: {own}"), *_followed(resource, link, _changed_at(resource))]
    rev = resource.get("rev")
    revision = (resource.get("revision") or {}).get("fields") or {}
    changed_at = _changed_at(resource)
    deltas = resource.get("fields") or {}
    skips: list[Action] = []
    lost = {} if reconciled else _ado_drift(revision, deltas, link)  # reconciliation compared every field
    known = _already_synced(deltas, link)
    if known:
        skips.append(Skip(f"{what}: {', '.join(known)} already as the link last synced"))
    news = {ref: delta for ref, delta in deltas.items() if ref not in known}
    deltas = _not_superseded({**lost, **news}, rev, remote, what, skips)
    changes: dict[str, Any] = {}
    newest = max(r for r in (rev, link.synced.ado_rev) if isinstance(r, int)) if isinstance(rev, int) \
        else link.synced.ado_rev
    synced: dict[str, Any] = {"ado_rev": newest,
                              "ado_changed_at": changed_at}
    if "System.State" in deltas:
        _state_change(deltas["System.State"], revision, link, remote, config, what, changes, synced, skips)
    if "System.AssignedTo" in deltas:
        _assignee_change(deltas["System.AssignedTo"], link, remote, config, what, changes, synced, skips)
    if "System.Title" in deltas and config.rules.syncs("title", "sentry"):
        skips.append(Skip(f"{what}: title changed, but Sentry's API cannot set an issue title"))
    if not changes:
        agreed = {k: v for k, v in synced.items() if k not in ("ado_rev", "ado_changed_at")}
        return (skips or [Skip(f"{what}: no synced field changed ({', '.join(sorted(deltas)) or 'none'})")]) + \
            _followed(resource, link, changed_at, agreed)
    update = UpdateSentryIssue(config.settings.sentry_org, link.sentry_issue_id, changes, synced)
    return [update, *skips]


def _ado_drift(revision: Mapping[str, Any], deltas: Mapping[str, Any], link: Link) -> dict[str, Any]:
    """Changes the hook's whole revision (``resource.revision.fields``) shows but its own deltas do
    not: a synced field differing from the link's synced value is the trace of an earlier hook that
    was lost. Each is returned as the delta that hook would have carried, to be planned with this one."""
    drift: dict[str, Any] = {}
    state = revision.get("System.State")
    if "System.State" not in deltas and state and link.synced.ado_state and state != link.synced.ado_state:
        drift["System.State"] = {"oldValue": link.synced.ado_state, "newValue": state}
    if ("System.AssignedTo" in revision and "System.AssignedTo" not in deltas
            and not same_ado_identity(revision["System.AssignedTo"], link.synced.ado_assignee)):
        drift["System.AssignedTo"] = {"oldValue": link.synced.ado_assignee, "newValue": revision["System.AssignedTo"]}
    return drift


def _not_superseded(deltas: Mapping[str, Any], rev: Any, remote: Remote, what: str,
                    skips: list[Action]) -> Mapping[str, Any]:
    """Drop changes a newer revision already overwrote: hooks arrive out of order, and the newer
    revision's own hook carries the value that counts (it may have arrived first and found
    nothing to do, so the link's rev alone cannot tell)."""
    newer = remote.work_item or {}
    if not (isinstance(rev, int) and isinstance(newer.get("rev"), int) and newer["rev"] > rev):
        return deltas
    now = newer.get("fields") or {}
    kept = dict(deltas)
    same = {"System.State": lambda a, b: a == b, "System.AssignedTo": same_ado_identity}
    for ref, equal in same.items():
        if ref in kept and not equal(kept[ref].get("newValue"), now.get(ref)):
            skips.append(Skip(f"{what}: {ref} {kept[ref].get('newValue')!r} was superseded by rev {newer['rev']} "
                              f"({now.get(ref)!r})"))
            del kept[ref]
    return kept


def _sentry_now(link: Link, remote: Remote) -> tuple[str | None, str | None]:
    if remote.issue is not None:
        return states.sentry_status(remote.issue.get("status", "unresolved")), sentry_actor(
            remote.issue.get("assignedTo"))
    return link.synced.sentry_status, link.synced.sentry_assignee


def _state_change(delta: Mapping[str, Any], revision: Mapping[str, Any], link: Link, remote: Remote,
                  config: Config, what: str, changes: dict[str, Any], synced: dict[str, Any],
                  skips: list[Action]) -> None:
    new = delta.get("newValue")
    if not config.rules.syncs("status", "sentry"):
        skips.append(Skip(f"{what}: state does not sync towards Sentry"))
        return
    wit = revision.get("System.WorkItemType") or link.work_item_type
    try:
        status = states.inbound(delta.get("oldValue"), new, remote.states, wit, config.rules.states)
    except StateMappingError as exc:
        skips.append(Skip(f"{what}: {exc}; fetch the type's states and retry"))
        return
    synced["ado_state"] = new
    if status is None:
        skips.append(Skip(f"{what}: state {delta.get('oldValue')!r} -> {new!r} asks nothing of Sentry"))
        return
    current, _ = _sentry_now(link, remote)
    if current == status:
        skips.append(Skip(f"{what}: Sentry issue already {status}"))
        synced["sentry_status"] = status
        return
    substatus = remote.issue.get("substatus") if remote.issue is not None else None
    held = states.archived_stays(status, current, substatus, config.rules.states)
    if held:
        skips.append(Skip(f"{what}: {held}"))
        return
    strategy = config.rules.resolution_strategy(link.sentry_project)
    changes.update(states.resolution(strategy).changes if status == "resolved" else {"status": status})
    if status == "ignored":
        changes["substatus"] = "archived_forever"
    synced["sentry_status"] = status


def _assignee_change(delta: Mapping[str, Any], link: Link, remote: Remote, config: Config, what: str,
                     changes: dict[str, Any], synced: dict[str, Any], skips: list[Action]) -> None:
    if not config.rules.syncs("assignee", "sentry"):
        skips.append(Skip(f"{what}: assignee does not sync towards Sentry"))
        return
    new = delta.get("newValue")
    try:
        mapped = ado_to_sentry(new, config.rules.identities, remote.sentry_members, remote.ado_identities)
    except ValueError as exc:
        skips.append(Skip(f"{what}: {exc}"))
        return
    if isinstance(mapped, Unmatched):
        skips.append(PersonUnmatched(f"{what}: {mapped.reason}", mapped.person))
        return
    parsed = parse_ado_identity(new)
    synced["ado_assignee"] = parsed.unique_name if parsed else None
    wanted = mapped.value if isinstance(mapped, Matched) else None
    _, current = _sentry_now(link, remote)
    synced["sentry_assignee"] = wanted
    if current == wanted:
        skips.append(Skip(f"{what}: Sentry issue already {'assigned to ' + wanted if wanted else 'unassigned'}"))
        return
    changes["assignedTo"] = "" if isinstance(mapped, Unassigned) else wanted


def _workitem_commented(event: Event, link: Link | None, remote: Remote, config: Config) -> list[Action]:
    problem = _ado_link_check(event, link)
    if problem:
        return problem
    assert link is not None
    resource = event.body["resource"]
    fields = resource.get("fields") or {}
    comment_id = (resource.get("commentVersionRef") or {}).get("commentId")
    what = f"work item {link.work_item_id} comment {comment_id}"
    text = fields.get("System.History")
    followed = _followed(resource, link, fields.get("System.ChangedDate"))
    if _ado_echo(fields.get("System.ChangedBy"), remote.bridge_ado_identity) or comments.written_by_bridge(text):
        return [Skip(f"{what}: written by the bridge; not carried back"), *followed]
    if not config.rules.syncs("comments", "sentry"):
        return [Skip(f"{what}: comments do not sync towards Sentry"), *followed]
    source_id = f"ado:{comment_id}" if comment_id is not None else f"ado:rev{resource.get('rev')}"
    if source_id in link.comment_ids:
        return [Skip(f"{what}: already carried to Sentry"), *followed]
    if not isinstance(text, str) or not text.strip():
        return [Skip(f"{what}: the hook carries no comment text (System.History)")]
    author = parse_ado_identity(fields.get("System.ChangedBy"))
    body = comments.to_sentry(author.display_name or author.unique_name if author else None, text)
    return [AddSentryComment(config.settings.sentry_org, link.sentry_issue_id, body, source_id,
                             comments.digest(text)), *followed]


def _workitem_deleted(event: Event, link: Link | None, remote: Remote, config: Config) -> list[Action]:
    problem = _ado_link_check(event, link)
    if problem:
        return problem
    assert link is not None
    return [Unlink(_installation(event, remote), link.external_issue_id,
                   f"work item {link.work_item_id} was deleted in Azure DevOps")]


def _workitem_restored(event: Event, link: Link | None, remote: Remote, config: Config) -> list[Action]:
    problem = _ado_link_check(event, link, (UNLINKED,))
    if problem:
        if link is not None and link.state == LINKED and link.work_item_id == _work_item_id(event):
            return [Skip(f"work item {link.work_item_id} restored: already linked")]
        return problem
    assert link is not None
    installation = _installation(event, remote)
    if not installation or not link.work_item_url:
        return [Skip(f"work item {link.work_item_id} restored: installation uuid or work item URL unknown")]
    return [LinkExternalIssue(installation, link.sentry_issue_id, link.work_item_url, link.ado_project,
                              str(link.work_item_id), relink=True)]


_ADO_HANDLERS: Mapping[str, Handler] = {
    WORKITEM_UPDATED: _workitem_updated,
    WORKITEM_COMMENTED: _workitem_commented,
    WORKITEM_DELETED: _workitem_deleted,
    WORKITEM_RESTORED: _workitem_restored,
    WORKITEM_CREATED: _static_skip("work items made in Azure DevOps are linked from Sentry, not here"),
}

