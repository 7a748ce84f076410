"""The planner on every channel a change arrives by: Sentry's activity alerts (each activity type
Sentry sends an app's workflow action) planned as the ``issue.*`` webhook of the same meaning, the
same change on two channels carried once, and a hook that shows an earlier change was lost."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from shared.actions import Skip, UpdateSentryIssue, UpdateWorkItem
from shared.contract import SENTRY_ACTIVITY_ISSUE_ACTION, SENTRY_ACTIVITY_NOT_SYNCED
from shared.planner import Event, parse_webhook, plan, plan_without_remote
from tests.fixtures import SENTRY_EXAMPLES as EXAMPLES
from tests.test_planner import CONFIG, ado_updated, issue_event, kinds, linked, remote

# ActivityAlertType in getsentry/sentry src/sentry/notifications/notification_action/activity_registry/
# sentry_app.py: every data.activity.type Sentry sends a Sentry App's workflow action.
SENTRY_SENDS = (
    "status_resolved", "status_unresolved", "status_ignored", "status_regression", "status_resolved_in_release",
    "status_resolved_by_age", "status_resolved_in_commit", "appeared_in_pull_request", "status_escalating",
    "seer_root_cause_started", "seer_root_cause_completed", "seer_solution_started", "seer_solution_completed",
    "seer_coding_started", "seer_coding_completed", "seer_pr_created", "seer_pr_iteration_started",
    "seer_pr_iteration_completed",
)
ALERT = {"id": 9, "title": "Issue activity to Azure DevOps", "sentry_app_id": 31,
         "url": "https://sentry.io/api/0/organizations/example/workflows/9/",
         "web_url": "https://sentry.io/organizations/example/monitors/alerts/9/"}
# the issue as each status change leaves it
AFTER = {"resolved": ("resolved", None), "unresolved": ("unresolved", "ongoing"),
         "ignored": ("ignored", "archived_until_escalating")}


def activity_alert(kind: str, status: str = "unresolved", substatus: str | None = None, settings=None,
                   **issue_changes) -> Event:
    issue = json.loads((EXAMPLES / "issue.created.json").read_text())["data"]["issue"]
    issue.update(status=status, substatus=substatus, project={"id": "1", "slug": "backend"}, assignedTo=None,
                 **issue_changes)
    alert = ALERT | ({"settings": settings} if settings is not None else {})
    return parse_webhook("sentry", {"resource": "activity_alert", "body": {
        "action": "triggered", "installation": {"uuid": "7a485448-a9e2-4c85-8a3c-4f44175783c9"},
        "data": {"issue": issue, "activity": {"type": kind, "details": {}}, "alert": alert}, "actor": {
            "type": "application", "id": "sentry", "name": "Sentry"}}})


def test_every_activity_type_sentry_sends_is_mapped_or_explained():
    assert set(SENTRY_SENDS) == set(SENTRY_ACTIVITY_ISSUE_ACTION) | set(SENTRY_ACTIVITY_NOT_SYNCED)


@pytest.mark.parametrize("kind", sorted(SENTRY_ACTIVITY_ISSUE_ACTION))
def test_each_status_activity_gets_the_plan_of_its_issue_webhook(kind):
    action = SENTRY_ACTIVITY_ISSUE_ACTION[kind]
    status, substatus = AFTER[action]
    link = linked("Closed") if action == "unresolved" else linked("Active")
    rem = remote(state=link.synced.ado_state, issue={"status": status, "substatus": substatus, "assignedTo": None})
    by_alert = plan(activity_alert(kind, status, substatus), link, rem, CONFIG)
    by_hook = plan(issue_event(action, status, substatus), link, rem, CONFIG)
    assert by_alert == by_hook
    if action == "ignored":  # the default rules leave the work item of an ignored issue as it is
        assert kinds(by_alert) == ["Agreed"] and "ignored_action" in by_alert[0].reason
        return
    assert kinds(by_alert) == ["UpdateWorkItem"] and by_alert[0].synced["sentry_status"] == AFTER[action][0]
    assert by_alert[0].ops[-1]["value"] == ("Active" if action == "unresolved" else "Closed")


@pytest.mark.parametrize("kind", sorted(SENTRY_ACTIVITY_NOT_SYNCED))
def test_activities_that_change_nothing_we_sync_are_explained(kind):
    (skip,) = plan(activity_alert(kind), linked(), remote(), CONFIG)
    assert isinstance(skip, Skip) and SENTRY_ACTIVITY_NOT_SYNCED[kind] in skip.reason


def test_an_activity_sentry_does_not_send_apps_is_named_not_guessed():
    (skip,) = plan(activity_alert("assigned"), linked(), remote(), CONFIG)
    assert "'assigned'" in skip.reason and "does not document" in skip.reason


def test_a_status_activity_for_an_unlinked_issue_without_settings_creates_nothing():
    (skip,) = plan(activity_alert("status_resolved", "resolved"), None, remote(work_item=None), CONFIG)
    assert "no linked work item" in skip.reason


def test_with_our_action_settings_an_unlinked_issue_gets_a_work_item_whatever_the_activity():
    settings = [{"name": "project", "value": "Shop"}]
    (create,) = plan(activity_alert("status_resolved", "resolved", settings=settings), None,
                     remote(work_item=None), CONFIG)
    assert type(create).__name__ == "CreateWorkItem" and create.project == "Shop"


@pytest.mark.parametrize("first", ["webhook", "alert"])
def test_the_same_change_on_both_channels_is_carried_once_and_the_second_costs_no_call(first):
    link = linked("Active")
    hook, alert = issue_event("resolved", "resolved"), activity_alert("status_resolved", "resolved")
    one, two = (hook, alert) if first == "webhook" else (alert, hook)
    assert plan_without_remote(one, link, CONFIG) is None  # a change: the shell fetches and writes
    (update,) = plan(one, link, remote(issue={"status": "resolved", "assignedTo": None}), CONFIG)
    after = update.link_after(link)
    (skip,) = plan_without_remote(two, after, CONFIG)  # decided from the body and the link: no API call
    assert isinstance(skip, Skip) and "already has status resolved" in skip.reason


def test_a_sentry_hook_showing_a_lost_status_change_repairs_it_in_the_same_patch():
    """issue.assigned arrives; its data.issue is resolved though the link says unresolved: the
    resolve webhook was lost. One PATCH carries both."""
    body = json.loads((EXAMPLES / "issue.assigned.json").read_text())
    body["data"]["issue"].update(status="resolved", substatus=None)
    event = parse_webhook("sentry", {"resource": "issue", "body": body})
    (update,) = plan(event, linked("Active"), remote(), CONFIG)
    assert isinstance(update, UpdateWorkItem)
    assert [o["path"] for o in update.ops] == ["/fields/System.AssignedTo", "/fields/System.State"]
    assert update.ops[-1]["value"] == "Closed" and update.synced["sentry_status"] == "resolved"


def test_an_echo_whose_issue_shows_a_lost_assignment_is_planned_not_dropped():
    event = issue_event("resolved", "resolved")
    event.body["data"]["issue"]["assignedTo"] = {"type": "user", "id": "789", "email": "person@example.com"}
    link = linked("Closed")  # the resolve is ours, the assignment never reached the link
    assert plan_without_remote(event, link, CONFIG) is None
    actions = plan(event, link, remote(state="Closed"), CONFIG)
    update = next(a for a in actions if isinstance(a, UpdateWorkItem))
    assert update.ops[-1] == {"op": "add", "path": "/fields/System.AssignedTo", "value": "person@example.com"}
    assert update.synced["sentry_assignee"] == "user:789"
    assert any(isinstance(a, Skip) and "already has status resolved" in a.reason for a in actions)


def test_a_hook_whose_issue_agrees_with_the_link_adds_nothing():
    actions = plan(issue_event("resolved", "resolved"), linked("Active"), remote(), CONFIG)
    assert kinds(actions) == ["UpdateWorkItem"] and len(actions[0].ops) == 1  # the state only


def test_an_ado_revision_showing_a_lost_state_change_repairs_it_with_the_hooks_own_change():
    """A workitem.updated for an assignment carries the whole revision: its state Closed, where
    the link still has Active, is the trace of a lost hook. One Sentry update carries both."""
    event = ado_updated({"System.AssignedTo": {"oldValue": None, "newValue": "Person P <person@example.com>"}})
    event.body["resource"]["revision"]["fields"] |= {"System.State": "Closed",
                                                      "System.AssignedTo": "Person P <person@example.com>"}
    link = linked("Active", sentry_assignee=None)
    (update, *_) = plan(event, link, remote(state="Closed", issue={"status": "unresolved", "assignedTo": None}),
                        CONFIG)
    assert isinstance(update, UpdateSentryIssue)
    assert update.changes == {"status": "resolved", "assignedTo": "user:789"}
    assert update.synced["ado_state"] == "Closed" and update.synced["sentry_status"] == "resolved"


def test_an_ado_revision_that_agrees_with_the_link_adds_nothing():
    event = ado_updated({"System.Title": {"oldValue": "a", "newValue": "b"}})
    event.body["resource"]["revision"]["fields"] |= {"System.State": "Active"}
    actions = plan(event, linked("Active"), remote(issue={"status": "unresolved", "assignedTo": None}), CONFIG)
    assert not any(isinstance(a, UpdateSentryIssue) for a in actions)


def test_a_revision_the_bridge_made_is_judged_by_its_content():
    """Made by the bridge's identity, yet it shows a state the link never saw (a person's change whose
    hook was lost): that change is carried. Echoes are told by content, not by who sent them."""
    event = ado_updated({"System.Title": {"oldValue": "a", "newValue": "b"}},
                        by="Sentry Bridge <sentry-bridge@example.com>")
    event.body["resource"]["revision"]["fields"] |= {"System.State": "Closed"}
    actions = plan(event, replace(linked("Active")), remote(), CONFIG)
    update = next(a for a in actions if isinstance(a, UpdateSentryIssue))
    assert update.changes == {"status": "resolved"}
