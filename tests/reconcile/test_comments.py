"""Comment drift (pure): which lists reconciliation reads, and what it writes from them."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from shared.actions import (
    AddAdoComment,
    AddSentryComment,
    DeleteAdoComment,
    DeleteSentryComment,
    UpdateAdoComment,
    UpdateSentryComment,
)
from shared.mapping import comments
from shared.reconcile.comments import RECHECK_PASSES, Counts, comment_actions, counts, needs_read, rechecked
from shared.store.model import LINKED, Link, SyncedValues

BRIDGE = "bridge@contoso.com"


def link(**kw) -> Link:
    base = Link(sentry_org="acme", sentry_issue_id="7", ado_project="Shop", work_item_id=42, state=LINKED,
                synced=SyncedValues(sentry_comments=1, ado_comments=1, ado_changed_at="2026-11-30T07:00:00Z"))
    return replace(base, **kw)


def note(id: int, text: str, name: str = "Alice") -> dict:
    return {"id": str(id), "user": {"name": name}, "data": {"text": text}}


def ado(id: int, text: str, by: str = "ava@contoso.com", deleted: bool = False, fmt: str = "markdown") -> dict:
    return {"id": id, "text": text, "format": fmt, "isDeleted": deleted, "version": 1,
            "createdBy": {"displayName": "Ava Chen", "uniqueName": by}}


def plan(lnk: Link, notes=None, listed=None, markdown: bool = True):
    return comment_actions(lnk, notes, listed, org="acme", to_ado=True, to_sentry=True, ado_markdown=markdown,
                           bridge_ado_identity=BRIDGE)


def test_a_quiet_link_reads_no_list():
    issue = {"numComments": 1}
    item = {"fields": {"System.CommentCount": 1, "System.ChangedDate": "2026-11-30T07:00:00Z"}}
    assert needs_read(link(), counts(issue, item)) == (False, False)


def test_only_the_side_that_moved_is_read():
    assert needs_read(link(), Counts(2, 1, "2026-11-30T07:00:00Z")) == (True, False)
    assert needs_read(link(), Counts(1, 2, "2026-11-30T07:00:00Z")) == (False, True)
    assert needs_read(link(), Counts(1, 1, "2026-11-30T07:05:00Z")) == (False, True)  # an ADO edit or deletion
    legacy = link(synced=SyncedValues())  # a link from before counts were kept, on an issue with no comments
    assert needs_read(legacy, Counts(0, 0, None)) == (False, False)


def test_lost_comments_are_carried_both_ways_once():
    actions = plan(link(), [note(5, "from sentry")], [ado(9, "from **ado**")], markdown=False)
    add_ado, add_sentry = actions
    assert isinstance(add_ado, AddAdoComment) and add_ado.source_id == "sentry:5" and add_ado.counted
    assert add_ado.text.startswith("<p><strong>Alice</strong> (via Sentry)")  # Server: HTML
    assert isinstance(add_sentry, AddSentryComment) and add_sentry.source_id == "ado:9"
    assert add_sentry.text == "**Ava Chen** (via Azure DevOps): from **ado**"
    carried = add_sentry.link_after(add_ado.link_after(link(), {"id": 11, "version": 1}), {"id": "12"})
    assert carried.copy_of("sentry:5")[0] == "ado:11" and carried.copy_of("ado:9")[0] == "sentry:12"
    # the copies themselves are listed next time: never carried back, nothing else to do
    again = plan(carried, [note(5, "from sentry"), note(12, add_sentry.text, "sentry-ado")],
                 [ado(9, "from **ado**"), ado(11, add_ado.text, by=BRIDGE, fmt="html")])
    assert again == []


def test_edits_update_the_copy_and_deletions_delete_it():
    lnk = link(comment_ids=("sentry:5", "ado:11", "ado:9", "sentry:12"),
               comment_copies={"sentry:5": f"ado:11#{comments.digest('v1')}",
                               "ado:9": f"sentry:12#{comments.digest('a1')}"})
    actions = plan(lnk, [note(5, "v2")], [ado(9, "a2")])
    assert [type(a) for a in actions] == [UpdateAdoComment, UpdateSentryComment]
    assert actions[0].comment_id == 11 and actions[1].note_id == 12 and "a2" in actions[1].text
    gone = plan(lnk, [], [ado(9, "a1", deleted=True)])
    assert [type(a) for a in gone] == [DeleteAdoComment, DeleteSentryComment]
    assert (gone[0].comment_id, gone[1].note_id) == (11, 12)
    after = gone[1].link_after(gone[0].link_after(lnk))
    assert after.comment_copies == {} and {"sentry:5", "ado:9"} <= set(after.comment_ids)
    assert plan(after, [], [ado(9, "a1", deleted=True)]) == []


def test_the_bridges_own_comments_are_never_carried():
    ours = ado(3, "**Alice** (via Sentry): hi", by=BRIDGE)
    person_quoting = ado(4, "**Bob** (via Azure DevOps): pasted", by="ava@contoso.com")
    assert plan(link(), [note(1, "**Ava** (via Azure DevOps): x")], [ours, person_quoting]) == []


def test_a_side_that_does_not_sync_comments_is_not_planned():
    actions = comment_actions(link(), [note(5, "x")], [ado(9, "y")], org="acme", to_ado=False, to_sentry=True,
                              ado_markdown=True, bridge_ado_identity=BRIDGE)
    assert [type(a) for a in actions] == [AddSentryComment]


def test_links_with_sentry_comments_take_turns_reading_the_list_a_lost_edit_leaves_unmoved():
    """Sentry shows no sign of an edit (no count or date moves), nor of a deletion masked by an
    addition: a link with comments reads its Sentry list on its turn, once every RECHECK_PASSES
    passes; a link without comments never does, and ADO's side never needs a turn."""
    quiet = Counts(1, 1, "2026-11-30T07:00:00Z")
    turns = [p for p in range(1, 2 * RECHECK_PASSES + 1) if needs_read(link(), quiet, p)[0]]
    assert len(turns) == 2 and turns[1] - turns[0] == RECHECK_PASSES
    assert not any(needs_read(link(), quiet, p)[1] for p in range(1, RECHECK_PASSES + 1))
    assert needs_read(link(), quiet) == (False, False)  # no pass: no turn (a work item just created)
    bare = link(synced=SyncedValues(sentry_comments=0, ado_comments=0))
    assert not any(needs_read(bare, Counts(0, 0, None), p)[0] for p in range(RECHECK_PASSES))
    # the turns spread links evenly, whatever their ids: a pass reads about 1 in RECHECK_PASSES
    per_pass = Counter(p for i in range(4_800) for p in range(RECHECK_PASSES)
                       if rechecked(link(sentry_issue_id=str(1_001_007 + 1000 * i)), quiet, p))
    assert len(per_pass) == RECHECK_PASSES and sum(per_pass.values()) == 4_800
    assert max(per_pass.values()) < 1.3 * 4_800 / RECHECK_PASSES


def test_a_deletion_masked_by_an_addition_is_found_both_ways():
    """One comment deleted and one added, both webhooks lost: the count is unchanged. ADO's change
    date moved (read now); Sentry's list is read on the link's turn. Either list shows both."""
    lnk = link(comment_ids=("sentry:5", "ado:11", "ado:9", "sentry:12"),
               comment_copies={"sentry:5": f"ado:11#{comments.digest('gone')}",
                               "ado:9": f"sentry:12#{comments.digest('gone too')}"})
    assert needs_read(lnk, Counts(1, 1, "2026-11-30T08:00:00Z")) == (False, True)
    actions = plan(lnk, [note(6, "new in Sentry")], [ado(9, "gone too", deleted=True), ado(10, "new in ADO")])
    assert [type(a) for a in actions] == [AddAdoComment, DeleteAdoComment, AddSentryComment, DeleteSentryComment]
    assert (actions[0].source_id, actions[1].comment_id, actions[2].source_id, actions[3].note_id) == \
        ("sentry:6", 11, "ado:10", 12)
