"""`sentry-ado check`: verify every connection and permission the app needs, one line per check.

The shell: it calls the APIs with the clients the app itself uses (shared/setup/clients.py) and
hands each answer to the pure verdicts in cli/checks.py. A check whose prerequisite
failed is reported as ``skip`` instead of piling up follow-on failures.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from typing import Any

from cli import checks as c
from shared.ado.client import AdoClient
from shared.ado.errors import AdoError, AdoNotFound
from shared.config import SyncRules, load_config
from shared.sentry import endpoints as sentry_endpoints
from shared.sentry.client import SentryClient
from shared.sentry.errors import SentryAuthError, SentryError
from shared.setup.clients import ado_client, sentry_client
from shared.setup.manifest import BASE_PERMISSIONS, COMMIT_TRACKING_PERMISSIONS
from shared.setup.subscriptions import CONSUMER_ID, PUBLISHER_ID
from shared.transport import NetworkError, RetryPolicy

NAME = "check"
HELP = "verify the Sentry and Azure DevOps connections and permissions the app needs"
ADO_ERRORS = (AdoError, NetworkError)
# A person is waiting: give up on an unreachable service in seconds, not the queue budget.
INTERACTIVE = RetryPolicy(max_attempts=2, base_delay_s=0.2, max_delay_s=1.0, total_budget_s=20.0,
                          connect_timeout_s=5.0, read_timeout_s=20.0)
SENTRY_ERRORS = (SentryError, NetworkError)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults()


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
        connection = c.ado_failure("ADO reachable and authenticated", exc, auth_mode)
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
    if not found:
        return
    try:
        subscriptions = ado.list_hook_subscriptions(PUBLISHER_ID, None, CONSUMER_ID)
    except ADO_ERRORS as exc:
        yield c.ado_failure("list ADO service hook subscriptions", exc, auth_mode,
                            "give the identity 'View subscriptions' for service hooks (PAT scope: Service Hooks "
                            "Read & write)")
        return
    for project in found.values():
        yield c.hooks_verdict(project, subscriptions)


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
    try:
        ado.create_work_item(route.ado_project, route.work_item_type, c.validation_ops(route), validate_only=True)
    except ADO_ERRORS as exc:
        yield c.create_failure(i, route, exc, auth_mode)
        return
    yield c.ok(f"create {route.work_item_type} in {route.ado_project} (validateOnly)", "allowed")


def sentry_checks(sentry: SentryClient, rules: SyncRules,
                  installation_uuid: str | None = None) -> Iterator[c.CheckResult]:
    """Token, organization, routed projects, members, the issue activity channel."""
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
    yield activity_channel_check(sentry, installation_uuid)


def activity_channel_check(sentry: SentryClient, installation_uuid: str | None) -> c.CheckResult:
    """Whether a workflow sends issue activity to the app (a second channel beside the webhooks)."""
    try:
        workflows = _all(sentry, sentry_endpoints.list_workflows)
        installations = _all(sentry, sentry_endpoints.list_installations)
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
    for result in (routes_check(config.rules), *ado_checks(ado, config.rules, settings.ado_auth),
                   *code_mapping_checks(ado, config.rules, settings.ado_auth),
                   *sentry_checks(sentry, config.rules, settings.sentry_installation_uuid or None)):
        print(result.line(), flush=True)
        results.append(result)
    from cli.commands.links import check_lines
    from shared.runtime import runtime

    lines, bad_links = check_lines(runtime().store)  # the store only: malformed links, last skips
    print("\n".join(lines))
    failures = sum(r.failed for r in results) + bad_links
    print(f"{failures} check(s) failed" if failures else f"all {len(results)} checks passed")
    return 1 if failures else 0
