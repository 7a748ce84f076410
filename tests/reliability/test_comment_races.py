"""Comments at most once when reconciliation and late webhooks race, and edits and deletions that
arrive late, twice or out of order, on one worker and on several app instances at once (each its own
process with its own queue worker, sharing the link store): through the real HTTP webhook routes,
the real queue functions and real reconcile runs against the emulators. Every comment ends present
exactly once, in its latest text, on both sides, and a lost Sentry edit or a deletion masked by an
addition is recovered within the reconcile turns."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from sandbox.core import Faults
from sandbox.stack import SandboxStack, sandbox_stack
from shared.reconcile.comments import RECHECK_PASSES
from shared.reconcile.run import reconciler
from shared.runtime import runtime
from tests.reliability.hosts import app_instances
from tests.reliability.scenario import ADO_PEOPLE, HookTap, write_rules
from tests.reliability.test_ordering import deliver, linked

AVA = ADO_PEOPLE["alice@example.com"]


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[SandboxStack]:
    with sandbox_stack(workdir=str(tmp_path), sync_config=write_rules(tmp_path)) as s:
        yield s


def ado_texts(stack: SandboxStack, wid: int) -> list[str]:
    return [c.text for c in stack.ado.work_item(wid).comments if not c.is_deleted]


def sentry_texts(issue_id: str) -> list[str]:
    return [c["data"]["text"] for c in runtime().sentry.list_comments(issue_id)]


def test_reconcile_carrying_a_comment_then_its_late_webhooks_make_one_copy(stack: SandboxStack) -> None:
    issue_id, wid = linked(stack)
    taps = HookTap(stack.sentry), HookTap(stack.ado)
    with taps[0].hold() as sentry_late, taps[1].hold() as ado_late:
        stack.sentry.comment("alice@example.com", issue_id, "late from Sentry")
        stack.ado.act_comment(wid, "late from ADO", as_=AVA)
    reconciler(runtime()).run()  # the webhooks have not arrived: reconciliation carries both
    assert sum("late from Sentry" in t for t in ado_texts(stack, wid)) == 1
    assert sum("late from ADO" in t for t in sentry_texts(issue_id)) == 1
    deliver(stack, [*sentry_late, *ado_late, *sentry_late])  # then they arrive, one of them twice
    assert sum("late from Sentry" in t for t in ado_texts(stack, wid)) == 1
    assert sum("late from ADO" in t for t in sentry_texts(issue_id)) == 1
    reconciler(runtime()).run()
    assert len(ado_texts(stack, wid)) == 2 and len(sentry_texts(issue_id)) == 2


def test_an_edit_and_a_deletion_delivered_late_or_twice_change_the_copy_once(stack: SandboxStack) -> None:
    issue_id, wid = linked(stack)
    note = stack.sentry.comment("alice@example.com", issue_id, "v1")
    stack.settle()
    tap = HookTap(stack.sentry)
    with tap.hold() as edits:
        stack.sentry.edit_note("alice@example.com", issue_id, note["id"], "v2")
        stack.sentry.edit_note("alice@example.com", issue_id, note["id"], "v3")
    deliver(stack, [edits[1], edits[0], edits[1]])  # reordered and repeated: the newest text is carried
    [copy] = stack.ado.work_item(wid).comments
    assert copy.text.endswith("v3") and copy.version == 2  # one edit; the late v2 read v3 and changed nothing
    with tap.hold() as deleted:
        stack.sentry.delete_note("alice@example.com", issue_id, note["id"])
    deliver(stack, [*deleted, *deleted])
    assert ado_texts(stack, wid) == []
    assert stack.host.poison == {}


def test_a_deletion_delivered_before_its_creation_and_edit_makes_no_copy(stack: SandboxStack) -> None:
    issue_id, wid = linked(stack)
    tap = HookTap(stack.sentry)
    with tap.hold() as hooks:
        note = stack.sentry.comment("alice@example.com", issue_id, "said")
        stack.sentry.edit_note("alice@example.com", issue_id, note["id"], "said, edited")
        stack.sentry.delete_note("alice@example.com", issue_id, note["id"])
    created, edited, deleted = hooks
    deliver(stack, [deleted, edited, created, deleted])
    writes = [e for e in stack.ado.journal.entries() if e["method"] != "GET" and "/comments" in e["path"]]
    assert ado_texts(stack, wid) == [] and writes == []
    assert reconciler(runtime()).run().writes == 0 and ado_texts(stack, wid) == []


def notes(stack: SandboxStack, issue_id: str) -> list[str]:
    """The issue's comments as Sentry holds them (read in the emulator: no API call to count)."""
    return [c.text for c in sorted(stack.sentry.world.org.comments.values(), key=lambda c: c.id)
            if str(c.issue_id) == str(issue_id)]


def sentry_list_reads(stack: SandboxStack) -> int:
    return len([e for e in stack.sentry.journal.entries()
                if e["method"] == "GET" and e["path"].rstrip("/").endswith("/comments")])


def copies_of(stack: SandboxStack, wid: int, text: str) -> list[str]:
    """The live ADO comments carrying a Sentry comment whose text ends with `text`."""
    return [c.text for c in stack.ado.work_item(wid).comments if not c.is_deleted and c.text.endswith(f": {text}")]


def test_a_lost_sentry_edit_and_deletions_masked_by_additions_are_recovered_both_ways(stack: SandboxStack) -> None:
    """Sentry moves nothing on an edit, and one deletion plus one addition leave both counts as they
    were. ADO's change date gives its side away at once; Sentry's list is read on the link's turn,
    once in RECHECK_PASSES passes, and not otherwise."""
    issue_id, wid = linked(stack)
    kept = stack.sentry.comment("alice@example.com", issue_id, "v1")
    doomed = stack.sentry.comment("alice@example.com", issue_id, "doomed in Sentry")
    ado_doomed = stack.ado.act_comment(wid, "doomed in ADO", as_=AVA)
    stack.settle()
    reconciler(runtime()).run()
    assert len(ado_texts(stack, wid)) == 3 and len(notes(stack, issue_id)) == 3
    for emulator in (stack.sentry, stack.ado):
        emulator.set_faults(Faults(webhook_drop_rate=1.0))
    stack.sentry.edit_note("alice@example.com", issue_id, kept["id"], "v2")
    stack.sentry.delete_note("alice@example.com", issue_id, doomed["id"])
    stack.sentry.comment("alice@example.com", issue_id, "added in Sentry")
    stack.ado.act_delete_comment(wid, ado_doomed.id, as_=AVA)
    stack.ado.act_comment(wid, "added in ADO", as_=AVA)
    stack.settle()
    for emulator in (stack.sentry, stack.ado):
        emulator.set_faults(Faults())
    reads = sentry_list_reads(stack)
    reconciler(runtime()).run()  # ADO's side at once: its change date moved
    texts = notes(stack, issue_id)
    assert sum("added in ADO" in t for t in texts) == 1 and not any("doomed in ADO" in t for t in texts)
    for _ in range(RECHECK_PASSES):
        reconciler(runtime()).run()
    assert copies_of(stack, wid, "v2") and not copies_of(stack, wid, "v1")
    assert len(copies_of(stack, wid, "v2")) == len(copies_of(stack, wid, "added in Sentry")) == 1
    assert not copies_of(stack, wid, "doomed in Sentry")
    assert len(ado_texts(stack, wid)) == 3  # kept, added in Sentry; ADO's own added
    assert len(notes(stack, issue_id)) == 4  # kept, added; the copy added; the deleted one's copy emptied
    assert sentry_list_reads(stack) - reads == 1  # the link's one turn in RECHECK_PASSES passes
    assert stack.host.poison == {}


def post_to(url: str, hook) -> None:
    """Deliver a held webhook to one app instance's route (the same path on another base URL)."""
    path = hook.url.split("/api/", 1)[1]
    resp = requests.post(f"{url}/api/{path}", data=hook.body, headers=hook.headers, timeout=30)
    assert resp.status_code == 202, resp.text


def test_edits_and_deletions_on_several_workers_with_reconcile_racing_end_once_in_the_latest_text(
        stack: SandboxStack) -> None:
    """Three app instances (this stack's host and two more processes), each with its own queue
    worker, share the link store. Sentry's creations, edits and deletions are delivered late, each
    two or three times, shuffled across the instances at once, while reconcile runs race them; ADO
    edits and deletes a carried comment meanwhile (no hook). At the end every comment is present
    once, in its latest text, on both sides, and one more pass finds nothing to do."""
    issue_id, wid = linked(stack)
    first = stack.sentry.comment("alice@example.com", issue_id, "first v1")
    from_ado = stack.ado.act_comment(wid, "from ADO v1", as_=AVA)
    gone_ado = stack.ado.act_comment(wid, "from ADO, deleted", as_=AVA)
    stack.settle()
    assert len(ado_texts(stack, wid)) == 3 and len(sentry_texts(issue_id)) == 3
    tap = HookTap(stack.sentry)
    with tap.hold() as held:
        stack.sentry.edit_note("alice@example.com", issue_id, first["id"], "first v2")
        stack.sentry.edit_note("alice@example.com", issue_id, first["id"], "first v3")
        second = stack.sentry.comment("alice@example.com", issue_id, "second v1")
        stack.sentry.edit_note("alice@example.com", issue_id, second["id"], "second v2")
        doomed = stack.sentry.comment("alice@example.com", issue_id, "third, deleted")
        stack.sentry.edit_note("alice@example.com", issue_id, doomed["id"], "third, edited then deleted")
        stack.sentry.delete_note("alice@example.com", issue_id, doomed["id"])
    stack.ado.act_edit_comment(wid, from_ado.id, "from ADO v2", as_=AVA)
    stack.ado.act_delete_comment(wid, gone_ado.id, as_=AVA)
    rng = random.Random(19)
    deliveries = [h for h in held for _ in range(rng.choice((2, 3)))]
    rng.shuffle(deliveries)
    with app_instances(stack.env, count=2) as others:
        urls = [stack.app_url, *others]

        def worker(k: int) -> None:
            for i, hook in enumerate(deliveries[k::len(urls)]):
                post_to(urls[(k + i) % len(urls)], hook)

        def reconciling() -> None:
            for _ in range(2):
                reconciler(runtime()).run()

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(len(urls))]
        threads.append(threading.Thread(target=reconciling))
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        for url in others:
            assert requests.post(f"{url}/admin/drain", timeout=120).json()["poison"] == {}
        stack.settle()
    assert stack.host.poison == {}
    # the edits reached their copies, each once, in the newest text, whatever order they came in
    for source, latest in (("first", "first v3"), ("second", "second v2")):
        assert [t for t in ado_texts(stack, wid) if f": {source} " in t] == copies_of(stack, wid, latest), latest
        assert len(copies_of(stack, wid, latest)) == 1
    reconciler(runtime()).run()  # what a late webhook left behind (a copy of a comment deleted first)
    assert len(copies_of(stack, wid, "first v3")) == 1 and len(copies_of(stack, wid, "second v2")) == 1
    assert len(ado_texts(stack, wid)) == 3  # two from Sentry; ADO's own edited one (the other deleted)
    texts = sentry_texts(issue_id)
    assert sum(t.endswith("from ADO v2") for t in texts) == 1 and not any("from ADO, deleted" in t for t in texts)
    assert len(texts) == 4, texts  # two of Sentry's, the edited copy, the deleted one's copy emptied
    calm = reconciler(runtime()).run()
    assert calm.writes == 0 and not calm.errors
