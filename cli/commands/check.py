"""`sentry-ado check`: verify every connection and permission the app needs, one line per check.

The shell: it calls the APIs with the clients the app itself uses (shared/setup/clients.py) and
hands each answer to the pure verdicts in cli/checks.py. A check whose prerequisite
failed is reported as ``skip`` instead of piling up follow-on failures.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from cli import checks as c
from shared.ado.client import AdoClient
from shared.ado.errors import AdoError, AdoNotFound, InvalidFieldValue
from shared.config import Settings, SyncRules, load_config
from shared.runtime import open_store
from shared.sentry import endpoints as sentry_endpoints
from shared.sentry.client import SentryClient
from shared.sentry.errors import SentryAuthError, SentryError
from shared.setup.clients import ado_client, sentry_client
from shared.setup.manifest import BASE_PERMISSIONS, COMMIT_TRACKING_PERMISSIONS
from shared.setup.subscriptions import CONSUMER_ID, events_for, publisher_of
from shared.transport import NetworkError, RetryPolicy

NAME = "check"
HELP = "verify the Sentry and Azure DevOps connections and permissions the app needs"
ADO_ERRORS = (AdoError, NetworkError)
# A person is waiting: give up on an unreachable service in seconds, not the queue budget.
INTERACTIVE = RetryPolicy(max_attempts=2, base_delay_s=0.2, max_delay_s=1.0, total_budget_s=20.0,
                          connect_timeout_s=5.0, read_timeout_s=20.0)
SENTRY_ERRORS = (SentryError, NetworkError)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true",
                        help="print {ok, failed, checks: [{status, what, detail, fix}]} instead of lines")


def store_check(settings: Settings) -> c.CheckResult:
    """Reachable and writable: the app claims, saves and checkpoints there on every sync."""
    what = f"link store ({settings.link_store})"
    fix = ("check LINK_STORE and, for table, AzureWebJobsStorage (locally start Azurite) and the identity's "
           "'Storage Table Data Contributor' role; for sqlite, that SQLITE_PATH's folder is writable")
    try:
        store = open_store(settings)
        store.ping()
        stamp = {"at": datetime.now(UTC).isoformat()}
        store.set_marker("check", "write-test", stamp)
        if store.get_marker("check", "write-test") != stamp:
            return c.fail(what, "a record written was not read back", fix)
    except Exception as exc:  # any failure here is the store's; the check reports it and goes on
        return c.fail(what, f"{type(exc).__name__}: {exc}", fix)
    return c.ok(what, "reachable and writable")


def routes_check(rules: SyncRules) -> c.CheckResult:
    if not rules.routes:
        return c.fail("sync rules", "no [[routes]]: no Sentry project is synced",
                      "set SYNC_CONFIG_PATH to a TOML file with [[routes]] (sentry_projects, ado_project)")
    return c.ok("sync rules", f"{len(rules.routes)} route(s)")


def ado_checks(ado: AdoClient, rules: SyncRules, auth_mode: str) -> Iterator[c.CheckResult]:
    """Connection, then per route project/type/create permission, then hooks per project."""
    try:
        connection = c.connection_verdict(ado.connection_data())
    except ADO_ERRORS as exc:
        connection = c.connection_failure(exc, auth_mode)
    yield connection
    if connection.failed:
        yield c.skipped("ADO projects, types, permissions and service hooks", "ADO not reachable")
        return
    try:
        projects = ado.projects()
    except ADO_ERRORS as exc:
        yield c.ado_failure("list ADO projects", exc, auth_mode, "give the identity 'View project-level information'")
        return
    found: dict[str, dict[str, Any]] = {}
    for i, route in enumerate(rules.routes):
        verdict = c.project_verdict(i, route, projects)
        yield verdict
        project = c.find_project(projects, route.ado_project)
        if project is None:
            continue
        found[str(project.get("id"))] = dict(project)
        yield from _type_and_create(ado, i, route, auth_mode)
    yield from _overrides(ado, rules, auth_mode)
    yield from _identities(ado, rules, auth_mode)
    yield from _repositories(ado, rules, projects, auth_mode)
    if not found:
        return
    events = events_for(rules.commit_tracking)
    try:
        subscriptions = [sub for publisher in sorted({publisher_of(e)[0] for e in events})
                         for sub in ado.list_hook_subscriptions(publisher, None, CONSUMER_ID)]
    except ADO_ERRORS as exc:
        yield c.ado_failure("list ADO service hook subscriptions", exc, auth_mode,
                            "give the identity 'View subscriptions' for service hooks (PAT scope: Service Hooks "
                            "Read & write)")
        return
    for project in found.values():
        yield c.hooks_verdict(project, subscriptions, events)


def code_mapping_checks(ado: AdoClient, rules: SyncRules, auth_mode: str) -> Iterator[c.CheckResult]:
    """Each repository and branch the code mappings link stack frames to exists."""
    named: dict[tuple[str, str, str], list[int]] = {}
    for i, m in enumerate(rules.code_mappings):
        named.setdefault((m.ado_project, m.repository, m.branch), []).append(i)
    for (project, repo, branch), indexes in named.items():
        what = f"repository {repo!r} of {project} (code_mappings[{indexes[0]}])"
        try:
            try:
                repository: dict[str, Any] | None = ado.git_repository(project, repo)
            except AdoNotFound:
                repository = None
            found = repository is not None and ado.git_branch_exists(project, repo, branch)
        except ADO_ERRORS as exc:
            yield c.ado_failure(what, exc, auth_mode, "give the sync identity Code read (PAT scope: Code > Read)")
            continue
        yield c.code_mapping_verdict(indexes, project, repo, branch, repository, found)


def _type_and_create(ado: AdoClient, i: int, route: Any, auth_mode: str) -> Iterator[c.CheckResult]:
    what = f"work item type {route.work_item_type!r} in {route.ado_project}"
    try:
        verdict = c.type_verdict(i, route, ado.work_item_types(route.ado_project))
    except ADO_ERRORS as exc:
        verdict = c.ado_failure(what, exc, auth_mode)
    yield verdict
    if verdict.failed:
        return
    for key, group in (("area_path", "areas"), ("iteration_path", "iterations")):
        path = getattr(route, key)
        if path:
            try:
                ado.classification_node(route.ado_project, group, path)
                error: Exception | None = None
            except ADO_ERRORS as exc:
                error = exc
            yield c.node_verdict(i, key, path, route.ado_project, error, auth_mode)
    try:
        ado.create_work_item(route.ado_project, route.work_item_type, c.validation_ops(route), validate_only=True)
    except ADO_ERRORS as exc:
        yield c.create_failure(i, route, exc, auth_mode)
        return
    yield c.ok(f"create {route.work_item_type} in {route.ado_project} (validateOnly)", "allowed")


def _overrides(ado: AdoClient, rules: SyncRules, auth_mode: str) -> Iterator[c.CheckResult]:
    """Each [states.overrides.<type>] names a type of a routed project, and states that type has."""
    if not rules.states.overrides:
        return
    types: dict[str, list[str]] = {}  # type (lower) -> projects having it
    names: dict[str, str] = {}
    for project in dict.fromkeys(r.ado_project for r in rules.routes):
        try:
            for t in ado.work_item_types(project):
                types.setdefault(str(t.get("name")).lower(), []).append(project)
                names[str(t.get("name")).lower()] = str(t.get("name"))
        except ADO_ERRORS:
            continue  # the route's own check reports it
    for wit, overrides in rules.states.overrides.items():
        verdict = c.override_type_verdict(wit, sorted(set(names.values())))
        yield verdict
        if verdict.failed:
            continue
        for project in types.get(wit.lower(), []):
            what = f"states.overrides.{wit} in {project}"
            try:
                states = ado.work_item_type_states(project, names[wit.lower()])
            except ADO_ERRORS as exc:
                yield c.ado_failure(what, exc, auth_mode)
                continue
            yield c.override_states_verdict(wit, project, overrides, states)


def _identities(ado: AdoClient, rules: SyncRules, auth_mode: str) -> Iterator[c.CheckResult]:
    """ADO has no cheap "does this person exist" call that works for PATs on Services and Server
    alike; a validate-only create assigned to them answers exactly what an assignment would."""
    if not rules.identities or not rules.routes:
        return
    route = rules.routes[0]
    for email, identity in rules.identities.items():
        ops = [{"op": "add", "path": "/fields/System.Title", "value": "sentry-ado check (validate only)"},
               *({"op": "add", "path": f"/fields/{k}", "value": v} for k, v in route.fields.items()),
               {"op": "add", "path": "/fields/System.AssignedTo", "value": identity}]
        try:
            ado.create_work_item(route.ado_project, route.work_item_type, ops, validate_only=True)
            error: Exception | None = None
        except InvalidFieldValue as exc:
            if exc.field not in (None, "System.AssignedTo", "Assigned To"):
                yield c.skipped(f"identities: {email} -> {identity}", f"a rule refused {exc.field} first")
                continue
            error = exc
        except ADO_ERRORS as exc:
            error = exc
        yield c.identity_verdict(email, identity, error, auth_mode)


def _repositories(ado: AdoClient, rules: SyncRules, projects: list[dict[str, Any]],
                  auth_mode: str) -> Iterator[c.CheckResult]:
    """[releases] repositories exist: searched in the routed projects first, then the others."""
    wanted = list(rules.releases.repositories) if rules.releases else []
    if not wanted:
        return
    routed = {r.ado_project.lower() for r in rules.routes}
    order = sorted(projects, key=lambda p: str(p.get("name", "")).lower() not in routed)
    found: dict[int, str] = {}
    searched: list[str] = []
    for project in order:
        if len(found) == len(wanted):
            break
        name = str(project.get("name"))
        try:
            repos = ado.repositories(name)
        except ADO_ERRORS as exc:
            yield c.ado_failure(f"list Git repositories of {name}", exc, auth_mode,
                                "give the identity Code (Read) on the project (PAT scope: Code read)")
            continue
        searched.append(name)
        for i, rule in enumerate(wanted):
            if i not in found and any(rule.matches(str(r.get("id", "")), str(r.get("name", ""))) for r in repos):
                found[i] = name
    for i, rule in enumerate(wanted):
        yield c.repository_verdict(i, rule.ado_repository, found.get(i), searched)


def sentry_checks(sentry: SentryClient, rules: SyncRules,
                  installation_uuid: str | None = None) -> Iterator[c.CheckResult]:
    """Token, organization, routed projects, members, [releases] environments, the installation, the
    issue activity channel."""
    org_what = f"Sentry organization {sentry.org!r}"
    try:
        sentry.send(sentry_endpoints.get_organization(sentry.org))
    except SentryAuthError as exc:
        yield c.sentry_failure("Sentry token valid", exc)
        yield c.skipped("Sentry organization, projects and members", "the token was refused")
        return
    except SENTRY_ERRORS as exc:
        token_ok = isinstance(exc, SentryError)  # any answer but 401 means the token was accepted
        yield c.ok("Sentry token valid") if token_ok else c.sentry_failure("Sentry reachable", exc)
        yield c.sentry_failure(org_what, exc, "Organization: Read")
        yield c.skipped("Sentry projects and members", "organization not reachable")
        return
    yield c.ok("Sentry token valid")
    yield c.ok(org_what, "reachable")
    permissions = BASE_PERMISSIONS + (COMMIT_TRACKING_PERMISSIONS if rules.releases else ())
    try:
        root = sentry.send(sentry_endpoints.api_root()) or {}
    except SENTRY_ERRORS as exc:
        yield c.sentry_failure("Sentry token scopes", exc)
    else:
        yield c.sentry_scopes_verdict(list((root.get("auth") or {}).get("scopes") or []), permissions)
    slugs = [slug for route in rules.routes for slug in route.sentry_projects]
    if slugs:
        try:
            projects = _all_projects(sentry)
        except SENTRY_ERRORS as exc:
            yield c.sentry_failure("list Sentry projects", exc, "Organization: Read")
        else:
            yield from (c.sentry_projects_verdict(slug, projects) for slug in slugs)
    try:
        members, _ = sentry.send_page(sentry_endpoints.list_members(sentry.org))
    except SENTRY_ERRORS as exc:
        yield c.sentry_failure("Sentry members readable", exc, "Member: Read")
    else:
        yield c.ok("Sentry members readable", f"{len(members or [])} on the first page")
    yield from environment_checks(sentry, rules)
    try:
        installations = _all(sentry, sentry_endpoints.list_installations)
    except SENTRY_ERRORS as exc:
        yield c.sentry_failure("Sentry installation", exc, "Organization: Read")
        return
    yield c.installation_verdict(installation_uuid, installations)
    yield activity_channel_check(sentry, installations, installation_uuid)


def environment_checks(sentry: SentryClient, rules: SyncRules) -> Iterator[c.CheckResult]:
    """Each Sentry environment ``[releases.environments]`` maps a stage to, against those Sentry has."""
    mapped = dict(rules.releases.environments) if rules.releases else {}
    if not mapped:
        return
    try:
        known = [str(e.get("name")) for e in sentry.list_environments()]
    except SENTRY_ERRORS as exc:
        yield c.sentry_failure("Sentry environments", exc, "Organization: Read")
        return
    yield from (c.environment_verdict(name, env, known) for name, env in mapped.items())


def activity_channel_check(sentry: SentryClient, installations: list[dict[str, Any]],
                           installation_uuid: str | None) -> c.CheckResult:
    """Whether a workflow sends issue activity to the app (a second channel beside the webhooks)."""
    try:
        workflows = _all(sentry, sentry_endpoints.list_workflows)
    except SENTRY_ERRORS as exc:
        if isinstance(exc, SentryError) and exc.status == 404:  # a Sentry older than workflows
            return c.ok(c.ACTIVITY_CHANNEL, "this Sentry has no workflow API; issue activity comes by webhooks")
        return c.sentry_failure(c.ACTIVITY_CHANNEL, exc, "Organization: Read")
    return c.activity_channel_verdict(workflows, installations, installation_uuid)


def _all_projects(sentry: SentryClient) -> list[dict[str, Any]]:
    return _all(sentry, sentry_endpoints.list_projects)


def _all(sentry: SentryClient, endpoint: Any) -> list[dict[str, Any]]:
    """Every page of an organization list (`endpoint(org, cursor)`)."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page, cursor = sentry.send_page(endpoint(sentry.org, cursor))
        items.extend(page or [])
        if not cursor:
            return items


def run(args: argparse.Namespace) -> int:
    config = load_config()
    settings = config.settings
    try:
        ado, sentry = ado_client(settings, INTERACTIVE), sentry_client(settings, INTERACTIVE)
    except ValueError as exc:
        print(f"cannot build the API clients: {exc}", file=sys.stderr)
        return 2
    results: list[c.CheckResult] = []
    checks = (routes_check(config.rules), store_check(settings),
              c.secret_verdict("ADO_HOOK_SECRET", len(settings.ado_hook_secret.reveal())),
              *ado_checks(ado, config.rules, settings.ado_auth),
              *code_mapping_checks(ado, config.rules, settings.ado_auth),
              *sentry_checks(sentry, config.rules, settings.sentry_installation_uuid or None))
    for result in checks:
        if not args.json:
            print(result.line(), flush=True)
        results.append(result)
    lines, bad_links = _stored_links(results)
    failures = sum(r.failed for r in results) + bad_links
    if args.json:
        print(json.dumps({"ok": not failures, "failed": failures,
                          "checks": [{"status": r.status, "what": r.what, "detail": r.detail, "fix": r.hint}
                                     for r in results], "stored_links": lines}, indent=2))
    else:
        print("\n".join(lines))
        print(f"{failures} check(s) failed" if failures else f"all {len(results)} checks passed")
    return 1 if failures else 0


def _stored_links(results: list[c.CheckResult]) -> tuple[list[str], int]:
    """`links check`'s report (malformed stored links, reconcile's last skips); nothing when the
    store check already failed (it is unreachable: that failure says so)."""
    if any(r.failed and r.what.startswith("link store") for r in results):
        return [], 0
    from cli.commands.links import check_lines
    from shared.runtime import runtime

    return check_lines(runtime().store)
