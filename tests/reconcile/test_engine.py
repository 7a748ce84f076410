"""Reconciliation end to end: 1,000 links against both emulators and a SQLite store, every kind of
drift a lost webhook leaves behind, repaired in one run with the batched reads and nothing more.

No webhooks are delivered here (the stack runs without the function host), so every change made
through the emulators' "act as a person" methods is a lost delivery.
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bench.seed import JAMAL, drift, seed_pairs, store_links
from sandbox.stack import SandboxStack, sandbox_stack
from shared.reconcile.engine import Reconciler, Report
from shared.runtime import Runtime, runtime
from shared.status import record as status_record
from shared.store import LINKED, UNLINKED, Link

N = 1000
KINDS = ("sentry_status", "sentry_assignee", "ado_status", "ado_assignee")
PER_KIND = 10
CONFLICTS = range(41, 51, 2)  # unassigned pairs: Sentry assigns Bob, ADO assigns Ava
DELETED = range(50, 55)
RESTORED = range(55, 60)
AVA = "Ava Chen <ava@contoso.com>"
CACHED = ("/contoso/Shop/_apis/wit/workitemtypes/Bug/states", "/contoso/_apis/connectionData",
          "/api/0/organizations/acme/members/")


@dataclass
class World:
    stack: SandboxStack
    rt: Runtime
    links: list[Link]
    lost_issue_id: str
    old_issue_id: str

    def reconciler(self, **options: Any) -> Reconciler:
        rt = self.rt
        return Reconciler(rt.config, rt.store, rt.ado, rt.sentry, rt.syncer, **options)

    def calls(self) -> int:
        return self.rt.ado.request_count + self.rt.sentry.request_count

    def requests(self) -> list[tuple[str, str, str]]:
        """Every API request both emulators received, as (service, kind, method) with kind a read
        or a write; batch reads are POSTs but change nothing."""
        out = []
        for entry in self.stack.sentry.journal.entries() + self.stack.ado.journal.entries():
            method, path = entry["method"], entry["path"]
            kind = "read" if method == "GET" or path.endswith("/workitemsbatch") else "write"
            out.append((entry["service"], kind, method))
        return out

    def reads(self) -> list[tuple[str, str, str]]:
        """(service, "read", path) of every read, ids and project names left in."""
        return [(e["service"], "read", e["path"]) for e in
                self.stack.sentry.journal.entries() + self.stack.ado.journal.entries()
                if e["method"] == "GET" or e["path"].endswith("/workitemsbatch")]

    def clear_journals(self) -> None:
        self.stack.sentry.journal.clear()
        self.stack.ado.journal.clear()


def build_world(stack: SandboxStack) -> World:
    """1,000 pairs in sync, then every kind of drift, with no webhook delivered."""
    rt = runtime()
    ado, sentry = stack.ado, stack.sentry
    links = seed_pairs(ado, sentry, N, ado.base_url)
    store_links(rt.store, links)
    for k, kind in enumerate(KINDS):
        for link in links[k * PER_KIND:(k + 1) * PER_KIND]:
            drift(ado, sentry, link, kind)
    for i in CONFLICTS:
        sentry.act("carol@example.com", links[i].sentry_issue_id, {"assignedTo": "user:2"})
        time.sleep(0.002)  # ADO's ChangedDate has milliseconds: make its change the later one for sure
        ado.act_update(links[i].work_item_id or 0, {"System.AssignedTo": AVA}, JAMAL)
    for i in DELETED:
        ado.act_delete(links[i].work_item_id or 0, JAMAL)
    for i in RESTORED:  # the deletion was synced (unlinked, external issue removed), the restore was lost
        link = links[i]
        ado.act_delete(link.work_item_id or 0, JAMAL)
        stored = rt.store.get_by_issue(link.sentry_org, link.sentry_issue_id)
        assert stored is not None
        rt.store.save(replace(stored, state=UNLINKED, external_issue_id=None))
        del sentry.world.org.external_issues[int(link.external_issue_id or 0)]
        ado.act_restore(link.work_item_id or 0, JAMAL)
    lost = sentry.new_error("backend", "KeyError", "lost issue.created")["issue"]["id"]
    old = sentry.new_error("backend", "IndexError", "first seen before the look-back window")["issue"]["id"]
    sentry.world.org.issues[int(old)].first_seen = datetime.now(UTC) - timedelta(days=3)
    world = World(stack, rt, links, lost, old)
    world.clear_journals()
    return world


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with sandbox_stack(workdir=str(tmp_path), with_host=False) as stack:
        yield build_world(stack)


def outcome(world: World) -> dict[str, Any]:
    """Both sides and the link, per pair, in each system's own terms (comparable across stacks)."""
    org = world.stack.sentry.world.org
    external = {x.issue_id for x in org.external_issues.values()}
    out: dict[str, Any] = {}
    for issue_id, issue in sorted(org.issues.items()):
        link = world.rt.store.get_by_issue(org.slug, str(issue_id))
        item = world.stack.ado.items.get(link.work_item_id) if link and link.work_item_id else None
        fields = item.current.fields if item else {}
        assigned = fields.get("System.AssignedTo")
        out[str(issue_id)] = (issue.status, issue.assigned_to, issue_id in external,
                              link.state if link else None, fields.get("System.State"),
                              assigned.unique_name if assigned else None, bool(item and item.deleted))
    return out


def in_sync(world: World) -> None:
    """Every linked pair agrees on status and assignee, and its link remembers exactly that."""
    org = world.stack.sentry.world.org
    for link in world.links:
        stored = world.rt.store.get_by_issue(link.sentry_org, link.sentry_issue_id)
        assert stored is not None
        if stored.state != LINKED:
            continue
        issue = org.issues[int(link.sentry_issue_id)]
        item = world.stack.ado.work_item(stored.work_item_id or 0).current.fields
        closed = item["System.State"] in ("Closed", "Resolved")
        assert closed == (issue.status == "resolved"), link.sentry_issue_id
        sentry_assignee = f"user:{issue.assigned_to.id}" if issue.assigned_to else None
        assert stored.synced.sentry_assignee == sentry_assignee
        ado_assignee = item.get("System.AssignedTo")
        assert stored.synced.ado_assignee == (ado_assignee.unique_name if ado_assignee else None)
        assert {None: None, "user:1": "ava@contoso.com", "user:2": "jamal@contoso.com"}[sentry_assignee] == \
            stored.synced.ado_assignee


def writes(world: World) -> Counter:
    return Counter((service, method) for service, kind, method in world.requests() if kind == "write")


def reads(world: World) -> int:
    return sum(1 for _, kind, _ in world.requests() if kind == "read")


@pytest.mark.slow
def test_one_run_repairs_every_drift_and_a_second_run_writes_nothing(world: World,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    calls_before = world.calls()
    with caplog.at_level(logging.INFO, logger="shared.reconcile.engine"):
        report = world.reconciler().run()
    assert report.finished and not report.errors and report.links == N
    assert report.pages == math.ceil(N / 200)

    # every drift repaired, with exactly one write per change
    in_sync(world)
    org = world.stack.sentry.world.org
    links = world.links
    for link in links[:PER_KIND]:  # resolved in Sentry -> closed in ADO
        assert world.stack.ado.work_item(link.work_item_id or 0).current.fields["System.State"] == "Closed"
    for link in links[2 * PER_KIND:3 * PER_KIND]:  # closed in ADO -> resolved in Sentry
        assert org.issues[int(link.sentry_issue_id)].status == "resolved"
    for i in CONFLICTS:  # latest wins: ADO's change was the later, so its (Ava -> Alice) stands
        assert org.issues[int(links[i].sentry_issue_id)].assigned_to.id == 1
    assert len(report.decisions) == len(CONFLICTS)
    assert all("assignee: ado wins" in d for d in report.decisions)
    assert sum("reconcile conflict" in r.getMessage() for r in caplog.records) == len(CONFLICTS)
    external = {x.issue_id for x in org.external_issues.values()}
    for i in DELETED:
        stored = world.rt.store.get_by_issue("acme", links[i].sentry_issue_id)
        assert stored.state == UNLINKED and int(links[i].sentry_issue_id) not in external
    for i in RESTORED:
        stored = world.rt.store.get_by_issue("acme", links[i].sentry_issue_id)
        assert stored.state == LINKED and int(links[i].sentry_issue_id) in external
    created = world.rt.store.get_by_issue("acme", world.lost_issue_id)
    assert created is not None and created.is_linked and report.created == 1
    assert world.rt.store.get_by_issue("acme", world.old_issue_id) is None  # outside the look-back window
    assert report.unlinked == len(DELETED)

    # the API calls: the batched reads, the writes, and a fixed handful per run -- none per link
    per_side = 4 * PER_KIND // 2 + len(CONFLICTS)
    assert writes(world) == Counter({
        ("ado", "PATCH"): PER_KIND * 2,  # Sentry's status and assignee changes
        ("sentry", "PUT"): PER_KIND * 2 + len(CONFLICTS),  # ADO's changes and the conflicts ADO won
        ("sentry", "DELETE"): len(DELETED),  # external issues of deleted work items
        ("sentry", "POST"): len(RESTORED) + 1,  # relinked restores, and the new work item's link
        ("ado", "POST"): 1,  # the lost issue.created's work item
    })
    assert report.drifted == per_side * 2 - len(CONFLICTS) + len(DELETED) + len(RESTORED)
    batch_reads = math.ceil(N / 200) + math.ceil(N / 100)
    # once per run: projects and the look-back scan; per conflict: the issue (its activity dates the
    # Sentry change); for the new work item: its type's fields and the latest event
    fixed = 2 + len(CONFLICTS) + 2
    # and the store-cached look-ups (an hour each): states, bridge identity, members. Workers that
    # miss the cache together wait for one load, so each is read exactly once.
    cached = Counter(path for service, kind, path in world.reads() if path in CACHED)
    assert set(cached) == set(CACHED) and set(cached.values()) == {1}
    assert reads(world) == batch_reads + fixed + sum(cached.values())
    assert world.calls() - calls_before == len(world.requests())  # every call is in the journals

    # a second run finds nothing to do and makes no writes; the caches spare even the fixed reads
    world.clear_journals()
    again = world.reconciler().run()
    assert again.finished and again.drifted == 0 and again.writes == 0 and not again.errors
    assert writes(world) == Counter()
    linked_now = N + 1  # the new work item's link is read back too
    assert reads(world) == math.ceil(linked_now / 200) + math.ceil(linked_now / 100) + 2


@pytest.mark.slow
def test_an_interrupted_run_resumes_and_ends_like_an_uninterrupted_one(world: World, tmp_path: Path) -> None:
    first = world.reconciler().run(max_pages=2)
    assert not first.finished and first.pages == 2 and first.links == 400 and first.created == 0
    rest = world.reconciler().run()
    assert rest.finished and rest.resumed_after is not None and rest.links == N - 400
    interrupted = outcome(world)
    (tmp_path / "other").mkdir()
    with sandbox_stack(workdir=str(tmp_path / "other"), with_host=False) as other_stack:
        other = build_world(other_stack)
        whole = other.reconciler().run()
        assert outcome(other) == interrupted
    assert first.writes + rest.writes == whole.writes
    assert first.drifted + rest.drifted == whole.drifted
    assert world.reconciler().run().writes == 0


@pytest.mark.slow
def test_dry_run_plans_everything_and_changes_nothing(world: World) -> None:
    before = outcome(world)
    links_before = [world.rt.store.get_by_issue("acme", link.sentry_issue_id) for link in world.links]
    report = world.reconciler().run(dry_run=True)
    assert report.finished and not report.errors
    assert writes(world) == Counter()
    assert outcome(world) == before
    assert [world.rt.store.get_by_issue("acme", link.sentry_issue_id) for link in world.links] == links_before
    assert world.rt.store.get_marker("checkpoint", "reconcile") is None
    planned = [a for a in report.planned if a.get("kind") != "skip"]
    assert len(planned) == report.writes > 0
    assert Counter(a["kind"] for a in planned)["create_work_item"] == 1
    # the real run then does what the dry run planned
    real = world.reconciler().run()
    # ... plus the new work item's Sentry link, a follow-up known only once the work item exists
    assert real.writes == sum(writes(world).values()) == report.writes + 1


def test_a_stopped_run_reports_progress_and_keeps_its_checkpoint(tmp_path: Path) -> None:
    """Small and fast: the deadline stops a run after the page in hand; the next resumes there."""
    with sandbox_stack(workdir=str(tmp_path), with_host=False) as stack:
        rt = runtime()
        links = seed_pairs(stack.ado, stack.sentry, 5, stack.ado.base_url)
        store_links(rt.store, links)
        drift(stack.ado, stack.sentry, links[4], "sentry_status")
        seen: list[Report] = []
        ticks = iter(range(100))
        engine = Reconciler(rt.config, rt.store, rt.ado, rt.sentry, rt.syncer, page_size=2,
                            progress=lambda r: seen.append(replace(r)), clock=lambda: float(next(ticks)))
        first = engine.run(deadline_s=0.5)
        assert not first.finished and first.pages == 1 and [r.links for r in seen] == [2]
        assert rt.store.get_marker("checkpoint", "reconcile") == {"after": f"acme:{links[1].sentry_issue_id.zfill(20)}",
                                                                  "finished": False, "by_state": {"linked": 2},
                                                                  "pass": 1}
        assert status_record.link_counts(rt.store) is None  # no complete pass yet
        rest = engine.run()
        assert rest.finished and rest.links == 3 and rest.writes == 1
        assert engine.pass_number == 1  # the resumed run continued the pass
        # the resumed pass counts the whole store: the links the stopped run read, and its own
        assert status_record.link_counts(rt.store)["by_state"] == {"linked": 5}
        runs = status_record.recent_runs(rt.store)
        assert [(r["finished"], r["links"], r["writes"], r["resumed"]) for r in runs] == [
            (True, 3, 1, True), (False, 2, 0, False)]
        assert runs[0]["api_calls"] > 0 and runs[0]["duration_s"] > 0
        assert stack.ado.work_item(links[4].work_item_id or 0).current.fields["System.State"] == "Closed"
        assert rt.store.get_marker("checkpoint", "reconcile") == {"after": None, "finished": True, "pass": 1}
        engine.run()
        assert engine.pass_number == 2  # a new pass: the next slice of links reads its Sentry comments


def test_a_failure_carrying_a_late_work_items_first_comments_is_reported_and_retried(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The run that creates a lost ``issue.created``'s work item carries the comments written
    before it; when that fails, the run's report says so (it was silently dropped) and the next
    run carries them, once."""
    with sandbox_stack(workdir=str(tmp_path), with_host=False) as stack:
        rt = runtime()
        issue = stack.sentry.new_error("backend", "KeyError", "lost issue.created with a comment")["issue"]
        stack.sentry.comment("alice@example.com", issue["id"], "written before the work item")
        failing = rt.sentry.list_comments

        def unavailable(issue_id: str) -> list[dict[str, Any]]:
            raise RuntimeError("Sentry is unavailable")

        monkeypatch.setattr(rt.sentry, "list_comments", unavailable)
        first = Reconciler(rt.config, rt.store, rt.ado, rt.sentry, rt.syncer).run()
        link = rt.store.get_by_issue("acme", issue["id"])
        assert first.created == 1 and link is not None and link.is_linked
        assert any(issue["id"] in e and "Sentry is unavailable" in e for e in first.errors), first.errors
        monkeypatch.setattr(rt.sentry, "list_comments", failing)
        Reconciler(rt.config, rt.store, rt.ado, rt.sentry, rt.syncer).run()
        Reconciler(rt.config, rt.store, rt.ado, rt.sentry, rt.syncer).run()
        texts = [c.text for c in stack.ado.work_item(link.work_item_id or 0).comments]
        assert len(texts) == 1 and texts[0].endswith("written before the work item")
