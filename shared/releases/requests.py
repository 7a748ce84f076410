"""Requests commit tracking needs that the shared builders lack, as plain ``ApiRequest`` values.

Kept here until the owners of ``shared/sentry/release_requests.py`` and ``shared/ado/code_requests.py``
take them over: reading one release (its ``commitCount`` tells whether commits were already set,
reference §4.1 step 5) and reading a classic release (its primary Build artifact names the build,
§1.4). The classic release lives on the Release Management host (``vsrm.dev.azure.com/{org}`` on
Azure DevOps Services, the collection URL itself on Azure DevOps Server).
"""

from __future__ import annotations

from urllib.parse import quote

from shared.ado.requests import API_VERSION
from shared.api_request import ApiRequest
from shared.sentry.release_requests import release_version


def get_release(org: str, version: str) -> ApiRequest:
    """``getOrganizationRelease``: 404 when the version does not exist yet."""
    if not isinstance(org, str) or not org.strip():
        raise ValueError(f"organization must be a non-empty slug, got {org!r}")
    return ApiRequest("GET", f"/api/0/organizations/{quote(org, safe='')}/releases/"
                             f"{quote(release_version(version), safe='')}/")


def get_classic_release(project: str, release_id: int) -> ApiRequest:
    """``Releases_Get Release`` (vsrm host): ``artifacts[]`` with the primary Build artifact."""
    if not isinstance(project, str) or not project.strip():
        raise ValueError(f"project must be a non-empty string, got {project!r}")
    if isinstance(release_id, bool) or not isinstance(release_id, int) or release_id <= 0:
        raise ValueError(f"release id must be a positive integer, got {release_id!r}")
    return ApiRequest("GET", f"/{quote(project, safe='')}/_apis/release/releases/{release_id}",
                      {"api-version": API_VERSION})
