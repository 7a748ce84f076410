"""Reconciliation: find and repair every drift a lost webhook left behind, in batches.

Sentry never retries webhooks to internal integrations and ADO disables failing hooks, so this is
what makes the sync trustworthy. One run:
1. streams links from the store a page (<= 200) at a time, resuming after the stored checkpoint;
2. per page, reads the work items in one ``workitemsbatch`` call (``errorPolicy: omit``: a missing
   id is a deleted work item) and the Sentry issues in as few calls as the API allows (100 ids each),
   all at the same time; nothing else is read per link (states, the bridge identity and members are
   cached in the store) except the issue details of a pair both sides changed under ``latest`` and
   a comment list where a comment count or change date moved, or where it is the link's turn to
   read its Sentry list (`shared/reconcile/comments.py`; the pass number is kept in the checkpoint);
3. per link, detects which side changed since the last sync (`drift`), turns each change into the
   webhook the lost delivery would have carried (ADO's first: it is judged by revision, which our
   write for Sentry's change would advance), and lets the sync engine plan and apply it, with
   bounded concurrency (the clients slow down on 429 and rate-limit headers instead of failing).
   The links of one work item (several Sentry issues linked to it) are repaired one after another
   in one job: a work item read once per page, its comment list read at most once per run, and
   the bridge's write for one issue known to the next (shared/siblings.py), so a work item change
   costs one write per issue and a Sentry change one write to the work item;
4. saves a checkpoint after each page, so a run stopped by the function timeout resumes there
   (with the links counted by state so far); one bad record never stops a run: a link that is
   damaged in the store, carries a malformed id, whose Sentry issue is gone, or whose read or repair
   fails is counted, logged once with its key and reason, recorded for the status view
   (`shared/status/record.py`) with the command that repairs or removes it, and skipped; a batch
   read that fails is retried once, then split in halves until the bad id is alone, so it cannot
   sink its neighbours;
5. finally looks for Sentry issues an auto-create rule matches within the look-back window that have
   no link (the lost ``issue.created``; newest first, stopping at the window) and creates their
   work items.
Memory stays flat: only one page of links and their remote state is held at a time. Each run is
recorded for the status view (`shared.status.record`): its report, and at the end of a complete pass
the links by state, which the page then shows without reading a link.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from shared.actions import CREATE_SENT, LinkExternalIssue
from shared.config import Config
from shared.contract import WORKITEM_DELETED, WORKITEM_RESTORED
from shared.error_reporting import error_context
from shared.planner import ADO, RECONCILE, SENTRY, Event
from shared.reconcile import comments as comment_drift
from shared.reconcile import drift
from shared.status import record
from shared.store import LinkStore, update_with_retry
from shared.store.base import link_key, record_key
from shared.store.model import LINKED, UNLINKED, DamagedLink, Link

log = logging.getLogger(__name__)
CHECKPOINT = ("checkpoint", "reconcile")
DAMAGED = "damaged"  # how a stored record that is no readable link counts among the links by state
PAGE_SIZE = 200
SENTRY_IDS_PER_CALL = 100  # the issues endpoint's page size cap
# Halving a batch around one bad id fails one read per level (8 for 200 ids); this many failed reads
# in one batch is a service failing, not a few bad records.
FAILED_READS_PER_BATCH = 24


class ReadsFailing(Exception):
    """Batch reads fail for more ids than bad records explain: the service itself is failing."""
WORK_ITEM_FIELDS = ("System.Id", "System.Rev", "System.WorkItemType", "System.TeamProject", "System.State",
                    "System.AssignedTo", "System.Title", "System.ChangedDate", "System.ChangedBy",
                    "System.CommentCount")
_COUNT_MOVES = {"add_sentry_comment": ("sentry", 1), "delete_sentry_comment": ("sentry", -1),
                "add_ado_comment": ("ado", 1), "delete_ado_comment": ("ado", -1)}


class EventSyncer(Protocol):
    """The sync engine, seen from here: plan and apply one event reconciliation found, for one link."""

    def handle(self, event: Event, link: Link | None, *, work_item: dict[str, Any] | None = None,
               issue: dict[str, Any] | None = None, dry_run: bool = False) -> list[dict[str, Any]]: ...

    def apply_actions(self, actions: list[Any], link: Link | None, dry_run: bool = False) -> list[dict[str, Any]]: ...

    def comment_context(self) -> tuple[bool, str | None]: ...

    def installation_uuid(self) -> str | None: ...


def removal(key: str) -> str:
    """The command that removes a link the bridge can no longer use."""
    return f"sentry-ado links remove {key}"


@dataclass(frozen=True)
class BadLink:
    """A link this run could not read or repair, why, and (when a person must act) the fix."""

    key: str
    reason: str
    fix: str | None = None
    sentry_issue_id: str | None = None
    work_item_id: int | None = None

    def __str__(self) -> str:
        return f"{self.key}: {self.reason}" + (f" (fix: {self.fix})" if self.fix else "")


def unusable(record: Link | DamagedLink) -> BadLink | None:
    """Why a stored record can never be synced as it is (damaged, or a malformed identifier in it),
    and the fix; None for a well-formed link. Reconciliation and `sentry-ado links` both ask this."""
    if isinstance(record, DamagedLink):
        return BadLink(record.key, record.reason,
                       f"{removal(record.key)}, then link the pair again from the Sentry issue page")
    problems = record.problems()
    return BadLink(link_key(record), "; ".join(problems), removal(link_key(record))) if problems else None


@dataclass
class Report:
    links: int = 0
    pages: int = 0
    drifted: int = 0
    writes: int = 0
    created: int = 0
    unlinked: int = 0
    decisions: list[str] = field(default_factory=list)
    planned: list[dict[str, Any]] = field(default_factory=list)
    resumed_after: str | None = None
    finished: bool = False
    bad: list[BadLink] = field(default_factory=list)
    started: float = 0.0
    duration_s: float = 0.0
    api_calls: int = 0
    by_state: dict[str, int] = field(default_factory=dict)  # links counted so far in this pass
    # one line per drifted pair: what was done about it, or why nothing was (a skip's reason)
    outcomes: list[str] = field(default_factory=list)

    def as_record(self) -> dict[str, Any]:
        """What the status view keeps of a run (no plan, a bounded list of errors)."""
        return {"started": self.started, "duration_s": round(self.duration_s, 3), "api_calls": self.api_calls,
                "links": self.links, "pages": self.pages, "drifted": self.drifted, "writes": self.writes,
                "created": self.created, "unlinked": self.unlinked, "finished": self.finished,
                "resumed": self.resumed_after is not None, "errors": self.errors[:20],
                "error_count": len(self.errors)}

    @property
    def errors(self) -> list[str]:
        return [str(b) for b in self.bad]


def outcome_line(link: Link, actions: list[dict[str, Any]]) -> str:
    """A drifted pair and what became of it: each write's kind, or each skip's reason. A drift
    the planner answered with nothing at all is said to be so, never left silent."""
    pair = f"{link.sentry_short_id or link.sentry_issue_id} <-> work item {link.work_item_id}"
    said = [f"skip: {a.get('reason')}" if a.get("kind") == "skip" else
            f"error: {a.get('reason')}" if a.get("kind") == "error" else str(a.get("kind")) for a in actions]
    return f"{pair}: {'; '.join(said) or 'skip: nothing to do, both sides agree under the sync rules'}"


@dataclass
class Reconciler:
    config: Config
    store: LinkStore
    ado: Any
    sentry: Any
    syncer: EventSyncer
    concurrency: int = 8
    page_size: int = PAGE_SIZE
    progress: Callable[[Report], None] | None = None
    clock: Callable[[], float] = time.time
    # the pass this run belongs to (a run resuming at a checkpoint continues its pass): picks the
    # links whose Sentry comment list is read on their turn (shared/reconcile/comments.py)
    pass_number: int | None = field(default=None, init=False)

    def run(self, dry_run: bool = False, max_pages: int | None = None, deadline_s: float | None = None) -> Report:
        """One pass. Stops early (checkpoint kept) after `max_pages` or when `deadline_s` has passed."""
        report = Report(started=self.clock())
        calls_before = self._api_calls()
        checkpoint = None if dry_run else self.store.get_marker(*CHECKPOINT)
        resuming = bool(checkpoint and not checkpoint.get("finished"))
        after = checkpoint.get("after") if checkpoint and resuming else None
        report.resumed_after = after
        last_pass = int((checkpoint or {}).get("pass") or 0)
        self.pass_number = last_pass if resuming else last_pass + 1
        report.by_state = dict(checkpoint.get("by_state") or {}) if checkpoint and resuming else {}
        lists: dict[int, Any] = {}  # a work item's comment list, kept while its links are repaired
        try:
            with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
                for page in self.store.iter_pages(self.page_size, after=after):
                    bad_before = len(report.bad)
                    self._page(page, pool, report, dry_run, lists)
                    for bad in report.bad[bad_before:]:  # logged once, here, with its key and reason
                        log.warning("reconcile skipped link %s", bad)
                        if not dry_run:
                            self._record_failure(bad)
                    report.pages += 1
                    report.links += len(page)
                    for link in page:
                        state = DAMAGED if isinstance(link, DamagedLink) else link.state
                        report.by_state[state] = report.by_state.get(state, 0) + 1
                    if not dry_run:
                        self.store.set_marker(*CHECKPOINT, {"after": record_key(page[-1]), "finished": False,
                                                            "by_state": report.by_state, "pass": self.pass_number})
                    if self.progress:
                        self.progress(report)
                    out_of_time = deadline_s is not None and self.clock() - report.started > deadline_s
                    if (max_pages is not None and report.pages >= max_pages) or out_of_time:
                        return report
                    del page  # let it go before the store reads the next one: memory stays one page
                self._lost_creations(pool, report, dry_run)
            if not dry_run:
                self.store.set_marker(*CHECKPOINT, {"after": None, "finished": True, "pass": self.pass_number})
                record.record_link_counts(self.store, report.by_state, self.clock())
            report.finished = True
            return report
        finally:
            report.duration_s = self.clock() - report.started
            report.api_calls = self._api_calls() - calls_before
            if not dry_run:
                self._record(report)

    def run_one(self, link: Link, dry_run: bool = False) -> Report:
        """Repair one pair now (`sentry-ado reconcile --link`): the same reads, drift rules and repair
        as a full run, for this link only; the report's ``planned`` holds what was done."""
        report = Report(started=self.clock(), links=1)
        calls_before = self._api_calls()
        if bad := unusable(link):
            report.bad.append(bad)
        else:
            with ThreadPoolExecutor(max_workers=2) as pool:
                linked = [link] if link.work_item_id is not None and link.state in (LINKED, UNLINKED) else []
                items, issues, unread = self._read_both(linked, pool)
            reason = unread.get(("ado", link.work_item_id)) or unread.get(("sentry", link.sentry_issue_id))
            if reason:
                report.bad.append(BadLink(link_key(link), reason))
            else:
                result = self._link(link, items.get(link.work_item_id or 0), issues.get(link.sentry_issue_id),
                                    dry_run, every_list=True)
                report.drifted, report.writes = bool(result["events"]), result["writes"]
                report.unlinked, report.decisions = result["unlinked"], result["decisions"]
                report.bad, report.planned = result["bad"], result["planned"]
        report.finished = True
        report.duration_s = self.clock() - report.started
        report.api_calls = self._api_calls() - calls_before
        return report

    def _api_calls(self) -> int:
        return sum(getattr(client, "request_count", 0) or 0 for client in (self.ado, self.sentry))

    def _record(self, report: Report) -> None:
        """Keep the run for the status view; a store hiccup here must not fail the run it describes."""
        try:
            record.record_run(self.store, report.as_record())
        except Exception:
            log.exception("reconcile: could not record the run for the status view")

    def _page(self, records: list[Link | DamagedLink], pool: ThreadPoolExecutor, report: Report,
              dry_run: bool, lists: dict[int, Any] | None = None) -> None:
        linked: list[Link] = []  # (records the check below passes are Links)
        for stored in records:
            if bad := unusable(stored):
                report.bad.append(bad)
            elif stored.work_item_id is not None and stored.state in (LINKED, UNLINKED):
                linked.append(stored)
        items, issues, unread = self._read_both(linked, pool)
        by_item: dict[int, list[tuple[Link, Any, Any]]] = {}
        for link in linked:
            reason = unread.get(("ado", link.work_item_id)) or unread.get(("sentry", link.sentry_issue_id))
            if reason:  # its read failed alone: skipped this run, read again by the next
                report.bad.append(BadLink(link_key(link), reason))
            else:
                by_item.setdefault(link.work_item_id or 0, []).append(
                    (link, items.get(link.work_item_id), issues.get(link.sentry_issue_id)))
        lists = {} if lists is None else lists
        results = [r for rs in pool.map(lambda jobs: self._work_item(jobs, dry_run, lists), by_item.values())
                   for r in rs]
        last = linked[-1].work_item_id if linked else None
        for wid in [w for w in lists if w != last]:  # only the page's last work item may go on in the next
            del lists[wid]
        for result in results:
            report.drifted += bool(result["events"])
            report.writes += result["writes"]
            report.unlinked += result["unlinked"]
            report.decisions.extend(result["decisions"])
            report.bad.extend(result["bad"])
            if result["events"]:
                report.outcomes.append(outcome_line(result["link"], result["outcome"]))
            if dry_run:
                report.planned.extend(result["planned"])

    def _read_both(self, linked: list[Link], pool: ThreadPoolExecutor
                   ) -> tuple[dict[int, Any], dict[str, Any], dict[tuple[str, Any], str]]:
        """Both sides of a page, the ADO batch and each 100-id Sentry call at the same time: one
        round trip per page instead of three, with the same number of calls. Also which ids could
        not be read, and why (see `_isolated`)."""
        if not linked:
            return {}, {}, {}
        ids = [link.sentry_issue_id for link in linked]
        chunks = [ids[i:i + SENTRY_IDS_PER_CALL] for i in range(0, len(ids), SENTRY_IDS_PER_CALL)]
        work_items = list(dict.fromkeys(link.work_item_id for link in linked))  # one per work item
        ado_read = pool.submit(self._isolated, "ado", work_items,
                               lambda chunk: self.ado.get_work_items(chunk, fields=list(WORK_ITEM_FIELDS)))
        sentry_reads = [pool.submit(self._isolated, "sentry", chunk, self.sentry.get_issues_by_ids)
                        for chunk in chunks]
        unread: dict[tuple[str, Any], str] = {}
        issues: dict[str, Any] = {}
        for read in sentry_reads:
            found, failed = read.result()
            issues.update((str(i["id"]), i) for i in found)
            unread.update(failed)
        found, failed = ado_read.result()
        unread.update(failed)
        return {w["id"]: w for w in found}, issues, unread

    def _isolated(self, side: str, ids: list[Any], read: Callable[[list[Any]], list[dict[str, Any]]]
                  ) -> tuple[list[dict[str, Any]], dict[tuple[str, Any], str]]:
        """One batch read that a bad record cannot fail as a whole: a failed batch is tried once
        more (the client's own retries may have met a passing outage), then split in halves until
        each bad id is alone; what still fails is returned with its reason instead of raised. When
        more reads fail than a few bad ids explain, the service is failing, not a record: that
        raises, the run stops, and the next one resumes at this page's checkpoint."""
        try:
            return read(ids), {}
        except Exception as exc:
            log.info("reconcile: %s batch read of %d ids failed (%s); retrying", side, len(ids), exc)
        try:
            return read(ids), {}
        except Exception as exc:
            budget = [FAILED_READS_PER_BATCH]
            return self._halves(side, ids, read, exc, budget)

    def _halves(self, side: str, ids: list[Any], read: Callable[[list[Any]], list[dict[str, Any]]],
                failure: Exception, budget: list[int]) -> tuple[list[dict[str, Any]], dict[tuple[str, Any], str]]:
        if len(ids) == 1:
            name = "work item" if side == "ado" else "Sentry issue"
            return [], {(side, ids[0]): f"reading {name} {ids[0]} failed: {type(failure).__name__}: {failure}"}
        found: list[dict[str, Any]] = []
        failed: dict[tuple[str, Any], str] = {}
        half = len(ids) // 2
        for part in (ids[:half], ids[half:]):
            try:
                found.extend(read(part))
                continue
            except Exception as exc:
                budget[0] -= 1
                if budget[0] < 0:
                    raise ReadsFailing(f"{side} batch reads keep failing ({type(exc).__name__}: {exc}); "
                                       "more than a few bad records explain") from exc
                part_found, part_failed = self._halves(side, part, read, exc, budget)
            found.extend(part_found)
            failed.update(part_failed)
        return found, failed

    def _work_item(self, jobs: list[tuple[Link, Any, Any]], dry_run: bool,
                   lists: dict[int, Any]) -> list[dict[str, Any]]:
        """The links of one work item, one after another (usually one): after the bridge wrote to
        the work item for one of them, the work item as this page read it is older than what the
        next ones know of it (their links took the write), so their comment counts are not
        compared with it; the next run's read does."""
        results = []
        wrote = False
        for link, work_item, issue in jobs:
            result = self._link(link, work_item, issue, dry_run=dry_run, lists=lists, item_stale=wrote)
            wrote = wrote or any(a.get("system") == ADO for a in result["planned"])
            results.append(result)
        return results

    def _link(self, link: Link, work_item: dict[str, Any] | None, issue: dict[str, Any] | None,
              dry_run: bool, every_list: bool = False, lists: dict[int, Any] | None = None,
              item_stale: bool = False) -> dict[str, Any]:
        result: dict[str, Any] = {"events": [], "writes": 0, "unlinked": 0, "decisions": [], "bad": [],
                                  "planned": [], "outcome": [], "link": link}
        try:
            if work_item is not None and issue is None and link.state == LINKED:
                # deleted or merged in Sentry, or out of the token's reach: nothing can be carried
                result["bad"].append(BadLink(link_key(link), f"Sentry issue {link.sentry_issue_id} was not found "
                                             "(deleted or merged in Sentry)", removal(link_key(link))))
            events = self._events(link, work_item, issue, result["decisions"])
            result["events"] = events
            for event in events:
                actions = self.syncer.handle(event, link, work_item=work_item, issue=issue, dry_run=dry_run)
                result["planned"].extend(actions)
                result["outcome"].extend(actions)
                writes = [a for a in actions if a.get("kind") != "skip"]
                result["writes"] += len(writes)
                result["unlinked"] += any(a.get("kind") == "unlink" for a in writes)
                link = self.store.get_by_issue(link.sentry_org, link.sentry_issue_id) or link
            if events and not result["writes"] and not dry_run and work_item and issue and link.is_linked:
                self._accept_as_synced(link, work_item, issue)
            if work_item and issue and link.is_linked:
                self._comments(link, work_item, issue, result, dry_run, self.pass_number, every_list, lists,
                               item_stale)
            shown = self._show_on_sentry(link, dry_run)
            result["planned"].extend(shown)
            result["writes"] += len(shown)
        except Exception as exc:  # one bad pair must not stop the run; it is reported and retried next run
            with error_context(function="reconcile", sentry_issue=link.sentry_issue_id, work_item=link.work_item_id):
                log.exception("reconcile: link %s failed", link_key(link))
            result["bad"].append(BadLink(link_key(link), f"{type(exc).__name__}: {exc}",
                                         sentry_issue_id=link.sentry_issue_id, work_item_id=link.work_item_id))
            result["outcome"].append({"kind": "error", "reason": f"{type(exc).__name__}: {exc}"})
        return result

    def _comments(self, link: Link, work_item: dict[str, Any], issue: dict[str, Any], result: dict[str, Any],
                  dry_run: bool, pass_number: int | None = None, every_list: bool = False,
                  lists: dict[int, Any] | None = None, item_stale: bool = False) -> None:
        """Comments whose webhook was lost, and edits and deletions no hook carried, at the cost of a
        comment list only for a side whose count or change date moved since the last sync, plus
        Sentry's on the link's turn in this pass (Sentry shows no sign of an edit); `every_list`
        reads both (one pair repaired on request). A work item's list is read once for all its
        issues (`lists`). The counts become the baseline only once every write succeeded, so a
        failed one is found again by the next run (the per-comment claim keeps it at most once).
        `item_stale`: the bridge wrote to the work item for another of its issues since it was
        read; a link that took that write knows it better than the read does, and keeps its ADO
        count for the next run to compare."""
        now = comment_drift.counts(issue, work_item)
        link = self.store.get_by_issue(link.sentry_org, link.sentry_issue_id) or link
        read_sentry, read_ado = (True, True) if every_list else comment_drift.needs_read(link, now, pass_number)
        kept = item_stale and not every_list and comment_drift.later(link.synced.ado_changed_at, now.ado_changed_at)
        read_ado = read_ado and not kept
        if not (read_sentry or read_ado):
            return
        rules = self.config.rules
        to_ado, to_sentry = rules.syncs("comments", "ado"), rules.syncs("comments", "sentry")
        notes = self.sentry.list_comments(link.sentry_issue_id) if read_sentry and to_ado else None
        listed = self._ado_comments(link, lists) if read_ado and to_sentry else None
        actions: list[Any] = []
        if notes is not None or listed is not None:
            markdown, bridge = self.syncer.comment_context()
            actions = comment_drift.comment_actions(
                link, notes, listed, org=self.config.settings.sentry_org, to_ado=to_ado, to_sentry=to_sentry,
                ado_markdown=markdown, bridge_ado_identity=bridge)
        done = self.syncer.apply_actions(actions, link, dry_run=dry_run) if actions else []
        result["planned"].extend(done)
        result["writes"] += len([a for a in done if a.get("kind") != "skip"])
        if dry_run:
            return
        moved = {"sentry": now.sentry, "ado": now.ado}
        for action in done:
            side, by = _COUNT_MOVES.get(action.get("kind", ""), ("", 0))
            if side:
                moved[side] += by

        def baseline(fresh: Link) -> Link:
            seen = [t for t in (fresh.synced.ado_changed_at, now.ado_changed_at) if t]
            newest = max(seen, key=lambda t: drift.parse_time(t) or datetime.min.replace(tzinfo=UTC)) if seen else None
            return fresh.with_synced(sentry_comments=moved["sentry"], ado_changed_at=newest,
                                     ado_comments=fresh.synced.ado_comments if kept else moved["ado"])
        update_with_retry(self.store, link.sentry_org, link.sentry_issue_id, baseline)

    def _ado_comments(self, link: Link, lists: dict[int, Any] | None) -> list[dict[str, Any]]:
        """The work item's comments (deleted ones too), read once for all the issues linked to it."""
        wid = link.work_item_id or 0
        if lists is not None and wid in lists:
            return lists[wid]
        listed = self.ado.list_comments(link.ado_project, link.work_item_id, include_deleted=True)
        if lists is not None:
            lists[wid] = listed
        return listed

    def _record_failure(self, bad: BadLink) -> None:
        """Keep it for the status view (one record per link, replaced by the next run's)."""
        summary = f"reconcile skipped {bad.key}" + (f"; fix: {bad.fix}" if bad.fix else "")
        try:
            record.record_failure(self.store, "reconcile", bad.key, bad.reason, summary=summary,
                                  sentry_issue_id=bad.sentry_issue_id, work_item_id=bad.work_item_id)
        except Exception:
            log.exception("reconcile: could not record the failure of %s", bad.key)

    def _accept_as_synced(self, link: Link, work_item: dict[str, Any], issue: dict[str, Any]) -> None:
        """The planner found nothing to write for this drift: both sides already agree (say, the
        bridge's write landed but saving the link did not), or the change cannot be carried (an
        unknown person; the skip said why). Either way today's values become the baseline, so the
        next run does not find the same drift again."""
        s_now, a_now = drift.sentry_values(issue), drift.ado_values(work_item)
        fields = work_item.get("fields") or {}
        update_with_retry(self.store, link.sentry_org, link.sentry_issue_id, lambda fresh: fresh.with_synced(
            sentry_status=s_now["status"], sentry_assignee=s_now["assignee"], sentry_title=s_now["title"],
            ado_state=a_now["status"], ado_assignee=a_now["assignee"], ado_title=a_now["title"],
            ado_rev=max(work_item.get("rev") or 0, fresh.synced.ado_rev or 0),
            ado_changed_at=fields.get("System.ChangedDate", fresh.synced.ado_changed_at)))

    def _show_on_sentry(self, link: Link, dry_run: bool) -> list[dict[str, Any]]:
        """A linked work item whose link on the Sentry issue page is missing (the follow-up call
        failed after the work item was created) gets it now; the call is an upsert."""
        if not (link.is_linked and not link.external_issue_id and link.work_item_url):
            return []
        installation = self.syncer.installation_uuid()
        if not installation:
            return []
        action = LinkExternalIssue(installation, link.sentry_issue_id, link.work_item_url, link.ado_project,
                                   str(link.work_item_id))
        return self.syncer.apply_actions([action], link, dry_run=dry_run)

    def _events(self, link: Link, work_item: dict[str, Any] | None, issue: dict[str, Any] | None,
                decisions: list[str]) -> list[Event]:
        """The events that would have brought this pair back in sync."""
        if work_item is None:
            if link.state == LINKED:
                return [Event(ADO, WORKITEM_DELETED, {"resource": {"id": link.work_item_id}}, RECONCILE)]
            return []
        if link.state == UNLINKED:
            return [Event(ADO, WORKITEM_RESTORED, {"resource": {**work_item, "id": link.work_item_id}}, RECONCILE)]
        if issue is None:
            return []  # the Sentry issue is gone (deleted or merged); nothing to carry
        rules = self.config.rules
        fields = tuple(f for f in drift.FIELDS if rules.direction(f) != "off")
        s_changed = drift.changed_fields(link, "sentry", drift.sentry_values(issue), fields)
        a_changed = drift.changed_fields(link, "ado", drift.ado_values(work_item), fields)
        for f in sorted(s_changed & a_changed):
            # only ``latest`` needs Sentry's change time, which only the issue details' activity has
            s_time = drift.sentry_change_time(self.sentry.get_issue(link.sentry_issue_id), f) \
                if rules.conflict == "latest" else None
            decision = drift.decide_conflict(f, rules.conflict, s_time, work_item["fields"].get("System.ChangedDate"))
            decisions.append(f"{link_key(link)} {f}: {decision.winner} wins ({decision.reason})")
            log.info("reconcile conflict %s", decisions[-1])
            (a_changed if decision.winner == "sentry" else s_changed).discard(f)
        events = drift.sentry_event(issue, s_changed)
        ado_hook = drift.ado_event(link, work_item, a_changed)
        # ADO's change first: it is judged by its revision, which our own write to ADO (for Sentry's
        # change) would make look stale; Sentry's events are judged by the issue, which it does not touch.
        return ([ado_hook] if ado_hook else []) + events

    # -- lost issue.created -------------------------------------------------------------------------

    def _lost_creations(self, pool: ThreadPoolExecutor, report: Report, dry_run: bool) -> None:
        for issue in self._auto_create_candidates():
            link = self.store.get_by_issue(self.config.settings.sentry_org, str(issue["id"]))
            if link is not None and CREATE_SENT not in link.in_flight:
                continue  # linked, or being created; a create whose answer was lost is looked for below
            event = Event(SENTRY, "issue.created", {"data": {"issue": issue}}, RECONCILE)
            actions = self.syncer.handle(event, link, issue=issue, dry_run=dry_run)
            created = [a for a in actions if a.get("kind") == "create_work_item"]
            report.created += len(created)
            report.writes += len([a for a in actions if a.get("kind") != "skip"])
            if dry_run:
                report.planned.extend(actions)
            elif created and issue.get("numComments"):
                self._first_comments(issue, report)

    def _first_comments(self, issue: dict[str, Any], report: Report) -> None:
        """The comments written on an issue before its (late) work item existed, carried now
        rather than by the next run."""
        link = self.store.get_by_issue(self.config.settings.sentry_org, str(issue["id"]))
        if link is None or not link.is_linked:
            return
        new_item = {"fields": {"System.CommentCount": link.synced.ado_comments or 0,
                               "System.ChangedDate": link.synced.ado_changed_at}}
        result: dict[str, Any] = {"planned": [], "writes": 0}
        try:
            self._comments(link, new_item, issue, result, dry_run=False)
        except Exception as exc:  # the next run finds them again (the counts were not saved)
            log.exception("reconcile: comments of new link %s failed", link_key(link))
            reason = f"carrying its first comments failed: {type(exc).__name__}: {exc}"
            report.bad.append(BadLink(link_key(link), reason, sentry_issue_id=link.sentry_issue_id,
                                      work_item_id=link.work_item_id))
        report.writes += result["writes"]

    def _auto_create_candidates(self) -> Iterator[dict[str, Any]]:
        rules = self.config.rules
        routes = [r for r in rules.routes if r.auto_create.enabled]
        if not routes:
            return
        since = datetime.fromtimestamp(self.clock(), UTC) - timedelta(hours=rules.lookback_hours)
        ids = {p["slug"]: p["id"] for p in self.sentry.list_projects()}
        wanted = [ids[slug] for r in routes for slug in r.sentry_projects if slug in ids]
        if not wanted:
            return
        # Newest first, stopping at the first issue older than the window: as few pages as a
        # ``firstSeen:>`` filter would need, and it works where that search term is not supported.
        for issue in self.sentry.iter_issues(query="is:unresolved", project_ids=wanted, sort="new"):
            first_seen = drift.parse_time(issue.get("firstSeen"))
            if first_seen is not None and first_seen < since:
                return
            yield issue
