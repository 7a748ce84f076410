"""Hand-written request schemas for the Sentry routes the public OpenAPI document leaves out.

Each entry is an OpenAPI-3-shaped operation fragment (``parameters`` and an optional JSON body
schema) plus ``source``: where the shape was taken from. All of them are summarised, with their
sources, in getsentry/sentry ``src/sentry/issues/endpoints/group_notes.py`` and
``group_notes_details.py`` (the comments endpoints are PRIVATE in Sentry's code, the
``/api/0/issues/{id}/...`` family is the deprecated non-org form), ``src/sentry/api/urls.py`` and
``src/sentry/sentry_apps/api/endpoints/``.
"""

from __future__ import annotations

from typing import Any

_ISSUE_PATH = [{"in": "path", "name": "issue_id", "required": True, "schema": {"type": "string"}}]
_ORG_PATH = [{"in": "path", "name": "organization_id_or_slug", "required": True, "schema": {"type": "string"}}]
_NOTE_PATH = [{"in": "path", "name": "note_id", "required": True, "schema": {"type": "string"}}]
_CURSOR = [{"in": "query", "name": "cursor", "schema": {"type": "string"}}]

_NOTE_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["text"],
    "properties": {
        "text": {"type": "string", "minLength": 1},
        "mentions": {"type": "array", "items": {"type": "string"}},
        "externalId": {"type": "string"},
    },
}
_NOTE_SOURCE = ("getsentry/sentry src/sentry/issues/endpoints/group_notes.py, group_notes_details.py "
                "(NoteSerializer: text required, mentions optional); reference/sentry-api.md §3.2")

_UPDATE_SOURCE = ("getsentry/sentry src/sentry/api/urls.py (deprecated /api/0/issues/{id}/ GroupDetailsEndpoint, "
                  "same validator as updateOrganizationIssue)")
_INTEGRATIONS_SOURCE = ("getsentry/sentry src/sentry/integrations/api/endpoints/group_integrations.py "
                        "(GroupIntegrationsEndpoint, IntegrationIssueSerializer: externalIssues [{id, key, url, title, "
                        "description, displayName}]) and src/sentry/api/urls.py")
_EVENT_SOURCE = "getsentry/sentry src/sentry/api/urls.py (deprecated /api/0/issues/{id}/events/{event_id}/)"


def _notes_ops(prefix: list[dict[str, Any]], base: str) -> dict[tuple[str, str], dict[str, Any]]:
    ops: dict[tuple[str, str], dict[str, Any]] = {}
    for alias in ("comments", "notes"):
        ops[("get", f"{base}/{alias}/")] = {"parameters": [*prefix, *_CURSOR], "source": _NOTE_SOURCE}
        ops[("post", f"{base}/{alias}/")] = {"parameters": prefix, "body": _NOTE_BODY, "source": _NOTE_SOURCE}
        ops[("put", f"{base}/{alias}/{{note_id}}/")] = {"parameters": [*prefix, *_NOTE_PATH], "body": _NOTE_BODY,
                                                        "source": _NOTE_SOURCE}
        ops[("delete", f"{base}/{alias}/{{note_id}}/")] = {"parameters": [*prefix, *_NOTE_PATH],
                                                           "source": _NOTE_SOURCE}
    return ops


def extra_operations(update_body: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """Operations keyed by (lower-case method, path template); ``update_body`` is the official
    issue-update schema, reused for the legacy issue route that shares its validator."""
    legacy = "/api/0/issues/{issue_id}"
    org_issue = "/api/0/organizations/{organization_id_or_slug}/issues/{issue_id}"
    ops: dict[tuple[str, str], dict[str, Any]] = {
        ("get", "/api/0/"): {"parameters": [], "source": "getsentry/sentry src/sentry/api/endpoints/index.py "
                                                          "(IndexEndpoint: version, auth.scopes, user)"},
        ("get", f"{legacy}/"): {"parameters": _ISSUE_PATH, "source": _UPDATE_SOURCE},
        ("put", f"{legacy}/"): {"parameters": _ISSUE_PATH, "body": update_body, "source": _UPDATE_SOURCE},
        ("delete", f"{legacy}/"): {"parameters": _ISSUE_PATH, "source": _UPDATE_SOURCE},
        ("get", f"{legacy}/events/{{event_id}}/"): {
            "parameters": [*_ISSUE_PATH, {"in": "path", "name": "event_id", "required": True,
                                          "schema": {"type": "string", "enum": ["latest", "oldest", "recommended"]}}],
            "source": _EVENT_SOURCE},
        ("get", f"{legacy}/external-issues/"): {"parameters": _ISSUE_PATH, "source": _UPDATE_SOURCE},
        # the issue's integrations, each with the external issues it linked (the built-in Azure DevOps
        # integration's work items among them): GroupIntegrationsEndpoint
        ("get", f"{org_issue}/integrations/"): {"parameters": [*_ORG_PATH, *_ISSUE_PATH, *_CURSOR],
                                                "source": _INTEGRATIONS_SOURCE},
        ("get", f"{legacy}/integrations/"): {"parameters": [*_ISSUE_PATH, *_CURSOR], "source": _INTEGRATIONS_SOURCE},
    }
    ops.update(_notes_ops(_ISSUE_PATH, legacy))
    ops.update(_notes_ops([*_ORG_PATH, *_ISSUE_PATH], org_issue))
    return ops


# Query parameters Sentry reads although the published operation does not declare them.
EXTRA_QUERY_PARAMS: dict[tuple[str, str], list[dict[str, Any]]] = {
    # ``group=`` (and ``id=``) fetch exact issues; reference/sentry-api.md §3.2 "Undocumented".
    ("get", "/api/0/organizations/{organization_id_or_slug}/issues/"): [
        {"in": "query", "name": "group", "schema": {"type": "array", "items": {"type": "integer"}}},
        {"in": "query", "name": "id", "schema": {"type": "array", "items": {"type": "integer"}}},
    ],
    # ``query=email:...`` on members; src/sentry/core/endpoints/organization_member_index.py.
    ("get", "/api/0/organizations/{organization_id_or_slug}/members/"): [
        {"in": "query", "name": "query", "schema": {"type": "string"}},
    ],
}
