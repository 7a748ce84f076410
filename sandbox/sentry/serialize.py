"""Render model records as Sentry's API serializers do (GroupSerializer, EventSerializer,
OrganizationMemberSerializer, Activity notes, PlatformExternalIssue, ...).

Pure functions of the organization and the emulator's base URL. Shapes follow
Sentry's serializers (getsentry/sentry ``src/sentry/api/serializers/models/group.py`` and friends)
and the example payloads in ``tests/fixtures/sentry-example-app/``: ids are strings, ``count`` is a
string, ``userCount`` an int, dates ISO-8601 with microseconds and ``Z``.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from sandbox.sentry.model import (
    Actor,
    Assignee,
    Comment,
    Event,
    ExternalIssue,
    Installation,
    Issue,
    Member,
    Organization,
    Project,
    Team,
    User,
    Workflow,
)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def user_json(user: User) -> dict[str, Any]:
    return {"id": str(user.id), "name": user.name, "username": user.username, "email": user.email,
            "emails": [{"id": str(user.id), "email": user.email, "is_verified": True}] if user.email else [],
            "avatarUrl": None, "isActive": True, "hasPasswordAuth": True, "isManaged": False,
            "has2fa": False, "isSuperuser": False, "isStaff": False}


def member_json(member: Member) -> dict[str, Any]:
    return {"id": str(member.id), "email": member.user.email, "name": member.user.name,
            "user": user_json(member.user), "orgRole": member.role, "role": member.role,
            "roleName": member.role.title(), "pending": False, "expired": False, "inviteStatus": "approved",
            "flags": {"idp:provisioned": False, "idp:role-restricted": False, "sso:linked": False,
                      "sso:invalid": False, "member-limit:restricted": False, "partnership:restricted": False},
            "dateCreated": "2024-01-01T00:00:00.000000Z", "teams": [], "teamRoles": [], "projects": []}


def team_json(team: Team) -> dict[str, Any]:
    return {"id": str(team.id), "slug": team.slug, "name": team.name, "dateCreated": "2024-01-01T00:00:00.000000Z",
            "isMember": True, "memberCount": len(team.user_ids), "hasAccess": True, "isPending": False,
            "avatar": {"avatarType": "letter_avatar", "avatarUuid": None}}


def project_json(org: Organization, project: Project) -> dict[str, Any]:
    teams = [team_json(org.teams[t]) for t in sorted(project.team_ids)]
    return {"id": str(project.id), "slug": project.slug, "name": project.name, "platform": project.platform,
            "dateCreated": "2024-01-01T00:00:00.000000Z", "isBookmarked": False, "isMember": True,
            "hasAccess": True, "features": [], "firstEvent": None, "status": "active",
            "team": teams[0] if teams else None, "teams": teams,
            "organization": {"id": str(org.id), "slug": org.slug, "name": org.name}}


def assignee_json(org: Organization, assignee: Assignee | None) -> dict[str, Any] | None:
    if assignee is None:
        return None
    if assignee.kind == "team":
        team = org.teams[assignee.id]
        return {"type": "team", "id": str(team.id), "name": team.slug}
    user = org.users[assignee.id]
    return {"type": "user", "id": str(user.id), "name": user.name, "email": user.email}


def issue_url(base_url: str, org: Organization, issue: Issue) -> str:
    return f"{base_url}/organizations/{org.slug}/issues/{issue.id}/"


def issue_json(org: Organization, issue: Issue, base_url: str) -> dict[str, Any]:
    project = org.projects[issue.project_id]
    return {
        "id": str(issue.id), "shortId": issue.short_id, "title": issue.title, "culprit": issue.culprit,
        "permalink": issue_url(base_url, org, issue), "logger": None, "level": issue.level,
        "status": issue.status, "substatus": issue.substatus, "statusDetails": dict(issue.status_details),
        "isPublic": issue.is_public, "platform": issue.platform,
        "project": {"id": str(project.id), "name": project.name, "slug": project.slug, "platform": project.platform},
        "type": "error", "issueType": "error", "issueCategory": "error", "metadata": dict(issue.metadata),
        "numComments": issue.num_comments, "assignedTo": assignee_json(org, issue.assigned_to),
        "isBookmarked": issue.is_bookmarked, "isSubscribed": False, "subscriptionDetails": None,
        "hasSeen": issue.has_seen, "annotations": [], "isUnhandled": False, "priority": issue.priority,
        "priorityLockedAt": None, "shareId": None, "count": str(issue.count), "userCount": len(issue.user_ids),
        "firstSeen": iso(issue.first_seen), "lastSeen": iso(issue.last_seen),
    }


def webhook_issue_json(org: Organization, issue: Issue, base_url: str, created: bool) -> dict[str, Any]:
    """``issue.created`` payloads also carry ``url``/``web_url``/``project_url`` (§2.1)."""
    data = issue_json(org, issue, base_url)
    if created:
        project = org.projects[issue.project_id]
        data["url"] = f"{base_url}/api/0/organizations/{org.slug}/issues/{issue.id}/"
        data["web_url"] = issue_url(base_url, org, issue)
        data["project_url"] = f"{base_url}/organizations/{org.slug}/issues/?project={project.id}"
    return data


def _frame_json(frame: Any) -> dict[str, Any]:
    return {"filename": frame.filename, "absPath": frame.filename, "module": frame.module,
            "package": None, "platform": None, "instructionAddr": None, "symbolAddr": None,
            "function": frame.function, "rawFunction": None, "symbol": None, "lineNo": frame.lineno,
            "colNo": None, "inApp": frame.in_app, "trust": None, "errors": None, "vars": None,
            "context": [[frame.lineno, frame.context_line]] if frame.context_line else []}


def event_json(org: Organization, event: Event) -> dict[str, Any]:
    issue = org.issues[event.issue_id]
    tags = {"environment": event.environment, "level": issue.level, **event.tags}
    if event.release:
        tags["release"] = event.release
    exception = {"type": event.exception_type, "value": event.exception_value, "module": None,
                 "mechanism": {"type": "generic", "handled": False}, "threadId": None, "rawStacktrace": None,
                 "stacktrace": {"frames": [_frame_json(f) for f in event.frames], "framesOmitted": None,
                                "registers": None, "hasSystemFrames": any(not f.in_app for f in event.frames)}}
    return {
        "id": event.event_id, "eventID": event.event_id, "groupID": str(issue.id),
        "projectID": str(event.project_id), "title": issue.title, "message": "", "culprit": issue.culprit,
        "location": event.frames[-1].filename if event.frames else None, "platform": event.platform,
        "type": "error", "metadata": dict(issue.metadata), "dateCreated": iso(event.received),
        "dateReceived": iso(event.received), "size": 1024, "dist": None, "errors": [],
        "release": {"version": event.release} if event.release else None,
        "tags": [{"key": k, "value": v} for k, v in sorted(tags.items())], "user": event.user,
        "contexts": {}, "sdk": {"name": "sentry.python", "version": "2.0.0"}, "fingerprints": [issue.fingerprint],
        "entries": [{"type": "exception", "data": {"values": [exception], "hasSystemFrames":
                                                  exception["stacktrace"]["hasSystemFrames"], "excOmitted": None}}],
    }


def event_webhook_json(org: Organization, event: Event, base_url: str) -> dict[str, Any]:
    """``event.as_dict()`` plus the URLs Sentry adds for ``event_alert``/``error`` payloads (§2.3)."""
    issue = org.issues[event.issue_id]
    project = org.projects[event.project_id]
    frames = [{"function": f.function, "filename": f.filename, "abs_path": f.filename, "lineno": f.lineno,
               "in_app": f.in_app, "module": f.module, "context_line": f.context_line} for f in event.frames]
    tags = [["environment", event.environment], ["level", issue.level], *[[k, v] for k, v in event.tags.items()]]
    return {
        "event_id": event.event_id, "project": project.id, "release": event.release, "dist": None,
        "platform": event.platform, "message": "", "datetime": iso(event.received), "tags": tags,
        "culprit": issue.culprit, "environment": event.environment, "level": issue.level,
        "location": event.frames[-1].filename if event.frames else None, "logger": "",
        "metadata": dict(issue.metadata), "title": issue.title, "user": event.user, "contexts": {},
        "sdk": {"name": "sentry.python", "version": "2.0.0"}, "breadcrumbs": {},
        "exception": {"values": [{"type": event.exception_type, "value": event.exception_value,
                                  "stacktrace": {"frames": frames}}]},
        "url": f"{base_url}/api/0/projects/{org.slug}/{project.slug}/events/{event.event_id}/",
        "web_url": f"{base_url}/organizations/{org.slug}/issues/{issue.id}/events/{event.event_id}/",
        "issue_url": f"{base_url}/api/0/organizations/{org.slug}/issues/{issue.id}/",
        "issue_id": str(issue.id),
    }


def comment_json(org: Organization, comment: Comment) -> dict[str, Any]:
    user = org.users.get(comment.user_id)
    return {"id": str(comment.id), "user": user_json(user) if user else None, "type": "note",
            "data": {"text": comment.text}, "dateCreated": iso(comment.created)}


def external_issue_json(org: Organization, link: ExternalIssue) -> dict[str, Any]:
    installation = org.installations[link.installation_uuid]
    return {"id": str(link.id), "issueId": str(link.issue_id), "serviceType": installation.app_slug,
            "displayName": html.escape(f"{link.project}#{link.identifier}"), "webUrl": link.web_url}


BUILTIN_INTEGRATION_ID = 501  # the organization's one installation of the built-in Azure DevOps integration


def issue_integrations_json(org: Organization, issue_id: int) -> list[dict[str, Any]]:
    """GET .../issues/{id}/integrations/: each issue-tracking integration of the organization with
    ``externalIssues``, the items it linked to this issue (IntegrationIssueSerializer in getsentry/sentry
    src/sentry/integrations/api/endpoints/group_integrations.py; IntegrationSerializer and the vsts
    provider's get_issue_url / get_issue_display_name in src/sentry/integrations/vsts/issues.py)."""
    if not org.integration_issues:
        return []
    instance = next(iter(org.integration_issues.values())).instance
    linked = [x for x in org.integration_issues.values() if x.issue_id == issue_id]
    return [{"id": str(BUILTIN_INTEGRATION_ID), "name": instance.rstrip("/").rsplit("/", 1)[-1].split(".")[0],
             "icon": None, "domainName": instance.split("://", 1)[-1].rstrip("/"), "accountType": None,
             "scopes": None, "status": "active",
             "provider": {"key": "vsts", "slug": "vsts", "name": "Azure DevOps", "canAdd": True, "canDisable": False,
                          "features": ["commits", "issue-basic", "issue-sync"], "aspects": {}},
             "externalIssues": [{"id": str(x.id), "key": x.key, "url": f"{x.instance}_workitems/edit/{x.key}",
                                 "title": x.title, "description": "", "displayName": f"{x.area_path}#{x.key}"}
                                for x in linked]}]


def installation_json(org: Organization, installation: Installation) -> dict[str, Any]:
    return {"app": {"uuid": installation.app_uuid, "slug": installation.app_slug,
                    "sentryAppId": installation.app_id},
            "organization": {"slug": org.slug, "id": org.id}, "uuid": installation.uuid,
            "status": installation.status}


def workflow_json(org: Organization, workflow: Workflow) -> dict[str, Any]:
    """A workflow as WorkflowSerializer and ActionSerializer show it (getsentry/sentry
    src/sentry/workflow_engine/endpoints/serializers/): its triggers, and one action filter holding
    the sentry_app action that targets our app by its id (the action's settings in ``data``)."""
    installation = org.installations[workflow.installation_uuid]
    stamp = "2024-01-01T00:00:00.000000Z"
    conditions = [{"id": str(workflow.id * 10 + i), "type": t, "comparison": True, "conditionResult": True}
                  for i, t in enumerate(workflow.triggers)]
    action = {"id": str(workflow.id * 10), "type": "sentry_app", "integrationId": None,
              "data": {"settings": workflow.settings} if workflow.settings else {},
              "config": {"targetType": "sentry_app", "targetDisplay": installation.app_name,
                         "targetIdentifier": str(installation.app_id), "sentryAppIdentifier": "sentry_app_id"},
              "status": "active"}
    return {"id": str(workflow.id), "name": workflow.name, "organizationId": str(org.id), "createdBy": None,
            "dateCreated": stamp, "dateUpdated": stamp,
            "triggers": {"id": str(workflow.id * 10 + 1), "organizationId": str(org.id), "logicType": "any-short",
                         "conditions": conditions, "actions": []},
            "actionFilters": [{"id": str(workflow.id * 10 + 2), "organizationId": str(org.id), "logicType": "all",
                               "conditions": [], "actions": [action]}],
            "environment": None, "config": {"frequency": 30}, "detectorIds": [], "enabled": workflow.enabled,
            "lastTriggered": None}


def actor_json(org: Organization, actor: Actor, receiver: Installation) -> dict[str, Any]:
    """Webhook ``actor`` (AppPlatformEvent.get_actor): an app's change is reported with the
    *receiving* installation's app uuid and name (§1.1)."""
    if actor.kind == "user" and actor.user_id is not None:
        return {"type": "user", "id": actor.user_id, "name": org.users[actor.user_id].name}
    if actor.kind == "application":
        return {"type": "application", "id": receiver.app_uuid, "name": receiver.app_name}
    return {"type": "application", "id": "sentry", "name": "Sentry"}
