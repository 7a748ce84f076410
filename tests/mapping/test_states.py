"""The state mapping, table by table, for every stock process and an inherited one."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.config import StateRules
from shared.mapping import states as sm
from shared.mapping.states import MoveTo, StateMappingError, Stay
from tests.mapping.processes import AGILE_BUG, BASIC_ISSUE, CMMI_BUG, CUSTOM_BUG, PROCESSES, SCRUM_BUG

DEFAULT = StateRules()
BOTH_DONE = StateRules(done_categories=("Resolved", "Completed"))
COMPLETED = StateRules(done_categories=("Completed",))
REMOVE = StateRules(ignored_action="remove")


# --- outbound: which state a Sentry status becomes, per process -----------------------------

@pytest.mark.parametrize(("states", "wit", "status", "current", "expected"), [
    (BASIC_ISSUE, "Issue", "resolved", "To Do", "Done"),
    (BASIC_ISSUE, "Issue", "resolved", "Doing", "Done"),
    (BASIC_ISSUE, "Issue", "unresolved", "Done", "Doing"),
    (AGILE_BUG, "Bug", "resolved", "New", "Closed"),
    (AGILE_BUG, "Bug", "resolved", "Resolved", "Closed"),  # Resolved is not done with Completed alone
    (AGILE_BUG, "Bug", "unresolved", "Closed", "Active"),
    (SCRUM_BUG, "Bug", "resolved", "Approved", "Done"),
    (SCRUM_BUG, "Bug", "unresolved", "Done", "Committed"),
    (CMMI_BUG, "Bug", "resolved", "Proposed", "Closed"),
    (CMMI_BUG, "Bug", "unresolved", "Closed", "Active"),
    (CUSTOM_BUG, "Bug", "resolved", "Triaged", "Verified"),  # first Completed state in workflow order
    (CUSTOM_BUG, "Bug", "unresolved", "Closed", "Triaged"),
    (AGILE_BUG, "bug", "resolved", "new", "Closed"),  # type and state names are case-insensitive
])
def test_outbound_moves(states, wit, status, current, expected):
    result = sm.outbound(status, None, current, states, wit, COMPLETED)
    assert isinstance(result, MoveTo)
    assert result.state == expected


@pytest.mark.parametrize(("states", "status", "current", "rules"), [
    (AGILE_BUG, "resolved", "Closed", DEFAULT),
    (AGILE_BUG, "resolved", "Resolved", BOTH_DONE),
    (AGILE_BUG, "unresolved", "Active", DEFAULT),
    (AGILE_BUG, "unresolved", "Resolved", COMPLETED),  # Resolved counts as open unless configured done
    (AGILE_BUG, "ignored", "Active", DEFAULT),  # ignored_action none leaves ADO alone
    (SCRUM_BUG, "unresolved", "Removed", DEFAULT),  # Removed is never reopened
    (SCRUM_BUG, "resolved", "Removed", DEFAULT),
    (SCRUM_BUG, "ignored", "Removed", REMOVE),
])
def test_outbound_stays(states, status, current, rules):
    assert isinstance(sm.outbound(status, None, current, states, "Bug", rules), Stay)


def test_by_default_resolved_and_completed_are_done_as_in_sentrys_own_integration():
    assert DEFAULT.done_categories == ("Resolved", "Completed")
    assert sm.outbound("resolved", None, "Active", AGILE_BUG, "Bug", DEFAULT) == MoveTo("Resolved", "Resolved")
    assert sm.inbound("Active", "Resolved", AGILE_BUG, "Bug", DEFAULT) == "resolved"
    assert sm.inbound("Resolved", "Closed", AGILE_BUG, "Bug", DEFAULT) is None


@pytest.mark.parametrize("rules", [DEFAULT, StateRules(done_categories=("Resolved", "Completed", "Removed"))])
def test_removed_never_resolves_unless_it_means_archived(rules):
    for old in ("New", "Committed", "Done"):
        assert sm.inbound(old, "Removed", SCRUM_BUG, "Bug", rules) is None
    assert sm.inbound("Committed", "Removed", SCRUM_BUG, "Bug", replace(rules, ignored_action="remove")) == "ignored"
    assert sm.outbound("resolved", None, "Committed", SCRUM_BUG, "Bug", rules) == MoveTo("Done", "Completed")


def test_done_categories_pick_the_earliest_done_category_in_workflow_order():
    assert sm.outbound("resolved", None, "Active", AGILE_BUG, "Bug", BOTH_DONE) == MoveTo("Resolved", "Resolved")
    # Basic has no Resolved category: the next configured one is used
    assert sm.outbound("resolved", None, "Doing", BASIC_ISSUE, "Issue", BOTH_DONE) == MoveTo("Done", "Completed")


def test_type_without_any_done_category_is_named_in_the_error():
    rules = StateRules(done_categories=("Resolved",))
    with pytest.raises(StateMappingError, match=r"'Issue' has no state in categories Resolved"):
        sm.outbound("resolved", None, "Doing", BASIC_ISSUE, "Issue", rules)


@pytest.mark.parametrize(("action", "states", "current", "expected"), [
    ("resolve", AGILE_BUG, "Active", MoveTo("Resolved", "Resolved")),
    ("remove", SCRUM_BUG, "Committed", MoveTo("Removed", "Removed")),
    ("remove", SCRUM_BUG, "Done", MoveTo("Removed", "Removed")),
])
def test_ignored_follows_ignored_action(action, states, current, expected):
    rules = StateRules(ignored_action=action)
    assert sm.outbound("ignored", "archived_forever", current, states, "Bug", rules) == expected


def test_ignored_remove_on_a_type_without_removed_is_an_error():
    with pytest.raises(StateMappingError, match="no state in categories Removed"):
        sm.outbound("ignored", None, "Active", AGILE_BUG, "Bug", REMOVE)


@pytest.mark.parametrize("substatus", ["regressed", "escalating"])
def test_regression_reopens_only_when_configured(substatus):
    assert sm.outbound("unresolved", substatus, "Closed", AGILE_BUG, "Bug", DEFAULT) == MoveTo("Active", "InProgress")
    off = StateRules(reopen_on_regression=False)
    result = sm.outbound("unresolved", substatus, "Closed", AGILE_BUG, "Bug", off)
    assert isinstance(result, Stay)
    assert "reopen_on_regression" in result.reason
    # a person reopening is not a regression
    assert isinstance(sm.outbound("unresolved", "ongoing", "Closed", AGILE_BUG, "Bug", off), MoveTo)


def test_override_wins_and_must_name_a_state_of_the_type():
    rules = StateRules(overrides={"Bug": {"resolved": "Resolved", "unresolved": "New"}})
    assert sm.outbound("resolved", None, "Active", AGILE_BUG, "Bug", rules) == MoveTo("Resolved", "Resolved")
    assert sm.outbound("unresolved", None, "Closed", AGILE_BUG, "Bug", rules) == MoveTo("New", "Proposed")
    bad = StateRules(overrides={"Bug": {"resolved": "Fixed"}})
    with pytest.raises(StateMappingError, match=r"states.overrides.Bug.resolved = 'Fixed'"):
        sm.outbound("resolved", None, "Active", AGILE_BUG, "Bug", bad)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: sm.outbound("closed", None, "New", AGILE_BUG, "Bug", DEFAULT), "Sentry status must be one of"),
    (lambda: sm.outbound("resolved", None, "Nope", AGILE_BUG, "Bug", DEFAULT), "'Nope' is not a state"),
    (lambda: sm.outbound("resolved", None, "New", (), "Bug", DEFAULT), "states of work item type 'Bug' are unknown"),
    (lambda: sm.sentry_status("frozen"), "unknown Sentry status 'frozen'"),
    (lambda: sm.parse_states([{"name": "X", "category": "Done"}]), r"states\[0\] \('X'\): category"),
    (lambda: sm.parse_states([{"category": "Proposed"}]), r"states\[0\]: expected"),
])
def test_bad_input_is_named(call, message):
    with pytest.raises(StateMappingError, match=message):
        call()


@pytest.mark.parametrize(("raw", "expected"), [
    ("resolvedInNextRelease", "resolved"), ("muted", "ignored"), ("unresolved", "unresolved"),
    ("reprocessing", None), ("pending_merge", None),
])
def test_sentry_status_aliases(raw, expected):
    assert sm.sentry_status(raw) == expected


def test_parse_states_reads_the_rest_answer():
    assert sm.parse_states([{"name": "New", "color": "b2b2b2", "category": "Proposed"}]) == (
        sm.WorkItemState("New", "Proposed"),)


# --- inbound: which Sentry status an ADO state change asks for -------------------------------

@pytest.mark.parametrize(("states", "old", "new", "rules", "expected"), [
    (BASIC_ISSUE, "Doing", "Done", DEFAULT, "resolved"),
    (BASIC_ISSUE, "Done", "Doing", DEFAULT, "unresolved"),
    (BASIC_ISSUE, "To Do", "Doing", DEFAULT, None),
    (AGILE_BUG, "Active", "Resolved", COMPLETED, None),  # Resolved is not done if configured so (sentry#79668)
    (AGILE_BUG, "Resolved", "Closed", COMPLETED, "resolved"),
    (AGILE_BUG, "Active", "Resolved", BOTH_DONE, "resolved"),
    (AGILE_BUG, "Resolved", "Closed", BOTH_DONE, None),  # done -> done is no change
    (AGILE_BUG, "Closed", "Active", DEFAULT, "unresolved"),
    (AGILE_BUG, "Active", "New", DEFAULT, None),  # not-done -> not-done never unresolves
    (AGILE_BUG, None, "Closed", DEFAULT, "resolved"),  # a missing oldValue counts as open
    (AGILE_BUG, None, "New", DEFAULT, None),
    (SCRUM_BUG, "Committed", "Done", DEFAULT, "resolved"),
    (SCRUM_BUG, "Done", "Removed", DEFAULT, None),  # Removed never reopens
    (SCRUM_BUG, "New", "Removed", DEFAULT, None),
    (SCRUM_BUG, "Removed", "New", DEFAULT, None),
    (SCRUM_BUG, "Removed", "Done", DEFAULT, "resolved"),
    (SCRUM_BUG, "New", "Removed", REMOVE, "ignored"),
    (SCRUM_BUG, "Done", "Removed", REMOVE, "ignored"),
    (SCRUM_BUG, "Removed", "New", REMOVE, "unresolved"),
    (CMMI_BUG, "Active", "Closed", DEFAULT, "resolved"),
    (CMMI_BUG, "Closed", "Proposed", DEFAULT, "unresolved"),
    (CUSTOM_BUG, "Triaged", "Verified", DEFAULT, "resolved"),
    (CUSTOM_BUG, "Verified", "Closed", DEFAULT, None),
])
def test_inbound(states, old, new, rules, expected):
    assert sm.inbound(old, new, states, "Bug", rules) == expected


def test_inbound_unknown_state_is_named():
    with pytest.raises(StateMappingError, match="'Shipped' is not a state of work item type 'Bug'"):
        sm.inbound("Active", "Shipped", AGILE_BUG, "Bug", DEFAULT)


# --- TF401320 fallback ------------------------------------------------------------------------

@pytest.mark.parametrize(("states", "rejected", "expected"), [
    (SCRUM_BUG, "New", "Approved"),
    (SCRUM_BUG, "Approved", None),
    (CUSTOM_BUG, "Triaged", "Active"),
    (CUSTOM_BUG, "Verified", "Closed"),
    (AGILE_BUG, "Closed", None),
])
def test_fallback_state(states, rejected, expected):
    assert sm.fallback_state(rejected, states, "Bug") == expected


# --- properties ------------------------------------------------------------------------------

PROCESS_NAMES = sorted(PROCESSES)
CATEGORY_SETS = [("Completed",), ("Resolved", "Completed")]


@given(process=st.sampled_from(PROCESS_NAMES), status=st.sampled_from(["resolved", "unresolved", "ignored"]),
       done=st.sampled_from(CATEGORY_SETS), action=st.sampled_from(["none", "resolve", "remove"]),
       data=st.data())
def test_every_status_survives_a_round_trip(process, status, done, action, data):
    """Sentry -> ADO -> Sentry: the state the item ends in stands for the status Sentry has, and the
    inbound rule applied to that very transition never asks Sentry for a different status."""
    wit, states = PROCESSES[process]
    has_removed = any(s.category == "Removed" for s in states)
    if action == "remove" and not has_removed:
        action = "none"
    rules = StateRules(done_categories=done, ignored_action=action)
    current = data.draw(st.sampled_from([s.name for s in states]))
    result = sm.outbound(status, None, current, states, wit, rules)
    final = result.state if isinstance(result, MoveTo) else current
    expected = {"resolve": "resolved"}.get(action, "ignored") if status == "ignored" else status
    stands_for = sm.status_of_state(final, states, wit, rules)
    if sm.meaning_of_state(current, states, wit, rules) == sm.INERT or (status == "ignored" and action == "none"):
        assert isinstance(result, Stay)  # the item is left alone: no claim about what it stands for
    else:
        assert stands_for == expected
    asked = sm.inbound(current, final, states, wit, rules)
    assert asked in (None, expected)


@given(process=st.sampled_from(PROCESS_NAMES), done=st.sampled_from(CATEGORY_SETS), data=st.data())
def test_inbound_then_outbound_is_stable(process, done, data):
    """Whatever status an ADO change asks Sentry for, syncing that status back leaves ADO alone."""
    wit, states = PROCESSES[process]
    rules = StateRules(done_categories=done)
    names = [s.name for s in states]
    old, new = data.draw(st.sampled_from(names)), data.draw(st.sampled_from(names))
    asked = sm.inbound(old, new, states, wit, rules)
    if asked is not None:
        assert isinstance(sm.outbound(asked, None, new, states, wit, rules), Stay)
