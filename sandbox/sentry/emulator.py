"""The Sentry emulator: a stateful sentry.io for one organization, served over HTTP.

The imperative shell around ``world`` (what changes), ``spec`` (what is well-formed),
``issue_search``/``pagination`` (what is listed) and ``webhooks`` (what is sent). Every API
request is, in order: journaled (core), faulted (core), routed, authenticated (Bearer token →
member or the app's own token; 401 otherwise), counted for the ``X-Sentry-Rate-Limit-*``
headers, checked against the OpenAPI spec (400 like Sentry's), then handled under one lock.
Changes fire signed integration-platform webhooks to every installation with a webhook URL.

Control actions (``POST /_sandbox/<action>`` with a JSON body) act as a person would; each has
a Python method of the same meaning:
- ``errors``                  {project, exception_type, exception_value, frames?, level?, ...} → new_error
- ``issues/<id>/update``      {as: email|username, <issue PUT body>}                         → act
- ``issues/<id>/comments``    {as, text}                                                     → comment
- ``webhook``                 {url, client_secret?} for the seeded installation              → configure_webhook
- ``builtin-links``           {issue, work_item, instance, title?, area_path?} (the built-in
                              Azure DevOps integration links a work item)                     → link_builtin
- ``installations``           {url, client_secret, app_slug, as} (fires installation.created) → install
- ``alert-rules``             {name, settings: [{name, value}], project?, conditions?}       → add_alert_rule
- ``tokens``                  {token, as: email|username|"application"|"app:<slug>", scopes?} → add_token
- ``rate-limit``              {limit?, window_s?, enforce?}                                  → rate limits
- ``features``                {name: "organizations:<flag>", enabled}                        → set_feature
- ``issues/escalate``         {issue}                                                        → escalate
- ``GET envelopes``           what SDKs sent to ``/api/<project_id>/envelope/`` (a project's DSN, `dsn`)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import requests
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from sandbox.core import EmulatorApp, Faults, RunningServer, json_response
from sandbox.sentry import scopes, serialize
from sandbox.sentry.envelopes import Envelope, InvalidEnvelope, decompress, sentry_key
from sandbox.sentry.envelopes import parse as parse_envelope
from sandbox.sentry.issue_search import InvalidSearch, in_window, search, sort_issues, time_window
from sandbox.sentry.issue_update import InvalidUpdate
from sandbox.sentry.model import SYSTEM, Actor, AlertRule, Installation, IntegrationIssue, Issue, Member, User
from sandbox.sentry.pagination import InvalidCursor, paginate
from sandbox.sentry.ratelimit import RateLimiter, exhausted, too_many_requests_message
from sandbox.sentry.releases import (
    Deploy,
    InvalidRelease,
    Release,
    check_refs,
    check_version,
    commit_json,
    deploy_json,
    parse_commits,
    referenced_short_ids,
    release_json,
)
from sandbox.sentry.seed import default_organization
from sandbox.sentry.spec import find_problems
from sandbox.sentry.webhooks import build_webhook, sign
from sandbox.sentry.world import NotFound, Notice, World

# src/sentry/features/temporary.py; sentry_apps/tasks: issue_unresolved / issue_escalating receivers
UNRESOLVED_FLAG = "organizations:webhooks-unresolved"
# Resources an installation receives only when its app subscribes to them; alerts need no subscription.
SUBSCRIBED_RESOURCES = ("issue", "comment", "error")
MAX_LIMIT = 100
MAX_BULK = 1000
NOT_FOUND = {"detail": "The requested resource does not exist"}
PROJECT_STATS_PERIODS = ("", "24h", "14d")
ORG = "/api/0/organizations/<org>"
LEGACY_ISSUE = "/api/0/issues/<issue>"


@dataclass(frozen=True)
class Call:
    """One authenticated API request, as the handlers need it."""

    actor: Actor
    body: Any
    now: datetime
    query: list[tuple[str, str]]

    def values(self, name: str) -> list[str]:
        return [v for k, v in self.query if k == name]

    def value(self, name: str, default: str | None = None) -> str | None:
        found = self.values(name)
        return found[-1] if found else default


def member_matches(member: Member, token: str) -> bool:
    """The member-list ``query=`` tokens Sentry reads: ``email:``, ``user.id:``, ``id:``, ``role:``,
    else free text over name and email (organization_member_index.py)."""
    key, sep, value = token.partition(":")
    value = value.lower()
    if sep and key == "email":
        return member.user.email.lower() == value
    if sep and key == "user.id":
        return str(member.user.id) == value
    if sep and key == "id":
        return str(member.id) == value
    if sep and key == "role":
        return member.role == value
    return token.lower() in f"{member.user.name} {member.user.email}".lower()


class SentryEmulator(EmulatorApp):
    service = "sentry"
    # sentry-apps.webhook.timeout.sec defaults to 1.0 (src/sentry/options/defaults.py); an internal
    # integration's timed-out webhook is never retried, so it is lost
    webhook_timeout_s = 1.0

    def __init__(self, faults: Faults | None = None, base_url: str = "http://127.0.0.1") -> None:
        super().__init__(faults)
        self.base_url = base_url
        self.limiter = RateLimiter()
        self.world = World(default_organization(), base_url)
        self.envelopes: list[Envelope] = []  # what SDKs sent to a project's DSN, oldest first
        self._add_routes()

    def reset_state(self) -> None:
        self.world = World(default_organization(), self.base_url)
        self.envelopes: list[Envelope] = []

    # --- SDK ingestion: the DSN's endpoint -----------------------------------------------------

    def dsn_key(self, project_id: int) -> str:
        """A project's public DSN key (32 hex characters, like Sentry's), stable for the project."""
        return hashlib.sha256(f"dsn:{self.world.org.slug}:{project_id}".encode()).hexdigest()[:32]

    def dsn(self, project: str, base_url: str | None = None) -> str:
        """The DSN an SDK is given for a project (Project Settings > Client Keys)."""
        p = self.world.project(project)
        scheme, _, host = (base_url or self.base_url).partition("://")
        return f"{scheme}://{self.dsn_key(p.id)}@{host}/{p.id}"

    def ingest_envelope(self, request: Request, project_id: int) -> Response:
        key = sentry_key(request.headers.get("X-Sentry-Auth", ""), request.args.get("sentry_key"))
        if not key:
            return json_response({"detail": "missing authorization information"}, 401)
        known = {p.id for p in self.world.org.projects.values()}
        if project_id not in known or not hmac.compare_digest(key, self.dsn_key(project_id)):
            return json_response({"detail": "invalid api key"}, 403)
        try:
            envelope = parse_envelope(project_id, decompress(request.get_data(), request.headers.get(
                "Content-Encoding", "")))
        except InvalidEnvelope as exc:
            return json_response({"detail": str(exc)}, 400)
        with self.lock:
            self.envelopes.append(envelope)
        return json_response({"id": envelope.header.get("event_id")})

    # --- plumbing ------------------------------------------------------------------------------

    def _add_routes(self) -> None:
        issue_scopes = (f"{ORG}/issues/<issue>", LEGACY_ISSUE)
        routes: list[tuple[str, Sequence[str], Callable[..., Response]]] = [
            ("/api/0/", ["GET"], self.index),
            ("/api/0/organizations/", ["GET"], self.list_organizations),
            (f"{ORG}/", ["GET"], self.get_organization),
            (f"{ORG}/issues/", ["GET"], self.list_org_issues),
            (f"{ORG}/issues/", ["PUT"], self.bulk_update_org),
            ("/api/0/projects/<org>/<project>/issues/", ["GET"], self.list_project_issues),
            ("/api/0/projects/<org>/<project>/issues/", ["PUT"], self.bulk_update_project),
            (f"{ORG}/members/", ["GET"], self.list_members),
            (f"{ORG}/projects/", ["GET"], self.list_projects),
            (f"{ORG}/teams/", ["GET"], self.list_teams),
            (f"{ORG}/sentry-app-installations/", ["GET"], self.list_installations),
            (f"{ORG}/workflows/", ["GET"], self.list_workflows),
            (f"{ORG}/environments/", ["GET"], self.list_environments),
            (f"{ORG}/shortids/<short>/", ["GET"], self.resolve_short_id),
            (f"{ORG}/releases/", ["GET"], self.list_releases),
            (f"{ORG}/releases/", ["POST"], self.create_release),
            (f"{ORG}/releases/<version>/", ["GET"], self.get_release),
            (f"{ORG}/releases/<version>/", ["PUT"], self.update_release),
            (f"{ORG}/releases/<version>/commits/", ["GET"], self.list_release_commits),
            (f"{ORG}/releases/<version>/deploys/", ["GET"], self.list_deploys),
            (f"{ORG}/releases/<version>/deploys/", ["POST"], self.create_deploy),
            (f"{ORG}/repos/", ["GET"], self.list_repos),
            ("/api/0/sentry-app-installations/<uuid>/external-issues/", ["POST"], self.link_external),
            ("/api/0/sentry-app-installations/<uuid>/external-issues/<link>/", ["DELETE"], self.unlink_external),
        ]
        for scope in issue_scopes:
            routes += [
                (f"{scope}/", ["GET"], self.get_issue),
                (f"{scope}/", ["PUT"], self.put_issue),
                (f"{scope}/events/<which>/", ["GET"], self.get_event),
                (f"{scope}/external-issues/", ["GET"], self.list_external),
                (f"{scope}/integrations/", ["GET"], self.list_issue_integrations),
            ]
            for alias in ("comments", "notes"):
                routes += [
                    (f"{scope}/{alias}/", ["GET"], self.list_comments),
                    (f"{scope}/{alias}/", ["POST"], self.post_comment),
                    (f"{scope}/{alias}/<note>/", ["PUT"], self.put_comment),
                    (f"{scope}/{alias}/<note>/", ["DELETE"], self.delete_comment),
                ]
        for path, methods, handler in routes:
            self.url_map.add(Rule(path, methods=list(methods), endpoint=partial(self._serve, handler)))
        self.url_map.add(Rule("/api/<int:project_id>/envelope/", methods=["POST"], endpoint=self.ingest_envelope))

    def dispatch(self, request: Request) -> Response:
        """Core dispatch plus rate-limit bookkeeping and headers on every API response."""
        if request.path.startswith("/_sandbox/"):
            return super().dispatch(request)
        self.base_url = request.host_url.rstrip("/")
        self.world.base_url = self.base_url
        quota, over = self.limiter.take(self._caller(request), request.path, request.method, time.time())
        request.environ["sentry.over_limit"] = over
        try:
            response = super().dispatch(request)
        finally:
            self.limiter.done()
        for name, value in quota.headers().items():
            response.headers.setdefault(name, value)
        return response

    def _caller(self, request: Request) -> str:
        """Whose budget a request spends: a Sentry App's tokens all share their organization's
        (``org:<id>``, src/sentry/ratelimits/utils.py), a member's token is its own."""
        header = request.headers.get("Authorization", "")
        actor = self._lookup_token(header.partition(" ")[2].strip()) if header else None
        if actor is not None and actor.kind == "application":
            return f"org:{self.world.org.id}"
        return hashlib.sha256(header.encode()).hexdigest()

    def fault_response(self, kind: str) -> Response:
        """429s as Sentry's middleware sends them: ``{"detail": ...}``, no ``Retry-After``."""
        if kind != "rate_limit":
            return super().fault_response(kind)
        return self._too_many(self.faults.retry_after_s)

    def _too_many(self, retry_after_s: float) -> Response:
        """Only the ``X-Sentry-Rate-Limit-*`` headers say when to come back (Reset, epoch seconds)."""
        quota = exhausted(self.limiter.limit, self.limiter.concurrent_limit, time.time(), retry_after_s)
        body = {"detail": too_many_requests_message(self.limiter.limit, self.limiter.window_s)}
        return json_response(body, 429, quota.headers())

    def _authenticate(self, request: Request) -> Actor | Response:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if not header:
            return json_response({"detail": "Authentication credentials were not provided."}, 401)
        if scheme.lower() != "bearer" or not token.strip():
            return json_response({"detail": "Invalid token header. No credentials provided."}, 401)
        actor = self._lookup_token(token.strip())
        return actor if actor else json_response({"detail": "Invalid token"}, 401)

    def _lookup_token(self, token: str) -> Actor | None:
        found = None
        for known, actor in self.world.org.tokens.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                found = actor
        return found

    def _parse_body(self, request: Request) -> tuple[Any, Response | None]:
        raw = request.get_data(cache=True)
        if not raw:
            return None, None
        try:
            return json.loads(raw), None
        except ValueError as exc:
            return None, json_response({"detail": f"JSON parse error - {exc}"}, 400)

    def _spec_response(self, request: Request, body: Any) -> Response | None:
        query = {k: v for k, v in request.args.lists()}
        problems = find_problems(request.method, request.path, query, request.content_type, body)
        if not problems:
            return None
        kinds = {p.kind for p in problems}
        if kinds & {"route", "method"}:
            return json_response(NOT_FOUND, 404)
        if "content_type" in kinds:
            return json_response({"detail": f'Unsupported media type "{request.content_type}" in request.'}, 415)
        body_errors = [p for p in problems if p.kind == "body"]
        if body_errors:
            errors: dict[str, list[str]] = {}
            for p in body_errors:
                errors.setdefault(p.field or "non_field_errors", []).append(p.message)
            return json_response(errors, 400)
        return json_response({"detail": "; ".join(f"Invalid {p.field} parameter: {p.message}"
                                                  for p in problems)}, 400)

    def _serve(self, handler: Callable[..., Response], request: Request, **values: str) -> Response:
        actor = self._authenticate(request)
        if isinstance(actor, Response):
            return actor
        if request.environ.get("sentry.over_limit"):
            return self._too_many(float(self.limiter.window_s))
        if scopes.refused(handler.__name__, request.method, actor.scopes or scopes.ALL_SCOPES):
            return json_response(scopes.PERMISSION_DENIED, 403)
        org = values.pop("org", None)
        if org is not None and org not in (self.world.org.slug, str(self.world.org.id)):
            return json_response(NOT_FOUND, 404)
        body, error = self._parse_body(request)
        if error is None:
            error = self._spec_response(request, body)
        if error is not None:
            return error
        call = Call(actor, body, datetime.now(UTC), list(request.args.items(multi=True)))
        notices: list[Notice] = []
        try:
            with self.lock:
                response = handler(request, call, notices, **values)
        except (InvalidUpdate, InvalidRelease) as exc:
            return json_response(exc.errors, 400)
        except (InvalidSearch, InvalidCursor) as exc:
            return json_response({"detail": str(exc)}, 400)
        except NotFound:
            return json_response(NOT_FOUND, 404)
        self._deliver(notices)
        return response

    def _deliver(self, notices: Sequence[Notice]) -> None:
        org = self.world.org
        for notice in notices:
            if (notice.resource, notice.action) == ("issue", "unresolved") and UNRESOLVED_FLAG not in org.features:
                continue  # Sentry sends issue.unresolved only behind this organization feature flag
            targets = ([org.installations[notice.installation_uuid]] if notice.installation_uuid
                       else list(org.installations.values()))
            for inst in targets:
                if not inst.webhook_url or (notice.resource in SUBSCRIBED_RESOURCES
                                            and notice.resource not in inst.events):
                    continue
                self.webhooks.send(build_webhook(
                    inst.webhook_url, inst.client_secret, notice.resource, notice.action, inst.uuid, notice.data,
                    serialize.actor_json(org, notice.actor, inst), uuid.uuid4().hex, int(time.time())))

    def _page(self, request: Request, call: Call, items: Sequence[Any], render: Callable[[Any], Any],
              limit: int = MAX_LIMIT) -> Response:
        page = paginate(items, call.value("cursor"), limit, f"{self.base_url}{request.path}", call.query)
        return json_response([render(i) for i in page.items], 200, {"Link": page.link})

    # --- organizations, members, projects, teams ----------------------------------------------

    def _org_json(self) -> dict[str, Any]:
        org = self.world.org
        return {"id": str(org.id), "slug": org.slug, "name": org.name, "status": {"id": "active", "name": "active"},
                "dateCreated": "2024-01-01T00:00:00.000000Z", "isEarlyAdopter": False, "require2FA": False,
                "features": [], "links": {"organizationUrl": self.base_url, "regionUrl": self.base_url}}

    def index(self, request: Request, call: Call, notices: list[Notice]) -> Response:
        """The API root: any token may read its own scopes here (IndexEndpoint)."""
        granted = call.actor.scopes if call.actor.scopes is not None else scopes.ALL_SCOPES
        user = self.world.org.users.get(call.actor.user_id or -1)
        return json_response({"version": "0", "auth": {"scopes": sorted(granted)},
                              "user": {"id": str(user.id), "name": user.name} if user else None})

    def list_organizations(self, request: Request, call: Call, notices: list[Notice]) -> Response:
        return self._page(request, call, [self._org_json()], lambda o: o)

    def get_organization(self, request: Request, call: Call, notices: list[Notice]) -> Response:
        return json_response(self._org_json())

    def list_members(self, request: Request, call: Call, notices: list[Notice]) -> Response:
        members = sorted(self.world.org.members.values(), key=lambda m: m.id)
        tokens = (call.value("query") or "").split()
        members = [m for m in members if all(member_matches(m, t) for t in tokens)]
        return self._page(request, call, members, serialize.member_json)

    def list_projects(self, request: Request, call: Call, notices: list[Notice]) -> Response:
        org = self.world.org
        projects = sorted(org.projects.values(), key=lambda p: p.slug)
        return self._page(request, call, projects, lambda p: serialize.project_json(org, p))

    def list_teams(self, request: Request, call: Call, notices: list[Notice]) -> Response:
        teams = sorted(self.world.org.teams.values(), key=lambda t: t.slug)
        return self._page(request, call, teams, serialize.team_json)

    def list_installations(self, request: Request, call: Call, notices: list[Notice]) -> Response:
        org = self.world.org
        return self._page(request, call, list(org.installations.values()),
                          lambda i: serialize.installation_json(org, i))

    def list_workflows(self, request: Request, call: Call, notices: list[Notice]) -> Response:
        """The organization's alerts (workflows), as OrganizationWorkflowIndexEndpoint lists them."""
        org = self.world.org
        return self._page(request, call, list(org.workflows.values()),
                          lambda w: serialize.workflow_json(org, w))

    def list_environments(self, request: Request, call: Call, notices: list[Notice]) -> Response:
        """``listOrganizationEnvironments``: every environment an event or a deploy named, by name
        (Sentry makes one on first sight; OrganizationEnvironmentsEndpoint orders them by name)."""
        org = self.world.org
        names = {e.environment for e in org.events.values()}
        names |= {d.environment for r in org.releases.values() for d in r.deploys}
        return json_response([{"id": str(i), "name": n} for i, n in enumerate(sorted(names), 1)])

    # --- issues --------------------------------------------------------------------------------

    def _issue_json(self, issue: Issue) -> dict[str, Any]:
        return serialize.issue_json(self.world.org, issue, self.base_url)

    def _limit(self, call: Call) -> int:
        limit = int(call.value("limit") or MAX_LIMIT)
        if limit > MAX_LIMIT or limit < 1:
            raise InvalidSearch(f"Invalid limit parameter: {limit}. It must be between 1 and {MAX_LIMIT}.")
        return limit

    def _project_ids(self, call: Call) -> set[int] | None:
        wanted = [v for v in call.values("project") if v != "-1"]
        return {self.world.project(v).id for v in wanted} if wanted else None

    def _search(self, call: Call, project_ids: set[int] | None, default_query: str) -> list[Issue]:
        org = self.world.org
        issues = [i for i in org.issues.values() if project_ids is None or i.project_id in project_ids]
        query = call.value("query", default_query) or ""
        return search(org, issues, query.strip(), call.actor.user_id if call.actor.kind == "user" else None,
                      self.world.latest_event, call.now)

    def _by_ids(self, call: Call) -> list[Issue] | None:
        ids = call.values("group") + call.values("id")
        if not ids:
            return None
        return [self.world.org.issues[int(i)] for i in dict.fromkeys(ids) if int(i) in self.world.org.issues]

    def list_org_issues(self, request: Request, call: Call, notices: list[Notice]) -> Response:
        limit = self._limit(call)
        exact = self._by_ids(call)
        if exact is not None:
            return self._page(request, call, exact, self._issue_json, limit)
        lo, hi = time_window(call.value("statsPeriod"), call.value("start"), call.value("end"), call.now)
        found = [i for i in self._search(call, self._project_ids(call), "is:unresolved") if in_window(i, lo, hi)]
        return self._page(request, call, sort_issues(found, call.value("sort") or "date"), self._issue_json, limit)

    def list_project_issues(self, request: Request, call: Call, notices: list[Notice], project: str) -> Response:
        limit = self._limit(call)
        period = call.value("statsPeriod")
        if period is not None and period not in PROJECT_STATS_PERIODS:
            raise InvalidSearch("Invalid stats_period. Valid choices are '', '24h', and '14d'")
        found = self._search(call, {self.world.project(project).id}, "is:unresolved")
        return self._page(request, call, sort_issues(found, call.value("sort") or "date"), self._issue_json, limit)

    def _bulk(self, call: Call, notices: list[Notice], project_ids: set[int] | None) -> Response:
        if not isinstance(call.body, Mapping):
            raise InvalidUpdate({"non_field_errors": ["Invalid data. Expected a dictionary."]})
        exact = self._by_ids(call)
        if exact is not None:
            issues = [i for i in exact if project_ids is None or i.project_id in project_ids]
        else:
            issues = self._search(call, project_ids, "is:unresolved")
            status = call.value("status")
            if status:
                issues = [i for i in issues if i.status == ("ignored" if status == "muted" else status)]
        if len(issues) > MAX_BULK:
            raise InvalidUpdate({"detail": f"Too many issues: at most {MAX_BULK} can be updated at once."})
        if not issues:
            return Response(status=204)
        applied, fired = self.world.bulk_update(issues, call.body, call.actor, call.now)
        notices.extend(fired)
        return json_response(applied)

    def bulk_update_org(self, request: Request, call: Call, notices: list[Notice]) -> Response:
        return self._bulk(call, notices, self._project_ids(call))

    def bulk_update_project(self, request: Request, call: Call, notices: list[Notice], project: str) -> Response:
        return self._bulk(call, notices, {self.world.project(project).id})

    def get_issue(self, request: Request, call: Call, notices: list[Notice], issue: str) -> Response:
        found = self.world.issue(issue)
        data = self._issue_json(found)
        data.update(activity=list(self.world.activity.get(found.id, [])), seenBy=[], participants=[],
                    userReportCount=0, firstRelease=None,
                    lastRelease=None, tags=[], stats={}, pluginActions=[], pluginIssues=[], pluginContexts=[])
        return json_response(data)

    def put_issue(self, request: Request, call: Call, notices: list[Notice], issue: str) -> Response:
        updated, fired = self.world.update_issue(self.world.issue(issue), call.body, call.actor, call.now)
        notices.extend(fired)
        return json_response(self._issue_json(updated))

    def get_event(self, request: Request, call: Call, notices: list[Notice], issue: str, which: str) -> Response:
        found = self.world.issue(issue)
        event = self.world.oldest_event(found) if which == "oldest" else self.world.latest_event(found)
        if event is None:
            raise NotFound(which)
        return json_response(serialize.event_json(self.world.org, event))

    def resolve_short_id(self, request: Request, call: Call, notices: list[Notice], short: str) -> Response:
        found = self.world.issue(short)
        project = self.world.org.projects[found.project_id]
        return json_response({"organizationSlug": self.world.org.slug, "projectSlug": project.slug,
                              "groupId": str(found.id), "group": self._issue_json(found), "shortId": found.short_id})

    # --- comments ------------------------------------------------------------------------------

    def list_comments(self, request: Request, call: Call, notices: list[Notice], issue: str) -> Response:
        found = self.world.issue(issue)
        org = self.world.org
        notes = sorted((c for c in org.comments.values() if c.issue_id == found.id),
                       key=lambda c: (c.created, c.id), reverse=True)
        return self._page(request, call, notes, lambda c: serialize.comment_json(org, c))

    def post_comment(self, request: Request, call: Call, notices: list[Notice], issue: str) -> Response:
        comment, fired = self.world.add_comment(self.world.issue(issue), call.body.get("text"), call.actor, call.now)
        notices.extend(fired)
        return json_response(serialize.comment_json(self.world.org, comment), 201)

    def put_comment(self, request: Request, call: Call, notices: list[Notice], issue: str, note: str) -> Response:
        comment, fired = self.world.edit_comment(self.world.issue(issue), note, call.body.get("text"), call.actor)
        notices.extend(fired)
        return json_response(serialize.comment_json(self.world.org, comment))

    def delete_comment(self, request: Request, call: Call, notices: list[Notice], issue: str, note: str) -> Response:
        notices.extend(self.world.delete_comment(self.world.issue(issue), note, call.actor))
        return Response(status=204)

    # --- external issues -----------------------------------------------------------------------

    def _installation_for(self, call: Call, ident: str) -> Installation:
        """The app's own token, or a member's, may manage the installation's links."""
        installation = self.world.installation(ident)
        if call.actor.kind == "application" and call.actor.installation_uuid != installation.uuid:
            raise NotFound(ident)
        return installation

    def link_external(self, request: Request, call: Call, notices: list[Notice], uuid: str) -> Response:
        link = self.world.link_external(self._installation_for(call, uuid), call.body)
        return json_response(serialize.external_issue_json(self.world.org, link))

    def unlink_external(self, request: Request, call: Call, notices: list[Notice], uuid: str, link: str) -> Response:
        self.world.unlink_external(self._installation_for(call, uuid), link)
        return Response(status=204)

    def list_external(self, request: Request, call: Call, notices: list[Notice], issue: str) -> Response:
        found = self.world.issue(issue)
        org = self.world.org
        links = [x for x in org.external_issues.values() if x.issue_id == found.id]
        return json_response([serialize.external_issue_json(org, x) for x in links])

    def list_issue_integrations(self, request: Request, call: Call, notices: list[Notice], issue: str) -> Response:
        found = self.world.issue(issue)
        return json_response(serialize.issue_integrations_json(self.world.org, found.id))

    # --- releases, commits, deploys (later phase; see releases.py for what is simplified) -------

    def _release(self, version: str) -> Release:
        release = self.world.org.releases.get(version)
        if release is None:
            raise NotFound(version)
        return release

    def _set_commits(self, release: Release, raw: object, call: Call, notices: list[Notice]) -> None:
        """Replace the release's commits, create missing repositories, resolve referenced issues."""
        org = self.world.org
        release.commits = parse_commits(raw)
        for commit in release.commits:
            if commit.repository not in org.repositories.values():
                org.repositories[org.new_id()] = commit.repository
        body = {"status": "resolved", "statusDetails": {"inRelease": release.version}}
        for commit in release.commits:
            for short in referenced_short_ids(commit.message or ""):
                try:
                    issue = self.world.issue(short)
                except NotFound:
                    continue
                if org.projects[issue.project_id].slug not in release.project_slugs:
                    continue  # only the release's own projects' issues are resolved in it
                _, fired = self.world.update_issue(issue, body, SYSTEM, call.now)
                notices.extend(fired)

    def _apply_release_body(self, release: Release, body: Mapping[str, Any], call: Call,
                            notices: list[Notice]) -> None:
        if "commits" in body:
            self._set_commits(release, body["commits"], call, notices)
        if "refs" in body:
            check_refs(body["refs"], list(self.world.org.repositories.values()))
            if body["refs"] == []:
                release.commits = []

    def list_releases(self, request: Request, call: Call, notices: list[Notice]) -> Response:
        releases = sorted(self.world.org.releases.values(), key=lambda r: r.date_created, reverse=True)
        return self._page(request, call, releases, lambda r: release_json(r, self.world.org.slug))

    def create_release(self, request: Request, call: Call, notices: list[Notice]) -> Response:
        version = check_version(call.body.get("version"))
        slugs = []
        for ident in call.body.get("projects") or []:
            try:
                slugs.append(self.world.project(str(ident)).slug)
            except NotFound:
                raise InvalidRelease({"projects": ["Invalid project ids or slugs"]}) from None
        if not slugs:
            raise InvalidRelease({"projects": ["This field is required."]})
        existing = self.world.org.releases.get(version)
        release = existing or Release(version, [], serialize.iso(call.now), call.body.get("ref"),
                                      call.body.get("url"), call.body.get("dateReleased"))
        new_projects = [s for s in slugs if s not in release.project_slugs]
        if "refs" in call.body:
            check_refs(call.body["refs"], [*self.world.org.repositories.values(),
                                           *(str(c.get("repository")) for c in call.body.get("commits") or []
                                             if isinstance(c, Mapping))])
        release.project_slugs += new_projects
        self.world.org.releases[version] = release
        self._apply_release_body(release, {k: v for k, v in call.body.items() if k != "refs"}, call, notices)
        status = 201 if existing is None or new_projects else 208
        return json_response(release_json(release, self.world.org.slug), status)

    def get_release(self, request: Request, call: Call, notices: list[Notice], version: str) -> Response:
        return json_response(release_json(self._release(version), self.world.org.slug))

    def update_release(self, request: Request, call: Call, notices: list[Notice], version: str) -> Response:
        release = self._release(version)
        if "refs" in call.body:
            check_refs(call.body["refs"], [*self.world.org.repositories.values(),
                                           *(str(c.get("repository")) for c in call.body.get("commits") or []
                                             if isinstance(c, Mapping))])
        for key, attr in (("ref", "ref"), ("url", "url"), ("dateReleased", "date_released")):
            if key in call.body:
                setattr(release, attr, call.body[key])
        self._apply_release_body(release, call.body, call, notices)
        return json_response(release_json(release, self.world.org.slug))

    def list_release_commits(self, request: Request, call: Call, notices: list[Notice], version: str) -> Response:
        return self._page(request, call, self._release(version).commits, commit_json)

    def list_deploys(self, request: Request, call: Call, notices: list[Notice], version: str) -> Response:
        return json_response([deploy_json(d) for d in self._release(version).deploys])

    def create_deploy(self, request: Request, call: Call, notices: list[Notice], version: str) -> Response:
        """Not idempotent: every call records one more deploy (§3.3)."""
        release = self._release(version)
        environment = call.body.get("environment")
        if not isinstance(environment, str) or not environment or re.search(r"[\n\r\f/]", environment):
            raise InvalidRelease({"environment": ["Invalid environment name."]})
        outside = [p for p in call.body.get("projects") or [] if p not in release.project_slugs]
        if outside:
            raise InvalidRelease({"detail": f"Invalid projects ({', '.join(map(str, outside))}) for release {version}"})
        deploy = Deploy(self.world.org.new_id(), environment, call.body.get("name"), call.body.get("url"),
                        call.body.get("dateStarted"), call.body.get("dateFinished") or serialize.iso(call.now))
        release.deploys.append(deploy)
        return json_response(deploy_json(deploy), 201)

    def list_repos(self, request: Request, call: Call, notices: list[Notice]) -> Response:
        wanted = (call.value("query") or "").lower()
        repos = [(i, n) for i, n in sorted(self.world.org.repositories.items()) if wanted in n.lower()]
        return self._page(request, call, repos, lambda r: {
            "id": str(r[0]), "name": r[1], "url": None, "provider": {"id": "unknown", "name": "Unknown Provider"},
            "status": "active", "integrationId": None, "externalSlug": None, "externalId": None,
            "dateCreated": "2024-01-01T00:00:00.000000Z"})

    # --- acting as people (Python) -------------------------------------------------------------

    def _run(self, operation: Callable[[], tuple[Any, list[Notice]]]) -> Any:
        with self.lock:
            result, notices = operation()
        self._deliver(notices)
        return result

    def _person(self, who: str) -> Actor:
        return Actor("user", user_id=self.world.member_by(who))

    def new_error(self, project: str, exception_type: str, exception_value: str, **details: Any) -> dict[str, Any]:
        """A new error event arrives (as an SDK would send it); returns the issue as the API shows it."""
        def operation() -> tuple[Any, list[Notice]]:
            issue, event, notices = self.world.record_error(project, exception_type, exception_value,
                                                            datetime.now(UTC), **details)
            return {"issue": self._issue_json(issue), "event_id": event.event_id}, notices
        return self._run(operation)

    def act(self, who: str, issue_id: str | int, changes: Mapping[str, Any]) -> dict[str, Any]:
        """A member changes an issue in the UI (status, substatus, assignee, priority, ...)."""
        def operation() -> tuple[Any, list[Notice]]:
            issue, notices = self.world.update_issue(self.world.issue(str(issue_id)), changes, self._person(who),
                                                     datetime.now(UTC))
            return self._issue_json(issue), notices
        return self._run(operation)

    def comment(self, who: str, issue_id: str | int, text: str) -> dict[str, Any]:
        """A member writes a comment on an issue."""
        def operation() -> tuple[Any, list[Notice]]:
            note, notices = self.world.add_comment(self.world.issue(str(issue_id)), text, self._person(who),
                                                   datetime.now(UTC))
            return serialize.comment_json(self.world.org, note), notices
        return self._run(operation)

    def edit_note(self, who: str, issue_id: str | int, note_id: str | int, text: str) -> dict[str, Any]:
        """The author edits their comment (Sentry sends comment.updated)."""
        def operation() -> tuple[Any, list[Notice]]:
            note, notices = self.world.edit_comment(self.world.issue(str(issue_id)), str(note_id), text,
                                                    self._person(who))
            return serialize.comment_json(self.world.org, note), notices
        return self._run(operation)

    def delete_note(self, who: str, issue_id: str | int, note_id: str | int) -> None:
        """The author deletes their comment (Sentry sends comment.deleted)."""
        def operation() -> tuple[Any, list[Notice]]:
            return None, self.world.delete_comment(self.world.issue(str(issue_id)), str(note_id), self._person(who))
        self._run(operation)

    def link_builtin(self, issue_id: str | int, work_item_id: int, instance: str, title: str = "",
                     area_path: str = "") -> dict[str, Any]:
        """Sentry's built-in Azure DevOps integration links a work item to an issue (as a person does
        from the issue page with that integration): what `sentry-ado import-links` adopts."""
        if not isinstance(instance, str) or not instance.startswith(("http://", "https://")):
            raise InvalidUpdate({"instance": [f"the integration's account URL, got {instance!r}"]})
        with self.lock:
            issue = self.world.issue(str(issue_id))
            org = self.world.org
            link = IntegrationIssue(org.new_id(), issue.id, str(int(work_item_id)), instance.rstrip("/") + "/",
                                    title or issue.title, area_path or "")
            org.integration_issues[link.id] = link
            return {"id": str(link.id), "issueId": str(issue.id), "key": link.key}

    def configure_webhook(self, url: str, client_secret: str | None = None) -> None:
        """Point the seeded internal integration at ``url`` (internal apps get no installation.created)."""
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise InvalidUpdate({"url": [f"webhook url must be http(s), got {url!r}"]})
        with self.lock:
            installation = next(iter(self.world.org.installations.values()))
            installation.webhook_url = url
            if client_secret is not None:
                if not isinstance(client_secret, str) or not client_secret:
                    raise InvalidUpdate({"client_secret": ["must be a non-empty string"]})
                installation.client_secret = client_secret

    def stacktrace_link(self, uri: str, project: str, filename: str, line_no: int | None,
                        installation_uuid: str | None = None) -> str:
        """The href Sentry puts in an in-app frame for an app's ``stacktrace-link`` component: the
        installation's webhook URL with its path replaced by ``uri`` and the query ``installationId``
        and ``projectSlug`` (server side, getsentry/sentry ``src/sentry/sentry_apps/components.py``),
        to which the page adds ``lineNo`` and ``filename`` (``openInContextLine.tsx``, a ``null``
        line as a bare key). The person's browser opens it; nothing is signed."""
        with self.lock:
            installs = self.world.org.installations
            installation = installs[installation_uuid] if installation_uuid else next(iter(installs.values()))
            if not installation.webhook_url:
                raise InvalidUpdate({"webhook_url": ["the installation has no webhook URL to take the host from"]})
            parts = urlsplit(installation.webhook_url)
        server_query = urlencode({"installationId": installation.uuid, "projectSlug": project})
        page_query = "lineNo" if line_no is None else urlencode({"lineNo": line_no})
        return urlunsplit((parts.scheme, parts.netloc, uri, f"{server_query}&{page_query}&"
                                                            f"{urlencode({'filename': filename})}", ""))

    def frame_links(self, issue_id: str | int, uri: str) -> list[str]:
        """The stack-trace links of an issue's latest event, one per in-app frame with a file, as the
        issue page shows them (Sentry renders the component on in-app frames only)."""
        with self.lock:
            issue = self.world.issue(str(issue_id))
            event = self.world.latest_event(issue)
            slug = self.world.org.projects[issue.project_id].slug
            frames = [(f.filename, f.lineno) for f in (event.frames if event else []) if f.in_app and f.filename]
        return [self.stacktrace_link(uri, slug, filename, line) for filename, line in frames]

    def submit_issue_link(self, uri: str, issue_id: str | int, fields: Mapping[str, Any],
                          who: str) -> requests.Response:
        """A member fills in the app's issue-link form ("Create" or "Link") on an issue: Sentry posts
        ``{fields, issueId, installationId, webUrl, project, actor}`` to the installation's host and
        ``uri``, signed with ``Sentry-App-Signature`` (getsentry/sentry ``src/sentry/sentry_apps/
        external_requests/issue_link_requester.py``)."""
        with self.lock:
            installation = next(iter(self.world.org.installations.values()))
            issue = self.world.issue(str(issue_id))
            project = self.world.org.projects[issue.project_id]
            user = self._person(who)
            parts = urlsplit(installation.webhook_url or "")
            body = {"fields": dict(fields), "issueId": issue.id, "installationId": installation.uuid,
                    "webUrl": serialize.issue_url(self.base_url, self.world.org, issue),
                    "project": {"slug": project.slug, "id": project.id},
                    "actor": {"type": "user", "id": user.user_id, "name": who}}
            secret = installation.client_secret
        raw = json.dumps(body).encode()
        return requests.post(urlunsplit((parts.scheme, parts.netloc, uri, "", "")), data=raw, timeout=10,
                             headers={"Content-Type": "application/json", "Sentry-App-Signature": sign(secret, raw)})

    @staticmethod
    def open_link(url: str) -> requests.Response:
        """A person clicking a link: a plain GET from the browser, redirects not followed."""
        return requests.get(url, allow_redirects=False, timeout=10)

    def install(self, url: str, client_secret: str, app_slug: str, who: str) -> dict[str, Any]:
        """A member installs another (public) app; fires ``installation.created`` to it."""
        for name, value in (("url", url), ("client_secret", client_secret), ("app_slug", app_slug)):
            if not isinstance(value, str) or not value.strip():
                raise InvalidUpdate({name: ["This field is required."]})
        def operation() -> tuple[Any, list[Notice]]:
            org = self.world.org
            proxy = User(org.new_id(), app_slug, f"{app_slug}-proxy", "")
            org.users[proxy.id] = proxy
            installation = Installation(
                uuid=str(uuid.uuid4()), app_uuid=str(uuid.uuid4()), app_slug=app_slug, app_name=app_slug,
                app_id=org.new_id(), proxy_user_id=proxy.id, client_secret=client_secret, webhook_url=url)
            notices = self.world.install(installation, self._person(who))
            return serialize.installation_json(org, installation), notices
        return self._run(operation)

    def add_alert_rule(self, name: str, settings: Sequence[Mapping[str, Any]], project: str | None = None,
                       installation_uuid: str | None = None,
                       conditions: Sequence[str] = ("first_seen_event",)) -> AlertRule:
        """An issue alert rule whose action notifies our app (with alert-rule-action settings),
        firing on a new issue's first event and/or a regression's event (``conditions``)."""
        with self.lock:
            target = installation_uuid or next(iter(self.world.org.installations))
            return self.world.add_alert_rule(name, settings, target, project, conditions)

    def add_workflow(self, name: str, settings: Sequence[Mapping[str, Any]] | None = None,
                     project: str | None = None, installation_uuid: str | None = None,
                     triggers: Sequence[str] = ("issue_resolved_trigger",), enabled: bool = True) -> dict[str, Any]:
        """A workflow (Sentry's newer alerting) whose action notifies our app: from now on each issue
        activity the workflow engine evaluates is sent as ``activity_alert.triggered`` when the
        workflow is enabled and its triggers include the resolve one."""
        with self.lock:
            target = installation_uuid or next(iter(self.world.org.installations))
            workflow = self.world.add_workflow(name, target, project, settings, triggers, enabled)
            return serialize.workflow_json(self.world.org, workflow)

    def evaluate_workflow_activities(self, activity_types: Sequence[str]) -> None:
        """Which status-change activities the workflow engine evaluates (today's Sentry: the
        resolves); widen it as Sentry rolls the others out."""
        with self.lock:
            self.world.workflow_activities = set(activity_types)

    def subscribe(self, resources: Sequence[str]) -> None:
        """The webhook resources our app subscribes to (``issue``, ``comment``, ``error``); an
        organization that receives only alerts subscribes to none."""
        unknown = [r for r in resources if r not in SUBSCRIBED_RESOURCES]
        if unknown:
            raise InvalidUpdate({"events": [f"not a webhook resource: {', '.join(unknown)}"]})
        with self.lock:
            next(iter(self.world.org.installations.values())).events = set(resources)

    def fire_workflow(self, name: str, issue_id: str | int, activity_type: str,
                      settings: Sequence[Mapping[str, Any]] | None = None) -> dict[str, Any]:
        """A workflow with our app as its action fires on one activity of an issue (any type, e.g. a
        Seer step), whatever the engine evaluates; returns the ``data`` it sent."""
        def operation() -> tuple[Any, list[Notice]]:
            issue = self.world.issue(str(issue_id))
            target = next(iter(self.world.org.installations))
            workflow = self.world.add_workflow(name, target, None, settings)
            del self.world.org.workflows[workflow.id]  # fires this once only
            notices = self.world.workflow_alerts(issue.status, issue, SYSTEM, kind=activity_type, only=workflow)
            return notices[0].data, notices
        return self._run(operation)

    def escalate(self, issue_id: str | int) -> dict[str, Any]:
        """An issue archived until escalating escalates (more events than its forecast)."""
        def operation() -> tuple[Any, list[Notice]]:
            issue = self.world.issue(str(issue_id))
            notices = self.world.escalate(issue, datetime.now(UTC))
            return self._issue_json(issue), notices
        return self._run(operation)

    def set_feature(self, name: str, enabled: bool) -> None:
        """Turn an organization feature flag on or off (all are off by default, as on sentry.io)."""
        if not isinstance(name, str) or not name.startswith("organizations:"):
            raise InvalidUpdate({"name": [f"a feature is named organizations:<flag>, got {name!r}"]})
        with self.lock:
            (self.world.org.features.add if enabled else self.world.org.features.discard)(name)

    def send_resource(self, resource: str, action: str, data: Mapping[str, Any]) -> None:
        """A webhook of a resource the emulator has no model for (``seer``, ``preprod_artifact``),
        signed and delivered to our installation as Sentry sends it."""
        target = next(iter(self.world.org.installations))
        self._run(lambda: (None, [Notice(resource, action, dict(data), SYSTEM, target)]))

    def add_token(self, token: str, who: str, token_scopes: Sequence[str] | None = None) -> None:
        """Register a token for a member (email/username), with ``application`` for our app, or with
        ``app:<slug>`` for another installed app (its changes reach us as an application's);
        ``token_scopes`` limits what it may do (default: every scope)."""
        if not isinstance(token, str) or len(token) < 8:
            raise InvalidUpdate({"token": ["must be a string of at least 8 characters"]})
        try:
            granted = None if token_scopes is None else scopes.check_scopes(token_scopes)
        except ValueError as exc:
            raise InvalidUpdate({"scopes": [str(exc)]}) from exc
        with self.lock:
            org = self.world.org
            if who == "application" or who.startswith("app:"):
                slug = who.partition(":")[2]
                installation = next((i for i in org.installations.values() if not slug or i.app_slug == slug), None)
                if installation is None:
                    raise InvalidUpdate({"as": [f"no installed app {slug!r}"]})
                actor = Actor("application", user_id=installation.proxy_user_id,
                              installation_uuid=installation.uuid)
            else:
                actor = self._person(who)
            org.tokens[token] = replace(actor, scopes=granted)

    # --- acting as people (HTTP) ---------------------------------------------------------------

    def control(self, request: Request, action: str) -> Response:
        try:
            body = request.get_json(force=True, silent=False) if request.get_data() else {}
        except Exception:  # werkzeug raises BadRequest subclasses for malformed JSON
            return json_response({"error": "control body must be JSON"}, 400)
        if not isinstance(body, dict):
            return json_response({"error": "control body must be a JSON object"}, 400)
        try:
            return self._control_action(request.method, action, body)
        except InvalidUpdate as exc:
            return json_response({"error": exc.errors}, 400)
        except NotFound as exc:
            return json_response({"error": f"not found: {exc}"}, 404)
        except TypeError as exc:
            return json_response({"error": f"bad control arguments: {exc}"}, 400)

    def _control_action(self, method: str, action: str, body: dict[str, Any]) -> Response:
        parts = action.split("/")
        if action == "envelopes" and method == "GET":
            with self.lock:
                return json_response([{"project_id": e.project_id, "header": e.header, "items": e.items}
                                      for e in self.envelopes])
        if method != "POST":
            return json_response({"error": f"control actions are POST, got {method}"}, 405)
        if action == "errors":
            args = {k: v for k, v in body.items() if k not in ("project", "exception_type", "exception_value")}
            return json_response(self.new_error(body.get("project", ""), body.get("exception_type", ""),
                                                body.get("exception_value", ""), **args), 201)
        if len(parts) == 3 and parts[0] == "issues" and parts[2] in ("update", "comments"):
            who = body.pop("as", None)
            if not isinstance(who, str):
                raise InvalidUpdate({"as": ["This field is required (a member's email or username)."]})
            if parts[2] == "update":
                return json_response(self.act(who, parts[1], body))
            return json_response(self.comment(who, parts[1], body.get("text")), 201)
        if action == "builtin-links":
            return json_response(self.link_builtin(body.get("issue", ""), int(body.get("work_item", 0)),
                                                   body.get("instance", ""), body.get("title", ""),
                                                   body.get("area_path", "")), 201)
        if action == "webhook":
            self.configure_webhook(body.get("url"), body.get("client_secret"))
            return json_response({"configured": True})
        if action == "installations":
            return json_response(self.install(body.get("url"), body.get("client_secret"), body.get("app_slug"),
                                              body.get("as", "")), 201)
        if action == "alert-rules":
            rule = self.add_alert_rule(body.get("name"), body.get("settings", []), body.get("project"),
                                       conditions=body.get("conditions") or ("first_seen_event",))
            return json_response({"id": str(rule.id), "name": rule.name}, 201)
        if action == "tokens":
            self.add_token(body.get("token"), body.get("as", ""), body.get("scopes"))
            return json_response({"registered": True}, 201)
        if action == "features":
            self.set_feature(body.get("name"), bool(body.get("enabled", True)))
            return json_response({"features": sorted(self.world.org.features)})
        if action == "issues/escalate":
            return json_response(self.escalate(body.get("issue")))
        if action == "rate-limit":
            self.limiter.limit = int(body.get("limit", self.limiter.limit))
            self.limiter.window_s = int(body.get("window_s", self.limiter.window_s))
            self.limiter.enforce = bool(body.get("enforce", self.limiter.enforce))
            return json_response({"limit": self.limiter.limit, "window_s": self.limiter.window_s,
                                  "enforce": self.limiter.enforce})
        return super().control(None, action)  # type: ignore[arg-type]


def serve(emulator: SentryEmulator | None = None) -> tuple[SentryEmulator, RunningServer]:
    """Start an emulator on a loopback port; its base URL (permalinks, Link headers) is the server's."""
    app = emulator or SentryEmulator()
    server = RunningServer(app)
    app.base_url = server.url
    app.world.base_url = server.url
    return app, server
