"""The app's contract with the outside world, each fact once: the routes Sentry and Azure DevOps
call, the headers they send, the Sentry resources and ADO event types we act on, and the field
names of our Sentry UI components. Everything else imports these names; a fact that changes
(Sentry renames a header, a route moves) changes here only. Plain constants: import costs nothing.

Sources: Sentry's integration-platform docs (webhooks, ui-components; getsentry/sentry
src/sentry/sentry_apps/), Azure DevOps service hook events
(https://learn.microsoft.com/azure/devops/service-hooks/events) and host.json (routePrefix).
"""

from __future__ import annotations

# --- routes -----------------------------------------------------------------------------------
# As the function decorators take them (relative to host.json's ``routePrefix``), and as full paths
# for what the app tells others to call (the Sentry manifest, the ADO subscriptions).
API_PREFIX = "/api"
SENTRY_WEBHOOK_ROUTE = "sentry/webhook"
ADO_WEBHOOK_ROUTE = "ado/webhook"
ISSUE_LINK_OPTIONS_ROUTE = "sentry/issue-link/options/{kind}"
ISSUE_LINK_CREATE_ROUTE = "sentry/issue-link/create"
ISSUE_LINK_LINK_ROUTE = "sentry/issue-link/link"
ALERT_RULE_ACTION_ROUTE = "sentry/alert-rule-action"
STACKTRACE_LINK_ROUTE = "sentry/stacktrace-link"
HEALTH_ROUTE = "health"


def api_path(route: str) -> str:
    return f"{API_PREFIX}/{route}"


SENTRY_WEBHOOK_PATH = api_path(SENTRY_WEBHOOK_ROUTE)
ADO_WEBHOOK_PATH = api_path(ADO_WEBHOOK_ROUTE)
OPTIONS_PATH = api_path(ISSUE_LINK_OPTIONS_ROUTE)
ISSUE_LINK_CREATE_PATH = api_path(ISSUE_LINK_CREATE_ROUTE)
ISSUE_LINK_LINK_PATH = api_path(ISSUE_LINK_LINK_ROUTE)
ALERT_RULE_ACTION_PATH = api_path(ALERT_RULE_ACTION_ROUTE)
STACKTRACE_LINK_PATH = api_path(STACKTRACE_LINK_ROUTE)


def options_uri(kind: str) -> str:
    """Where a select of our forms loads its options (kind: projects, types, areas, workitems)."""
    return OPTIONS_PATH.format(kind=kind)


# The queues between the webhook functions and the sync functions (infra/modules/storage.bicep).
SENTRY_QUEUE = "sentry-events"
ADO_QUEUE = "ado-events"

# --- headers ----------------------------------------------------------------------------------
SENTRY_SIGNATURE_HEADER = "Sentry-Hook-Signature"  # HMAC-SHA256 of the webhook body
SENTRY_UI_SIGNATURE_HEADER = "Sentry-App-Signature"  # the same HMAC on UI-component requests
SENTRY_TIMESTAMP_HEADER = "Sentry-Hook-Timestamp"
SENTRY_RESOURCE_HEADER = "Sentry-Hook-Resource"
SENTRY_REQUEST_ID_HEADER = "Request-ID"
ADO_SECRET_HEADER = "X-Hook-Secret"  # noqa: S105 - a header name, not a secret: ours, set on each subscription

# --- Sentry resources -------------------------------------------------------------------------
# Each Sentry-Hook-Resource we check and the ``data`` keys its body must carry to be that resource.
SENTRY_RESOURCE_DATA: dict[str, tuple[str, ...]] = {
    "issue": ("issue",),
    "comment": ("comment_id", "issue_id"),
    "event_alert": ("event",),
    "activity_alert": ("issue", "alert"),
    "installation": ("installation",),
    "metric_alert": ("metric_alert",),
    "error": ("error",),
}
# The data key that tells the resource of a body without its Sentry-Hook-Resource header, most
# specific first (an activity alert's data also holds "issue"); see webhook_subjects.py in
# getsentry/sentry for the keys Sentry itself reads.
SENTRY_RESOURCE_BY_DATA_KEY = {"activity": "activity_alert", "issue": "issue", "comment_id": "comment",
                               "event": "event_alert", "metric_alert": "metric_alert", "error": "error",
                               "installation": "installation", "run_id": "seer", "buildId": "preprod_artifact"}
# An activity alert's ``data.activity.type``: what Sentry sends a Sentry App's workflow action
# (ActivityAlertType over STATUS_CHANGE_ACTIVITY_TYPES and SEER_ACTIVITY_TYPES; getsentry/sentry
# src/sentry/notifications/notification_action/activity_registry/sentry_app.py and
# src/sentry/types/activity.py). Each status change with the ``issue`` webhook action of the same
# meaning; Sentry sends no assignment, note or priority activity to apps this way.
SENTRY_ACTIVITY_ISSUE_ACTION = {
    "status_resolved": "resolved", "status_resolved_in_release": "resolved", "status_resolved_by_age": "resolved",
    "status_resolved_in_commit": "resolved", "status_unresolved": "unresolved", "status_regression": "unresolved",
    "status_escalating": "unresolved", "status_ignored": "ignored",
}
# A workflow (GET organizations/{org}/workflows/) sends issue activity to an app when an action of
# this type targets it and a trigger fires on the activity: today the resolves
# (getsentry/sentry src/sentry/workflow_engine/models/data_condition.py, Action.Type.SENTRY_APP).
WORKFLOW_APP_ACTION = "sentry_app"
WORKFLOW_ACTIVITY_TRIGGER = "issue_resolved_trigger"
# The other types Sentry sends, and why they change nothing we sync.
SENTRY_ACTIVITY_NOT_SYNCED = {
    "appeared_in_pull_request": "a pull request mentions the issue; it is not resolved by that",
    **{f"seer_{step}": "Seer's analysis is not synced; work items follow issues"
       for step in ("root_cause_started", "root_cause_completed", "solution_started", "solution_completed",
                    "coding_started", "coding_completed", "pr_created", "pr_iteration_started",
                    "pr_iteration_completed")},
}
SENTRY_RESOURCES_SYNCED = ("issue", "comment", "event_alert", "activity_alert")
# Checked in the integration form; event_alert comes with the alert-rule action, not as a subscription.
SENTRY_WEBHOOK_RESOURCES = ("issue", "comment")

# --- Azure DevOps event types -----------------------------------------------------------------
WORKITEM_CREATED = "workitem.created"
WORKITEM_UPDATED = "workitem.updated"
WORKITEM_COMMENTED = "workitem.commented"
WORKITEM_DELETED = "workitem.deleted"
WORKITEM_RESTORED = "workitem.restored"
ADO_WORK_ITEM_EVENTS = (WORKITEM_UPDATED, WORKITEM_COMMENTED, WORKITEM_DELETED, WORKITEM_RESTORED)
CLASSIC_DEPLOYMENT_EVENT = "ms.vss-release.deployment-completed-event"
STAGE_EVENT = "ms.vss-pipelines.stage-state-changed-event"
RUN_EVENT = "ms.vss-pipelines.run-state-changed-event"
ADO_DEPLOYMENT_EVENTS = (CLASSIC_DEPLOYMENT_EVENT, STAGE_EVENT, RUN_EVENT)
ADO_EVENTS_ACTED_ON = ADO_WORK_ITEM_EVENTS + ADO_DEPLOYMENT_EVENTS
# What marks a delivery from a subscription's Test button (the service's canned sample payloads,
# docs/service-hooks/events.md of MicrosoftDocs/azure-devops-docs): the samples' collection, the
# all-zero subscription id of a hook not saved yet, and the sample update's work item id 0.
ADO_SAMPLE_COLLECTION_ID = "c12d0eb8-e382-443b-9f9c-c52cba5014c2"
ADO_UNSAVED_SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000000"

# --- our Sentry UI components -----------------------------------------------------------------
# Field names of the issue-link forms and the alert-rule action (Sentry posts them back as keys of
# ``fields`` / ``settings[].name``).
FIELD_PROJECT = "project"
FIELD_TYPE = "work_item_type"
FIELD_TITLE = "title"
FIELD_DESCRIPTION = "description"
FIELD_AREA = "area_path"
FIELD_WORK_ITEM = "work_item"
FIELD_PRIORITY = "priority"
FIELD_ITERATION = "iteration_path"
FIELD_TAGS = "tags"
FIELD_SEVERITY = "severity"
FIELD_ASSIGNEE = "assignee"
FIELD_PARENT = "parent"
# Sentry's forms are static (the schema), so the fields a work item type requires beyond ours are
# offered in numbered selects whose options name the field: value "Ref.Name=value".
FIELD_REQUIRED = ("required_field_1", "required_field_2", "required_field_3")
# Alert-rule setting name -> the work item target attribute it sets: our fields, and the spellings
# a rule made by hand or through Sentry's API may use.
ALERT_SETTINGS = {FIELD_PROJECT: "project", FIELD_TYPE: "work_item_type", "type": "work_item_type",
                  "workItemType": "work_item_type", FIELD_AREA: "area_path", "areaPath": "area_path",
                  FIELD_ITERATION: "iteration_path", "iterationPath": "iteration_path", FIELD_PRIORITY: "priority",
                  FIELD_TAGS: "tags", FIELD_SEVERITY: "severity", FIELD_ASSIGNEE: "assignee", FIELD_PARENT: "parent"}
