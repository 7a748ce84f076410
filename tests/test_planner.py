"""The planner against every Sentry webhook action and every ADO work item event."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path

import pytest

from shared.actions import (
    AddAdoComment,
    AddSentryComment,
    CreateWorkItem,
    DeleteAdoComment,
    FollowRevision,
    LinkExternalIssue,
    Skip,
    Unlink,
    UpdateAdoComment,
    UpdateSentryIssue,
    UpdateWorkItem,
)
from shared.config import Config, Secret, Settings, StateRules, parse_rules
from shared.mapping import comments
from shared.mapping.identities import AdoIdentity, SentryMember
from shared.planner import RECONCILE, Event, Remote, WebhookError, parse_webhook, plan, plan_without_remote
from shared.store.model import CLAIMED, LINKED, UNLINKED, Link, SyncedValues
from tests.fixtures import SENTRY_EXAMPLES as EXAMPLES
from tests.mapping.processes import AGILE_BUG, BASIC_ISSUE, CMMI_BUG, CUSTOM_BUG, SCRUM_BUG

RULES = parse_rules(Path("sandbox/default-sync.toml").read_text())
APP_UUID = "64bf2cf4-37ca-4365-8dd3-6b6e56d741b8"
INSTALL = "7a485448-a9e2-4c85-8a3c-4f44175783c9"
BRIDGE = "sentry-bridge@example.com"
NOW = "2026-01-02T03:04:05+00:00"


def _settings(url: str = "https://dev.azure.com/acme") -> Settings:
    return Settings(sentry_base_url="https://sentry.io", sentry_org="example", sentry_token=Secret("t"),
                    sentry_client_secret=Secret("s"), ado_org_url=url, ado_auth="pat", ado_pat=Secret("p"),
                    ado_tenant_id=None, ado_client_id=None, ado_client_secret=None, ado_hook_secret=Secret("h"),
                    link_store="sqlite", sqlite_path=":memory:", storage_connection=None, storage_account=None,
                    sync_config_path=None, reconcile_schedule="0 */15 * * * *")


CONFIG = Config(_settings(), RULES)
SERVER = Config(_settings("https://tfs.example.com/DefaultCollection"), RULES)
MEMBERS = (SentryMember("789", "person@example.com", "Person"),)
DIRECTORY = (AdoIdentity("person@example.com", "Person P"),)


def sentry(name: str, resource: str | None = None, **changes) -> Event:
    body = json.loads((EXAMPLES / f"{name}.json").read_text())
    for path, value in changes.items():
        node = body
        *parents, leaf = path.split("__")
        for key in parents:
            node = node[key]
        node[leaf] = value
    return parse_webhook("sentry", {"resource": resource, "body": body} if resource else body)


def issue_event(action: str, status: str, substatus: str | None = None, project: str = "backend", actor=None):
    body = json.loads((EXAMPLES / "issue.created.json").read_text())
    body["action"] = action
    # unassigned, as the link's baseline is: the issue shows no change the link has not seen
    body["data"]["issue"].update(status=status, substatus=substatus, project={"id": "1", "slug": project},
                                 assignedTo=None)
    if actor:
        body["actor"] = actor
    return parse_webhook("sentry", {"resource": "issue", "body": body})


def linked(state="Active", wit="Bug", **synced) -> Link:
    agreed = "resolved" if state in ("Closed", "Done", "Verified") else "unresolved"  # the last sync's baseline
    values = {"sentry_status": agreed, "ado_state": state, "ado_rev": 5} | synced
    return Link(sentry_org="example", sentry_issue_id="123", sentry_project="backend", ado_project="Shop",
                work_item_id=42, work_item_type=wit, work_item_url="https://dev.azure.com/acme/Shop/_workitems/edit/42",
                external_issue_id="900", state=LINKED, synced=SyncedValues(**values))


def remote(states=AGILE_BUG, state="Active", wit="Bug", rev=5, assigned=None, **kw) -> Remote:
    fields = {"System.State": state, "System.WorkItemType": wit, "System.ChangedDate": "2026-01-01T00:00:00Z"}
    if assigned:
        fields["System.AssignedTo"] = {"uniqueName": assigned, "displayName": assigned}
    base = {"now": NOW, "work_item": {"id": 42, "rev": rev, "fields": fields}, "states": states,
            "bridge_ado_identity": BRIDGE, "installation_uuid": INSTALL,
            "sentry_members": MEMBERS, "ado_identities": DIRECTORY}
    return Remote(**(base | kw))


def ado_updated(fields: dict, rev: int = 6, by: str = "Jane Doe <jane@example.com>", wit: str = "Bug") -> Event:
    return parse_webhook("ado", {
        "eventType": "workitem.updated", "publisherId": "tfs", "resourceVersion": "1.0",
        "resource": {"id": 3, "workItemId": 42, "rev": rev, "revisedBy": {"uniqueName": by.split("<")[-1].rstrip(">"),
                                                                          "name": by},
                     "fields": fields,
                     "revision": {"id": 42, "rev": rev, "fields": {
                         "System.WorkItemType": wit, "System.ChangedDate": f"2026-01-0{rev % 9}T00:00Z"}}},
    })


def ado_event(kind: str, fields: dict | None = None, **resource) -> Event:
    return parse_webhook("ado", {"eventType": kind, "resource": {"id": 42, "rev": 7, "fields": fields or {},
                                                                  **resource}})


def kinds(actions):
    return [type(a).__name__ for a in actions]


# --- Sentry issue status, every process ---------------------------------------------------------

@pytest.mark.parametrize(("states", "wit", "current", "action", "status", "expected_state"), [
    (BASIC_ISSUE, "Issue", "Doing", "resolved", "resolved", "Done"),
    (BASIC_ISSUE, "Issue", "Done", "unresolved", "unresolved", "Doing"),
    (AGILE_BUG, "Bug", "Active", "resolved", "resolved", "Closed"),
    (AGILE_BUG, "Bug", "Closed", "unresolved", "unresolved", "Active"),
    (SCRUM_BUG, "Bug", "Committed", "resolved", "resolved", "Done"),
    (SCRUM_BUG, "Bug", "Done", "unresolved", "unresolved", "Committed"),
    (CMMI_BUG, "Bug", "Proposed", "resolved", "resolved", "Closed"),
    (CMMI_BUG, "Bug", "Closed", "unresolved", "unresolved", "Active"),
    (CUSTOM_BUG, "Bug", "Triaged", "resolved", "resolved", "Verified"),
])
def test_sentry_status_moves_the_work_item(states, wit, current, action, status, expected_state):
    actions = plan(issue_event(action, status), linked(current, wit), remote(states, current, wit), CONFIG)
    assert kinds(actions) == ["UpdateWorkItem"]
    body = actions[0].to_json()["request"]["body"]
    assert body == [{"op": "test", "path": "/rev", "value": 5},
                    {"op": "add", "path": "/fields/System.State", "value": expected_state}]
    assert actions[0].to_json()["request"]["path"].startswith("/_apis/wit/workitems/42")


@pytest.mark.parametrize(("event", "link", "rem", "reason"), [
    (issue_event("ignored", "ignored", "archived_forever"), linked(), remote(), "ignored_action = \"none\""),
    (issue_event("archived", "ignored", "archived_until_escalating"), linked(), remote(), "ignored_action"),
    (issue_event("resolved", "resolved"), linked("Closed", sentry_status="unresolved"), remote(state="Closed"),
     "already agrees"),
    (issue_event("resolved", "resolved"), None, remote(), "has no linked work item"),
    (issue_event("resolved", "resolved", actor={"type": "application", "id": APP_UUID, "name": "bridge"}),
     linked(sentry_status="resolved"), remote(), "the link already has status resolved"),
    (issue_event("resolved", "resolved"), linked(), remote(issue={"id": "123", "status": "unresolved"}),
     "stale, the issue is unresolved now"),
    (issue_event("resolved", "resolved"), linked(), remote(states=()), "states of work item type 'Bug' are unknown"),
    (issue_event("resolved", "resolved"), replace(linked(), state=UNLINKED), remote(), "link is unlinked"),
])
def test_sentry_status_skips(event, link, rem, reason):
    actions = plan(event, link, rem, CONFIG)
    assert len(actions) == 1 and isinstance(actions[0], Skip)
    assert reason in actions[0].reason


def test_a_status_the_work_item_already_agrees_with_is_recorded_as_synced():
    """Nothing is sent, but the link learns that both sides agree (our earlier write whose answer
    was lost, found by the re-read after its replay's 412): later changes are measured from it."""
    actions = plan(issue_event("resolved", "resolved"), linked("Active", sentry_status="unresolved"),
                   remote(state="Closed", rev=6), CONFIG)
    assert kinds(actions) == ["Agreed"] and "already agrees" in actions[0].reason
    after = actions[0].link_after(linked("Active", sentry_status="unresolved"))
    assert (after.synced.sentry_status, after.synced.ado_state, after.synced.ado_rev) == ("resolved", "Closed", 5)


@pytest.mark.parametrize("event", [
    issue_event("resolved", "resolved", actor={"type": "application", "id": APP_UUID, "name": "sentry-ado"}),
    sentry("issue.assigned", actor={"type": "application", "id": APP_UUID, "name": "sentry-ado"}),
    sentry("comment.created", actor={"type": "application", "id": APP_UUID, "name": "sentry-ado"}),
], ids=["resolved", "assigned", "comment"])
def test_another_apps_change_is_carried_though_sentry_names_our_app(event):
    """Sentry reports any Sentry App's change with the receiving app's uuid: only content tells."""
    actions = plan(event, linked(), remote(), CONFIG)
    assert not isinstance(actions[0], Skip), actions


@pytest.mark.parametrize(("event", "link", "decided"), [
    (issue_event("resolved", "resolved"), linked("Closed"), "the link already has status resolved"),
    (issue_event("ignored", "ignored", "archived_forever"), linked(sentry_status="ignored"), "status ignored"),
    (sentry("issue.assigned"), linked(sentry_assignee="user:789"), "the link already has assignee user:789"),
    (issue_event("resolved", "resolved"), linked(), None),
    # our write's webhook overtaking our save of the link: the values in flight tell it
    (issue_event("resolved", "resolved"), replace(linked(), in_flight={"sentry_status": "resolved"}), "resolved"),
    (sentry("issue.assigned"), replace(linked(), in_flight={"sentry_assignee": "user:789"}), "assignee user:789"),
    (sentry("issue.assigned"), linked(), None),
    (issue_event("resolved", "resolved"), None, None),
    (sentry("comment.created"), linked(), None),
])
def test_echoes_are_decided_from_the_body_and_the_link_alone(event, link, decided):
    """No remote state is needed to drop an echo: the shell fetches nothing for it."""
    actions = plan_without_remote(event, link, CONFIG)
    if decided is None:
        assert actions is None
    else:
        assert kinds(actions) == ["Skip"] and decided in actions[0].reason
        assert decided in plan(event, link, Remote(now=NOW), CONFIG)[0].reason


def test_sentry_itself_as_actor_is_not_an_echo():
    """Auto-resolve and regressions come with actor id "sentry": they must sync."""
    event = issue_event("unresolved", "unresolved", "regressed", actor={"type": "application", "id": "sentry"})
    assert kinds(plan(event, linked("Closed"), remote(state="Closed"), CONFIG)) == ["UpdateWorkItem"]


def test_regression_respects_reopen_on_regression():
    rules = replace(RULES, states=StateRules(reopen_on_regression=False))
    event = issue_event("unresolved", "unresolved", "regressed")
    actions = plan(event, linked("Closed"), remote(state="Closed"), Config(CONFIG.settings, rules))
    assert "reopen_on_regression" in actions[0].reason


def test_status_direction_off_is_skipped():
    rules = replace(RULES, directions={**RULES.directions, "status": "ado-to-sentry"})
    actions = plan(issue_event("resolved", "resolved"), linked(), remote(), Config(CONFIG.settings, rules))
    assert "does not sync towards ADO" in actions[0].reason


# --- assignment -------------------------------------------------------------------------------

def test_assigned_maps_by_email():
    actions = plan(sentry("issue.assigned"), linked(), remote(), CONFIG)
    assert kinds(actions) == ["UpdateWorkItem"]
    assert actions[0].ops == [{"op": "add", "path": "/fields/System.AssignedTo", "value": "person@example.com"}]
    assert actions[0].synced["sentry_assignee"] == "user:789"


def test_unassign_removes_the_assignee():
    event = sentry("issue.assigned", data__issue__assignedTo=None)
    actions = plan(event, linked(sentry_assignee="user:789"), remote(assigned="person@example.com"), CONFIG)
    assert actions[0].ops == [{"op": "remove", "path": "/fields/System.AssignedTo"}]


@pytest.mark.parametrize(("event", "rem", "reason"), [
    (sentry("issue.assigned"), remote(assigned="Person@Example.com"), "already assigned"),
    (sentry("issue.assigned", data__issue__assignedTo=None), remote(), "the link already has assignee nobody"),
    (sentry("issue.assigned", data__issue__assignedTo={"type": "user", "id": "5", "email": "x@y.z"}), remote(),
     "no Azure DevOps identity for Sentry user x@y.z"),
    (sentry("issue.assigned", data__issue__assignedTo={"type": "team", "id": "5", "name": "core"}), remote(),
     "Sentry team 'core'"),
])
def test_assigned_skips(event, rem, reason):
    actions = plan(event, linked(), rem, CONFIG)
    assert reason in actions[0].reason


def test_an_assignee_with_no_ado_identity_is_recorded_and_told_again_without_a_read():
    """The miss is recorded on the link (store only); the same assignee again is planned from the
    body and the link alone, unless [identities] names them since; a carried assignee clears it."""
    event = sentry("issue.assigned", data__issue__assignedTo={"type": "user", "id": "5", "email": "x@y.z"})
    [miss] = plan(event, linked(), remote(), CONFIG)
    after = miss.link_after(linked())
    assert after is not None and after.synced.sentry_assignee_unmatched == "user:5"
    assert after.synced.sentry_assignee is None  # nothing was carried
    [again] = plan_without_remote(event, after, CONFIG)
    assert "has no Azure DevOps identity (recorded on the link)" in again.reason
    assert plan_without_remote(sentry("issue.assigned"), after, CONFIG) is None  # another person: looked up
    named = Config(CONFIG.settings, replace(RULES, identities={"X@Y.z": "x@contoso.com"}))
    assert plan_without_remote(event, after, named) is None
    assert kinds(plan(event, after, remote(), named)) == ["UpdateWorkItem"]
    assert after.with_synced(sentry_assignee="user:789").synced.sentry_assignee_unmatched is None
    resolved = sentry("issue.resolved", data__issue__assignedTo={"type": "user", "id": "5", "email": "x@y.z"})
    assert plan_without_remote(resolved, after.with_synced(sentry_status="resolved"), CONFIG) is not None


# --- creation ---------------------------------------------------------------------------------

def _created(project="backend", level="error", **issue):
    body = json.loads((EXAMPLES / "issue.created.json").read_text())
    body["data"]["issue"].update(project={"id": "1", "slug": project}, level=level, **issue)
    return parse_webhook("sentry", {"resource": "issue", "body": body})


@pytest.mark.parametrize(("project", "wit", "ado_project"),
                         [("backend", "Bug", "Shop"), ("frontend", "Issue", "Basic")])
def test_issue_created_creates_per_route(project, wit, ado_project):
    actions = plan(_created(project), None, remote(work_item=None), CONFIG)
    assert kinds(actions) == ["CreateWorkItem"]
    out = actions[0].to_json()
    assert out["system"] == "ado" and out["kind"] == "create_work_item"
    assert out["request"]["path"].startswith(f"/{ado_project}/_apis/wit/workitems/${wit}")
    paths = [op["path"] for op in out["request"]["body"]]
    assert "/fields/System.Title" in paths and "/relations/-" in paths
    assert actions[0].claim.state == CLAIMED and actions[0].claim.claimed_at == NOW


def test_issue_created_on_server_writes_html():
    actions = plan(_created(), None, remote(work_item=None), SERVER)
    assert not any(op["path"].startswith("/multilineFieldsFormat") for op in actions[0].ops)


@pytest.mark.parametrize(("event", "link", "reason"), [
    (_created("mobile"), None, "project 'mobile' has no route"),
    (_created(level="warning"), None, "level 'warning' is not in auto_create.levels"),
    (_created(), linked(), "already linked to work item 42"),
    (_created(), replace(linked(), state=CLAIMED, work_item_id=None, claimed_at="t0"), "already being created"),
    (_created(), replace(linked(), state=UNLINKED), "was deleted in Azure DevOps"),
])
def test_issue_created_skips(event, link, reason):
    assert reason in plan(event, link, remote(work_item=None), CONFIG)[0].reason


def test_event_alert_with_settings_creates_with_them():
    event = sentry("event_alert.triggered--with_alert_rule_action")
    settings = [{"name": "project", "value": "Ops"}, {"name": "type", "value": "Task"},
                {"name": "areaPath", "value": "Ops\\Oncall"}, {"name": "priority", "value": "1"}]
    event.body["data"]["issue_alert"]["settings"] = settings
    actions = plan(event, None, remote(work_item=None), CONFIG)
    assert kinds(actions) == ["CreateWorkItem"]
    a = actions[0]
    assert (a.project, a.work_item_type) == ("Ops", "Task")
    ops = {op["path"]: op["value"] for op in a.ops}
    assert ops["/fields/System.AreaPath"] == "Ops\\Oncall"
    assert ops["/fields/Microsoft.VSTS.Common.Priority"] == 1
    # once per issue
    assert "already linked" in plan(event, linked(), remote(), CONFIG)[0].reason


@pytest.mark.parametrize(("reopen", "expected"), [(True, "UpdateWorkItem"), (False, "Agreed")])
def test_an_issue_alert_on_a_regressed_linked_issue_reopens_its_work_item(reopen, expected):
    """The alert names no condition and no status: the issue read tells a regression, planned as
    issue.unresolved (states.reopen_on_regression decides); the link holding the issue open needs
    no read (the shell makes none) and changes nothing."""
    config = Config(CONFIG.settings, replace(RULES, states=StateRules(reopen_on_regression=reopen)))
    event = sentry("event_alert.triggered--with_alert_rule_action")
    regressed = {"id": "123", "shortId": "BACKEND-1", "status": "unresolved", "substatus": "regressed"}
    actions = plan(event, linked("Closed"), remote(state="Closed", issue=regressed), config)
    assert kinds(actions) == [expected]
    if reopen:
        assert actions[0].ops == [{"op": "add", "path": "/fields/System.State", "value": "Active"}]
    else:
        assert "reopen_on_regression" in actions[0].reason
    still = {**regressed, "status": "resolved", "substatus": None}
    assert kinds(plan(event, linked("Closed"), remote(state="Closed", issue=still), config)) == ["Skip"]
    assert kinds(plan(event, linked(), remote(), config)) == ["Skip"]


@pytest.mark.parametrize(("settings", "reason"), [
    ([{"name": "priority", "value": "7"}, {"name": "project", "value": "Ops"}], "priority must be 1-4, got '7'"),
    ([{"name": "title", "value": "x"}], "name no ADO project"),
])
def test_event_alert_bad_settings_are_named(settings, reason):
    event = sentry("event_alert.triggered--with_alert_rule_action")
    event.body["data"]["issue_alert"]["settings"] = settings
    assert reason in plan(event, None, remote(work_item=None), CONFIG)[0].reason


# --- comments ---------------------------------------------------------------------------------

def carried(text: str = "this is a test comment") -> Link:
    """Sentry comment 456 carried to ADO comment 77 in ``text``."""
    return replace(linked(), comment_ids=("sentry:456", "ado:77"),
                   comment_copies={"sentry:456": f"ado:77#{comments.digest(text)}"})


def test_comment_created_goes_to_ado_attributed():
    actions = plan(sentry("comment.created"), linked(), remote(), CONFIG)
    assert kinds(actions) == ["AddAdoComment"]
    req = actions[0].to_json()["request"]
    assert req["body"] == {"text": "**name** (via Sentry): this is a test comment"}
    assert "format=markdown" in req["path"]


@pytest.mark.parametrize(("event", "link", "reason"), [
    (sentry("comment.created", data__comment="**Bob** (via Azure DevOps): hi"), linked(), "written by the bridge"),
    (sentry("comment.created"), replace(linked(), comment_ids=("sentry:456",)), "already carried"),
    (sentry("comment.updated", data__comment="**Bob** (via Azure DevOps): hi"), carried(), "written by the bridge"),
    (sentry("comment.updated"), carried(), "already has this text"),
    (sentry("comment.updated"), replace(linked(), comment_ids=("sentry:456",)), "is not known"),
    (sentry("comment.deleted"), replace(linked(), comment_ids=("sentry:456",)), "no copy of it on work item 42"),
])
def test_comment_skips(event, link, reason):
    assert reason in plan(event, link, remote(), CONFIG)[0].reason


@pytest.mark.parametrize(("hosted", "fmt", "body"), [
    (True, "format=markdown", "**name** (via Sentry): this is a test comment"),
    (False, "format=html", "<p><strong>name</strong> (via Sentry): this is a test comment</p>"),
])
def test_comment_edit_updates_its_ado_copy(hosted, fmt, body):
    (update,) = plan(sentry("comment.updated"), carried("first words"), remote(ado_hosted=hosted), CONFIG)
    assert isinstance(update, UpdateAdoComment) and update.comment_id == 77
    req = update.to_json()["request"]
    assert req["method"] == "PATCH" and "/workItems/42/comments/77?" in req["path"] and fmt in req["path"]
    assert "api-version=7.1-preview.4" in req["path"]
    assert req["body"]["text"].strip() == body
    after = update.link_after(carried("first words"))
    assert after.copy_of("sentry:456") == ("ado:77", comments.digest("this is a test comment"))
    assert kinds(plan(sentry("comment.updated"), after, remote(), CONFIG)) == ["Skip"]  # a re-delivery: no call


def test_an_edit_already_carried_is_decided_before_any_read_and_a_late_one_carries_the_current_text():
    assert kinds(plan_without_remote(sentry("comment.updated"), carried(), CONFIG)) == ["Skip"]
    assert plan_without_remote(sentry("comment.updated"), carried("older"), CONFIG) is None  # reads the note
    late = sentry("comment.updated", data__comment="an older edit")
    assert "already has this text" in plan(late, carried(), remote(current_comment="this is a test comment"),
                                           CONFIG)[0].reason
    (update,) = plan(late, carried("v0"), remote(current_comment="the newest"), CONFIG)
    assert update.text.endswith("the newest")
    assert "deleted since" in plan(late, carried(), remote(current_comment=""), CONFIG)[0].reason


def test_comment_deletion_deletes_its_ado_copy_and_forgets_the_pair():
    (delete,) = plan(sentry("comment.deleted"), carried(), remote(), CONFIG)
    assert isinstance(delete, DeleteAdoComment)
    req = delete.to_json()["request"]
    assert req["method"] == "DELETE" and "/workItems/42/comments/77?" in req["path"]
    after = delete.link_after(carried())
    assert after.copy_of("sentry:456") is None and "sentry:456" in after.comment_ids  # never carried again
    assert kinds(plan(sentry("comment.deleted"), after, remote(), CONFIG)) == ["Skip"]
    assert kinds(plan(sentry("comment.updated"), after, remote(), CONFIG)) == ["Skip"]


def test_a_deletion_that_overtakes_its_creation_leaves_a_tombstone_so_the_late_creation_makes_no_copy():
    """Reordered deliveries: ``comment.deleted`` of a comment never carried comes before its
    ``comment.created`` (or an edit). The link remembers the comment as settled (a store write, no
    call), so the late ones are skipped and no copy of a deleted comment is ever made."""
    (forget,) = plan(sentry("comment.deleted"), linked(), remote(), CONFIG)
    assert forget.request() is None and forget.to_json()["request"] is None
    after = forget.link_after(linked())
    assert "sentry:456" in after.comment_ids and after.copy_of("sentry:456") is None
    assert after.synced == linked().synced  # nothing was carried: the counts do not move
    late = plan(sentry("comment.created"), after, remote(), CONFIG)
    assert kinds(late) == ["Skip"] and "deleted" in late[0].reason
    assert kinds(plan(sentry("comment.updated"), after, remote(), CONFIG)) == ["Skip"]
    assert kinds(plan(sentry("comment.deleted"), after, remote(), CONFIG)) == ["Skip"]  # a re-delivery


def test_adding_a_comment_maps_it_to_its_copy():
    (add,) = plan(sentry("comment.created"), linked(), remote(), CONFIG)
    after = add.link_after(linked(), {"id": 91})
    assert after.copy_of("sentry:456") == ("ado:91", comments.digest("this is a test comment"))
    assert {"sentry:456", "ado:91"} <= set(after.comment_ids)


def test_a_workflow_alert_with_our_action_settings_creates_like_an_issue_alert():
    body = json.loads((EXAMPLES / "issue.created.json").read_text())
    issue = body["data"]["issue"] | {"project": {"id": "1", "slug": "frontend"}}
    alert = {"id": 9, "title": "to ADO", "url": "https://sentry.io/api/0/organizations/example/workflows/9/",
             "settings": [{"name": "project", "value": "Shop"}, {"name": "work_item_type", "value": "Task"}]}
    event = parse_webhook("sentry", {"resource": "activity_alert", "body": {
        "action": "triggered", "data": {"issue": issue, "activity": {"type": "status_regression", "details": {}},
                                        "alert": alert}}})
    (create,) = plan(event, None, remote(work_item=None), CONFIG)
    assert isinstance(create, CreateWorkItem) and (create.project, create.work_item_type) == ("Shop", "Task")
    without = parse_webhook("sentry", {"resource": "activity_alert", "body": {
        "action": "triggered", "data": {"issue": issue, "activity": {"type": "seer_pr_created"},
                                        "alert": {k: v for k, v in alert.items() if k != "settings"}}}})
    assert "carries no alert-rule action settings" in plan(without, None, remote(work_item=None), CONFIG)[0].reason


# --- resources we do not sync -----------------------------------------------------------------

@pytest.mark.parametrize(("name", "resource", "reason"), [
    ("installation.created", "installation", "installation lifecycle"),
    ("installation.deleted", "installation", "installation lifecycle"),
    ("metric_alert.critical", "metric_alert", "metric alerts"),
    ("metric_alert.warning", "metric_alert", "metric alerts"),
    ("metric_alert.resolved", "metric_alert", "metric alerts"),
    ("event_alert.triggered", "event_alert", "without the bridge's alert-rule action"),
])
def test_unsynced_sentry_resources_skip_with_reason(name, resource, reason):
    actions = plan(sentry(name, resource), None, remote(), CONFIG)
    assert kinds(actions) == ["Skip"] and reason in actions[0].reason


def test_error_created_skips():
    event = parse_webhook("sentry", {"resource": "error", "body": {"action": "created", "data": {"error": {}}}})
    assert "single error events" in plan(event, None, remote(), CONFIG)[0].reason


# --- ADO work item events ---------------------------------------------------------------------

@pytest.mark.parametrize(("states", "wit", "old", "new", "status", "expected"), [
    (BASIC_ISSUE, "Issue", "Doing", "Done", "unresolved", {"status": "resolved"}),
    (AGILE_BUG, "Bug", "Resolved", "Closed", "unresolved", {"status": "resolved"}),
    (AGILE_BUG, "Bug", "Closed", "Active", "resolved", {"status": "unresolved"}),
    (SCRUM_BUG, "Bug", "Committed", "Done", "unresolved", {"status": "resolved"}),
    (CMMI_BUG, "Bug", "Closed", "Active", "resolved", {"status": "unresolved"}),
    (CUSTOM_BUG, "Bug", "Triaged", "Verified", "unresolved", {"status": "resolved"}),
])
def test_ado_state_change_updates_sentry(states, wit, old, new, status, expected):
    event = ado_updated({"System.State": {"oldValue": old, "newValue": new}}, wit=wit)
    actions = plan(event, linked(old, wit, sentry_status=status), remote(states, old, wit), CONFIG)
    assert kinds(actions) == ["UpdateSentryIssue"]
    assert actions[0].changes == expected
    assert actions[0].to_json()["request"] == {"method": "PUT", "path": "/api/0/organizations/example/issues/123/",
                                               "body": expected}


@pytest.mark.parametrize(("fields", "link", "rev", "by", "reason"), [
    ({"System.State": {"oldValue": "New", "newValue": "Active"}}, linked("New"), 6, "J <j@x>", "asks nothing"),
    ({"System.State": {"oldValue": "Active", "newValue": "Closed"}},
     replace(linked(), in_flight={"ado_state": "Closed"}), 6, f"Bridge <{BRIDGE}>", "what the bridge is writing"),
    ({"System.State": {"oldValue": "Active", "newValue": "Closed"}}, linked(), 5, "J <j@x>", "stale or repeated"),
    ({"System.State": {"oldValue": "Active", "newValue": "Closed"}}, linked(sentry_status="resolved"), 6, "J <j@x>",
     "already resolved"),
    ({"System.State": {"oldValue": "Active", "newValue": "Shipped"}}, linked(), 6, "J <j@x>", "'Shipped' is not"),
    ({"System.Title": {"oldValue": "a", "newValue": "b"}}, linked(), 6, "J <j@x>", "no synced field changed"),
    ({"System.AssignedTo": {"newValue": "Bob <bob@example.com>"}}, linked(), 6, "J <j@x>", "no Sentry member"),
])
def test_ado_updated_skips(fields, link, rev, by, reason):
    actions = plan(ado_updated(fields, rev=rev, by=by), link, remote(work_item=None), CONFIG)
    assert any(reason in a.reason for a in actions if isinstance(a, Skip)), actions


@pytest.mark.parametrize(("rev", "flying"), [(5, {}), (6, {"ado_state": "Closed"})])
def test_a_change_reconciliation_found_is_carried_whatever_its_rev_and_author(rev, flying):
    """The same delivery a webhook would drop (stale rev, the echo of a write in flight) is carried
    when reconciliation made it: it found the change by comparing both sides with the link."""
    hook = ado_updated({"System.State": {"oldValue": "Active", "newValue": "Closed"}}, rev=rev, by=f"Bridge <{BRIDGE}>")
    link = replace(linked(), in_flight=flying)
    assert all(isinstance(a, Skip | FollowRevision) for a in plan(hook, link, remote(work_item=None), CONFIG))
    found = replace(hook, origin=RECONCILE)
    assert kinds(plan(found, linked(), remote(work_item=None), CONFIG)) == ["UpdateSentryIssue"]


def test_removed_never_reopens_sentry():
    event = ado_updated({"System.State": {"oldValue": "Done", "newValue": "Removed"}})
    actions = plan(event, linked("Done", sentry_status="resolved"), remote(SCRUM_BUG, "Done"), CONFIG)
    assert kinds(actions) == ["Skip", "FollowRevision"]  # nothing for Sentry; the link follows rev 6


@pytest.mark.parametrize(("fields", "rev", "expected"), [
    ({"System.State": {"oldValue": "Active", "newValue": "Closed"}}, 5, "stale or repeated"),  # our echo, a re-delivery
    ({"System.State": {"oldValue": "Active", "newValue": "Closed"}}, 3, "stale or repeated"),  # an older revision
    ({"System.Tags": {"oldValue": "a", "newValue": "b"}}, 6, "no synced field changed"),
])
def test_a_revision_the_link_decides_needs_nothing_fetched(fields, rev, expected):
    actions = plan_without_remote(ado_updated(fields, rev=rev), linked(), CONFIG)
    assert actions is not None and expected in actions[0].reason


def test_an_unlinked_work_item_needs_nothing_fetched():
    actions = plan_without_remote(ado_updated({"System.State": {"newValue": "Closed"}}), None, CONFIG)
    assert actions is not None and "not linked" in actions[0].reason


def test_a_new_synced_change_needs_the_work_item_read():
    event = ado_updated({"System.State": {"oldValue": "Active", "newValue": "Closed"}}, rev=6)
    assert plan_without_remote(event, linked(), CONFIG) is None


@pytest.mark.parametrize(("rev", "follows"), [(6, True), (7, False)])
def test_the_links_rev_follows_only_the_very_next_revision(rev, follows):
    """A revision that asks nothing of Sentry moves the link's rev (so the next guarded ADO write
    is not refused for it), but never over a gap: a revision in between must not look stale."""
    actions = plan_without_remote(ado_updated({"System.Tags": {"newValue": "x"}}, rev=rev), linked(), CONFIG)
    assert kinds(actions) == (["Skip", "FollowRevision"] if follows else ["Skip"])
    if follows:
        assert actions[1].link_after(linked()).synced.ado_rev == rev


def test_a_comment_revision_moves_the_links_rev():
    event = ado_event("workitem.commented", {"System.History": "hello", "System.ChangedBy": "Jane <jane@example.com>"},
                      rev=6, commentVersionRef={"commentId": 9})
    actions = plan(event, linked(), remote(work_item=None), CONFIG)
    assert kinds(actions) == ["AddSentryComment", "FollowRevision"]


@pytest.mark.parametrize(("delta", "sentry_assignee", "ado_assignee", "expected"), [
    ({"oldValue": "X <x@y>", "newValue": "Person P <person@example.com>"}, None, None, {"assignedTo": "user:789"}),
    ({"oldValue": "Person P <person@example.com>"}, "user:789", "person@example.com", {"assignedTo": ""}),
])
def test_ado_assignee_change(delta, sentry_assignee, ado_assignee, expected):
    event = ado_updated({"System.AssignedTo": delta})
    link = linked(sentry_assignee=sentry_assignee, ado_assignee=ado_assignee)
    actions = plan(event, link, remote(work_item=None), CONFIG)
    assert kinds(actions) == ["UpdateSentryIssue"] and actions[0].changes == expected


def test_title_change_towards_sentry_is_explained_when_configured():
    rules = replace(RULES, directions={**RULES.directions, "title": "both"})
    event = ado_updated({"System.Title": {"oldValue": "a", "newValue": "b"}})
    actions = plan(event, linked(), remote(work_item=None), Config(CONFIG.settings, rules))
    assert "cannot set an issue title" in actions[0].reason


def test_workitem_commented_goes_to_sentry():
    event = ado_event("workitem.commented", {"System.History": "<div>Fixed in <b>1.2</b></div>",
                                             "System.ChangedBy": "Jane Doe <jane@example.com>"},
                      commentVersionRef={"commentId": 77, "version": 1})
    actions = plan(event, linked(), remote(), CONFIG)
    assert kinds(actions) == ["AddSentryComment"]
    assert actions[0].text == "**Jane Doe** (via Azure DevOps): Fixed in **1.2**"
    assert actions[0].source_id == "ado:77"


@pytest.mark.parametrize(("fields", "link", "reason"), [
    ({"System.History": "<p>x</p>", "System.ChangedBy": f"Bridge <{BRIDGE}>"}, linked(), "written by the bridge"),
    ({"System.History": "<p><strong>J</strong> (via Sentry): x</p>", "System.ChangedBy": "J <j@x>"}, linked(),
     "written by the bridge"),
    ({"System.History": "<p>x</p>", "System.ChangedBy": "J <j@x>"}, replace(linked(), comment_ids=("ado:77",)),
     "already carried"),
    ({"System.History": "<p>x</p>"}, None, "not linked"),
])
def test_workitem_commented_skips(fields, link, reason):
    event = ado_event("workitem.commented", fields, commentVersionRef={"commentId": 77})
    assert reason in plan(event, link, remote(), CONFIG)[0].reason


def test_workitem_deleted_unlinks_and_removes_the_external_issue():
    actions = plan(ado_event("workitem.deleted"), linked(), remote(), CONFIG)
    assert kinds(actions) == ["Unlink"]
    assert actions[0].to_json()["request"] == {
        "method": "DELETE", "path": f"/api/0/sentry-app-installations/{INSTALL}/external-issues/900/", "body": None}
    assert actions[0].link_after(linked()).state == UNLINKED


def test_workitem_restored_relinks():
    link = replace(linked(), state=UNLINKED, external_issue_id=None)
    actions = plan(ado_event("workitem.restored"), link, remote(), CONFIG)
    assert kinds(actions) == ["LinkExternalIssue"]
    after = actions[0].link_after(link, {"id": "901"})
    assert (after.state, after.external_issue_id) == (LINKED, "901")
    assert "already linked" in plan(ado_event("workitem.restored"), linked(), remote(), CONFIG)[0].reason


def test_workitem_created_skips():
    assert "linked from Sentry" in plan(ado_event("workitem.created"), None, remote(), CONFIG)[0].reason


def test_other_link_is_refused():
    other = replace(linked(), work_item_id=99)
    assert "link given is for work item 99" in plan(ado_event("workitem.deleted"), other, remote(), CONFIG)[0].reason


# --- parse_webhook ----------------------------------------------------------------------------

@pytest.mark.parametrize(("source", "body", "message"), [
    ("sentry", [], "is a JSON object, got list"),
    ("sentry", {"data": {}}, "has no 'action'"),
    ("sentry", {"action": "created"}, "has no 'data' object"),
    ("ado", {"resource": {}}, "has no 'eventType'"),
    ("ado", {"eventType": "workitem.updated"}, "has no 'resource' object"),
    ("gitlab", {}, "source must be 'sentry' or 'ado'"),
])
def test_parse_webhook_rejects_what_is_no_webhook(source, body, message):
    with pytest.raises(WebhookError, match=message):
        parse_webhook(source, body)


@pytest.mark.parametrize(("name", "kind"), [
    ("issue.created", "issue.created"), ("comment.deleted", "comment.deleted"),
    ("event_alert.triggered", "event_alert.triggered"), ("metric_alert.warning", "metric_alert.warning"),
    ("installation.deleted", "installation.deleted"),
])
def test_parse_webhook_infers_the_resource_from_data(name, kind):
    assert sentry(name).kind == kind


def test_unknown_but_wellformed_events_skip():
    event = parse_webhook("sentry", {"resource": "seer", "body": {"action": "x", "data": {}}})
    assert "not synced" in plan(event, None, remote(), CONFIG)[0].reason


# --- idempotency: the same event twice --------------------------------------------------------

def _apply(actions, link):
    """Simulate success: feed plausible responses to link_after and run follow-ups."""
    rev = 100
    for action in actions:
        if isinstance(action, Skip):
            continue
        rev += 1
        response = {"id": 42 if isinstance(action, CreateWorkItem) else rev, "rev": rev,
                    "fields": {"System.State": "New", "System.ChangedDate": "2026-01-09T00:00:00Z"},
                    "_links": {"html": {"href": "https://dev.azure.com/acme/Shop/_workitems/edit/42"}}}
        link = action.link_after(link, response) or link
        for follow in action.follow_ups(link):
            link = follow.link_after(link, {"id": "900"}) or link
    return link


TWICE = [
    ("created", lambda: _created(), None, lambda: remote(work_item=None)),
    ("resolved", lambda: issue_event("resolved", "resolved"), linked(), remote),
    ("unresolved", lambda: issue_event("unresolved", "unresolved"), linked("Closed"), lambda: remote(state="Closed")),
    ("assigned", lambda: sentry("issue.assigned"), linked(), remote),
    ("comment", lambda: sentry("comment.created"), linked(), remote),
    ("alert", lambda: sentry("event_alert.triggered--with_alert_rule_action"), None, lambda: remote(work_item=None)),
    ("ado state", lambda: ado_updated({"System.State": {"oldValue": "Active", "newValue": "Closed"}}), linked(),
     remote),
    ("ado assignee", lambda: ado_updated({"System.AssignedTo": {"newValue": "P <person@example.com>"}}), linked(),
     remote),
    ("ado comment", lambda: ado_event("workitem.commented", {"System.History": "<p>hi</p>",
                                                             "System.ChangedBy": "J <j@x>"},
                                      commentVersionRef={"commentId": 5}), linked(), remote),
    ("ado deleted", lambda: ado_event("workitem.deleted"), linked(), remote),
    ("ado restored", lambda: ado_event("workitem.restored"), replace(linked(), state=UNLINKED), remote),
]


@pytest.mark.parametrize(("name", "make_event", "link", "make_remote"), TWICE, ids=[t[0] for t in TWICE])
def test_planning_the_same_event_twice_is_a_noop_the_second_time(name, make_event, link, make_remote):
    event, rem = make_event(), make_remote()
    if name == "alert":
        event.body["data"]["issue_alert"]["settings"] = [{"name": "project", "value": "Shop"}]
    first = plan(event, link, rem, CONFIG)
    assert not all(isinstance(a, Skip) for a in first), first
    after = _apply(first, link)
    second = plan(copy.deepcopy(event), after, rem, CONFIG)
    assert all(isinstance(a, Skip) for a in second), second


def test_create_follow_up_links_the_work_item_on_sentry():
    action = plan(_created(), None, remote(work_item=None), CONFIG)[0]
    link = action.link_after(None, {"id": 42, "rev": 1, "fields": {"System.State": "New"},
                                    "_links": {"html": {"href": "https://dev.azure.com/acme/Shop/_workitems/edit/42"}}})
    assert (link.state, link.work_item_id, link.synced.ado_state) == (LINKED, 42, "New")
    (follow,) = action.follow_ups(link)
    assert isinstance(follow, LinkExternalIssue)
    assert follow.to_json()["request"]["body"] == {"issueId": 123, "project": "Shop", "identifier": "42",
                                                   "webUrl": "https://dev.azure.com/acme/Shop/_workitems/edit/42"}


def test_every_action_renders_json():
    samples = [Skip("why"), UpdateWorkItem(1, [{"op": "add", "path": "/fields/System.State", "value": "A"}], 3),
               AddAdoComment("P", 1, "t", True, "sentry:1"), UpdateSentryIssue("o", "1", {"status": "resolved"}),
               AddSentryComment("o", "1", "t", "ado:1"), Unlink(None, None, "gone")]
    for action in samples:
        out = action.to_json()
        json.dumps(out)
        assert out["kind"] == "skip" or out["system"] in ("ado", "sentry")


# --- explanations that say what really happened ---------------------------------------------------

def test_an_ignored_issue_under_ignored_action_none_says_so():
    actions = plan(issue_event("ignored", "ignored", "archived_forever"), linked(), remote(), CONFIG)
    assert 'states.ignored_action = "none": an ignored issue leaves the work item as it is' in actions[0].reason
    assert "already agrees" not in actions[0].reason


def test_a_mapped_identity_without_the_members_is_not_told_to_add_the_mapping():
    """[identities] maps alice@example.com to ava@contoso.com in the sandbox rules."""
    event = ado_updated({"System.AssignedTo": {"newValue": "Ava Chen <ava@contoso.com>"}})
    unknown = plan(event, linked(), remote(sentry_members=()), CONFIG)
    assert "[identities] maps alice@example.com to Ava Chen <ava@contoso.com>" in unknown[0].reason
    assert "--members" in unknown[0].reason and "add it to [identities]" not in unknown[0].reason
    elsewhere = plan(event, linked(), remote(sentry_members=MEMBERS), CONFIG)
    assert "no member of the Sentry organization has that email" in elsewhere[0].reason
    alice = (SentryMember("1", "alice@example.com", "Alice"),)
    assert kinds(plan(event, linked(), remote(sentry_members=alice), CONFIG)) == ["UpdateSentryIssue"]


@pytest.mark.parametrize(("event", "reason"), [
    (lambda: _created(project=""), "the Sentry project is unknown"),
    (lambda: sentry("event_alert.triggered--with_alert_rule_action", data__event__project_slug=None),
     "the Sentry project is unknown"),
])
def test_an_event_naming_no_project_says_the_project_is_unknown(event, reason):
    ev = event()
    if ev.kind == "event_alert.triggered":
        ev.body["data"]["issue_alert"]["settings"] = []
    actions = plan(ev, None, remote(work_item=None), CONFIG)
    assert reason in actions[0].reason and "has no route" not in actions[0].reason


def test_a_team_assignee_is_named_from_the_issue_not_the_summary():
    """``data.assignee`` only summarises ``assignedTo``; when they differ the issue's own value counts."""
    event = sentry("issue.assigned", data__issue__assignedTo={"type": "team", "id": "5", "name": "core"})
    event.body["data"]["assignee"] = {"type": "team", "id": "5", "name": "some-other-name"}
    actions = plan(event, linked(), remote(), CONFIG)
    assert "Sentry team 'core'" in actions[0].reason


def test_our_revision_overtaking_our_link_save_is_known_by_its_values():
    """Our write's hook may be processed before our own save of the link's new rev: the values the
    write sets were saved in flight before it was sent, so its content tells it before any read.
    Who ADO names as its author decides nothing: the same revision without those values is read."""
    event = ado_updated({"System.State": {"oldValue": "Active", "newValue": "Closed"}}, rev=6,
                        by=f"Sentry Bridge <{BRIDGE}>")
    actions = plan_without_remote(event, replace(linked(), in_flight={"ado_state": "Closed"}), CONFIG)
    assert actions is not None and "what the bridge is writing" in actions[0].reason
    assert plan_without_remote(event, linked(), CONFIG) is None
