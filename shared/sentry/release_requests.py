"""Sentry release, release-commit and deploy requests, as plain ``ApiRequest`` values.

Facts: Sentry's OpenAPI document (``createOrganizationRelease``,
``updateOrganizationRelease``, ``createOrganizationReleaseDeploy``) and its serializers (getsentry/sentry
``src/sentry/api/serializers/rest_framework/release.py``). Release versions and environment names
have server-side rules; checking them here turns a 400 round trip into a named local error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from shared.api_request import ApiRequest

RELEASE_CHANGE_KEYS = frozenset({"ref", "url", "dateReleased", "commits", "refs", "status"})
_BAD_VERSION_CHARS = set("\r\n\f\t/\\")
_BAD_ENV_CHARS = set("\n\r\f/")


def _org(org: str) -> str:
    if not isinstance(org, str) or not org.strip():
        raise ValueError(f"organization must be a non-empty slug, got {org!r}")
    return f"/api/0/organizations/{quote(org, safe='')}"


def release_version(version: object) -> str:
    """Sentry refuses these versions; the same rules apply in the path and in the body."""
    if not isinstance(version, str) or not version or len(version) > 200:
        raise ValueError(f"release version must be 1-200 characters, got {version!r}")
    if _BAD_VERSION_CHARS & set(version) or version in (".", "..", "latest"):
        raise ValueError(f"release version {version!r} has a forbidden character or name "
                         "(no newline, tab, / or \\; not '.', '..' or 'latest')")
    return version


def _release(org: str, version: str) -> str:
    return f"{_org(org)}/releases/{quote(release_version(version), safe='')}"


def create_release(org: str, version: str, projects: Sequence[str | int], *, ref: str | None = None,
                   url: str | None = None, date_released: str | None = None,
                   commits: Sequence[Mapping[str, Any]] | None = None,
                   refs: Sequence[Mapping[str, Any]] | None = None) -> ApiRequest:
    """Idempotent on version (201 created or project attached, 208 already there)."""
    if isinstance(projects, (str, bytes)) or not projects:
        raise ValueError("projects must list at least one Sentry project slug or id")
    body: dict[str, Any] = {"version": release_version(version), "projects": [str(p) for p in projects]}
    optional = {"ref": ref, "url": url, "dateReleased": date_released,
                "commits": list(commits) if commits is not None else None,
                "refs": list(refs) if refs is not None else None}
    body.update({k: v for k, v in optional.items() if v is not None})
    for index, commit in enumerate(body.get("commits", [])):
        if not isinstance(commit, Mapping) or not commit.get("id"):
            raise ValueError(f"commits[{index}] must be a dict with an 'id' (the SHA)")
    return ApiRequest("POST", f"{_org(org)}/releases/", body=body)


def update_release(org: str, version: str, changes: Mapping[str, Any]) -> ApiRequest:
    """PUT; ``commits`` replaces the release's whole commit list, ``refs: []`` clears it."""
    if not isinstance(changes, Mapping) or not changes:
        raise ValueError(f"changes must be a non-empty dict, got {changes!r}")
    unknown = sorted(set(changes) - RELEASE_CHANGE_KEYS)
    if unknown:
        raise ValueError(f"changes has unknown release field(s): {', '.join(unknown)}")
    return ApiRequest("PUT", f"{_release(org, version)}/", body=dict(changes))


def get_release(org: str, version: str) -> ApiRequest:
    """``getOrganizationRelease``; its ``commitCount`` tells whether commits were already
    set (re-posting them would re-resolve issues people reopened). 404 when the version is new."""
    return ApiRequest("GET", f"{_release(org, version)}/")


def list_release_commits(org: str, version: str, cursor: str | None = None) -> ApiRequest:
    return ApiRequest("GET", f"{_release(org, version)}/commits/", {"cursor": cursor} if cursor else {})


def create_deploy(org: str, version: str, environment: str, *, name: str | None = None,
                  url: str | None = None, date_started: str | None = None, date_finished: str | None = None,
                  projects: Sequence[str | int] | None = None) -> ApiRequest:
    """Not idempotent: every call records one more deploy, so callers deduplicate first."""
    if (not isinstance(environment, str) or not environment or len(environment) > 64
            or _BAD_ENV_CHARS & set(environment)):
        raise ValueError(f"environment must be 1-64 characters without newline or '/', got {environment!r}")
    if name is not None and (not isinstance(name, str) or len(name) > 64):
        raise ValueError(f"deploy name must be at most 64 characters, got {name!r}")
    body: dict[str, Any] = {"environment": environment}
    optional = {"name": name, "url": url, "dateStarted": date_started, "dateFinished": date_finished,
                "projects": [str(p) for p in projects] if projects else None}
    body.update({k: v for k, v in optional.items() if v is not None})
    return ApiRequest("POST", f"{_release(org, version)}/deploys/", body=body)


def list_deploys(org: str, version: str, cursor: str | None = None) -> ApiRequest:
    return ApiRequest("GET", f"{_release(org, version)}/deploys/", {"cursor": cursor} if cursor else {})
