"""Sentry's UI components (issue-link forms, alert-rule action) as pure functions over plain data.

Sentry renders the forms from the schema `sentry-ado manifest` prints; it fills selects from our
options routes and posts the filled form to create/link. This module turns ADO API data into the
``[{label, value}]`` lists Sentry expects, reads the posted forms into typed requests, and checks
alert-rule settings, naming each bad field. The function shells do the I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from shared import identifiers as ids
from shared.contract import (
    FIELD_AREA,
    FIELD_DESCRIPTION,
    FIELD_PRIORITY,
    FIELD_PROJECT,
    FIELD_TITLE,
    FIELD_TYPE,
    FIELD_WORK_ITEM,
)
from shared.intake import parse_json_object

OPTION_KINDS = ("projects", "types", "areas", "workitems", "iterations", "priorities", "severities", "assignees",
                "required-1", "required-2", "required-3")
MAX_OPTIONS = 50


class Refusal(Exception):
    """A request we answer with ``{"message"}`` and `status`, which Sentry shows to the person."""

    status = 400


class FormError(Refusal):
    """A form or request Sentry sent is not usable; the message names the field."""


class LinkConflict(Refusal):
    """The Sentry issue or the work item is already linked elsewhere; the message says to what."""

    status = 409


def matching(name: str, names: Iterable[str]) -> str | None:
    """ADO's own spelling of `name` among `names` (ADO compares names without regard to case)."""
    names = list(names)
    if name in names:
        return name
    return next((n for n in names if n.casefold() == name.casefold()), None)


def project_options(projects: list[dict[str, Any]]) -> list[dict[str, str]]:
    return sorted(({"label": p["name"], "value": p["name"]} for p in projects if p.get("name")),
                  key=lambda o: o["label"].lower())


def type_options(types: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Work item types a person can create (ADO lists hidden and disabled ones too)."""
    return [{"label": t["name"], "value": t["name"]} for t in types
            if t.get("name") and not t.get("isDisabled") and t.get("referenceName", "") not in _HIDDEN_TYPES]


_HIDDEN_TYPES = {"Microsoft.VSTS.WorkItemTypes.SharedStep", "Microsoft.VSTS.WorkItemTypes.SharedParameter",
                 "Microsoft.VSTS.WorkItemTypes.CodeReviewRequest", "Microsoft.VSTS.WorkItemTypes.CodeReviewResponse",
                 "Microsoft.VSTS.WorkItemTypes.FeedbackRequest", "Microsoft.VSTS.WorkItemTypes.FeedbackResponse",
                 "Microsoft.VSTS.WorkItemTypes.TestPlan", "Microsoft.VSTS.WorkItemTypes.TestSuite"}


def _walk(node: dict[str, Any], prefix: str = "") -> Iterator[str]:
    path = f"{prefix}\\{node['name']}" if prefix else node["name"]
    yield path
    for child in node.get("children") or []:
        yield from _walk(child, path)


def area_paths(root: Mapping[str, Any]) -> list[str]:
    """Every area path of a classification tree, as ADO writes them in System.AreaPath (``Project\\Team``)."""
    return list(_walk(root)) if isinstance(root.get("name"), str) and root["name"] else []


def area_options(root: dict[str, Any], query: str = "") -> list[dict[str, str]]:
    """The area paths that contain `query`, as select options."""
    paths = [p for p in area_paths(root) if query.lower() in p.lower()]
    return [{"label": p, "value": p} for p in paths[:MAX_OPTIONS]]


def work_item_options(items: list[dict[str, Any]]) -> list[dict[str, str]]:
    out = []
    for item in items[:MAX_OPTIONS]:
        fields = item.get("fields", {})
        out.append({"label": f"#{item['id']} {fields.get('System.WorkItemType', '')}: {fields.get('System.Title', '')}",
                    "value": str(item["id"])})
    return out


def escape_wiql(text: str) -> str:
    """A string literal for WIQL (single quotes doubled)."""
    return text.replace("'", "''")


def search_query(text: str) -> tuple[int | None, str | None]:
    """What the person typed in the work item select: an id (``123`` / ``#123``) or title words."""
    stripped = text.strip().lstrip("#")
    if stripped.isdigit():  # an id, or digits no work item can have ("0", "²", 2**40): nothing to find
        try:
            return ids.work_item_id(stripped), None
        except ids.MalformedIdentifier:
            return None, None
    words = text.strip()
    if not words:
        return None, None
    # WIQL has no parameters; the literal is escaped by `escape_wiql`.
    query = ("SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project "  # noqa: S608
             f"AND [System.Title] CONTAINS '{escape_wiql(words)}' ORDER BY [System.ChangedDate] DESC")
    return None, query


def dependent_project(params: Mapping[str, str]) -> str | None:
    """The ADO project chosen earlier in the form (Sentry sends it as JSON in ``dependentData``)."""
    raw = params.get("dependentData")
    if not raw:
        return None
    data = parse_json_object(raw, "dependentData")
    if isinstance(data, str):
        raise FormError(data)
    value = data.get(FIELD_PROJECT)
    return _project(value, FIELD_PROJECT) if value not in (None, "") else None


def _project(value: object, name: str) -> str:
    """An ADO project name as the form gives it; a malformed one is the person's input error."""
    try:
        return ids.ado_project(value.strip() if isinstance(value, str) else value, f"'{name}'")
    except ids.MalformedIdentifier as exc:
        raise FormError(str(exc)) from None


def dependent_type(params: Mapping[str, str]) -> str | None:
    """The work item type chosen earlier in the form (``dependentData``), when the select depends on it."""
    raw = params.get("dependentData")
    data = parse_json_object(raw, "dependentData") if raw else {}
    if isinstance(data, str):
        raise FormError(data)
    value = data.get(FIELD_TYPE)
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > 128:
        raise FormError(f"'{FIELD_TYPE}': expected a work item type name, got {value!r}")
    return value.strip()


def check_option_params(params: Mapping[str, str]) -> None:
    """The identifiers Sentry adds to an options request, when it adds them."""
    try:
        if params.get("installationId"):
            ids.installation_uuid(params["installationId"], "installationId")
        if params.get("projectSlug"):
            ids.sentry_project_slug(params["projectSlug"], "projectSlug")
    except ids.MalformedIdentifier as exc:
        raise FormError(str(exc)) from None


@dataclass(frozen=True)
class UiRequest:
    """The common part of Sentry's create/link requests."""

    issue_id: str
    installation_id: str
    web_url: str
    sentry_project: str
    fields: Mapping[str, Any]


def parse_ui_request(body: Mapping[str, Any]) -> UiRequest:
    fields = body.get("fields")
    if not isinstance(fields, dict):
        raise FormError("request has no 'fields' object")
    project = body.get("project") if isinstance(body.get("project"), dict) else {}
    try:
        issue_id = ids.sentry_issue_id(body.get("issueId"), "issueId")
        installation = body.get("installationId")
        installation = ids.installation_uuid(installation, "installationId") if installation else ""
        slug = ids.sentry_project_slug(project["slug"], "project.slug") if project.get("slug") else ""
    except ids.MalformedIdentifier as exc:
        raise FormError(str(exc)) from None
    return UiRequest(issue_id, installation, str(body.get("webUrl") or ""), slug, fields)


@dataclass(frozen=True)
class CreateForm:
    project: str
    work_item_type: str
    title: str
    description: str
    area_path: str | None


def _required_text(fields: Mapping[str, Any], name: str) -> str:
    value = fields.get(name)
    if not isinstance(value, str) or not value.strip():
        raise FormError(f"'{name}' is required")
    return value.strip()


def parse_create_form(fields: Mapping[str, Any]) -> CreateForm:
    area = fields.get(FIELD_AREA)
    return CreateForm(project=_project(_required_text(fields, FIELD_PROJECT), FIELD_PROJECT),
                      work_item_type=_required_text(fields, FIELD_TYPE),
                      title=_required_text(fields, FIELD_TITLE),
                      description=str(fields.get(FIELD_DESCRIPTION) or ""),
                      area_path=area if isinstance(area, str) and area else None)


def parse_link_form(fields: Mapping[str, Any]) -> int:
    raw = fields.get(FIELD_WORK_ITEM)
    try:  # the select sends the id as a string; a person may type "#123"
        return ids.work_item_id(raw.strip().removeprefix("#") if isinstance(raw, str) else raw, f"'{FIELD_WORK_ITEM}'")
    except ids.MalformedIdentifier as exc:
        raise FormError(str(exc)) from None


@dataclass(frozen=True)
class AlertRuleSettings:
    """Our alert-rule action's settings, as Sentry stores them on the rule (a list of name/value)."""

    project: str
    work_item_type: str
    area_path: str | None
    priority: int | None


def settings_dict(settings: Any) -> dict[str, Any]:
    """Sentry sends settings as ``[{"name", "value"}, ...]``; a plain object is accepted too."""
    if isinstance(settings, dict):
        return settings
    if isinstance(settings, list) and all(isinstance(s, dict) and isinstance(s.get("name"), str) for s in settings):
        return {s["name"]: s.get("value") for s in settings}
    raise FormError("settings must be a list of {name, value} objects with string names")


def parse_alert_settings(settings: Any) -> AlertRuleSettings:
    values = settings_dict(settings)
    priority_raw = values.get(FIELD_PRIORITY)
    priority = None
    if priority_raw not in (None, ""):
        if str(priority_raw) not in ("1", "2", "3", "4"):
            raise FormError(f"'{FIELD_PRIORITY}' must be 1-4, got {priority_raw!r}")
        priority = int(priority_raw)
    area = values.get(FIELD_AREA)
    return AlertRuleSettings(project=_project(_required_text(values, FIELD_PROJECT), FIELD_PROJECT),
                             work_item_type=_required_text(values, FIELD_TYPE),
                             area_path=area if isinstance(area, str) and area else None, priority=priority)


def settings_problems(settings: AlertRuleSettings, projects: list[str], types: list[str],
                      areas: list[str]) -> list[str]:
    """What is wrong with alert-rule settings against what ADO actually has (empty: fine)."""
    if settings.project not in projects:
        return [f"'{FIELD_PROJECT}': no Azure DevOps project {settings.project!r}"]
    problems = []
    if settings.work_item_type not in types:
        problems.append(f"'{FIELD_TYPE}': {settings.project} has no work item type {settings.work_item_type!r}")
    if settings.area_path and settings.area_path not in areas:
        problems.append(f"'{FIELD_AREA}': {settings.project} has no area path {settings.area_path!r}")
    return problems
