"""Several Sentry issues linked to one work item, in the pure core: what a sibling takes of the
bridge's write for another issue (shared/siblings.py), and the planner for each link of the work
item (a change of the work item reaches every issue; the bridge's write never reaches a sibling)."""

from __future__ import annotations

from dataclasses import replace

from shared.actions import AddAdoComment, AddSentryComment, FollowRevision, Skip, UpdateSentryIssue, UpdateWorkItem
from shared.mapping import comments
from shared.planner import RECONCILE, plan, plan_without_remote
from shared.siblings import announced, took_bridge_write, withdrawn
from shared.store.model import SyncedValues
from tests.test_planner import BRIDGE, CONFIG, ado_event, ado_updated, issue_event, kinds, linked, remote

BEFORE = SyncedValues(sentry_status="unresolved", ado_state="Active", ado_assignee=None, ado_rev=5,
                      ado_changed_at="2026-01-05T00:00Z", ado_comments=2)


def sibling(**synced):
    """Another Sentry issue (456) linked to the same work item 42."""
    base = {"sentry_status": "unresolved", "ado_state": "Active", "ado_rev": 5,
            "ado_changed_at": "2026-01-05T00:00Z", "ado_comments": 2} | synced
    return replace(linked(**base), sentry_issue_id="456", external_issue_id="901")


def test_a_sibling_takes_the_written_fields_and_follows_the_next_revision():
    after = replace(BEFORE, sentry_status="resolved", ado_state="Closed", ado_rev=6, ado_changed_at="2026-01-06T00:00Z")
    took = took_bridge_write(sibling(), BEFORE, after).synced
    assert (took.ado_state, took.ado_rev, took.ado_changed_at) == ("Closed", 6, "2026-01-06T00:00Z")
    assert took.sentry_status == "unresolved"  # its own Sentry issue is not touched by another's change


def test_a_sibling_behind_the_work_item_keeps_its_revision_to_see_the_change_it_missed():
    after = replace(BEFORE, ado_state="Closed", ado_rev=6)
    lagging = took_bridge_write(sibling(ado_rev=4), BEFORE, after).synced
    assert (lagging.ado_state, lagging.ado_rev) == ("Closed", 4)
    # a revision between the write's base and its answer is someone else's: not skipped for the sibling
    gap = took_bridge_write(sibling(), BEFORE, replace(BEFORE, ado_state="Closed", ado_rev=7)).synced
    assert (gap.ado_state, gap.ado_rev) == ("Closed", 5)


def test_a_sibling_counts_the_bridges_comment_when_it_counted_as_the_issue_did():
    after = replace(BEFORE, ado_comments=3, ado_changed_at="2026-01-06T00:00Z")
    took = took_bridge_write(sibling(), BEFORE, after).synced
    assert (took.ado_comments, took.ado_changed_at) == (3, "2026-01-06T00:00Z")
    assert (took.ado_rev, took.ado_state) == (5, "Active")
    other = took_bridge_write(sibling(ado_comments=7), BEFORE, after).synced
    assert other.ado_comments == 7
    assert took_bridge_write(sibling(), BEFORE, BEFORE) == sibling()


def test_a_work_item_change_is_planned_for_each_linked_issue_with_its_own_write():
    event = ado_updated({"System.State": {"oldValue": "Active", "newValue": "Closed"}})
    writes = [plan(event, link, remote(state="Closed", rev=6), CONFIG) for link in (linked(), sibling())]
    assert [kinds(w) for w in writes] == [["UpdateSentryIssue"], ["UpdateSentryIssue"]]
    assert [w[0].issue_id for w in writes] == ["123", "456"]
    assert all(isinstance(w[0], UpdateSentryIssue) and w[0].changes == {"status": "resolved"} for w in writes)


def test_the_bridges_write_for_one_issue_never_reaches_its_sibling():
    """Issue 123 resolved: the bridge closes work item 42 (rev 6). Its hook, planned for sibling 456,
    is told as the bridge's own write by content (who the hook names decides nothing): while the
    write is sent by its values in flight, once it is applied by the values the sibling took."""
    resolved = issue_event("resolved", "resolved")
    (write,) = plan(resolved, linked(), remote(), CONFIG)
    assert isinstance(write, UpdateWorkItem)
    early = ado_updated({"System.State": {"oldValue": "Active", "newValue": "Closed"}}, rev=6, by=BRIDGE)
    sending = announced(sibling(), [write])
    assert sending.in_flight == {"ado_state": "Closed"} and sending.synced == sibling().synced
    assert kinds(plan_without_remote(early, sending, CONFIG)) == ["Skip", "FollowRevision"]
    assert kinds(plan(early, sibling(), remote(state="Closed", rev=6), CONFIG)) == ["UpdateSentryIssue"]
    assert withdrawn(sending, [write]) == sibling()
    after = write.link_after(linked(), {"rev": 6, "fields": {"System.ChangedDate": "2026-01-06T00:00Z"}})
    carried = took_bridge_write(sibling(), linked().synced, after.synced)
    echo = ado_updated({"System.State": {"oldValue": "Active", "newValue": "Closed"}}, rev=6, by="Someone <x@y>")
    unknown_bridge = remote(state="Closed", rev=6, bridge_ado_identity=None)
    assert kinds(plan(echo, carried, unknown_bridge, CONFIG)) == ["Skip"]
    assert kinds(plan_without_remote(echo, carried, CONFIG)) == ["Skip"]  # no read for it
    # a sibling that was behind the work item keeps its rev, and is told by the value alone
    behind = took_bridge_write(sibling(ado_rev=4), linked().synced, after.synced)
    assert plan_without_remote(echo, behind, CONFIG) == [Skip(
        "work item 42 rev 6: System.State already as the link last synced (the bridge's own write coming "
        "back, for this issue or another issue of the work item)")]
    assert kinds(plan(echo, behind, unknown_bridge, CONFIG)) == ["Skip"]
    # without the sibling taking the write, the same hook would have resolved issue 456
    assert kinds(plan(echo, sibling(), unknown_bridge, CONFIG)) == ["UpdateSentryIssue"]


def test_a_later_change_by_a_person_still_reaches_every_issue():
    carried = took_bridge_write(sibling(), BEFORE, replace(BEFORE, ado_state="Closed", ado_rev=6))
    reopened = ado_updated({"System.State": {"oldValue": "Closed", "newValue": "Active"}}, rev=7)
    write, follow = plan(reopened, carried, remote(state="Active", rev=7), CONFIG)
    assert isinstance(write, Skip) and "already unresolved" in write.reason  # 456 never left unresolved
    assert isinstance(follow, FollowRevision) and follow.agreed["ado_state"] == "Active"
    closed = ado_updated({"System.State": {"oldValue": "Active", "newValue": "Closed"}}, rev=8)
    after_reopen = carried.with_synced(ado_state="Active", ado_rev=7)
    (write,) = plan(closed, after_reopen, remote(state="Closed", rev=8), CONFIG)
    assert isinstance(write, UpdateSentryIssue) and write.issue_id == "456"


def test_a_comment_on_the_work_item_goes_to_each_issue_and_the_bridges_copy_to_none():
    by_person = ado_event("workitem.commented", {"System.History": "repro on iOS too",
                                                 "System.ChangedBy": "Jane <jane@example.com>"},
                          rev=6, commentVersionRef={"commentId": 9})
    planned = [plan(by_person, link, remote(work_item=None), CONFIG) for link in (linked(), sibling())]
    assert [kinds(p) for p in planned] == [["AddSentryComment", "FollowRevision"]] * 2
    assert [p[0].issue_id for p in planned if isinstance(p[0], AddSentryComment)] == ["123", "456"]
    (carried,) = plan(issue_event("resolved", "resolved"), linked(), remote(), CONFIG)  # any Sentry write
    note = comments.to_ado("Alice", "seen on Android", True)
    copy = AddAdoComment("Shop", 42, note.text, note.markdown, "sentry:77")
    assert isinstance(carried, UpdateWorkItem) and copy.text.startswith("**Alice**")
    bridge_copy = ado_event("workitem.commented", {"System.History": copy.text, "System.ChangedBy": BRIDGE},
                            rev=6, commentVersionRef={"commentId": 10})
    for by in (BRIDGE, "Someone <x@y>"):  # told by its attribution, whoever the hook names
        hook = ado_event("workitem.commented", {**bridge_copy.body["resource"]["fields"], "System.ChangedBy": by},
                         rev=6, commentVersionRef={"commentId": 10})
        assert kinds(plan(hook, sibling(), remote(work_item=None, bridge_ado_identity=None), CONFIG)) == \
            ["Skip", "FollowRevision"]
    assert FollowRevision(6, None) == plan(bridge_copy, sibling(), remote(work_item=None), CONFIG)[1]


def test_reconciliation_that_read_a_sibling_before_the_bridges_write_finds_it_already_synced():
    """A pass that read a sibling's link before the bridge wrote the work item for another issue,
    and the work item after that write, sees a change; planned with the link as it is now (the write
    taken), it asks nothing of the sibling's issue."""
    carried = took_bridge_write(sibling(ado_rev=4), BEFORE, replace(BEFORE, ado_state="Closed", ado_rev=6))
    found = replace(ado_updated({"System.State": {"oldValue": "Active", "newValue": "Closed"}}, rev=6),
                    origin=RECONCILE)
    assert kinds(plan(found, carried, remote(state="Closed", rev=6), CONFIG)) == ["Skip"]
    assert kinds(plan(found, sibling(), remote(state="Closed", rev=6), CONFIG)) == ["UpdateSentryIssue"]
