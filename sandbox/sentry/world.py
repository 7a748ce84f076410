"""What happens in the emulated organization when someone acts: a new error arrives, an issue is
updated, a comment is written, an external issue is linked. Each operation validates first (bad
input raises and changes nothing), then changes the records and returns the webhook notices the
change causes. No HTTP here: the emulator shell turns notices into signed deliveries.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sandbox.sentry import serialize
from sandbox.sentry.issue_update import InvalidUpdate, UpdateOutcome, apply_update
from sandbox.sentry.model import (
    SYSTEM,
    Actor,
    AlertRule,
    Comment,
    Event,
    ExternalIssue,
    Frame,
    Installation,
    Issue,
    Organization,
    Workflow,
)
from sandbox.sentry.releases import Release
from sandbox.sentry.resolutions import is_regression

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
DUPLICATE_COMMENT_WINDOW = timedelta(hours=1)
# The activity types Sentry's workflow engine evaluates workflows on today (SUPPORTED_ACTIVITIES in
# getsentry/sentry src/sentry/workflow_engine/handlers/workflow/workflow_activity_handlers.py): the
# resolves. A Sentry App action could be sent every status change (STATUS_CHANGE_ACTIVITY_TYPES);
# the others arrive as Sentry rolls them out, which `World.workflow_activities` stands in for.
# The trigger (data condition type) that makes a workflow evaluate a resolve ("issue is resolved").
ACTIVITY_TRIGGER = "issue_resolved_trigger"
WORKFLOW_ACTIVITY_TYPES = frozenset({"status_resolved", "status_resolved_in_release", "status_resolved_by_age",
                                     "status_resolved_in_commit"})


def activity_type(before_status: str, after: Issue) -> str | None:
    """The activity alert type (ActivityAlertType) of a status change, None when the status held."""
    if after.status == before_status:
        return None
    if after.status == "resolved":
        details = after.status_details or {}
        if details.get("inRelease") or details.get("inNextRelease"):
            return "status_resolved_in_release"
        return "status_resolved_in_commit" if details.get("inCommit") else "status_resolved"
    if after.status == "ignored":
        return "status_ignored"
    return {"regressed": "status_regression", "escalating": "status_escalating"}.get(str(after.substatus),
                                                                                    "status_unresolved")


class NotFound(LookupError):
    """A 404 ``{"detail": "The requested resource does not exist"}``."""


@dataclass(frozen=True)
class Notice:
    """One webhook to send: to every installation, or only to ``installation_uuid``."""

    resource: str
    action: str
    data: dict[str, Any]
    actor: Actor
    installation_uuid: str | None = None


def short_id(project_slug: str, number: int) -> str:
    """``BACKEND-1A``: project slug upper-cased and the per-project counter in Sentry's base32."""
    digits = ""
    while True:
        number, rest = divmod(number, 32)
        digits = _CROCKFORD[rest] + digits
        if number == 0:
            return f"{project_slug.upper()}-{digits}"


def parse_frames(raw: object) -> list[Frame]:
    if raw is None:
        return [Frame("app/main.py", "main", 10), Frame("app/handlers.py", "handle", 42)]
    if not isinstance(raw, list) or not all(isinstance(f, Mapping) for f in raw):
        raise InvalidUpdate({"frames": ["Expected a list of frame objects."]})
    try:
        return [Frame(filename=str(f["filename"]), function=str(f["function"]), lineno=int(f.get("lineno", 1)),
                      in_app=bool(f.get("in_app", True)), module=f.get("module"),
                      context_line=f.get("context_line")) for f in raw]
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidUpdate({"frames": [f"Each frame needs filename and function ({exc})."]}) from exc


class World:
    """The organization plus the operations people, apps and Sentry itself perform on it."""

    def __init__(self, org: Organization, base_url: str) -> None:
        self.org = org
        self.base_url = base_url
        self.activity: dict[int, list[dict[str, Any]]] = {}  # issue id -> newest first, as details show it
        self.workflow_activities: set[str] = set(WORKFLOW_ACTIVITY_TYPES)

    # --- look-ups ------------------------------------------------------------------------------

    def issue(self, ident: str) -> Issue:
        """By numeric id or short id, as Sentry's issue routes accept both."""
        if ident.isdigit() and int(ident) in self.org.issues:
            return self.org.issues[int(ident)]
        found = next((i for i in self.org.issues.values() if i.short_id.lower() == ident.lower()), None)
        if found is None:
            raise NotFound(ident)
        return found

    def project(self, ident: str) -> Any:
        found = next((p for p in self.org.projects.values() if ident in (p.slug, str(p.id))), None)
        if found is None:
            raise NotFound(ident)
        return found

    def latest_event(self, issue: Issue) -> Event | None:
        events = [e for e in self.org.events.values() if e.issue_id == issue.id]
        return max(events, key=lambda e: e.received) if events else None

    def oldest_event(self, issue: Issue) -> Event | None:
        events = [e for e in self.org.events.values() if e.issue_id == issue.id]
        return min(events, key=lambda e: e.received) if events else None

    def member_by(self, who: str) -> int:
        """A member's user id from an email, username or user id."""
        for member in self.org.members.values():
            if who.lower() in (member.user.email.lower(), member.user.username.lower(), str(member.user.id)):
                return member.user.id
        raise InvalidUpdate({"as": [f"no member with email, username or user id {who!r}"]})

    def _issue_notice(self, action: str, issue: Issue, actor: Actor) -> Notice:
        data = {"issue": serialize.webhook_issue_json(self.org, issue, self.base_url, action == "created")}
        return Notice("issue", action, data, actor)

    # --- errors arriving ----------------------------------------------------------------------

    def record_error(self, project_ident: str, exception_type: str, exception_value: str, now: datetime,
                     frames: object = None, level: str = "error", environment: str = "production",
                     release: str | None = None, user: Mapping[str, Any] | None = None,
                     tags: Mapping[str, str] | None = None, fingerprint: str | None = None,
                     ) -> tuple[Issue, Event, list[Notice]]:
        """One error event: a new issue (``issue.created`` + matching alert rules) or one more
        event on the issue with the same fingerprint (a resolved one regresses, unless it was
        resolved in a release its release is older than: `resolutions.is_regression`). An event's
        release is created for its project if it is new, as ingestion does."""
        for name, value in (("exception_type", exception_type), ("exception_value", exception_value)):
            if not isinstance(value, str) or not value.strip():
                raise InvalidUpdate({name: ["This field is required."]})
        if level not in ("fatal", "error", "warning", "info", "debug"):
            raise InvalidUpdate({"level": [f'"{level}" is not a valid choice.']})
        project = self.project(project_ident)
        parsed = parse_frames(frames)
        print_key = fingerprint or f"{exception_type}|{parsed[-1].filename}|{parsed[-1].function}"
        existing = next((i for i in self.org.issues.values()
                         if i.project_id == project.id and i.fingerprint == print_key), None)
        notices: list[Notice] = []
        if existing is None:
            in_app = [f for f in parsed if f.in_app] or parsed
            top = in_app[-1]
            issue = Issue(
                id=self.org.new_id() * 1000 + 7, short_id=short_id(project.slug, project.next_short_number),
                project_id=project.id, title=f"{exception_type}: {exception_value}",
                culprit=f"{top.module or top.filename} in {top.function}", level=level, fingerprint=print_key,
                first_seen=now, last_seen=now, platform=project.platform,
                metadata={"type": exception_type, "value": exception_value, "filename": top.filename,
                          "function": top.function, "in_app_frame_mix": "in-app-only"})
            project.next_short_number += 1
        else:
            issue = existing
        event = Event(event_id=uuid.uuid4().hex, issue_id=issue.id, project_id=project.id, received=now,
                      exception_type=exception_type, exception_value=exception_value, frames=parsed,
                      environment=environment, release=release, platform=project.platform,
                      user=dict(user) if user else None, tags=dict(tags or {}))
        issue.count += 1
        issue.last_seen = now
        if user:
            issue.user_ids.add(str(user.get("id") or user.get("email") or user))
        self.org.events[event.event_id] = event
        self.org.issues[issue.id] = issue
        if release:
            self._seen_release(release, project.slug, now)
        if existing is None:
            notices.append(self._issue_notice("created", issue, SYSTEM))
            notices.extend(self._alerts(issue, event, "first_seen_event"))
        elif issue.status == "resolved" and is_regression(issue.resolution, release, self.org.releases, project.slug):
            issue.status, issue.substatus, issue.status_details = "unresolved", "regressed", {}
            issue.resolution = None
            notices.append(self._issue_notice("unresolved", issue, SYSTEM))
            notices.extend(self.workflow_alerts("resolved", issue, SYSTEM))
            notices.extend(self._alerts(issue, event, "regression_event"))
        return issue, event, notices

    def _seen_release(self, version: str, project_slug: str, now: datetime) -> None:
        release = self.org.releases.get(version)
        if release is None:
            release = self.org.releases[version] = Release(version, [], serialize.iso(now))
        if project_slug not in release.project_slugs:
            release.project_slugs.append(project_slug)

    def escalate(self, issue: Issue, now: datetime) -> list[Notice]:
        """An issue archived until escalating gets more events than forecast: it is unresolved
        again with substatus ``escalating`` (signal ``issue_escalating`` → ``issue.unresolved``)."""
        if issue.status != "ignored" or issue.substatus != "archived_until_escalating":
            raise InvalidUpdate({"status": ["only an issue archived until escalating can escalate"]})
        issue.status, issue.substatus, issue.status_details = "unresolved", "escalating", {}
        issue.last_seen = now
        return [self._issue_notice("unresolved", issue, SYSTEM), *self.workflow_alerts("ignored", issue, SYSTEM)]

    def _alerts(self, issue: Issue, event: Event, condition: str) -> list[Notice]:
        """The issue alert rules this event fires (by one of their conditions): each sends
        ``event_alert.triggered`` with the event, as Sentry's alert-rule action does; the body names
        neither the condition nor the issue's status."""
        notices = []
        for rule in self.org.alert_rules.values():
            if rule.project_id not in (None, issue.project_id) or condition not in rule.conditions:
                continue
            installation = self.org.installations[rule.installation_uuid]
            data = {"event": serialize.event_webhook_json(self.org, event, self.base_url),
                    "triggered_rule": rule.name,
                    "issue_alert": {"id": str(rule.id), "title": rule.name, "sentry_app_id": installation.app_id,
                                    "settings": [dict(s) for s in rule.settings]}}
            notices.append(Notice("event_alert", "triggered", data, SYSTEM, rule.installation_uuid))
        return notices

    def add_workflow(self, name: str, installation_uuid: str, project_ident: str | None = None,
                     settings: Sequence[Mapping[str, Any]] | None = None,
                     triggers: Sequence[str] = (ACTIVITY_TRIGGER,), enabled: bool = True) -> Workflow:
        if not isinstance(name, str) or not name.strip():
            raise InvalidUpdate({"name": ["This field is required."]})
        if installation_uuid not in self.org.installations:
            raise NotFound(installation_uuid)
        project_id = self.project(project_ident).id if project_ident else None
        workflow = Workflow(self.org.new_id(), name, installation_uuid, project_id,
                            None if settings is None else [dict(s) for s in settings], tuple(triggers), enabled)
        self.org.workflows[workflow.id] = workflow
        return workflow

    def workflow_alerts(self, before_status: str, issue: Issue, actor: Actor,
                        kind: str | None = None, only: Workflow | None = None) -> list[Notice]:
        """``activity_alert.triggered`` for each workflow on the issue's project, as
        SentryAppActivityHandler sends it (src/sentry/notifications/notification_action/
        activity_registry/sentry_app.py): ``data = {issue, activity: {type, details}, alert: {id,
        title, sentry_app_id, url, web_url[, settings]}}``. `kind` names the activity outright
        (e.g. a Seer step) for `only` that workflow; otherwise it is the status change, if the
        workflow engine evaluates it, for every enabled workflow on the project whose trigger is the resolve one."""
        if kind is None:
            kind = activity_type(before_status, issue)
            if kind not in self.workflow_activities:
                return []
        org = self.org
        details: dict[str, Any] = {}
        if actor.kind == "user" and actor.user_id in org.users:
            user = org.users[actor.user_id]
            details["user"] = {"id": user.id, "name": user.name, "username": user.username}
        notices = []
        for workflow in [only] if only else org.workflows.values():
            if workflow.project_id not in (None, issue.project_id):
                continue
            if only is None and (not workflow.enabled or ACTIVITY_TRIGGER not in workflow.triggers):
                continue
            installation = org.installations[workflow.installation_uuid]
            alert: dict[str, Any] = {
                "id": workflow.id, "title": workflow.name, "sentry_app_id": installation.app_id,
                "url": f"{self.base_url}/api/0/organizations/{org.slug}/workflows/{workflow.id}/",
                "web_url": f"{self.base_url}/organizations/{org.slug}/monitors/alerts/{workflow.id}/"}
            if workflow.settings:
                alert["settings"] = [dict(s) for s in workflow.settings]
            data = {"issue": serialize.webhook_issue_json(org, issue, self.base_url, True),
                    "activity": {"type": kind, "details": dict(details)}, "alert": alert}
            notices.append(Notice("activity_alert", "triggered", data, SYSTEM, workflow.installation_uuid))
        return notices

    def add_alert_rule(self, name: str, settings: Sequence[Mapping[str, Any]], installation_uuid: str,
                       project_ident: str | None = None,
                       conditions: Sequence[str] = ("first_seen_event",)) -> AlertRule:
        if not isinstance(name, str) or not name.strip():
            raise InvalidUpdate({"name": ["This field is required."]})
        if not all(isinstance(s, Mapping) and "name" in s and "value" in s for s in settings):
            raise InvalidUpdate({"settings": ["Each setting needs name and value."]})
        if installation_uuid not in self.org.installations:
            raise NotFound(installation_uuid)
        project_id = self.project(project_ident).id if project_ident else None
        rule = AlertRule(self.org.new_id(), name, installation_uuid, project_id, [dict(s) for s in settings],
                         tuple(conditions))
        self.org.alert_rules[rule.id] = rule
        return rule

    # --- issue updates -------------------------------------------------------------------------

    def update_issue(self, issue: Issue, body: Mapping[str, Any], actor: Actor,
                     now: datetime) -> tuple[Issue, list[Notice]]:
        outcome = apply_update(self.org, issue, body, now)
        self._record_activity(issue, outcome.issue, now)
        return self._commit(outcome), [*self._notices(outcome, actor),
                                       *self.workflow_alerts(issue.status, outcome.issue, actor)]

    def _record_activity(self, before: Issue, after: Issue, now: datetime) -> None:
        """The issue's activity log (``set_resolved``, ``assigned``, ...), which issue details return;
        it records status and assignee changes whether or not a webhook is sent for them."""
        kinds = []
        if after.status != before.status:
            kinds.append(f"set_{after.status}")
        if after.assigned_to != before.assigned_to:
            kinds.append("assigned" if after.assigned_to is not None else "unassigned")
        stamp = now.isoformat().replace("+00:00", "Z")
        log = self.activity.setdefault(after.id, [])
        for kind in kinds:
            log.insert(0, {"id": str(len(log) + 1), "type": kind, "dateCreated": stamp, "data": {}})

    def _commit(self, outcome: UpdateOutcome) -> Issue:
        self.org.issues[outcome.issue.id] = outcome.issue
        return outcome.issue

    def _notices(self, outcome: UpdateOutcome, actor: Actor) -> list[Notice]:
        return [self._issue_notice(action, outcome.issue, actor) for action in outcome.actions]

    def bulk_update(self, issues: Sequence[Issue], body: Mapping[str, Any], actor: Actor,
                    now: datetime) -> tuple[dict[str, Any], list[Notice]]:
        """All or nothing: every issue is validated before any is changed."""
        outcomes = [apply_update(self.org, issue, body, now) for issue in issues]
        notices: list[Notice] = []
        for before, outcome in zip(issues, outcomes, strict=True):
            self._record_activity(before, outcome.issue, now)
            self._commit(outcome)
            notices.extend(self._notices(outcome, actor))
            notices.extend(self.workflow_alerts(before.status, outcome.issue, actor))
        applied = dict(outcomes[0].applied) if outcomes else {}
        if "assignedTo" in applied and outcomes:
            applied["assignedTo"] = serialize.assignee_json(self.org, outcomes[0].issue.assigned_to)
        return applied, notices

    # --- comments ------------------------------------------------------------------------------

    def add_comment(self, issue: Issue, text: object, actor: Actor, now: datetime) -> tuple[Comment, list[Notice]]:
        if not isinstance(text, str) or not text.strip():
            raise InvalidUpdate({"text": ["This field may not be blank."]})
        user_id = self._author(actor)
        for other in self.org.comments.values():
            if (other.issue_id == issue.id and other.user_id == user_id and other.text == text
                    and now - other.created < DUPLICATE_COMMENT_WINDOW):
                raise InvalidUpdate({"detail": "You have already posted that comment."})
        comment = Comment(self.org.new_id(), issue.id, user_id, text, now)
        self.org.comments[comment.id] = comment
        issue.num_comments += 1
        return comment, [self._comment_notice("created", comment, actor)]

    def edit_comment(self, issue: Issue, note_id: str, text: object, actor: Actor,
                     ) -> tuple[Comment, list[Notice]]:
        comment = self._own_comment(issue, note_id, actor)
        if not isinstance(text, str) or not text.strip():
            raise InvalidUpdate({"text": ["This field may not be blank."]})
        updated = replace(comment, text=text)
        self.org.comments[comment.id] = updated
        return updated, [self._comment_notice("updated", updated, actor)]

    def delete_comment(self, issue: Issue, note_id: str, actor: Actor) -> list[Notice]:
        comment = self._own_comment(issue, note_id, actor)
        del self.org.comments[comment.id]
        issue.num_comments = max(issue.num_comments - 1, 0)
        return [self._comment_notice("deleted", comment, actor)]

    def _author(self, actor: Actor) -> int:
        if actor.user_id is None:
            raise InvalidUpdate({"detail": "Comments need a user or an application actor."})
        return actor.user_id

    def _own_comment(self, issue: Issue, note_id: str, actor: Actor) -> Comment:
        """Sentry only lets the author edit or delete a note; others get 404."""
        comment = self.org.comments.get(int(note_id)) if note_id.isdigit() else None
        if comment is None or comment.issue_id != issue.id or comment.user_id != actor.user_id:
            raise NotFound(note_id)
        return comment

    def _comment_notice(self, action: str, comment: Comment, actor: Actor) -> Notice:
        issue = self.org.issues[comment.issue_id]
        data = {"comment_id": comment.id, "issue_id": comment.issue_id,
                "project_slug": self.org.projects[issue.project_id].slug,
                "timestamp": serialize.iso(comment.created), "comment": comment.text}
        return Notice("comment", action, data, actor)

    # --- installations and external issues -----------------------------------------------------

    def installation(self, ident: str) -> Installation:
        found = self.org.installations.get(ident)
        if found is None:
            raise NotFound(ident)
        return found

    def install(self, installation: Installation, actor: Actor) -> list[Notice]:
        self.org.installations[installation.uuid] = installation
        data = {"installation": serialize.installation_json(self.org, installation)}
        return [Notice("installation", "created", data, actor, installation.uuid)]

    def link_external(self, installation: Installation, body: Mapping[str, Any]) -> ExternalIssue:
        """Upsert of the one link per (issue, app), as PlatformExternalIssue is."""
        errors: dict[str, list[str]] = {}
        for key in ("webUrl", "project", "identifier"):
            if not isinstance(body.get(key), str) or not body[key].strip():
                errors[key] = ["This field is required."]
        web_url = body.get("webUrl")
        if isinstance(web_url, str) and web_url and not web_url.startswith(("http://", "https://")):
            errors["webUrl"] = ["Enter a valid URL."]
        if errors:
            raise InvalidUpdate(errors)
        issue = self.issue(str(body.get("issueId")))
        existing = next((x for x in self.org.external_issues.values()
                         if x.issue_id == issue.id and x.installation_uuid == installation.uuid), None)
        link = ExternalIssue(existing.id if existing else self.org.new_id(), issue.id, installation.uuid,
                             str(body["webUrl"]), str(body["project"]), str(body["identifier"]))
        self.org.external_issues[link.id] = link
        return link

    def unlink_external(self, installation: Installation, ident: str) -> None:
        link = self.org.external_issues.get(int(ident)) if ident.isdigit() else None
        if link is None or link.installation_uuid != installation.uuid:
            raise NotFound(ident)
        del self.org.external_issues[link.id]
