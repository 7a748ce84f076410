"""The sync engine: one event in, the other side brought in line. The imperative shell around the
planner: load the link, fetch what the plan needs (`Remote`), plan (pure), apply, save the link.

Used by the queue functions (one webhook per message), by reconciliation (synthesised events with
the remote state it already batch-read) and by the issue-link UI (create / link on request).

A work item may be linked to several Sentry issues (`shared/siblings.py`): an ADO change is planned
and applied for each of its links (the work item read once), and after the bridge writes to a work
item for one issue, its sibling issues' links take what it wrote as synced, so that write is an echo
for them too.

Safe to run twice for the same message: the link store's claim and the link's synced values make
the second plan a list of skips.

Failure handling:
- A stale ``/rev`` (another change landed between our read and our write) re-reads the work item
  and plans again, a few times.
- ADO refusing a state transition (TF401320) retries once with the next state of the same
  category (`states.fallback_state`).
- A bad record (a malformed identifier in the message, a damaged link in the store) raises
  `shared.identifiers.BadRecord`: the queue function moves that message to the poison queue at once,
  with the reason.
- Anything else propagates: the queue retries the message, then moves it to the poison queue, and
  reconciliation repairs whatever it left behind.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from shared import siblings
from shared.actions import CREATE_SENT, Action, CreateWorkItem, UpdateWorkItem
from shared.ado.errors import AdoError, InvalidFieldValue, StaleRevision
from shared.apply import Applied, apply_plan
from shared.config import Config
from shared.contract import WORKITEM_UPDATED
from shared.intake import check_queued
from shared.issue_link import escape_wiql
from shared.mapping import states as state_map
from shared.mapping.identities import AdoIdentity, SentryMember, parse_ado_identity
from shared.metadata import Metadata
from shared.planner import (
    ADO,
    CREATING_EVENTS,
    SENTRY,
    WEBHOOK,
    Event,
    Remote,
    alert_may_reopen,
    as_issue_event,
    creation_requested,
    parse_webhook,
    plan,
    plan_without_remote,
    sentry_drift,
)
from shared.sentry.errors import SentryError
from shared.store import LinkStore, update_with_retry
from shared.store.model import CLAIMED, Link

log = logging.getLogger(__name__)
STALE_RETRIES = 3
INSTALLATION_MARKER = ("sentry", "installation")


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class Syncer:
    """Load the link, fetch what the plan needs, plan, apply, save: for webhooks and for the events
    the app's own callers hand it (reconciliation, the issue-link UI)."""

    def __init__(self, config: Config, store: LinkStore, ado: Any, sentry: Any,
                 metadata: Metadata | None = None) -> None:
        self.config = config
        self.store = store
        self.ado = ado
        self.sentry = sentry
        self.clients = {"ado": ado, "sentry": sentry}
        self.metadata = metadata or Metadata(store, ado, sentry, config.settings)
        self._installation: str | None = None

    # -- entry points ---------------------------------------------------------------------------

    def handle_message(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        """One queue message from the webhook functions (`shared/intake.py` shapes); deployment
        events never come here (the queue function hands them to shared/releases/). A malformed
        one raises `BadRecord` before anything is read, claimed or written."""
        check_queued(message)
        if message.get("source") == SENTRY:
            raw: dict[str, Any] = {"resource": message.get("resource"), "body": message.get("body")}
            self.learn_installation(((message.get("body") or {}).get("installation") or {}).get("uuid"))
        else:
            raw = message.get("body") or {}
        return self.handle_event(raw)

    def handle_event(self, raw: dict[str, Any], link: Link | None = None, *, work_item: dict[str, Any] | None = None,
                     issue: dict[str, Any] | None = None, dry_run: bool = False) -> list[dict[str, Any]]:
        """Plan and apply one webhook body (Sentry ``{resource, body}`` or an ADO service hook)."""
        event = parse_webhook(SENTRY if "resource" in raw and "eventType" not in raw else "ado", raw)
        return self.handle(event, link, work_item=work_item, issue=issue, dry_run=dry_run)

    def handle(self, event: Event, link: Link | None = None, *, work_item: dict[str, Any] | None = None,
               issue: dict[str, Any] | None = None, dry_run: bool = False) -> list[dict[str, Any]]:
        """Plan and apply one event, from a webhook or from a caller inside the app (its origin says
        which); `work_item` and `issue` are what the caller already read, spared a second read."""
        if link is None and event.source == ADO:
            links = self._work_item_links(event)
            if len(links) > 1:
                return self._each_issue(event, links, work_item, dry_run)
            link = links[0] if links else None
        else:
            link = self._load_link(event) if link is None else (self._reload(link) or link)
        event = as_issue_event(event, link)  # a status change sent as an activity alert is that change
        for attempt in range(STALE_RETRIES):
            done = self._decided(event, link, dry_run)
            if done is not None:
                return done
            held = self._hold(event, link, dry_run)
            if held is False:  # another delivery claimed the issue first: decided by its claim, at no call
                link = self._load_link(event)
                continue
            try:
                remote = self._remote(event, link, work_item if attempt == 0 else None, issue,
                                      after_conflict=attempt > 0)
                actions = self._with_type_fields(event, link, remote, plan(event, link, remote, self.config))
                actions = self._holding(actions, held) if held else actions
                return self._apply(actions, link, remote, dry_run).done
            except StaleRevision:
                log.info("stale rev on work item %s; re-reading (attempt %d)", link and link.work_item_id, attempt + 1)
                link = self._reload(link) if link else None
            finally:
                if held:  # conditional on its version: a no-op once the create took it over
                    self.store.release(held)
        raise StaleRevision(f"work item kept changing; gave up after {STALE_RETRIES} tries")

    def _hold(self, event: Event, link: Link | None, dry_run: bool) -> Link | bool | None:
        """Claim a new issue before reading anything for its work item: of concurrent deliveries of
        one new issue (the alert action and ``issue.created``), those that find it claimed decide from
        that claim, like a re-delivery, at no API call. The claim (False when another holds it; None
        when this event creates nothing) is taken over by the create, or released."""
        if link is not None or dry_run or event.origin != WEBHOOK or not creation_requested(event):
            return None
        issue_id = self._issue_id(event)
        placeholder = Link(self.config.settings.sentry_org, str(issue_id or ""), state=CLAIMED, claimed_at=now_iso())
        if placeholder.problems():
            return None  # the plan says what is wrong with the event
        return self.store.claim(placeholder) or False

    @staticmethod
    def _holding(actions: list[Action], held: Link) -> list[Action]:
        """The create takes over the claim this attempt holds (at its version)."""
        return [replace(a, claim=replace(a.claim, etag=held.etag)) if isinstance(a, CreateWorkItem) else a
                for a in actions]

    def _each_issue(self, event: Event, links: list[Link], work_item: dict[str, Any] | None,
                    dry_run: bool) -> list[dict[str, Any]]:
        """An ADO change to a work item several Sentry issues are linked to, planned and applied for
        each link in turn (one write per issue that must change); the work item is read once, if
        any link needs it read."""
        done: list[dict[str, Any]] = []
        for link in links:
            if work_item is None and event.kind == WORKITEM_UPDATED and link.is_linked and \
                    plan_without_remote(event, link, self.config) is None:
                work_item = self._get_work_item(link.work_item_id)
            done.extend(self.handle(event, link, work_item=work_item, dry_run=dry_run))
        return done

    def _decided(self, event: Event, link: Link | None, dry_run: bool) -> list[dict[str, Any]] | None:
        """Apply the plan the body, the link and the store's cache decide alone (no API call), if any."""
        decided = plan_without_remote(event, link, self.config)
        return None if decided is None else self._apply(decided, link, Remote(now=now_iso()), dry_run).done

    # -- link and remote state -----------------------------------------------------------------

    def _load_link(self, event: Event) -> Link | None:
        org = self.config.settings.sentry_org
        if event.source == SENTRY:
            data = event.data
            issue_id = (data.get("issue") or {}).get("id") or data.get("issue_id") or \
                (data.get("event") or {}).get("issue_id")
            return self.store.get_by_issue(org, str(issue_id)) if issue_id else None
        return next(iter(self._work_item_links(event)), None)

    def _work_item_links(self, event: Event) -> list[Link]:
        """Every Sentry issue's link to the ADO event's work item (one indexed read)."""
        resource = event.body.get("resource") or {}
        wid = resource.get("workItemId", resource.get("id"))
        return self.store.links_for_work_item(self.config.settings.ado_org_url, wid) if isinstance(wid, int) else []

    # -- the Sentry installation (where work items are shown on Sentry issues) --------------------

    def learn_installation(self, uuid: Any) -> None:
        """Every Sentry webhook names the installation it was sent for; keep the newest one, so
        reconciliation and the issue-link UI can show work items on Sentry issues without
        SENTRY_INSTALLATION_UUID. One store write when it changes, none otherwise."""
        if not isinstance(uuid, str) or not uuid or uuid == self._installation:
            return
        if self.config.settings.sentry_installation_uuid:
            return
        self._installation = uuid
        self.store.set_marker(*INSTALLATION_MARKER, {"uuid": uuid, "learned_at": now_iso()})

    def installation_uuid(self) -> str | None:
        """SENTRY_INSTALLATION_UUID, else the one learned from webhooks, else the organization's only
        installation (asked once per process and remembered)."""
        if self.config.settings.sentry_installation_uuid:
            return self.config.settings.sentry_installation_uuid
        if self._installation:
            return self._installation
        marker = self.store.get_marker(*INSTALLATION_MARKER)
        if marker and marker.get("uuid"):
            self._installation = str(marker["uuid"])
            return self._installation
        try:
            installations = self.sentry.list_installations()
        except SentryError as exc:
            log.warning("Sentry installation unknown (SENTRY_INSTALLATION_UUID unset, no webhook yet, and the "
                        "installations could not be listed: %s)", exc)
            return None
        if len(installations) == 1 and installations[0].get("uuid"):
            self.learn_installation(str(installations[0]["uuid"]))
            return self._installation
        log.warning("Sentry installation unknown: SENTRY_INSTALLATION_UUID is unset, no webhook has named it yet "
                    "and the organization has %d installations", len(installations))
        return None

    def _reload(self, link: Link | None) -> Link | None:
        return self.store.get_by_issue(link.sentry_org, link.sentry_issue_id) if link else None

    def _remote(self, event: Event, link: Link | None, work_item: dict[str, Any] | None,
                issue: dict[str, Any] | None, after_conflict: bool = False) -> Remote:
        """What the plan needs beyond the body, the link and the store's cache: at most one read, of
        the side the change came from, to tell a current change from a late one. The other side is
        written without a read: ADO writes carry ``test /rev`` with the link's last known rev (a 412
        re-reads the work item: ``after_conflict``), Sentry updates are idempotent. Type states,
        the bridge's identity and Sentry members come from the store's cache."""
        s = self.config.settings
        base = Remote(now=now_iso(), installation_uuid=s.sentry_installation_uuid or self._installation)
        if event.kind.startswith("comment."):  # the link says where it goes; only the format is asked
            carried = event.kind != "comment.deleted" and link is not None and link.is_linked
            if not carried:
                return base
            assert link is not None
            remote = replace(base, ado_hosted=self.metadata.ado_hosted())
            note = str(event.data.get("comment_id") or "")
            if event.kind == "comment.updated" and link.copy_of(f"sentry:{note}") is not None:
                remote = replace(remote, current_comment=self._current_note(link.sentry_issue_id, note))
            return remote
        linked = link is not None and link.is_linked
        creating = event.kind in CREATING_EVENTS
        unsure = creating and link is not None and link.work_item_id is None and CREATE_SENT in link.in_flight
        if unsure:  # an earlier create's answer was lost: what it made decides between linking and creating
            assert link is not None
            found = self._created_work_item(link)
            if found:
                return replace(base, created_work_item=found)
            base = replace(base, created_work_item={})
        if (link is None or unsure) != creating and not alert_may_reopen(event, link):
            return base  # nothing linked to update, or a creation already done: a skip, at no API cost
        reads_item = event.kind == WORKITEM_UPDATED or (after_conflict and event.source == SENTRY)
        if linked and work_item is None and reads_item:
            work_item = self._get_work_item(link.work_item_id)
        issue_id = link.sentry_issue_id if link else self._issue_id(event)
        reads_issue = (linked and event.source == SENTRY) or event.kind == "event_alert.triggered" or (
            # an archived issue's substatus decides whether done resolves it (states.archived_stays)
            linked and event.kind == WORKITEM_UPDATED and link.synced.sentry_status == "ignored"
            and bool(self.config.rules.states.done_resolves_archived))
        if issue is None and issue_id and reads_issue:
            issue = self._get_issue(issue_id)
        fields = (work_item or {}).get("fields") or {}
        wit = fields.get("System.WorkItemType") or (link.work_item_type if link else "")
        project = link.ado_project if link else ""
        remote = replace(base, work_item=work_item, issue=issue,
                         states=self.metadata.states(project, wit) if linked and project and wit else (),
                         bridge_ado_identity=self.metadata.bridge() if event.source == "ado" else None)
        if event.kind in ("issue.assigned", WORKITEM_UPDATED) or "assignee" in sentry_drift(event, link, self.config):
            remote = replace(remote, sentry_members=self.metadata.sentry_members())
            if linked:
                remote = replace(remote, ado_identities=self._directory(event, remote.sentry_members))
        if not linked and creating and issue_id:
            # An alert carries the event that fired it; only issue.created needs the latest one read.
            fired = event.data.get("event") if event.kind == "event_alert.triggered" else None
            remote = replace(remote, latest_event=fired if isinstance(fired, dict) else self._latest_event(issue_id))
        if event.source == SENTRY and creating:
            remote = replace(remote, ado_hosted=self.metadata.ado_hosted())  # Markdown or HTML on ADO
        return remote

    def _created_work_item(self, link: Link) -> dict[str, Any]:
        """The work item an earlier create for this claim made though its answer was lost, found by
        what it holds: its title (a WIQL query) and its Hyperlink to the Sentry issue; {} if none."""
        title = str((link.in_flight.get(CREATE_SENT) or {}).get("title") or "")
        if not title or not link.ado_project:
            return {}
        query = ("SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project "  # noqa: S608
                 f"AND [System.Title] = '{escape_wiql(title)}'")
        for wid in self.ado.query_ids(link.ado_project, query):
            item = self.ado.get_work_item(wid, expand="relations")
            relations = item.get("relations") or []
            if any(r.get("rel") == "Hyperlink" and r.get("url") == link.sentry_url for r in relations):
                return item
        return {}

    def _current_note(self, issue_id: str, note_id: str) -> str:
        """The note's text now ("" when it is gone): the one read an edit's carrying costs."""
        for note in self.sentry.list_comments(issue_id):
            if str(note.get("id")) == note_id:
                return str((note.get("data") or {}).get("text") or "")
        return ""

    @staticmethod
    def _issue_id(event: Event) -> str | None:
        data = event.data
        value = (data.get("issue") or {}).get("id") or (data.get("event") or {}).get("issue_id")
        return str(value) if value else None

    def _get_work_item(self, work_item_id: int | None) -> dict[str, Any] | None:
        try:
            return self.ado.get_work_item(work_item_id)
        except AdoError as exc:
            if exc.status == 404:
                return None
            raise

    def _get_issue(self, issue_id: str) -> dict[str, Any] | None:
        try:
            return self.sentry.get_issue(issue_id)
        except SentryError as exc:
            if exc.status == 404:
                return None
            raise

    def _latest_event(self, issue_id: str) -> dict[str, Any] | None:
        try:
            return self.sentry.latest_event(issue_id)
        except SentryError:
            return None  # the stack trace is a nicety; the work item is still made

    def comment_context(self) -> tuple[bool, str | None]:
        """(ADO comments take Markdown, the bridge's ADO identity), for reconciling comments; from
        the cached connectionData (one call per process at most)."""
        hosted = self.metadata.ado_hosted()
        return (self.config.settings.ado_is_services if hosted is None else hosted), self.metadata.bridge()

    def _directory(self, event: Event, members: tuple[SentryMember, ...]) -> tuple[AdoIdentity, ...]:
        """The ADO directory entry of the one person an assignment names, unless [identities] maps
        them already: by the Sentry assignee's email, or by the ADO account that has no email (Server)."""
        table = self.config.rules.identities
        key = ""
        if event.kind == "issue.assigned":
            data = event.data
            issue = data.get("issue") or {}
            assignee = (issue.get("assignedTo") if "assignedTo" in issue else data.get("assignee")) or {}
            if assignee.get("type", "user") == "user":
                key = assignee.get("email") or next(
                    (m.email for m in members if m.user_id == str(assignee.get("id", ""))), "")
            key = "" if key.casefold() in {k.casefold() for k in table} else key
        else:
            change = (((event.body.get("resource") or {}).get("fields") or {}).get("System.AssignedTo") or {})
            try:
                parsed = parse_ado_identity(change.get("newValue") if isinstance(change, dict) else None)
            except ValueError:
                parsed = None
            if parsed and "@" not in parsed.unique_name and \
                    parsed.unique_name.casefold() not in {v.casefold() for v in table.values()}:
                key = parsed.unique_name
        found = self.metadata.ado_identity(key) if key else None
        return (found,) if found else ()


    def _with_type_fields(self, event: Event, link: Link | None, remote: Remote,
                          actions: list[Action]) -> list[Action]:
        """A create's body field (Repro Steps or Description) and Severity depend on the type's
        fields, which are only known once the plan names the type: fetch them and plan again."""
        create = next((a for a in actions if isinstance(a, CreateWorkItem)), None)
        if create is None or remote.type_fields is not None:
            return actions
        fields = self.metadata.type_fields(create.project, create.work_item_type)
        return plan(event, link, replace(remote, type_fields=frozenset(fields)), self.config)

    # -- applying --------------------------------------------------------------------------------

    def apply_actions(self, actions: list[Action], link: Link | None, dry_run: bool = False) -> list[dict[str, Any]]:
        """Actions decided outside a webhook's plan (reconciliation's repairs, the issue-link form's
        hyperlink), applied the same way."""
        return self._shared(actions, link, dry_run,
                            lambda: apply_plan(actions, link, self.store, self.clients, dry_run)).done

    def _shared(self, actions: list[Action], link: Link | None, dry_run: bool, run: Callable[[], Applied]) -> Applied:
        """Apply (`run`) a plan for one issue of a work item other issues are linked to too: the
        values a work item update sets are in flight on the siblings' links while it is sent (its
        hook may come before the save that follows), and once it is applied the siblings take what
        the bridge wrote as synced (`siblings.took_bridge_write`): that write is an echo for them
        too. Costs one store read before an ADO write, and a save per sibling."""
        if dry_run or link is None or link.work_item_id is None or not any(a.system == ADO for a in actions):
            return run()
        others = [s for s in self.store.links_for_work_item(link.ado_org_url, link.work_item_id)
                  if s.sentry_issue_id != link.sentry_issue_id]
        if not others:
            return run()
        writes = [a for a in actions if isinstance(a, UpdateWorkItem)]
        self._each_sibling(others, lambda sibling: siblings.announced(sibling, writes))
        try:
            applied = run()
        except Exception:
            self._each_sibling(others, lambda sibling: siblings.withdrawn(sibling, writes))
            raise
        after = applied.link
        if after is not None:
            self._each_sibling(others, lambda sibling: siblings.withdrawn(
                siblings.took_bridge_write(sibling, link.synced, after.synced), writes))
        return applied

    def _each_sibling(self, others: list[Link], change: Callable[[Link], Link]) -> None:
        for sibling in others:
            update_with_retry(self.store, sibling.sentry_org, sibling.sentry_issue_id, change)

    def _apply(self, actions: list[Action], link: Link | None, remote: Remote, dry_run: bool) -> Applied:
        return self._shared(actions, link, dry_run, lambda: self._apply_one(actions, link, remote, dry_run))

    def _apply_one(self, actions: list[Action], link: Link | None, remote: Remote, dry_run: bool) -> Applied:
        try:
            return apply_plan(actions, link, self.store, self.clients, dry_run)
        except InvalidFieldValue as exc:
            retry = self._fallback(actions, exc, remote)
            if retry is None:
                raise
            return apply_plan(retry, self._reload(link) or link, self.store, self.clients, dry_run)

    @staticmethod
    def _fallback(actions: list[Action], exc: InvalidFieldValue, remote: Remote) -> list[Action] | None:
        """TF401320 on a state change: the same plan with the next state of the same category."""
        if exc.field not in (None, "System.State", "State"):
            return None
        out: list[Action] = []
        changed = False
        for action in actions:
            state_op = next((o for o in getattr(action, "ops", ()) if o.get("path") == "/fields/System.State"), None)
            if isinstance(action, UpdateWorkItem) and state_op and not changed:
                wit = ((remote.work_item or {}).get("fields") or {}).get("System.WorkItemType", "")
                try:
                    other = state_map.fallback_state(state_op["value"], remote.states, wit)
                except state_map.StateMappingError:
                    other = None
                if other is None:
                    return None
                ops = [{**o, "value": other} if o is state_op else o for o in action.ops]
                action = replace(action, ops=ops, synced={**action.synced, "ado_state": other})
                changed = True
            out.append(action)
        return out if changed else None
