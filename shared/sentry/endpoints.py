"""Sentry REST requests as plain ``ApiRequest`` values (no I/O).

Paths begin ``/api/0/`` and end with ``/`` (Sentry redirects or 404s otherwise) and are relative to
the region or self-hosted base URL. Facts: Sentry's official OpenAPI document
(getsentry/sentry-api-schema) and, for the private endpoints, its source. Repeated query parameters
(``project=1&project=2``) are carried as a tuple of strings under one key; the transport
sends each element as its own parameter.

Endpoints used here that the public OpenAPI does not describe (PRIVATE in Sentry's code):
issue comments (``/issues/{id}/comments/``), ``group=`` on the issue list (fetch exact ids) and
``query=email:`` on the member list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from shared.api_request import ApiRequest
from shared.identifiers import sentry_issue_id

PAGE_LIMIT = 100
ISSUE_CHANGE_KEYS = frozenset({
    "status", "substatus", "statusDetails", "assignedTo", "priority", "hasSeen", "isBookmarked",
    "isSubscribed", "isPublic", "inbox", "discard", "merge",
})
ISSUE_STATUSES = frozenset({"resolved", "unresolved", "ignored", "resolvedInNextRelease", "muted"})


def _segment(value: object, name: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
        raise ValueError(f"{name} must be a non-empty string or integer, got {value!r}")
    return quote(str(value), safe="")


def _issue_id(value: object) -> str:
    """Issue (group) ids are numeric; a short id like PROJ-1A would silently hit another route."""
    return sentry_issue_id(value, "issue id")


def _text(value: object, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return value


def _org(org: str) -> str:
    return f"/api/0/organizations/{_segment(org, 'organization')}"


def _issue(org: str, issue_id: object) -> str:
    return f"{_org(org)}/issues/{_issue_id(issue_id)}"


# --- organization and projects ------------------------------------------------------------------

def api_root() -> ApiRequest:
    """The API root answers any token with its scopes (``auth.scopes``), so a setup check can name a
    missing one without trying a write (src/sentry/api/endpoints/index.py)."""
    return ApiRequest("GET", "/api/0/")


def get_organization(org: str) -> ApiRequest:
    """``retrieveAnOrganization``: the cheapest call that proves the token reaches this org."""
    return ApiRequest("GET", f"{_org(org)}/")


def list_projects(org: str, cursor: str | None = None) -> ApiRequest:
    """``listAnOrganization'sProjects``, one page; routes name projects by slug, issues by id."""
    return ApiRequest("GET", f"{_org(org)}/projects/", {"cursor": cursor} if cursor else {})


# --- issues -------------------------------------------------------------------------------------

def get_issue(org: str, issue_id: int | str) -> ApiRequest:
    return ApiRequest("GET", f"{_issue(org, issue_id)}/")


def update_issue(org: str, issue_id: int | str, changes: Mapping[str, Any]) -> ApiRequest:
    """PUT a partial issue. Single-issue route on purpose: the bulk route without ``id`` would
    apply the change to every unresolved issue."""
    if not isinstance(changes, Mapping) or not changes:
        raise ValueError(f"changes must be a non-empty dict, got {changes!r}")
    unknown = sorted(set(changes) - ISSUE_CHANGE_KEYS)
    if unknown:
        raise ValueError(f"changes has unknown issue field(s): {', '.join(unknown)}")
    if "status" in changes and changes["status"] not in ISSUE_STATUSES:
        raise ValueError(f"changes.status must be one of {sorted(ISSUE_STATUSES)}, got {changes['status']!r}")
    return ApiRequest("PUT", f"{_issue(org, issue_id)}/", body=dict(changes))


def list_issues(org: str, query: str | None = None, project_ids: Sequence[int | str] = (),
                cursor: str | None = None, limit: int = PAGE_LIMIT, ids: Sequence[int | str] | None = None,
                sort: str | None = None) -> ApiRequest:
    """GET one page of org issues. With ``ids`` Sentry returns exactly those issues (``group=``
    parameters; the search query is then ignored), which is how a known set is re-read in bulk."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= PAGE_LIMIT:
        raise ValueError(f"limit must be an integer from 1 to {PAGE_LIMIT}, got {limit!r}")
    params: dict[str, Any] = {"limit": str(limit)}
    if ids is not None:
        if not ids:
            raise ValueError("ids must hold at least one issue id when given")
        if len(ids) > PAGE_LIMIT:
            raise ValueError(f"ids holds {len(ids)} issue ids; one page holds at most {PAGE_LIMIT}")
        params["group"] = tuple(_issue_id(i) for i in ids)
    if query is not None:
        params["query"] = query  # "" is meaningful: every issue, not just unresolved ones
    if project_ids:
        params["project"] = tuple(_segment(p, "project id") for p in project_ids)
    if cursor:
        params["cursor"] = cursor
    if sort:
        params["sort"] = sort
    return ApiRequest("GET", f"{_org(org)}/issues/", params)


def latest_event(org: str, issue_id: int | str) -> ApiRequest:
    return ApiRequest("GET", f"{_issue(org, issue_id)}/events/latest/")


# --- comments (PRIVATE endpoints, absent from the OpenAPI) --------------------------------------

def create_comment(org: str, issue_id: int | str, text: str) -> ApiRequest:
    return ApiRequest("POST", f"{_issue(org, issue_id)}/comments/", body={"text": _text(text, "text")})


def _note(issue: str, note_id: object) -> str:
    text = str(note_id) if isinstance(note_id, int) and not isinstance(note_id, bool) else note_id
    if not isinstance(text, str) or not text.isdigit() or int(text) <= 0:
        raise ValueError(f"comment id must be a positive integer, got {note_id!r}")
    return f"{issue}/comments/{text}/"


def update_comment(org: str, issue_id: int | str, note_id: int | str, text: str) -> ApiRequest:
    """PUT a note's text; Sentry lets only its author edit it (others get 404)."""
    return ApiRequest("PUT", _note(_issue(org, issue_id), note_id), body={"text": _text(text, "text")})


def delete_comment(org: str, issue_id: int | str, note_id: int | str) -> ApiRequest:
    return ApiRequest("DELETE", _note(_issue(org, issue_id), note_id))


def list_comments(org: str, issue_id: int | str, cursor: str | None = None) -> ApiRequest:
    return ApiRequest("GET", f"{_issue(org, issue_id)}/comments/", {"cursor": cursor} if cursor else {})


# --- members ------------------------------------------------------------------------------------

def list_members(org: str, email: str | None = None, cursor: str | None = None) -> ApiRequest:
    """Members, optionally filtered by ``email:`` (matches the member or any of the user's emails)."""
    params: dict[str, str] = {}
    if email is not None:
        email = _text(email, "email").strip()
        if "@" not in email or any(c.isspace() for c in email):
            raise ValueError(f"email must be one address like a@b.c, got {email!r}")
        params["query"] = f"email:{email}"
    if cursor:
        params["cursor"] = cursor
    return ApiRequest("GET", f"{_org(org)}/members/", params)


# --- alerts (workflows) -------------------------------------------------------------------------

def list_workflows(org: str, cursor: str | None = None) -> ApiRequest:
    """``listOrganizationWorkflows``: the organization's alerts, to tell whether one sends issue
    activity to the app (``sentry-ado check``)."""
    return ApiRequest("GET", f"{_org(org)}/workflows/", {"cursor": cursor} if cursor else {})


def issue_integrations(org: str, issue_id: int | str, cursor: str | None = None) -> ApiRequest:
    """The issue's integrations, each with ``externalIssues``: what Sentry's built-in integrations
    (Azure DevOps among them, provider key ``vsts``) linked to it (GroupIntegrationsEndpoint in
    getsentry/sentry src/sentry/integrations/api/endpoints/group_integrations.py)."""
    return ApiRequest("GET", f"{_issue(org, issue_id)}/integrations/", {"cursor": cursor} if cursor else {})


def list_environments(org: str) -> ApiRequest:
    """``listOrganizationEnvironments``: the environments Sentry has seen (one is made by the first
    event or deploy naming it), to tell a misspelt ``[releases.environments]`` value (`check`)."""
    return ApiRequest("GET", f"{_org(org)}/environments/", {})


def list_installations(org: str, cursor: str | None = None) -> ApiRequest:
    """The organization's Sentry App installations (each with its app's ``sentryAppId``)."""
    return ApiRequest("GET", f"{_org(org)}/sentry-app-installations/", {"cursor": cursor} if cursor else {})


# --- external issue links (the ADO work item shown on the Sentry issue) -------------------------

def _installation(uuid: str) -> str:
    return f"/api/0/sentry-app-installations/{_segment(uuid, 'installation uuid')}/external-issues"


def create_external_issue(installation_uuid: str, issue_id: int | str, web_url: str, project: str,
                          identifier: str) -> ApiRequest:
    """Upsert the one link per (issue, app); Sentry shows it as ``project#identifier``."""
    if not isinstance(web_url, str) or not web_url.startswith(("https://", "http://")):
        raise ValueError(f"web_url must be an http(s) URL, got {web_url!r}")
    body = {"issueId": int(_issue_id(issue_id)), "webUrl": web_url,
            "project": _text(project, "project"), "identifier": _text(str(identifier), "identifier")}
    return ApiRequest("POST", f"{_installation(installation_uuid)}/", body=body)


def delete_external_issue(installation_uuid: str, external_issue_id: int | str) -> ApiRequest:
    path = f"{_installation(installation_uuid)}/{_segment(external_issue_id, 'external issue id')}/"
    return ApiRequest("DELETE", path)
