"""One bad record never stops a reconcile run.

The world of `test_engine` (1,000 drifted pairs) plus a few records that cannot be repaired: a link
saved for Sentry issue "0" (the issue report's), links with a malformed work item id and project,
links whose stored JSON is damaged, a pair whose Sentry issue was deleted, and a pair on each side
whose batch read fails (the service chokes on that one record). Work items deleted in ADO are in the
world already. One run repairs every healthy pair and reports each bad one, with its key, its reason
and the command that removes it, in the report and in the store for the status view; the checkpoint
moves past them and a second run writes nothing.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bench.seed import JAMAL
from sandbox.stack import sandbox_stack
from shared.reconcile.engine import PAGE_SIZE, SENTRY_IDS_PER_CALL
from shared.status import record
from shared.store import UNLINKED
from shared.store.base import issue_key, link_key
from tests.reconcile.test_engine import DELETED, N, World, build_world, in_sync, writes

MALFORMED = {"0": ({}, "sentry_issue_id must be"), "990000001": ({"work_item_id": -4}, "work_item_id must be"),
             "990000002": ({"ado_project": "Shop\tApi"}, "ado_project 'Shop\\tApi' holds a control character"),
             "990000003": ({"state": "bogus"}, "state must be one of")}
DAMAGED = {"990000011": '{"sentry_org": "acme", "sentry_issue_id": "990000011", "work_item_',  # cut short
           "990000012": '{"sentry_org": "acme", "sentry_issue_id": "990000012", "comment_ids": 5}',
           "990000013": "[1, 2]"}
SENTRY_GONE = 300  # index of the pair whose Sentry issue is deleted
CHOKES_ADO, CHOKES_SENTRY = 420, 640  # pairs whose batch read fails on the service's side


def _raw_sqlite(world: World) -> sqlite3.Connection:
    return sqlite3.connect(world.stack.env["SQLITE_PATH"], isolation_level=None)


def corrupt(world: World) -> dict[str, str]:
    """Add the bad records; answer each one's key and a word its reason must hold."""
    store, links = world.rt.store, world.links
    expected: dict[str, str] = {}
    template = links[-1]
    for issue_id, (changes, word) in MALFORMED.items():
        item = world.stack.ado.act_create("Shop", "Bug", {"System.Title": f"for {issue_id}"}, JAMAL)
        link = replace(template, **{"sentry_issue_id": issue_id, "work_item_id": item.id, "external_issue_id": "1",
                                    **changes})
        assert store.claim(link) is not None  # an older version saved these without checking
        expected[link_key(link)] = word
    with _raw_sqlite(world) as conn:
        for issue_id, text in DAMAGED.items():
            key = issue_key("acme", issue_id)
            conn.execute("INSERT INTO links (issue_key, work_item_key, version, data) VALUES (?, NULL, 1, ?)",
                         (key, text))
            expected[key] = "not readable"
    gone = links[SENTRY_GONE]
    del world.stack.sentry.world.org.issues[int(gone.sentry_issue_id)]
    expected[link_key(gone)] = "not found"
    expected[link_key(links[CHOKES_ADO])] = f"reading work item {links[CHOKES_ADO].work_item_id} failed"
    expected[link_key(links[CHOKES_SENTRY])] = f"reading Sentry issue {links[CHOKES_SENTRY].sentry_issue_id} failed"
    world.clear_journals()
    return expected


def choke_on(world: World, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """The services fail a whole batch read that holds one particular id (as a server error on one
    corrupt record does); the calls still go to the emulators, so they are counted and journaled."""
    bad_item, bad_issue = world.links[CHOKES_ADO].work_item_id, world.links[CHOKES_SENTRY].sentry_issue_id
    calls = {"ado": 0, "sentry": 0}
    ado_read, sentry_read = world.rt.ado.get_work_items, world.rt.sentry.get_issues_by_ids

    def ado(ids: list[int], **kw: Any) -> list[dict[str, Any]]:
        calls["ado"] += 1
        if bad_item in ids:
            raise RuntimeError("VS402337: the service failed reading one of the work items")
        return ado_read(ids, **kw)

    def sentry(ids: list[str]) -> list[dict[str, Any]]:
        calls["sentry"] += 1
        if bad_issue in [str(i) for i in ids]:
            raise RuntimeError("500 Internal Server Error")
        return sentry_read(ids)

    monkeypatch.setattr(world.rt.ado, "get_work_items", ado)
    monkeypatch.setattr(world.rt.sentry, "get_issues_by_ids", sentry)
    return calls


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with sandbox_stack(workdir=str(tmp_path), with_host=False) as stack:
        yield build_world(stack)


@pytest.mark.slow
def test_one_run_repairs_every_healthy_pair_and_reports_each_bad_one(world: World,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    expected = corrupt(world)
    calls = choke_on(world, monkeypatch)
    report = world.reconciler().run()

    assert report.finished and report.links == N + len(MALFORMED) + len(DAMAGED)
    reported = {bad.key: bad for bad in report.bad}
    assert set(reported) == set(expected), sorted(set(reported) ^ set(expected))
    for key, word in expected.items():
        assert word in reported[key].reason, reported[key]
    for key in (k for k, word in expected.items() if "failed" not in word):  # a failed read: next run
        assert reported[key].fix and reported[key].fix.startswith(f"sentry-ado links remove {key}")

    # every healthy pair is repaired; the deleted work items' links are unlinked, as always
    skipped = {SENTRY_GONE, CHOKES_ADO, CHOKES_SENTRY}
    world.links = [link for i, link in enumerate(world.links) if i not in skipped]
    in_sync(world)
    assert report.unlinked == len(DELETED)
    assert all(world.rt.store.get_by_issue("acme", world.links[i].sentry_issue_id).state == UNLINKED
               for i in DELETED)
    assert report.created == 1  # the lost issue.created of test_engine's world

    # one bad id costs a few more calls on its own page, not a failed page: the retry, then halves
    pages = math.ceil(report.links / PAGE_SIZE)
    assert calls["ado"] <= pages + 1 + 2 * math.ceil(math.log2(PAGE_SIZE))
    assert calls["sentry"] <= math.ceil(report.links / SENTRY_IDS_PER_CALL) + 1 + \
        2 * math.ceil(math.log2(SENTRY_IDS_PER_CALL))

    # recorded for the status view, bounded; the checkpoint moved past every one of them
    kept = {f["subject"]: f for f in record.recent_failures(world.rt.store) if f["source"] == "reconcile"}
    assert set(kept) == set(expected)
    assert all(kept[key]["reason"] == reported[key].reason for key in expected)
    assert all(f"fix: sentry-ado links remove {key}" in kept[key]["summary"] for key in expected
               if reported[key].fix)
    checkpoint = world.rt.store.get_marker("checkpoint", "reconcile")
    assert (checkpoint["after"], checkpoint["finished"]) == (None, True)
    assert report.by_state["damaged"] == len(DAMAGED)

    # a second run repairs nothing more, writes nothing, and reports the same records again
    world.clear_journals()
    again = world.reconciler().run()
    assert again.writes == 0 and not writes(world)
    assert {bad.key for bad in again.bad} == set(expected)
    assert len([f for f in record.recent_failures(world.rt.store) if f["source"] == "reconcile"]) == \
        len(expected)  # one record per link, replaced, not added



def test_a_failing_service_stops_the_run_after_a_bounded_number_of_reads(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Every read failing is an outage, not 40 bad records: the halving gives up after its budget and
    the run stops with the checkpoint where it was, instead of reading each id alone."""
    from bench.seed import seed_pairs, store_links
    from shared.reconcile.engine import FAILED_READS_PER_BATCH, ReadsFailing, Reconciler
    from shared.runtime import runtime

    with sandbox_stack(workdir=str(tmp_path), with_host=False) as stack:
        rt = runtime()
        store_links(rt.store, seed_pairs(stack.ado, stack.sentry, 40, stack.ado.base_url))
        calls = [0]

        def down(ids: list[int], **kw: Any) -> list[dict[str, Any]]:
            calls[0] += 1
            raise ConnectionError("503 Service Unavailable")

        monkeypatch.setattr(rt.ado, "get_work_items", down)
        with pytest.raises(ReadsFailing, match="ado batch reads keep failing"):
            Reconciler(rt.config, rt.store, rt.ado, rt.sentry, rt.syncer, page_size=40).run()
        assert calls[0] == 2 + FAILED_READS_PER_BATCH + 1
        assert rt.store.get_marker("checkpoint", "reconcile") is None  # the next run starts here again
