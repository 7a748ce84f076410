"""What to enter in Sentry's internal-integration form so Sentry talks to this app. Pure.

Why each choice (reference/sentry-api.md §1.4, §3.1, §4; Sentry docs "ui-components"):
- UI-component requests go to scheme + host of the *webhook URL* + the component's ``uri``; the
  webhook URL's path is dropped. So every ``uri`` carries the full ``/api/...`` route, and the app
  URL given here must be a bare origin.
- The alert-rule-action ``settings.uri`` is *not* the webhook: Sentry POSTs the filled-in settings
  there when someone saves an alert rule (signed with ``Sentry-App-Signature``, body
  ``{"fields": [...], "installationId": ...}``) and shows any >= 400 answer as the error. The alert
  itself later arrives at the webhook as ``event_alert`` with those settings. Pointing the uri at
  the webhook would make every rule save fail (no ``Sentry-Hook-Resource``), so it has its own route.
- Routes and field names are the contract with the issue-link and alert handlers: both import them
  from shared/contract.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from shared.contract import (
    ALERT_RULE_ACTION_PATH,
    FIELD_AREA,
    FIELD_ASSIGNEE,
    FIELD_DESCRIPTION,
    FIELD_ITERATION,
    FIELD_PARENT,
    FIELD_PRIORITY,
    FIELD_PROJECT,
    FIELD_REQUIRED,
    FIELD_SEVERITY,
    FIELD_TAGS,
    FIELD_TITLE,
    FIELD_TYPE,
    FIELD_WORK_ITEM,
    ISSUE_LINK_CREATE_PATH,
    ISSUE_LINK_LINK_PATH,
    SENTRY_WEBHOOK_PATH,
    SENTRY_WEBHOOK_RESOURCES,
    STACKTRACE_LINK_PATH,
    options_uri,
)

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class Permission:
    resource: str  # as labelled in Sentry's integration form
    level: str
    why: str
    scopes: tuple[str, ...]  # the token scopes this choice grants (what the API checks)

    @property
    def label(self) -> str:
        return f"{self.resource}: {self.level}"


BASE_PERMISSIONS = (
    Permission("Issue & Event", "Read & Write", "read issues and events, change status and assignee, post comments",
               ("event:read", "event:write")),
    Permission("Organization", "Read", "list projects and integration installations", ("org:read",)),
    Permission("Member", "Read", "map assignees between Sentry members and ADO identities", ("member:read",)),
)
COMMIT_TRACKING_PERMISSIONS = (
    Permission("Project", "Read", "look up projects and repositories for releases", ("project:read",)),
    Permission("Release", "Admin", "create releases, attach commits and record deploys", ("project:releases",)),
)


def app_origin(url: str) -> str:
    """Validate ``--url``: the app's https origin (``https://<app>.azurewebsites.net``), no path,
    because Sentry keeps only scheme and host when it calls UI-component routes."""
    if not isinstance(url, str) or not url.strip():
        raise ValueError("--url: expected the app's base URL such as https://<app>.azurewebsites.net, got nothing")
    value = url.strip().rstrip("/")
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError(f"--url: expected an absolute URL such as https://<app>.azurewebsites.net, got {value!r}")
    if parsed.scheme == "http" and parsed.hostname not in LOOPBACK_HOSTS:
        raise ValueError(f"--url: Sentry must reach the app over https, got {value!r}")
    if parsed.path or parsed.query or parsed.fragment:
        raise ValueError(f"--url: give the base URL only (Sentry drops the path for UI components), "
                         f"e.g. {parsed.scheme}://{parsed.netloc}, got {value!r}")
    return value


def _select(name: str, label: str, kind: str, **extra: Any) -> dict[str, Any]:
    return {"type": "select", "name": name, "label": label, "uri": options_uri(kind), **extra}


def _project_type_area() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The ADO project / type / area selects both forms share; type and area wait for a project."""
    project = _select(FIELD_PROJECT, "Azure DevOps project", "projects", **{"async": False})
    wit = _select(FIELD_TYPE, "Work item type", "types", depends_on=[FIELD_PROJECT], skip_load_on_open=True,
                  **{"async": False})
    area = _select(FIELD_AREA, "Area path", "areas", depends_on=[FIELD_PROJECT], skip_load_on_open=True)
    return project, wit, area


def _choices() -> list[dict[str, Any]]:
    """The fields both forms offer beyond project, type and area (shared/create_form.py): each
    select loads from the chosen project (and type); the person searches assignees and parents."""
    by_project = {"depends_on": [FIELD_PROJECT], "skip_load_on_open": True}
    by_type = {"depends_on": [FIELD_PROJECT, FIELD_TYPE], "skip_load_on_open": True}
    return [
        _select(FIELD_ITERATION, "Iteration path", "iterations", **by_project),
        {"type": "text", "name": FIELD_TAGS, "label": "Tags (separated by ;), added to the route's"},
        _select(FIELD_PRIORITY, "Priority", "priorities", **by_type),
        _select(FIELD_SEVERITY, "Severity (types that have it)", "severities", **by_type),
        _select(FIELD_ASSIGNEE, "Assigned to (type a name, email or account)", "assignees", **{"async": True}),
        _select(FIELD_PARENT, "Parent work item (type an id or words of the title)", "workitems",
                depends_on=[FIELD_PROJECT], **{"async": True}),
        *(_select(name, f"Field the type requires ({i})", f"required-{i}", **{"async": True}, **by_type)
          for i, name in enumerate(FIELD_REQUIRED, start=1)),
    ]


def issue_link_element() -> dict[str, Any]:
    project, wit, area = _project_type_area()
    return {
        "type": "issue-link",
        "create": {
            "uri": ISSUE_LINK_CREATE_PATH,
            "required_fields": [project, wit,
                                {"type": "text", "name": FIELD_TITLE, "label": "Title", "default": "issue.title"}],
            "optional_fields": [{"type": "textarea", "name": FIELD_DESCRIPTION, "label": "Description",
                                 "default": "issue.description"}, area, *_choices()],
        },
        "link": {
            "uri": ISSUE_LINK_LINK_PATH,
            "required_fields": [_select(FIELD_WORK_ITEM, "Work item (type an id or words of the title)",
                                        "workitems", **{"async": True})],
        },
    }


def alert_rule_action_element() -> dict[str, Any]:
    project, wit, area = _project_type_area()
    return {
        "type": "alert-rule-action",
        "title": "Create an Azure DevOps work item",
        "settings": {
            "type": "alert-rule-settings",
            "uri": ALERT_RULE_ACTION_PATH,
            "description": "Creates a work item for the issue, or links the one it already has.",
            "required_fields": [project, wit],
            "optional_fields": [area, *_choices()],
        },
    }


def stacktrace_link_element() -> dict[str, Any]:
    """A link in every in-app stack frame; Sentry adds ``installationId``, ``projectSlug``,
    ``lineNo`` and ``filename`` to the ``uri`` (the sync rules' ``[[code_mappings]]`` resolve it)."""
    return {"type": "stacktrace-link", "uri": STACKTRACE_LINK_PATH}


def ui_schema() -> dict[str, Any]:
    """The "Schema" box of the integration: issue linking, the alert rule action, stack-trace links."""
    return {"elements": [issue_link_element(), alert_rule_action_element(), stacktrace_link_element()]}


@dataclass(frozen=True)
class Manifest:
    webhook_url: str
    permissions: tuple[Permission, ...]
    webhook_resources: tuple[str, ...]
    alert_rule_action: bool
    schema: dict[str, Any]


def build_manifest(url: str, commit_tracking: bool = False) -> Manifest:
    origin = app_origin(url)
    permissions = BASE_PERMISSIONS + (COMMIT_TRACKING_PERMISSIONS if commit_tracking else ())
    return Manifest(f"{origin}{SENTRY_WEBHOOK_PATH}", permissions, SENTRY_WEBHOOK_RESOURCES, True, ui_schema())
