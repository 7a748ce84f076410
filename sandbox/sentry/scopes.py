"""Which token scopes admit each Sentry API call, as Sentry's permission classes decide. Pure.

A token carries scopes (an internal integration's tokens: the integration's permissions, e.g.
"Issue & Event: Read & Write" = ``event:read`` + ``event:write``); an endpoint's permission class
lists, per method, the scopes any one of which admits the call (``scope_map``), and refuses
others with 403 ``{"detail": "You do not have permission to perform this action."}`` (Django REST
framework's ``PermissionDenied``). Sources, getsentry/sentry: ``src/sentry/api/bases/group.py``
(GroupPermission), ``organization.py`` (OrganizationPermission), ``organizationmember.py``
(MemberPermission), ``src/sentry/api/bases/organization.py`` (OrganizationReleasePermission),
``src/sentry/api/endpoints/index.py`` (the API root answers any token with its scopes); external
issues check only that the caller is the installation's own app (SentryAppInstallationPermission).
"""

from __future__ import annotations

PERMISSION_DENIED = {"detail": "You do not have permission to perform this action."}

EVENT_READ = frozenset({"event:read", "event:write", "event:admin"})
EVENT_WRITE = frozenset({"event:write", "event:admin"})
EVENT_ADMIN = frozenset({"event:admin"})
ORG_READ = frozenset({"org:read", "org:write", "org:admin"})
MEMBER_READ = frozenset({"member:read", "member:write", "member:admin"})
TEAM_READ = ORG_READ | {"team:read", "team:write", "team:admin"}
RELEASE_READ = frozenset({"project:read", "project:write", "project:admin", "project:releases", "org:ci"})
RELEASE_WRITE = frozenset({"project:write", "project:admin", "project:releases", "org:ci"})
ALERTS_READ = ORG_READ | {"alerts:read", "alerts:write"}
ALL_SCOPES = frozenset().union(EVENT_READ, ORG_READ, MEMBER_READ, TEAM_READ, RELEASE_READ, ALERTS_READ)

# handler name -> method -> the scopes that admit it; a handler absent here checks no scope.
ADMITTED: dict[str, dict[str, frozenset[str]]] = {
    "list_organizations": {"GET": ORG_READ},
    "get_organization": {"GET": ORG_READ},
    "list_org_issues": {"GET": EVENT_READ},
    "bulk_update_org": {"PUT": EVENT_WRITE},
    "list_project_issues": {"GET": EVENT_READ},
    "bulk_update_project": {"PUT": EVENT_WRITE},
    "list_members": {"GET": MEMBER_READ},
    "list_projects": {"GET": ORG_READ},
    "list_teams": {"GET": TEAM_READ},
    "list_installations": {"GET": ORG_READ},
    "list_workflows": {"GET": ORG_READ | {"alerts:read"}},  # OrganizationWorkflowPermission
    "resolve_short_id": {"GET": EVENT_READ},
    "list_releases": {"GET": RELEASE_READ},
    "create_release": {"POST": RELEASE_WRITE},
    "get_release": {"GET": RELEASE_READ},
    "update_release": {"PUT": RELEASE_WRITE},
    "list_release_commits": {"GET": RELEASE_READ},
    "list_deploys": {"GET": RELEASE_READ},
    "create_deploy": {"POST": RELEASE_WRITE},
    "list_repos": {"GET": ORG_READ},
    "get_issue": {"GET": EVENT_READ},
    "put_issue": {"PUT": EVENT_WRITE},
    "get_event": {"GET": EVENT_READ},
    "list_external": {"GET": EVENT_READ},
    "list_comments": {"GET": EVENT_READ},
    "post_comment": {"POST": EVENT_WRITE},
    "put_comment": {"PUT": EVENT_WRITE},
    "delete_comment": {"DELETE": EVENT_ADMIN},
}


def refused(handler: str, method: str, scopes: frozenset[str]) -> bool:
    """True when a token with ``scopes`` may not make this call."""
    admitted = ADMITTED.get(handler, {}).get(method)
    return admitted is not None and not (admitted & scopes)


def check_scopes(scopes: object) -> frozenset[str]:
    """A token's scopes as given to the emulator's control API; unknown names are refused."""
    if not isinstance(scopes, list | tuple | set | frozenset) or not all(isinstance(s, str) for s in scopes):
        raise ValueError("scopes must be a list of scope names such as 'event:read'")
    unknown = sorted(set(scopes) - ALL_SCOPES)
    if unknown:
        raise ValueError(f"unknown scopes {unknown}; known: {sorted(ALL_SCOPES)}")
    return frozenset(scopes)
