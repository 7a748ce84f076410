"""Every public webhook payload in tests/fixtures/, and the plan the bridge makes for it.

One row per file: the link the bridge holds when it arrives (none, or linked with a baseline) and
the plan expected, action by action, with what each action says or sends. A new fixture without a
row fails `test_every_webhook_fixture_has_a_row`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from shared.actions import Action, AddAdoComment, Agreed, CommentGone, CreateWorkItem, Skip, UpdateWorkItem
from shared.config import Config, parse_rules
from shared.mapping.identities import SentryMember
from shared.planner import Remote, parse_webhook, plan
from shared.store.model import LINKED, Link, SyncedValues
from tests.fixtures import SENTRY_DOCS, SENTRY_EXAMPLES
from tests.mapping.processes import AGILE_BUG
from tests.test_planner import _settings

# The example app's issues are in project "ipe", the docs' in "front-end": route both.
RULES = parse_rules("""
[[routes]]
sentry_projects = ["ipe"]
ado_project = "Shop"
work_item_type = "Bug"
[routes.auto_create]
enabled = true
levels = ["error", "fatal"]

[[routes]]
sentry_projects = ["front-end"]
ado_project = "Web"
work_item_type = "Bug"
area_path = "Web\\\\Frontend"
[routes.auto_create]
enabled = true
levels = ["error", "fatal"]

[states]
ignored_action = "none"

[identities]
"person@example.com" = "person@contoso.com"
""")
CONFIG = Config(_settings(), RULES)
NOW = "2026-01-02T03:04:05+00:00"


def link(issue_id: str, **synced: Any) -> Link:
    values = {"sentry_status": "unresolved", "ado_state": "Active", "ado_rev": 5} | synced
    return Link(sentry_org="example", sentry_issue_id=issue_id, sentry_project="ipe", ado_project="Shop",
                work_item_id=42, work_item_type="Bug", state=LINKED, synced=SyncedValues(**values))


def remote(linked: bool) -> Remote:
    item = {"id": 42, "rev": 5, "fields": {"System.State": "Active", "System.WorkItemType": "Bug"}}
    return Remote(now=NOW, work_item=item if linked else None, states=AGILE_BUG,
                  type_fields=frozenset({"System.Title", "Microsoft.VSTS.TCM.ReproSteps"}),
                  sentry_members=(SentryMember("789", "person@example.com", "Person"),))


def creates(project: str, wit: str, title: str) -> Callable[[Action], bool]:
    def check(a: Action) -> bool:
        fields = {op["path"]: op.get("value") for op in a.ops} if isinstance(a, CreateWorkItem) else {}
        return (isinstance(a, CreateWorkItem) and (a.project, a.work_item_type) == (project, wit)
                and title in str(fields.get("/fields/System.Title")))
    return check


def sets(field: str, value: str) -> Callable[[Action], bool]:
    return lambda a: isinstance(a, UpdateWorkItem) and {"op": "add", "path": f"/fields/{field}",
                                                          "value": value} in a.ops


def comments(text: str) -> Callable[[Action], bool]:
    return lambda a: isinstance(a, AddAdoComment) and a.text == text


def skips(reason: str) -> Callable[[Action], bool]:
    return lambda a: isinstance(a, Skip) and reason in a.reason


@dataclass(frozen=True)
class Row:
    file: str  # folder/name under tests/fixtures
    link: Link | None  # what the store holds when the webhook arrives
    expected: tuple[Callable[[Action], bool], ...]  # one check per planned action, in order


ROWS = [
    # Sentry's example app (getsentry/integration-platform-example)
    Row("sentry-example-app/issue.created", None, (creates("Shop", "Bug", "Error #1: This is a test error!"),)),
    Row("sentry-example-app/issue.assigned", link("123"), (sets("System.AssignedTo", "person@contoso.com"),)),
    Row("sentry-example-app/issue.resolved", link("123"), (sets("System.State", "Resolved"),)),
    # its issue is assigned to Person, which the link's baseline never saw (a lost issue.assigned):
    # the assignment is carried with it, and the ignore itself leaves the work item as it is (the
    # link records the status as agreed)
    Row("sentry-example-app/issue.ignored", link("123"),
        (sets("System.AssignedTo", "person@contoso.com"),
         lambda a: isinstance(a, Agreed) and 'states.ignored_action = "none"' in a.reason
         and a.values.get("sentry_status") == "ignored")),
    Row("sentry-example-app/comment.created", link("123"),
        (comments("**name** (via Sentry): this is a test comment"),)),
    # an edit of a comment never carried (its comment.created was lost) is carried in its latest text
    Row("sentry-example-app/comment.updated", link("123"),
        (comments("**name** (via Sentry): this is a test comment"),)),
    # a deletion of a comment never carried: remembered, so a late comment.created makes no copy
    Row("sentry-example-app/comment.deleted", link("123"),
        (lambda a: isinstance(a, CommentGone) and a.source_id == "sentry:456",)),
    Row("sentry-example-app/event_alert.triggered", None, (skips("without the bridge's alert-rule action"),)),
    # its settings (title, description, userId) name no ADO project, and the event names no Sentry project
    Row("sentry-example-app/event_alert.triggered--with_alert_rule_action", None,
        (skips("name no ADO project and the Sentry project is unknown"),)),
    Row("sentry-example-app/installation.created", None, (skips("installation lifecycle"),)),
    Row("sentry-example-app/installation.deleted", None, (skips("installation lifecycle"),)),
    *(Row(f"sentry-example-app/metric_alert.{name}", None, (skips("metric alerts describe a metric"),))
      for name in ("critical", "warning", "resolved", "critical--with_alert_rule_action",
                   "warning--with_alert_rule_action")),
    # Sentry's documentation (getsentry/sentry-docs)
    Row("sentry-docs/issue.created", None, (creates("Web", "Bug", "ReferenceError: blooopy is not defined"),)),
    Row("sentry-docs/comment.created", link("100"), (comments("**colleen** (via Sentry): adding a comment"),)),
    Row("sentry-docs/seer.root_cause_started", None, (skips("Seer's analysis is not synced"),)),
    Row("sentry-docs/seer.pr_created", None, (skips("Seer's analysis is not synced"),)),
]
FOLDERS = {"sentry-example-app": SENTRY_EXAMPLES, "sentry-docs": SENTRY_DOCS}


def body_of(file: str) -> dict[str, Any]:
    folder, name = file.split("/")
    return json.loads((FOLDERS[folder] / f"{name}.json").read_text(encoding="utf-8"))


def webhook_files() -> list[str]:
    """Fixture files that are webhook bodies (the others are API bodies, with no 'action')."""
    return sorted(f"{folder}/{p.stem}" for folder, path in FOLDERS.items() for p in Path(path).glob("*.json")
                  if "action" in json.loads(p.read_text(encoding="utf-8")))


def test_every_webhook_fixture_has_a_row() -> None:
    assert sorted(r.file for r in ROWS) == webhook_files()


@pytest.mark.parametrize("row", ROWS, ids=[r.file for r in ROWS])
def test_the_plan_for_each_public_payload(row: Row) -> None:
    resource = row.file.split("/")[1].split(".")[0]
    event = parse_webhook("sentry", {"resource": resource, "body": body_of(row.file)})
    actions = plan(event, row.link, remote(row.link is not None), CONFIG)
    assert len(actions) == len(row.expected), actions
    for action, expected in zip(actions, row.expected, strict=True):
        assert expected(action), action
