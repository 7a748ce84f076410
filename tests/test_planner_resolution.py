"""Issue 18: how a work item moving to done resolves its Sentry issue (resolution strategy), what an
archived issue does (each substatus, both directions), and Removed. Webhooks and reconciliation plan
with the same rules: every case is planned from the hook and from reconciliation's synthesised event."""

from __future__ import annotations

from dataclasses import replace

import pytest

from shared.actions import Agreed, Skip, UpdateSentryIssue, UpdateWorkItem
from shared.config import ARCHIVED_SUBSTATUSES, RESOLUTION_STRATEGIES, Config, parse_rules
from shared.planner import plan
from shared.reconcile import drift
from tests.mapping.processes import AGILE_BUG, SCRUM_BUG
from tests.test_planner import CONFIG, _settings, ado_updated, issue_event, kinds, linked, remote

EXPECTED = {
    "resolve": {"status": "resolved"},
    "resolve_in_next_release": {"status": "resolved", "statusDetails": {"inNextRelease": True}},
    "resolve_in_current_release": {"status": "resolved", "statusDetails": {"inRelease": "latest"}},
}
UNRESOLVED_SUBSTATUSES = ("new", "ongoing", "regressed", "escalating")


def rules(states: str = "", route: str = "") -> Config:
    return Config(_settings(), parse_rules(f"""
[[routes]]
sentry_projects = ["backend"]
ado_project = "Shop"
{route}
[[routes]]
sentry_projects = ["frontend"]
ado_project = "Web"
[states]
done_categories = ["Completed"]
{states}
"""))


def issue(status: str, substatus: str | None) -> dict:
    return {"id": "123", "status": status, "substatus": substatus, "assignedTo": None,
            "project": {"slug": "backend"}}


def both_paths(config: Config, old: str, new: str, status: str, substatus: str | None, states=AGILE_BUG):
    """The plan for the hook (Sentry's status known from the link, and from the issue when read) and
    for reconciliation's event for the same change (it read the issue)."""
    link = linked(old, sentry_status=status)
    hook = ado_updated({"System.State": {"oldValue": old, "newValue": new}})
    now = {"System.State": new, "System.WorkItemType": "Bug", "System.ChangedDate": "2026-01-09T00:00:00Z"}
    work_item = {"id": 42, "rev": 6, "fields": now}
    reconciled = drift.ado_event(link, work_item, {"status"})
    seen = issue(status, substatus)
    return (plan(hook, link, remote(states, old, issue=seen), config),
            plan(reconciled, link, remote(states, new, rev=6, issue=seen), config))


@pytest.mark.parametrize("strategy", RESOLUTION_STRATEGIES)
def test_each_strategy_writes_its_status_details(strategy):
    config = rules(f'resolution_strategy = "{strategy}"')
    for actions in both_paths(config, "Active", "Closed", "unresolved", "ongoing"):
        assert kinds(actions) == ["UpdateSentryIssue"]
        assert actions[0].changes == EXPECTED[strategy]
        assert actions[0].synced["sentry_status"] == "resolved"


def test_a_route_strategy_overrides_the_default_and_other_routes_keep_it():
    config = rules('resolution_strategy = "resolve_in_current_release"',
                   route='resolution_strategy = "resolve_in_next_release"')
    assert config.rules.resolution_strategy("backend") == "resolve_in_next_release"
    assert config.rules.resolution_strategy("frontend") == "resolve_in_current_release"
    assert config.rules.resolution_strategy("elsewhere") == "resolve_in_current_release"
    hook, _ = both_paths(config, "Active", "Closed", "unresolved", "ongoing")
    assert hook[0].changes == EXPECTED["resolve_in_next_release"]


def test_unresolving_never_names_a_release():
    for actions in both_paths(rules('resolution_strategy = "resolve_in_next_release"'), "Closed", "Active",
                              "resolved", None):
        assert actions[0].changes == {"status": "unresolved"}


def test_without_release_is_the_plain_resolve_with_the_other_changes():
    update = UpdateSentryIssue("example", "123", {**EXPECTED["resolve_in_next_release"], "assignedTo": "user:1"})
    assert update.without_release().changes == {"status": "resolved", "assignedTo": "user:1"}
    assert UpdateSentryIssue("example", "123", {"status": "resolved"}).without_release() is None
    assert UpdateSentryIssue("example", "123", {"status": "ignored", "statusDetails": {"ignoreCount": 5}}
                             ).without_release() is None


@pytest.mark.parametrize("substatus", UNRESOLVED_SUBSTATUSES)
def test_an_unresolved_issue_of_any_substatus_is_resolved_by_done(substatus):
    for actions in both_paths(rules('resolution_strategy = "resolve_in_next_release"'), "Active", "Closed",
                              "unresolved", substatus):
        assert actions[0].changes == EXPECTED["resolve_in_next_release"]


@pytest.mark.parametrize("substatus", ARCHIVED_SUBSTATUSES)
def test_an_archived_issue_stays_archived_when_its_work_item_is_done(substatus):
    for actions in both_paths(rules(), "Active", "Closed", "ignored", substatus):
        assert not any(isinstance(a, UpdateSentryIssue) for a in actions), actions
        assert "stays archived" in actions[0].reason and substatus in actions[0].reason


@pytest.mark.parametrize("substatus", ARCHIVED_SUBSTATUSES)
def test_done_resolves_the_archived_substatuses_the_rules_list(substatus):
    config = rules(f'done_resolves_archived = ["{substatus}"]\nresolution_strategy = "resolve_in_next_release"')
    for actions in both_paths(config, "Active", "Closed", "ignored", substatus):
        assert actions[0].changes == EXPECTED["resolve_in_next_release"]
    others = [s for s in ARCHIVED_SUBSTATUSES if s != substatus]
    for other in others:
        for actions in both_paths(config, "Active", "Closed", "ignored", other):
            assert not any(isinstance(a, UpdateSentryIssue) for a in actions), actions


def test_an_archived_issue_whose_substatus_is_unknown_stays_archived():
    config = rules('done_resolves_archived = ["archived_forever"]')
    hook = ado_updated({"System.State": {"oldValue": "Active", "newValue": "Closed"}})
    actions = plan(hook, linked("Active", sentry_status="ignored"), remote(AGILE_BUG, "Active"), config)
    assert "substatus unknown" in actions[0].reason


@pytest.mark.parametrize("substatus", ARCHIVED_SUBSTATUSES)
@pytest.mark.parametrize(("action", "current", "expected"), [
    ("none", "Active", None), ("none", "Closed", None),
    ("resolve", "Active", "Closed"), ("resolve", "Closed", None),
])
def test_archiving_follows_ignored_action_for_every_archived_substatus(substatus, action, current, expected):
    config = rules(f'ignored_action = "{action}"')
    link = linked(current, sentry_status="resolved" if current == "Closed" else "unresolved")
    actions = plan(issue_event("ignored", "ignored", substatus), link, remote(AGILE_BUG, current), config)
    moved = [a for a in actions if isinstance(a, UpdateWorkItem)]
    assert [a.ops[0]["value"] for a in moved] == ([expected] if expected else [])


@pytest.mark.parametrize("substatus", ARCHIVED_SUBSTATUSES)
def test_archiving_with_ignored_action_remove_moves_to_removed(substatus):
    config = rules('ignored_action = "remove"')
    actions = plan(issue_event("ignored", "ignored", substatus), linked("Committed"), remote(SCRUM_BUG, "Committed"),
                   config)
    assert actions[0].ops[0]["value"] == "Removed"


@pytest.mark.parametrize(("substatus", "reopen", "expected"), [
    ("escalating", True, "Active"), ("escalating", False, None),
    ("regressed", True, "Active"), ("regressed", False, None),
    ("ongoing", False, "Active"), ("new", False, "Active"),  # a person reopening always reopens
])
def test_unresolving_reopens_the_done_item_per_substatus(substatus, reopen, expected):
    config = rules(f"reopen_on_regression = {str(reopen).lower()}")
    link = linked("Closed", sentry_status="ignored")  # archived while its item was done; now it escalates
    actions = plan(issue_event("unresolved", "unresolved", substatus), link, remote(AGILE_BUG, "Closed"), config)
    moved = [a.ops[0]["value"] for a in actions if isinstance(a, UpdateWorkItem)]
    assert moved == ([expected] if expected else [])


def test_escalation_after_done_left_it_archived_reopens_the_work_item():
    """Done left the archived issue archived; when it escalates, the work item is reopened."""
    config = rules()
    hook, _ = both_paths(config, "Active", "Closed", "ignored", "archived_until_escalating")
    link = replace(linked("Closed", sentry_status="ignored"), synced=replace(
        linked("Closed", sentry_status="ignored").synced, ado_rev=6))
    assert isinstance(hook[0], Skip)
    actions = plan(issue_event("unresolved", "unresolved", "escalating"), link, remote(AGILE_BUG, "Closed", rev=6),
                   config)
    assert actions[0].ops[0]["value"] == "Active"


@pytest.mark.parametrize("old", ["New", "Committed", "Done"])
def test_removed_never_resolves_or_reopens_sentry(old):
    status = "resolved" if old == "Done" else "unresolved"
    for actions in both_paths(rules(), old, "Removed", status, None, states=SCRUM_BUG):
        assert not any(isinstance(a, UpdateSentryIssue) for a in actions), actions


def test_removed_archives_when_the_rules_map_it_to_ignored():
    for actions in both_paths(rules('ignored_action = "remove"'), "Committed", "Removed", "unresolved", "ongoing",
                              states=SCRUM_BUG):
        assert actions[0].changes == {"status": "ignored", "substatus": "archived_forever"}


def test_the_sandbox_rules_resolve_plainly():
    assert CONFIG.rules.resolution_strategy("backend") == "resolve"


def test_a_lost_archive_a_later_hook_shows_is_recorded_so_done_leaves_it_archived():
    """An ``issue.assigned`` whose issue shows it archived (its ``issue.ignored`` was lost): the work
    item is left alone (ignored_action none) and the link records the status, at no call."""
    config = rules()
    hook = issue_event("assigned", "ignored", "archived_forever")
    actions = plan(hook, linked("Active"), remote(AGILE_BUG, "Active"), config)
    recorded = [a for a in actions if isinstance(a, Agreed)]
    assert [a.values["sentry_status"] for a in recorded] == ["ignored"]
    assert all(a.request() is None for a in actions)
    after = recorded[0].link_after(linked("Active"))
    done = plan(ado_updated({"System.State": {"oldValue": "Active", "newValue": "Closed"}}), after,
                remote(AGILE_BUG, "Active"), config)
    assert not any(isinstance(a, UpdateSentryIssue) for a in done) and "stays archived" in done[0].reason
