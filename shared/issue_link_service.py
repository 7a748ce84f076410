"""Sentry's issue-link UI and alert-rule action against both services: the shell around the pure
`shared/issue_link.py` (which reads the forms and shapes the answers).

Sentry shows the ``message`` of a non-2xx answer in its modal or select (``IssueLinkRequester``
and ``SelectRequester`` in getsentry/sentry ``src/sentry/sentry_apps/external_requests/``, through
``integrator_error_message``), so every refusal here is a `Refusal` the route answers that way:
- `FormError` (400): what the person chose cannot work. Every name they picked (project, work item
  type, area path) is checked against Azure DevOps' metadata, which is cached, before anything is
  claimed or written, and a 404 for a name they chose is their input error, naming the field.
- `LinkConflict` (409): the Sentry issue is already linked to another work item; says to which.
Anything else is a dependency's failure (the route answers 502/503) or a bug.

Create is idempotent per Sentry issue, under concurrency too: the link store's claim lets one
request create the work item; a request that finds the claim taken waits (up to `CLAIM_WAIT_S`)
for its owner and answers with the same work item, or with the owner's failure (502) when the
owner released the claim because its create failed. A claim older than any create lost its owner
and is taken over.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from shared import create_form
from shared import issue_link as ui
from shared.actions import CreateWorkItem
from shared.ado.errors import AdoNotFound, InvalidFieldValue
from shared.contract import (
    FIELD_AREA,
    FIELD_ASSIGNEE,
    FIELD_DESCRIPTION,
    FIELD_PARENT,
    FIELD_PROJECT,
    FIELD_TYPE,
    FIELD_WORK_ITEM,
)
from shared.identifiers import MalformedIdentifier
from shared.issue_link import FormError, LinkConflict
from shared.mapping.identities import ado_unique_name, sentry_actor
from shared.metadata import AREA_DEPTH
from shared.planner import SENTRY, UI, Event
from shared.sentry.errors import SentryNotFound
from shared.store.model import CLAIMED, LINKED, UNLINKED, Link, SyncedValues
from shared.sync import STALE_RETRIES, Syncer, now_iso

CLAIM_WAIT_S = 8.0  # well inside the time Sentry gives an issue-link request
POLL_S = 0.1
STALE_CLAIM_S = 300.0  # a create takes seconds; a claim this old lost its owner


def existing_link(org: str, issue: dict[str, Any], item: dict[str, Any], ado_org_url: str, now: str) -> Link:
    """The link for a pair a person chose: both sides' current values are the synced baseline."""
    fields = item.get("fields") or {}
    html = ((item.get("_links") or {}).get("html") or {}).get("href") or item.get("url", "")
    return Link(sentry_org=org, sentry_issue_id=str(issue["id"]),
                sentry_project=str((issue.get("project") or {}).get("slug") or ""),
                sentry_short_id=str(issue.get("shortId") or ""),
                sentry_url=str(issue.get("permalink") or ""), ado_org_url=ado_org_url,
                ado_project=str(fields.get("System.TeamProject") or ""), work_item_id=int(item["id"]),
                work_item_type=str(fields.get("System.WorkItemType") or ""), work_item_url=html, state=LINKED,
                claimed_at=now,
                synced=SyncedValues(sentry_status=issue.get("status"),
                                    sentry_assignee=sentry_actor(issue.get("assignedTo")),
                                    sentry_title=issue.get("title"), ado_state=fields.get("System.State"),
                                    ado_assignee=ado_unique_name(fields.get("System.AssignedTo")),
                                    ado_title=fields.get("System.Title"),
                                    sentry_changed_at=now, ado_changed_at=fields.get("System.ChangedDate"),
                                    ado_rev=item.get("rev")))


class OwnerFailed(ui.Refusal):
    """The request that held the claim failed to create the work item; this one answers that
    failure rather than sending the same create to a service that just failed it."""

    status = 502


def _stale(link: Link) -> bool:
    """A claim older than any create takes: whoever held it died before creating the work item."""
    try:
        claimed = datetime.fromisoformat(link.claimed_at)
    except ValueError:
        return True
    if claimed.tzinfo is None:
        claimed = claimed.replace(tzinfo=UTC)
    return link.state == CLAIMED and (datetime.now(UTC) - claimed).total_seconds() > STALE_CLAIM_S


def _described(link: Link) -> str:
    """How a person recognises a linked work item: ``Shop#12 (url)``."""
    where = f" ({link.work_item_url})" if link.work_item_url else ""
    return f"work item {link.ado_project}#{link.work_item_id}{where}"


class IssueLinkService:
    def __init__(self, syncer: Syncer, wait_s: float = CLAIM_WAIT_S,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self.syncer = syncer
        self.ado, self.sentry, self.store = syncer.ado, syncer.sentry, syncer.store
        self.metadata = syncer.metadata
        self.settings = syncer.config.settings
        self.wait_s, self._clock, self._sleep = wait_s, clock, sleep

    # -- select options -------------------------------------------------------------------------

    def options(self, kind: str, params: Mapping[str, str]) -> list[dict[str, str]]:
        """The ``[{label, value}]`` list for one select of the forms."""
        ui.check_option_params(params)
        if kind == "projects":
            return ui.project_options(self.ado.projects())
        if kind == "assignees":
            return self._assignee_options(params.get("query", ""))
        project = ui.dependent_project(params) or self._routed_project(params.get("projectSlug"))
        if project is None:
            raise FormError(f"choose an Azure DevOps project first ('{FIELD_PROJECT}')")
        query = params.get("query", "")
        try:
            if kind == "types":
                return ui.type_options(self.metadata.work_item_types(project))
            if kind == "areas":
                return ui.area_options(self.metadata.area_paths(project), query)
            if kind == "iterations":
                return create_form.iteration_options(self.metadata.iteration_paths(project), query)
            if kind in ("priorities", "severities", "required-1", "required-2", "required-3"):
                return self._type_options(kind, project, params)
            return self._work_item_options(project, query)
        except AdoNotFound:  # every read above is scoped to the project: it is the name that is unknown
            raise self._no_project(project) from None

    def _type_options(self, kind: str, project: str, params: Mapping[str, str]) -> list[dict[str, str]]:
        """Options read from the chosen type's field definitions (cached per project and type)."""
        wit = ui.dependent_type(params) or self._routed_type(params.get("projectSlug"), project)
        if wit is None:
            raise FormError(f"choose a work item type first ('{FIELD_TYPE}')")
        definitions = self._definitions(project, wit)
        if kind == "priorities":
            return create_form.allowed_options(definitions, create_form.PRIORITY)
        if kind == "severities":
            return create_form.allowed_options(definitions, create_form.SEVERITY)
        return create_form.required_options(definitions, self._preset(project, params.get("projectSlug")),
                                            int(kind.rsplit("-", 1)[1]) - 1, params.get("query", ""))

    def _assignee_options(self, query: str) -> list[dict[str, str]]:
        """Directory search as the person types (a few characters first; capped; cached five minutes)."""
        text = query.strip()
        if len(text) < create_form.MIN_SEARCH or len(text) > 256:
            return []
        return create_form.assignee_options(self.metadata.identity_search(text))

    def _definitions(self, project: str, wit: str) -> list[create_form.FieldDefinition]:
        try:
            return create_form.field_definitions(self.metadata.field_definitions(project, wit))
        except AdoNotFound:
            raise FormError(f"'{FIELD_TYPE}': {project} has no work item type {wit!r}") from None

    def _routed_type(self, sentry_project: str | None, project: str) -> str | None:
        route = self.syncer.config.rules.route_for(sentry_project or "")
        return route.work_item_type if route and route.ado_project.casefold() == project.casefold() else None

    def _preset(self, project: str, sentry_project: str | None) -> list[str]:
        """The field defaults the route gives a work item of this project (its ``fields``). Without
        a Sentry project (an alert rule being saved names none), any route to this project counts."""
        rules = self.syncer.config.rules
        routes = [rules.route_for(sentry_project)] if sentry_project else list(rules.routes)
        return [ref for route in routes if route and route.ado_project.casefold() == project.casefold()
                for ref in route.fields]

    def _work_item_options(self, project: str, query: str) -> list[dict[str, str]]:
        wanted_id, wiql = ui.search_query(query)
        if wanted_id is not None:  # ADO work item ids are positive 32-bit integers: no other can be found
            found = self.ado.get_work_items([wanted_id]) if 0 < wanted_id < 2**31 else []
            return ui.work_item_options(found)
        if wiql is None:
            return []
        ids = self.ado.query_ids(project, wiql, top=ui.MAX_OPTIONS)
        return ui.work_item_options(self.ado.get_work_items(ids)) if ids else []

    def _routed_project(self, sentry_project: str | None) -> str | None:
        route = self.syncer.config.rules.route_for(sentry_project or "")
        return route.ado_project if route else None

    @staticmethod
    def _no_project(project: str) -> FormError:
        return FormError(f"'{FIELD_PROJECT}': no Azure DevOps project {project!r}")

    # -- the alert-rule action's settings -------------------------------------------------------------

    def check_alert_settings(self, raw: Any) -> str:
        """What Sentry shows when a rule with our action is saved; a `FormError` lists each bad field."""
        settings = ui.parse_alert_settings(raw)
        projects = [p["name"] for p in self.ado.projects()]
        project = ui.matching(settings.project, projects)
        types = [t["name"] for t in self.metadata.work_item_types(project)] if project else []
        areas = ui.area_paths(self.metadata.area_paths(project)) if types and settings.area_path else []
        problems = ui.settings_problems(replace(settings, project=project or settings.project), projects, types,
                                        areas)
        if not problems and project:
            choices = create_form.parse_choices(ui.settings_dict(raw))
            wit = ui.matching(settings.work_item_type, types) or settings.work_item_type
            problems = self._choice_problems(project, wit, choices, None)
        if problems:
            raise FormError("; ".join(problems))
        return f"Work items will be created in {project} as {settings.work_item_type}."

    # -- create ---------------------------------------------------------------------------------------

    def checked_form(self, form: ui.CreateForm) -> ui.CreateForm:
        """The form with ADO's own spelling of each name, or a `FormError` naming the first unknown one.
        Reads only cached metadata: a bad choice costs no write and no claim."""
        try:
            types = self.metadata.work_item_types(form.project)
            tree = self.metadata.area_paths(form.project) if form.area_path else {}
        except AdoNotFound:
            raise self._no_project(form.project) from None
        wit = ui.matching(form.work_item_type, [o["value"] for o in ui.type_options(types)])
        if wit is None:
            raise FormError(f"'{FIELD_TYPE}': {form.project} has no work item type {form.work_item_type!r} "
                            "that can be created")
        area = form.area_path
        if area:
            found = ui.matching(area, ui.area_paths(tree))
            if found is None and area.count("\\") <= AREA_DEPTH:
                raise FormError(f"'{FIELD_AREA}': {form.project} has no area path {area!r}")
            area = found or area
        return replace(form, work_item_type=wit, area_path=area)

    def _choice_problems(self, project: str, wit: str, choices: create_form.Choices,
                         sentry_project: str | None) -> list[str]:
        """What is wrong with the choices beyond project, type and area: against the type's field
        definitions and the iteration tree (cached), the directory (cached a day) and, for a parent,
        one read of the work item."""
        iterations = ui.area_paths(self.metadata.iteration_paths(project)) if choices.iteration_path else []
        problems = create_form.choice_problems(choices, self._definitions(project, wit),
                                               self._preset(project, sentry_project), iterations, project, wit)
        if choices.assignee and self.metadata.ado_identity(choices.assignee) is None:
            problems.append(f"'{FIELD_ASSIGNEE}': no Azure DevOps identity {choices.assignee!r}")
        if choices.parent is not None:
            try:
                self.ado.get_work_item(choices.parent)
            except AdoNotFound:
                problems.append(f"'{FIELD_PARENT}': no work item {choices.parent} in Azure DevOps")
        return problems

    def create(self, request: ui.UiRequest, form: ui.CreateForm,
               choices: create_form.Choices | None = None) -> tuple[Link, bool]:
        """Sentry's "Create work item" form: the link, and whether this request created its work item.

        The same plan as an alert-rule action with these settings (so the same fields, body and
        claim), with the person's title. Every request for one issue answers with one work item."""
        choices = choices or create_form.Choices()
        checked = self.checked_form(form)
        problems = self._choice_problems(checked.project, checked.work_item_type, choices, request.sentry_project)
        if problems:
            raise FormError("; ".join(problems))
        issue = self._issue(request.issue_id)
        deadline = self._clock() + self.wait_s
        waited_on: Link | None = None
        while True:
            link, created = self._link(request.issue_id), False
            if link is None and waited_on is not None:  # released: the owner's create failed
                raise OwnerFailed(f"the request creating the work item for Sentry issue {self._name(waited_on)} "
                                  "failed (Azure DevOps or Sentry did not answer it); try again in a moment")
            if link is None:
                created, reasons = self._create_now(request.issue_id, issue, checked, choices)
                link = self._link(request.issue_id)
                if link is None:
                    raise FormError(f"no work item was created: {reasons}")
            if link.is_linked:
                if not created and link.ado_project.casefold() != checked.project.casefold():
                    raise LinkConflict(f"Sentry issue {self._name(link)} is already linked to {_described(link)}; "
                                       f"not creating another in {checked.project}")
                return link, created
            if link.state == UNLINKED:
                raise LinkConflict(f"Sentry issue {self._name(link)} was linked to work item "
                                   f"{link.ado_project}#{link.work_item_id}, which was deleted in Azure DevOps; "
                                   "it is not recreated (restore it there)")
            if _stale(link):  # its owner died mid-create: take the issue over (release is conditional)
                self.store.release(link)
                waited_on = None
                continue
            if self._clock() >= deadline:
                raise LinkConflict(f"a work item for Sentry issue {self._name(link)} is still being created "
                                   f"(since {link.claimed_at}); try again in a moment")
            waited_on = link
            self._sleep(POLL_S)  # another request holds the claim: wait for its work item (or failure)

    def _create_now(self, issue_id: str, issue: dict[str, Any], checked: ui.CreateForm,
                    choices: create_form.Choices) -> tuple[bool, str]:
        """Plan and apply the create; whether this request made the work item, and why not."""
        # The same plan as our alert-rule action with these settings: the same fields, body and claim.
        settings = [{"name": FIELD_PROJECT, "value": checked.project},
                    {"name": FIELD_TYPE, "value": checked.work_item_type},
                    {"name": FIELD_AREA, "value": checked.area_path or ""},
                    {"name": FIELD_DESCRIPTION, "value": checked.description}, *create_form.settings_of(choices)]
        event = Event(SENTRY, "event_alert.triggered", {"data": {
            "event": {"issue_id": issue_id}, "triggered_rule": "issue-link create",
            "issue_alert": {"title": "issue-link create", "settings": settings}}}, UI)
        try:
            done = self.syncer.handle(event, issue={**issue, "title": checked.title})
        except InvalidFieldValue as exc:  # a rule refused a value (TF401320 and friends): a form error
            raise FormError(f"'{create_form.form_field_of(exc.field, choices)}': Azure DevOps refused it: "
                            f"{exc.message}") from None
        created = any(d.get("kind") == CreateWorkItem.kind for d in done)
        return created, "; ".join(d["reason"] for d in done if d.get("kind") == "skip") or "see the log"

    # -- link -----------------------------------------------------------------------------------------

    def link(self, request: ui.UiRequest, work_item_id: int) -> Link:
        """Sentry's "Link work item" form: record the pair with both sides' current values as the
        synced baseline, and put a Hyperlink to the Sentry issue on the work item. A work item
        already linked to other Sentry issues (the same bug on another platform) takes this one
        too: each issue has its own link (and its own external issue in Sentry), the work item
        one Hyperlink per issue."""

        issue_id = request.issue_id
        current = self._link(issue_id)
        if current is not None and current.is_linked:
            if current.work_item_id == work_item_id:
                return current
            raise LinkConflict(f"Sentry issue {self._name(current)} is already linked to {_described(current)}")
        if current is not None and current.state == CLAIMED and not _stale(current):
            raise LinkConflict(f"a work item for Sentry issue {self._name(current)} is being created right now "
                               f"(since {current.claimed_at}); try again in a moment")
        item = self._work_item(work_item_id)
        issue = self._issue(issue_id)
        if current is not None:  # an unlinked pair or a stale claim is replaced by the person's choice
            self.store.release(current)
        chosen = existing_link(self.settings.sentry_org, issue, item, self.settings.ado_org_url, now_iso())
        if problems := chosen.problems():  # what Sentry and ADO answered, checked before it is saved
            raise MalformedIdentifier("; ".join(problems))
        claimed = self.store.claim(chosen)
        if claimed is None:
            now = self._link(issue_id)
            if now is not None and now.is_linked and now.work_item_id == work_item_id:
                return now
            raise LinkConflict(f"Sentry issue {self._name(now or chosen)} was linked by someone else just now"
                               + (f" (to {_described(now)})" if now is not None and now.is_linked else ""))
        self._add_hyperlink(claimed, item)
        return self._link(issue_id) or claimed

    def _add_hyperlink(self, link: Link, item: dict[str, Any]) -> None:
        """The Hyperlink to the Sentry issue, guarded by the work item's rev; another issue being
        linked to the same work item at the same moment moves its rev (a 412): read it again and
        add ours on top. Applied through the sync engine, so the work item's other issues take
        the new revision as the bridge's own."""
        from shared.actions import UpdateWorkItem
        from shared.ado.errors import StaleRevision
        from shared.mapping.fields import hyperlink_op

        ops = [hyperlink_op(link.sentry_url, f"Sentry issue {link.sentry_short_id}")]
        for attempt in range(STALE_RETRIES):
            try:
                self.syncer.apply_actions([UpdateWorkItem(int(item["id"]), ops, item.get("rev"))], link)
                return
            except StaleRevision:
                if attempt == STALE_RETRIES - 1:
                    raise
                item = self._work_item(int(item["id"]))
                link = self._link(link.sentry_issue_id) or link

    # -- reads ----------------------------------------------------------------------------------------

    def _link(self, issue_id: str) -> Link | None:
        return self.store.get_by_issue(self.settings.sentry_org, issue_id)

    @staticmethod
    def _name(link: Link) -> str:
        return link.sentry_short_id or link.sentry_issue_id

    def _issue(self, issue_id: str) -> dict[str, Any]:
        try:
            return self.sentry.get_issue(issue_id)
        except SentryNotFound:
            raise FormError(f"'issueId': Sentry issue {issue_id} was not found") from None

    def _work_item(self, work_item_id: int) -> dict[str, Any]:
        try:
            return self.ado.get_work_item(work_item_id)
        except AdoNotFound:
            raise FormError(f"'{FIELD_WORK_ITEM}': no work item {work_item_id} in Azure DevOps") from None
