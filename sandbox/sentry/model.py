"""The emulated sentry.io's state, as plain data: one organization and what lives in it.

Nothing here does I/O; ``world`` changes these records and ``serialize`` renders them the way
Sentry's serializers do. Ids are integers here and strings on the wire, as in Sentry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

ActorKind = Literal["user", "application", "system"]


@dataclass
class User:
    id: int
    name: str
    username: str
    email: str


@dataclass
class Member:
    id: int  # the membership id, not the user id
    user: User
    role: str = "member"


@dataclass
class Team:
    id: int
    slug: str
    name: str
    user_ids: set[int] = field(default_factory=set)


@dataclass
class Project:
    id: int
    slug: str
    name: str
    platform: str
    team_ids: set[int] = field(default_factory=set)
    next_short_number: int = 1


@dataclass
class Frame:
    filename: str
    function: str
    lineno: int
    in_app: bool = True
    module: str | None = None
    context_line: str | None = None


@dataclass
class Event:
    event_id: str  # 32 lower-case hex characters
    issue_id: int
    project_id: int
    received: datetime
    exception_type: str
    exception_value: str
    frames: list[Frame]
    environment: str = "production"
    release: str | None = None
    platform: str = "python"
    user: dict[str, Any] | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Assignee:
    kind: Literal["user", "team"]
    id: int


@dataclass
class Issue:
    id: int
    short_id: str
    project_id: int
    title: str
    culprit: str
    level: str
    fingerprint: str
    first_seen: datetime
    last_seen: datetime
    metadata: dict[str, Any]
    status: str = "unresolved"
    substatus: str | None = "new"
    status_details: dict[str, Any] = field(default_factory=dict)
    resolution: Any = None  # resolutions.Resolution of a release-based resolve, else None
    assigned_to: Assignee | None = None
    priority: str = "high"
    count: int = 0
    user_ids: set[str] = field(default_factory=set)
    platform: str = "python"
    is_public: bool = False
    is_bookmarked: bool = False
    has_seen: bool = False
    num_comments: int = 0


@dataclass
class Comment:
    id: int
    issue_id: int
    user_id: int  # a member's user id, or the app's proxy user id
    text: str
    created: datetime


@dataclass
class Installation:
    uuid: str
    app_uuid: str
    app_slug: str
    app_name: str
    app_id: int
    proxy_user_id: int  # the app's own "user", author of what its token does
    client_secret: str = field(repr=False)
    webhook_url: str | None = None
    status: str = "installed"
    # the webhook resources the app subscribes to (its integration form's checkboxes); alerts come
    # from alert rules and workflows, not from a subscription
    events: set[str] = field(default_factory=lambda: {"issue", "comment"})


@dataclass
class ExternalIssue:
    id: int
    issue_id: int
    installation_uuid: str
    web_url: str
    project: str
    identifier: str


@dataclass
class IntegrationIssue:
    """A work item linked by Sentry's built-in Azure DevOps integration (an ``ExternalIssue`` of the
    ``vsts`` provider joined to the issue by a ``GroupLink``), as GET .../issues/{id}/integrations/
    shows it (getsentry/sentry src/sentry/integrations/api/endpoints/group_integrations.py)."""

    id: int
    issue_id: int
    key: str  # the work item id
    instance: str  # the integration's account URL, https://<org>.visualstudio.com/ or dev.azure.com/<org>/
    title: str
    area_path: str


@dataclass
class AlertRule:
    """An issue alert rule whose action is "send a notification via <our app>"."""

    id: int
    name: str
    installation_uuid: str
    project_id: int | None  # None: every project
    settings: list[dict[str, Any]]
    # the "when" conditions (getsentry/sentry src/sentry/rules/conditions/: FirstSeenEventCondition,
    # RegressionEventCondition; Condition.FIRST_SEEN_EVENT / REGRESSION_EVENT in the workflow engine)
    conditions: tuple[str, ...] = ("first_seen_event",)


@dataclass
class Workflow:
    """A workflow-engine alert (Sentry's newer alerting) whose action is "notify <our app>": it fires
    on an issue's activity and sends ``activity_alert.triggered``; ``settings`` are the action's."""

    id: int
    name: str
    installation_uuid: str
    project_id: int | None  # None: every project
    settings: list[dict[str, Any]] | None = None
    triggers: tuple[str, ...] = ("issue_resolved_trigger",)  # the "when" conditions (data condition types)
    enabled: bool = True


@dataclass(frozen=True)
class Actor:
    """Who made a change: a member (user id), the app's token (installation uuid), or Sentry."""

    kind: ActorKind
    user_id: int | None = None
    installation_uuid: str | None = None
    scopes: frozenset[str] | None = None  # the token's scopes (sandbox/sentry/scopes.py); None: all


SYSTEM = Actor("system")


@dataclass
class Organization:
    id: int
    slug: str
    name: str
    users: dict[int, User] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)
    teams: dict[int, Team] = field(default_factory=dict)
    projects: dict[int, Project] = field(default_factory=dict)
    issues: dict[int, Issue] = field(default_factory=dict)
    events: dict[str, Event] = field(default_factory=dict)
    comments: dict[int, Comment] = field(default_factory=dict)
    installations: dict[str, Installation] = field(default_factory=dict)
    external_issues: dict[int, ExternalIssue] = field(default_factory=dict)
    integration_issues: dict[int, IntegrationIssue] = field(default_factory=dict)  # the built-in integration's
    alert_rules: dict[int, AlertRule] = field(default_factory=dict)
    workflows: dict[int, Workflow] = field(default_factory=dict)
    tokens: dict[str, Actor] = field(default_factory=dict, repr=False)
    releases: dict[str, Any] = field(default_factory=dict)  # version -> releases.Release
    repositories: dict[int, str] = field(default_factory=dict)  # id -> name
    # organization feature flags that are on; Sentry's defaults are off (e.g.
    # "organizations:webhooks-unresolved", without which issue.unresolved is never sent)
    features: set[str] = field(default_factory=set)
    next_id: int = 1000

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id
