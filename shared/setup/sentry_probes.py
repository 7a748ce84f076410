"""Sentry requests only `check` makes (organization and project list), as pure ``ApiRequest`` values.

They live here until shared/sentry/requests.py grows the same builders; the paths are the public
``retrieveAnOrganization`` and ``listAnOrganization'sProjects`` operations.
"""

from __future__ import annotations

from urllib.parse import quote

from shared.api_request import ApiRequest


def _org_path(org: str) -> str:
    if not isinstance(org, str) or not org.strip():
        raise ValueError(f"SENTRY_ORG: expected an organization slug, got {org!r}")
    return f"/api/0/organizations/{quote(org.strip(), safe='')}"


def get_organization(org: str) -> ApiRequest:
    return ApiRequest("GET", f"{_org_path(org)}/")


def list_projects(org: str, cursor: str | None = None) -> ApiRequest:
    return ApiRequest("GET", f"{_org_path(org)}/projects/", {"cursor": cursor} if cursor else {})
