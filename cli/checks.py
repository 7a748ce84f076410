"""What `sentry-ado check` concludes from what the APIs answered. Pure: data in, verdicts out.

Each verdict names what was checked and, when it failed, one concrete fix, so a deployment is
repaired from the output alone. Error messages from the services are passed through (they carry
method, path and status, never a credential: see shared/ado/errors.py, shared/sentry/errors.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from shared.ado.errors import (
    AdoAuthError,
    AdoBadRequest,
    AdoError,
    AdoNotFound,
    AdoPermissionDenied,
    AdoProtocolError,
    InvalidFieldValue,
)
from shared.config import ADO_URL_FORM, Route
from shared.contract import ADO_WORK_ITEM_EVENTS, WORKFLOW_ACTIVITY_TRIGGER, WORKFLOW_APP_ACTION
from shared.sentry.errors import SentryAuthError, SentryError, SentryNotFound, SentryPermissionDenied
from shared.setup.manifest import Permission
from shared.setup.subscriptions import problems_of, targets_app
from shared.transport import NetworkError

Status = Literal["ok", "FAIL", "skip"]
SUBSCRIBE_HINT = "run: sentry-ado subscribe --url https://<app>.azurewebsites.net"


@dataclass(frozen=True)
class CheckResult:
    status: Status
    what: str
    detail: str = ""
    hint: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "FAIL"

    def line(self) -> str:
        text = f"{self.status:<4} {self.what}"
        if self.detail:
            text += f": {self.detail}"
        if self.hint:
            text += f"\n     fix: {self.hint}"
        return text


def ok(what: str, detail: str = "") -> CheckResult:
    return CheckResult("ok", what, detail)


def fail(what: str, detail: str, hint: str) -> CheckResult:
    return CheckResult("FAIL", what, detail, hint)


def skipped(what: str, because: str) -> CheckResult:
    return CheckResult("skip", what, f"not checked: {because}")


def exit_code(results: Sequence[CheckResult]) -> int:
    return 1 if any(r.failed for r in results) else 0


# --- failures -> hints ----------------------------------------------------------------------

def ado_failure(what: str, exc: Exception, auth_mode: str, permission: str = "") -> CheckResult:
    """A failed ADO call as a verdict with the fix its kind calls for."""
    if isinstance(exc, NetworkError):
        return fail(what, str(exc), "check ADO_ORG_URL (https://dev.azure.com/<org> or the Server collection URL) "
                                    "and that this machine can reach it")
    scope = getattr(exc, "scope", None)  # ADO answers a PAT lacking the call's scope with the same 401
    if isinstance(exc, AdoAuthError) and scope and auth_mode == "pat":
        return fail(what, str(exc), f"give ADO_PAT the {scope} scope (User settings > Personal access tokens > "
                                    "Edit), or create a new one if it is wrong, expired or revoked")
    if isinstance(exc, AdoAuthError):
        hint = {"pat": "ADO_PAT is wrong, expired or revoked: create a new PAT in User settings > Personal access "
                       "tokens for this organization",
                "service-principal": "check ADO_TENANT_ID/ADO_CLIENT_ID/ADO_CLIENT_SECRET and that the service "
                                     "principal was added to the organization (Organization settings > Users)",
                "managed-identity": "add the Function App's managed identity to the organization (Organization "
                                    "settings > Users); outside Azure use pat or service-principal"}
        return fail(what, str(exc), hint.get(auth_mode, "check the ADO credentials"))
    if isinstance(exc, AdoPermissionDenied):
        return fail(what, str(exc), permission or "grant the sync identity the permission named above")
    if isinstance(exc, AdoError):
        return fail(what, str(exc), "see the Azure DevOps message above")
    raise exc


def sentry_failure(what: str, exc: Exception, scope: str = "") -> CheckResult:
    """A failed Sentry call as a verdict with the fix its kind calls for."""
    if isinstance(exc, NetworkError):
        return fail(what, str(exc), "check SENTRY_BASE_URL (https://sentry.io, https://us.sentry.io, "
                                    "https://de.sentry.io or your self-hosted URL) and the network")
    if isinstance(exc, SentryAuthError):
        return fail(what, str(exc), "SENTRY_TOKEN was refused: create a token under Settings > Developer Settings "
                                    "> <integration> > Tokens")
    if isinstance(exc, SentryPermissionDenied):
        return fail(what, str(exc), f"give the integration the {scope or 'needed'} permission "
                                    "(Settings > Developer Settings > <integration> > Permissions)")
    if isinstance(exc, SentryNotFound):
        return fail(what, str(exc), "check SENTRY_ORG (the organization slug in the URL) and SENTRY_BASE_URL "
                                    "(the organization's region)")
    if isinstance(exc, SentryError):
        return fail(what, str(exc), "see the Sentry message above")
    raise exc


def connection_failure(exc: Exception, auth_mode: str) -> CheckResult:
    """The first ADO call failed: a 404, a page that is not JSON or a refused request there means
    ADO_ORG_URL is not an organization (a project appended, the organization missing or misspelt)."""
    what = "ADO reachable and authenticated"
    if isinstance(exc, (AdoNotFound, AdoProtocolError, AdoBadRequest)):
        return fail(what, str(exc), f"ADO_ORG_URL: {ADO_URL_FORM}")
    return ado_failure(what, exc, auth_mode)


# --- ADO verdicts from data ------------------------------------------------------------------

def connection_verdict(data: Mapping[str, Any] | None) -> CheckResult:
    user = (data or {}).get("authenticatedUser") or {}
    name = user.get("providerDisplayName") or user.get("id")
    if not name:
        return fail("ADO reachable and authenticated", "connectionData has no authenticated user",
                    "check ADO_ORG_URL points at an organization or collection, not a project or a proxy")
    return ok("ADO reachable and authenticated", f"as {name}")


def find_project(projects: Sequence[Mapping[str, Any]], name: str) -> Mapping[str, Any] | None:
    key = name.lower()
    return next((p for p in projects if str(p.get("name", "")).lower() == key
                 or str(p.get("id", "")).lower() == key), None)


def project_verdict(route_index: int, route: Route, projects: Sequence[Mapping[str, Any]]) -> CheckResult:
    what = f"ADO project {route.ado_project!r} (routes[{route_index}])"
    if find_project(projects, route.ado_project) is not None:
        return ok(what, "exists")
    names = ", ".join(sorted(str(p.get("name")) for p in projects)) or "none visible"
    return fail(what, f"not found among: {names}",
                f"fix routes[{route_index}].ado_project in the sync rules, or give the sync identity access")


def type_verdict(route_index: int, route: Route, types: Sequence[Mapping[str, Any]]) -> CheckResult:
    what = f"work item type {route.work_item_type!r} in {route.ado_project}"
    names = [str(t.get("name")) for t in types]
    if route.work_item_type.lower() in (n.lower() for n in names):
        return ok(what, "exists")
    return fail(what, f"not a type of this project (it has: {', '.join(sorted(names)) or 'none'})",
                f"set routes[{route_index}].work_item_type to one of those")


def validation_ops(route: Route) -> list[dict[str, Any]]:
    """The smallest create the sync would send for this route, for a ``validateOnly`` dry run."""
    fields: dict[str, Any] = {"System.Title": "sentry-ado check (validate only, nothing is saved)"}
    if route.area_path:
        fields["System.AreaPath"] = route.area_path
    if route.iteration_path:
        fields["System.IterationPath"] = route.iteration_path
    fields.update(route.fields)
    return [{"op": "add", "path": f"/fields/{ref}", "value": value} for ref, value in fields.items()]


def create_failure(route_index: int, route: Route, exc: Exception, auth_mode: str) -> CheckResult:
    what = f"create {route.work_item_type} in {route.ado_project} (validateOnly)"
    if isinstance(exc, InvalidFieldValue):
        sent = {op["path"].removeprefix("/fields/"): op["value"] for op in validation_ops(route)}
        field = f" {exc.field} = {sent[exc.field]!r}" if exc.field in sent else (f" {exc.field}" if exc.field else "")
        return fail(what, str(exc), f"a rule refused{field} of routes[{route_index}]: fix area_path/iteration_path "
                                    "or add the type's required fields under fields")
    if isinstance(exc, AdoNotFound):
        return fail(what, str(exc), f"check routes[{route_index}] names an existing project and type")
    return ado_failure(what, exc, auth_mode, permission="grant 'Edit work items in this node' on the area path "
                                                        "and a Basic (not Stakeholder) access level")


def hooks_verdict(project: Mapping[str, Any], subscriptions: Sequence[Mapping[str, Any]],
                  events: Sequence[str] = ADO_WORK_ITEM_EVENTS) -> CheckResult:
    """One subscription per event, enabled and unfiltered, posting to some ``/api/ado/webhook``
    with the secret header (its value cannot be read back reliably, so only its presence counts)."""
    project_id, name = str(project.get("id", "")).lower(), project.get("name")
    what = f"ADO service hooks for {name}"
    problems: list[str] = []
    for event in events:
        ours = [s for s in subscriptions if s.get("eventType") == event and targets_app(s, None)
                and str((s.get("publisherInputs") or {}).get("projectId") or "").lower() == project_id]
        if not ours:
            problems.append(f"{event} missing")
        elif all(problems_of(s, None) for s in ours):
            problems.append(f"{event} {problems_of(ours[0], None)[0]}")
    if problems:
        return fail(what, "; ".join(problems), SUBSCRIBE_HINT)
    return ok(what, f"{len(events)} events subscribed and enabled")


# --- Sentry verdicts from data ---------------------------------------------------------------

_LEVELS = ("read", "write", "admin")


def _covers(granted: Sequence[str], scope: str) -> bool:
    """A scope is granted itself or by a higher level of the same resource (Sentry gives an
    integration set to Admin the read, write and admin scopes, and admits writes for reads)."""
    resource, _, level = scope.partition(":")
    if level not in _LEVELS:
        return scope in granted
    return any(g.partition(":")[0] == resource and g.partition(":")[2] in _LEVELS[_LEVELS.index(level):]
               for g in granted)


def sentry_scopes_verdict(granted: Sequence[str], permissions: Sequence[Permission]) -> CheckResult:
    """The token's scopes against what the app calls; each missing one named with the permission
    that grants it and what the app needs it for."""
    what = "Sentry token scopes"
    lacking = [(p, [s for s in p.scopes if not _covers(granted, s)]) for p in permissions]
    lacking = [(p, missing) for p, missing in lacking if missing]
    if not lacking:
        return ok(what, ", ".join(s for p in permissions for s in p.scopes))
    detail = "; ".join(f"missing {', '.join(missing)} (to {p.why})" for p, missing in lacking)
    return fail(what, detail, f"give the integration {', '.join(p.label for p, _ in lacking)} (Settings > "
                              "Developer Settings > <integration> > Permissions) and save")

def sentry_projects_verdict(slug: str, projects: Sequence[Mapping[str, Any]]) -> CheckResult:
    what = f"Sentry project {slug!r}"
    if any(p.get("slug") == slug for p in projects):
        return ok(what, "exists")
    slugs = ", ".join(sorted(str(p.get("slug")) for p in projects)) or "none visible"
    return fail(what, f"not in the organization (it has: {slugs})",
                "fix sentry_projects in the sync rules (use the project slug)")


ACTIVITY_CHANNEL = "Sentry issue activity channel (workflow alerts)"
ACTIVITY_HOW = "optional: see README, setup step 6"


def _targets(action: Mapping[str, Any], app_ids: set[str], uuids: set[str]) -> bool:
    """Whether a workflow action notifies one of `app_ids` (by app id, the usual identifier) or
    installations `uuids` (the other one Sentry accepts)."""
    if action.get("type") != WORKFLOW_APP_ACTION:
        return False
    config = action.get("config") or {}
    return str(config.get("targetIdentifier")) in app_ids | uuids


def activity_channel_verdict(workflows: Sequence[Mapping[str, Any]],
                             installations: Sequence[Mapping[str, Any]], installation_uuid: str | None) -> CheckResult:
    """Whether an enabled workflow sends issue activity (its resolve trigger) to our app. Optional,
    so never a failure: it says which workflows do, or what one lacks, or that none is set up."""
    ours = [i for i in installations if not installation_uuid or i.get("uuid") == installation_uuid]
    app_ids = {str((i.get("app") or {}).get("sentryAppId")) for i in ours}
    uuids = {str(i.get("uuid")) for i in ours}
    notifying = [w for w in workflows if any(_targets(a, app_ids, uuids) for f in w.get("actionFilters") or []
                                             for a in f.get("actions") or [])]
    sending = [w for w in notifying if w.get("enabled") and any(
        c.get("type") == WORKFLOW_ACTIVITY_TRIGGER for c in (w.get("triggers") or {}).get("conditions") or [])]
    if sending:
        return ok(ACTIVITY_CHANNEL, "set up: " + ", ".join(repr(w.get("name")) for w in sending))
    if notifying:
        names = ", ".join(repr(w.get("name")) for w in notifying)
        return ok(ACTIVITY_CHANNEL, f"not set up: {names} notify the app but are disabled or lack the "
                                    f"{WORKFLOW_ACTIVITY_TRIGGER} trigger ({ACTIVITY_HOW})")
    return ok(ACTIVITY_CHANNEL, f"not set up: no alert sends issue activity to the app; it arrives by the "
                                f"issue webhooks only ({ACTIVITY_HOW})")


# --- code mappings (stack-trace links) -------------------------------------------------------

def code_mapping_verdict(indexes: Sequence[int], project: str, repo: str, branch: str,
                         repository: Mapping[str, Any] | None, branch_found: bool) -> CheckResult:
    """One repository and branch the ``[[code_mappings]]`` name (``indexes``: which mappings)."""
    where = ", ".join(f"code_mappings[{i}]" for i in indexes)
    what = f"repository {repo!r} of {project}, branch {branch!r} ({where})"
    if repository is None:
        return fail(what, "no such Git repository (or the sync identity cannot read it)",
                    f"fix {where}.repository (a repository name or id of {project}), or give the identity "
                    "Code read (PAT scope: Code > Read)")
    if not branch_found:
        default = str(repository.get("defaultBranch") or "").removeprefix("refs/heads/")
        return fail(what, "the repository has no such branch" + (f" (its default is {default!r})" if default else ""),
                    f"set {where}.branch to a branch of {repo}")
    return ok(what, "exists")


# --- settings and rules verdicts -------------------------------------------------------------

MIN_SECRET_CHARS = 16


def secret_verdict(name: str, length: int) -> CheckResult:
    """A shared secret anyone could guess proves nothing (ADO signs no hook: the header is the proof)."""
    what = f"{name} strength"
    if length < MIN_SECRET_CHARS:
        return fail(what, f"{length} characters: short enough to guess",
                    f"set {name} to a random value of 32+ characters (openssl rand -hex 32), then run "
                    "sentry-ado subscribe --force")
    return ok(what, f"{length} characters")


def node_verdict(route_index: int, key: str, path: str, project: str, exc: Exception | None,
                 auth_mode: str) -> CheckResult:
    what = f"{key} '{path}' in {project} (routes[{route_index}])"
    if exc is None:
        return ok(what, "exists")
    if isinstance(exc, AdoNotFound):
        tree = "Project settings > Boards > Project configuration > " + ("Areas" if key == "area_path" else
                                                                         "Iterations")
        return fail(what, "does not exist", f"fix routes[{route_index}].{key} (a path such as {project}\\Web, "
                                           f"with backslashes) or create it under {tree}")
    return ado_failure(what, exc, auth_mode)


def override_type_verdict(wit: str, types: Sequence[str]) -> CheckResult:
    """`[states.overrides.<type>]` must name a work item type some routed project has."""
    import difflib

    what = f"states.overrides.{wit}"
    if wit.lower() in (t.lower() for t in types):
        return ok(what, "a type of the routed projects")
    close = difflib.get_close_matches(wit, list(types), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return fail(what, f"no routed project has a work item type {wit!r} (they have: {', '.join(sorted(types))})",
                f"{hint}rename [states.overrides.{wit}] to one of those types")


def override_states_verdict(wit: str, project: str, overrides: Mapping[str, str],
                            states: Sequence[Mapping[str, Any]]) -> CheckResult:
    what = f"states.overrides.{wit} in {project}"
    names = [str(s.get("name")) for s in states]
    bad = [f"{key} = {value!r}" for key, value in overrides.items() if value.lower() not in (n.lower() for n in names)]
    if bad:
        return fail(what, f"{', '.join(bad)}: not a state of {wit} (it has: {', '.join(names)})",
                    f"use one of those state names in [states.overrides.{wit}]")
    return ok(what, f"{len(overrides)} state(s) exist")


def identity_verdict(email: str, identity: str, exc: Exception | None, auth_mode: str) -> CheckResult:
    what = f"identities: {email} -> {identity}"
    if exc is None:
        return ok(what, "an ADO identity")
    if isinstance(exc, InvalidFieldValue):
        return fail(what, f"Azure DevOps does not know {identity!r} as an assignee ({exc.message[:120]})",
                    "use the person's ADO sign-in name (uniqueName, usually the email), and check they are "
                    "a member of the organization with access to the project")
    return ado_failure(what, exc, auth_mode)


def repository_verdict(index: int, name: str, found_in: str | None, searched: Sequence[str]) -> CheckResult:
    what = f"releases.repositories[{index}].ado_repository {name!r}"
    if found_in:
        return ok(what, f"in {found_in}")
    return fail(what, f"no Git repository of that name or id in {', '.join(searched) or 'any project'}",
                "use the repository's name as shown in Repos > Files (or its id)")


def installation_verdict(uuid: str | None, installations: Sequence[Mapping[str, Any]]) -> CheckResult:
    """The installation shows work items on Sentry issues; a wrong one makes every such call 404."""
    what = "Sentry installation"
    uuids = [str(i.get("uuid")) for i in installations]
    if not uuid:
        if len(uuids) == 1:
            return ok(what, f"SENTRY_INSTALLATION_UUID not set; learned from webhooks (the organization has one: "
                            f"{uuids[0]})")
        return ok(what, "SENTRY_INSTALLATION_UUID not set; learned from the first webhook (its installation.uuid)")
    if uuid in uuids:
        return ok(what, f"{uuid} is installed")
    return fail(what, f"SENTRY_INSTALLATION_UUID {uuid} is not an installation of this organization "
                      f"(it has: {', '.join(uuids) or 'none'})",
                "unset SENTRY_INSTALLATION_UUID (the app learns it from each webhook) or set it to one of those")


def environment_verdict(ado_name: str, environment: str, known: Sequence[str]) -> CheckResult:
    """A ``[releases.environments]`` value: Sentry makes an environment on the first deploy naming
    it, so a new one is fine; one that differs from a known one only in case or by a typo is not
    (Sentry's names are case-sensitive: the deploys would land in a second environment)."""
    import difflib

    what = f"releases.environments.{ado_name} = {environment!r}"
    if environment in known:
        return ok(what, "an environment of the Sentry organization")
    lowered = {k.lower(): k for k in known}
    close = [lowered[environment.lower()]] if environment.lower() in lowered else difflib.get_close_matches(
        environment, list(known), n=1, cutoff=0.8)
    if close:
        return fail(what, f"not an environment of the Sentry organization, but {close[0]!r} is",
                    f"did you mean {close[0]!r}? Sentry environment names are case-sensitive: fix the value in "
                    "[releases.environments], or keep it to make a new environment at the first deploy")
    return ok(what, "new: Sentry makes it at the first deploy")
