"""`sentry-ado demo`: the product end to end, against the sandbox, as a story a new user can follow.

It starts both emulators and the local function host (SQLite link store), then plays the story
README.md tells (the same steps, in the same order):
1. a Sentry alert fires on a new error and a work item is created (its fields and URL are shown);
2. the error's top stack frame links to its file in Azure Repos (code mappings);
3. another error's work item is created from the issue page's form with iteration, tags, assignee
   and a parent;
4. a Sentry comment appears on the work item;
5. an engineer assigns the work item in Azure DevOps and the Sentry issue follows;
6. the engineer moves it to Closed in Azure DevOps and Sentry resolves the issue;
7. a webhook is lost (the issue regresses in Sentry while deliveries fail) and one reconcile run
   reopens the work item;
8. a commit with "Fixes <short id>" is deployed to production by Azure Pipelines and Sentry shows
   the release, its commits and the deploy, with the issue resolved in that release;
9. a frontend work item moves to Done: its route resolves the issue in the next release, so the next
   event from the old release leaves it resolved (no reopen), and one from a newer release reopens it;
10. the bridge's PAT expires: an assignment fails into the poison queue and the bridge's own error
    arrives in Sentry (SENTRY_DSN); once the PAT is renewed, replaying the poison queue carries it.
Every step checks what really happened in the emulators; the command exits 1 if one did not.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

NAME = "demo"
HELP = "play the end-to-end story against the local Sentry and Azure DevOps emulators"
ENGINEER = "Jamal Hartnett <jamal@contoso.com>"
# The error's stack: two frames of the app (mapped to the seeded shop-api repository by the sandbox's
# [[code_mappings]]) under a library frame.
FRAMES = [{"filename": "flask/app.py", "function": "dispatch_request", "lineno": 880, "in_app": False},
          {"filename": "shop/api/__init__.py", "function": "handle", "lineno": 12},
          {"filename": "shop/api/orders.py", "function": "create_order", "lineno": 42}]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--journal", type=Path, help="write the sandbox's request journal (JSON Lines) here")


class Story:
    """The story's progress: what failed, and what earlier steps made (the issue, the work item)."""

    def __init__(self) -> None:
        self.failed: list[str] = []
        self.step_no = 0
        self.issue: dict[str, Any] = {}
        self.work_item = 0

    def step(self, title: str) -> None:
        self.step_no += 1
        print(f"\n{self.step_no}. {title}")

    def show(self, text: str) -> None:
        print(f"   {text}")

    def check(self, ok: bool, what: str) -> bool:
        print(f"   {'ok  ' if ok else 'FAIL'} {what}")
        if not ok:
            self.failed.append(f"step {self.step_no}: {what}")
        return ok


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level or "WARNING", force=True, format="   [%(levelname)s %(name)s] %(message)s")
    from sandbox.stack import sandbox_stack

    story = Story()
    with sandbox_stack(report_errors=True) as stack:
        print("sentry-ado demo: both emulators and the function app are running on loopback")
        print(f"   app {stack.app_url}/api/   Sentry {stack.sentry_server.url}   ADO {stack.env['ADO_ORG_URL']}")
        try:
            play(stack, story)
        finally:
            if args.journal:
                args.journal.write_text(stack.journal(), encoding="utf-8")
                print(f"\nrequest journal written to {args.journal}")
    if story.failed:
        print("\nThe demo did NOT go as shown:\n  " + "\n  ".join(story.failed), file=sys.stderr)
        return 1
    print("\nEvery step happened as shown.")
    return 0


def _link(issue_id: str) -> Any:
    from shared.runtime import runtime

    rt = runtime()
    return rt.store.get_by_issue(rt.config.settings.sentry_org, issue_id)


def _item_fields(stack: Any, work_item_id: int) -> dict[str, Any]:
    from shared.runtime import runtime

    return runtime().ado.get_work_item(work_item_id)["fields"]


def _issue(issue_id: str) -> dict[str, Any]:
    from shared.runtime import runtime

    return runtime().sentry.get_issue(issue_id)


def play(stack: Any, story: Story) -> None:
    for scene in (_alert_creates_work_item, _stack_frame_link, _create_form, _comment, _assign, _close, _lost_webhook,
                  _deploy, _next_release, _expired_pat):
        if not scene(stack, story):
            story.show("(the rest of the story depends on this step; stopping)")
            return


def _alert_creates_work_item(stack: Any, story: Story) -> bool:
    story.step("A new error reaches Sentry; the alert rule's action asks for an Azure DevOps work item")
    stack.sentry.add_alert_rule("Page the on-call", [
        {"name": "project", "value": "Shop"}, {"name": "work_item_type", "value": "Bug"},
        {"name": "area_path", "value": "Shop\\Api"}, {"name": "priority", "value": "1"}], project="backend")
    issue = stack.sentry.new_error("backend", "KeyError", "'customer_id'", level="error", frames=FRAMES)["issue"]
    stack.settle()
    story.issue = issue
    story.show(f"Sentry issue {issue['shortId']}: {issue['title']}  ({issue['permalink']})")
    link = _link(issue["id"])
    if not story.check(link is not None and link.is_linked, "the issue is linked to a new work item"):
        return False
    fields = _item_fields(stack, link.work_item_id)
    story.work_item = link.work_item_id
    story.show(f"work item #{link.work_item_id} {fields['System.WorkItemType']} in {fields['System.TeamProject']}:"
               f" {link.work_item_url}")
    for ref in ("System.Title", "System.State", "System.AreaPath", "Microsoft.VSTS.Common.Priority",
                "Microsoft.VSTS.Common.Severity", "System.Tags"):
        story.show(f"  {ref:<32} {fields.get(ref)}")
    creates = [e for e in stack.ado.journal.entries() if e["method"] == "POST" and "/workitems/$" in e["path"]]
    story.check(len(creates) == 1, "exactly one work item was created (issue.created and the alert both fired)")
    story.check(fields.get("System.AreaPath") == "Shop\\Api" and fields.get("Microsoft.VSTS.Common.Priority") == 1,
                "area path and priority come from the alert rule's settings")
    externals = [e for e in stack.sentry.journal.entries() if e["path"].endswith("/external-issues/")]
    story.check(len(externals) == 1, "the work item is shown on the Sentry issue page (external issue)")
    return True


def _stack_frame_link(stack: Any, story: Story) -> bool:
    story.step("An engineer opens the failing stack frame in Azure Repos from the Sentry issue")
    from shared.contract import STACKTRACE_LINK_PATH

    links = stack.sentry.frame_links(story.issue["id"], STACKTRACE_LINK_PATH)
    story.show(f"{len(links)} in-app frames carry a link; the top one: {links[-1]}")
    answer = stack.sentry.open_link(links[-1])
    target = answer.headers.get("Location", "")
    story.show(f"-> {answer.status_code} {target}")
    return story.check(answer.status_code == 302 and "/Shop/_git/shop-api?path=/src/shop/api/orders.py" in target
                       and "version=GBmain" in target and "line=42" in target,
                       "the frame opens src/shop/api/orders.py at line 42 on main (the file exists there)")


def _create_form(stack: Any, story: Story) -> bool:
    story.step("Another error; Alice creates its work item from the Sentry issue page, in this sprint, under a feature")
    from shared.contract import ISSUE_LINK_CREATE_PATH

    feature = stack.ado.act_create("Shop", "Feature", {"System.Title": "Checkout reliability"}, as_=ENGINEER)
    # a frontend warning: no alert rule and no auto-create, so the work item waits for someone to ask
    issue = stack.sentry.new_error("frontend", "TimeoutError", "payment provider did not answer", level="warning",
                                   fingerprint="demo-timeout")["issue"]
    fields = {"project": "Shop", "work_item_type": "Bug", "title": "Payment provider timeouts",
              "iteration_path": "Shop\\Sprint 2", "tags": "payments; on-call", "priority": "2",
              "assignee": "ava@contoso.com", "parent": str(feature.id)}
    answer = stack.sentry.submit_issue_link(ISSUE_LINK_CREATE_PATH, issue["id"], fields, "alice@example.com")
    story.show(f"Create form -> {answer.status_code} {answer.text[:120]}")
    if not story.check(answer.status_code == 201, "the form created a work item"):
        return False
    item = _item_fields(stack, int(answer.json()["identifier"]))
    for ref in ("System.IterationPath", "System.Tags", "Microsoft.VSTS.Common.Priority"):
        story.show(f"  {ref:<32} {item.get(ref)}")
    story.show(f"  {'System.AssignedTo':<32} {(item.get('System.AssignedTo') or {}).get('uniqueName')}")
    from shared.runtime import runtime

    relations = runtime().ado.get_work_item(int(answer.json()["identifier"]), expand="relations").get("relations") or []
    parents = [r["url"] for r in relations if r.get("rel") == "System.LinkTypes.Hierarchy-Reverse"]
    story.show(f"  parent                           {parents[0] if parents else None}")
    return story.check(item.get("System.IterationPath") == "Shop\\Sprint 2"
                       and {"payments", "on-call", "sentry"} <= set(str(item.get("System.Tags")).split("; "))
                       and len(parents) == 1 and parents[0].endswith(f"/{feature.id}"),
                       f"iteration, the route's and the person's tags, and the parent feature #{feature.id} are set")


def _comment(stack: Any, story: Story) -> bool:
    story.step("Alice comments on the Sentry issue; the comment appears on the work item")
    issue = story.issue
    stack.sentry.comment("alice@example.com", issue["id"], "Only customers **without** a saved card hit this.")
    stack.settle()
    from shared.runtime import runtime

    comments = runtime().ado.list_comments("Shop", story.work_item)
    texts = [c.get("text", "") for c in comments]
    for text in texts:
        story.show(f"ADO comment: {text}")
    return story.check(any("Alice Example" in t and "saved card" in t for t in texts),
                       "the comment arrived once, attributed to Alice")


def _assign(stack: Any, story: Story) -> bool:
    story.step("An engineer assigns the work item to Jamal in Azure DevOps; Sentry follows")
    stack.ado.act_update(story.work_item, {"System.AssignedTo": "jamal@contoso.com"}, as_=ENGINEER)
    stack.settle()
    assigned = (_issue(story.issue["id"]).get("assignedTo") or {})
    story.show(f"Sentry assignee: {assigned.get('name')} <{assigned.get('email')}>")
    return story.check(assigned.get("email") == "bob@example.com",
                       "the Sentry issue is assigned to the mapped member (identities table: bob = jamal)")


def _close(stack: Any, story: Story) -> bool:
    story.step("The engineer moves the work item to Closed; Sentry resolves the issue")
    before = len([e for e in stack.ado.journal.entries() if e["method"] == "PATCH"])
    stack.ado.act_update(story.work_item, {"System.State": "Closed"}, as_=ENGINEER)
    stack.settle()
    status = _issue(story.issue["id"])["status"]
    story.show(f"Sentry status: {status}")
    ok = story.check(status == "resolved", "the Sentry issue is resolved")
    after = len([e for e in stack.ado.journal.entries() if e["method"] == "PATCH"])
    return ok and story.check(after == before, "no echo: the resolve webhook made no write back to the work item")


def _lost_webhook(stack: Any, story: Story) -> bool:
    from sandbox.core import Faults
    from shared.reconcile.run import reconciler, summary
    from shared.runtime import runtime

    story.step("The issue regresses in Sentry while its webhook is lost; one reconcile run repairs it")
    stack.sentry.set_faults(Faults(webhook_drop_rate=1.0))
    stack.sentry.act("alice@example.com", story.issue["id"], {"status": "unresolved"})
    stack.settle()
    stack.sentry.set_faults(Faults())
    state = _item_fields(stack, story.work_item)["System.State"]
    story.show(f"after the lost webhook the work item is still {state}")
    report = reconciler(runtime()).run()
    story.show(summary(report))
    state = _item_fields(stack, story.work_item)["System.State"]
    story.show(f"work item state now: {state}")
    ok = story.check(state == "Active", "reconciliation reopened the work item")
    again = reconciler(runtime()).run()
    return ok and story.check(again.writes == 0, "a second reconcile run finds nothing to do")


def _deploy(stack: Any, story: Story) -> bool:
    story.step("A fix is pushed and deployed to production by Azure Pipelines; Sentry gets the release")
    short_id = story.issue["shortId"]
    author = "Ava Chen <ava@contoso.com>"
    stack.ado.push_commits("Shop", "shop-web", [{"message": "Initial import", "author": author,
                                                 "changes": [{"changeType": "add", "path": "/src/app.py"}]}])
    stack.ado.complete_stage(stack.ado.queue_run("Shop", "shop-web"), "deploy_prod")
    stack.settle()
    shas = stack.ado.push_commits("Shop", "shop-web", [
        {"message": "Read the customer id defensively", "author": author,
         "changes": [{"changeType": "edit", "path": "/src/checkout.py"}]},
        {"message": f"Handle guests without a saved card\n\nFixes {short_id}", "author": author,
         "changes": [{"changeType": "edit", "path": "/src/payment.py"}]},
        {"message": "Add regression test", "author": author,
         "changes": [{"changeType": "add", "path": "/tests/test_payment.py"}]}])
    run = stack.ado.queue_run("Shop", "shop-web")
    stack.ado.complete_stage(run, "deploy_prod")
    stack.settle()
    from shared.runtime import runtime

    sentry = runtime().sentry
    version = f"shop-web@{shas[-1][:12]}"
    try:
        commits = sentry.list_release_commits(version)
        deploys = sentry.list_deploys(version)
    except Exception as exc:  # the release does not exist: the step failed
        return story.check(False, f"Sentry has release {version} ({exc})")
    story.show(f"release {version}: {len(commits)} commits, deploys to "
               f"{', '.join(d['environment'] for d in deploys)}")
    for c in commits:
        story.show(f"  {c['id'][:10]} {c['message'].splitlines()[0]}")
    issue = _issue(story.issue["id"])
    story.show(f"{short_id}: {issue['status']} {issue.get('statusDetails')}")
    ok = story.check(sorted(c["id"] for c in commits) == sorted(shas), "the release holds exactly the 3 new commits")
    ok &= story.check([d["environment"] for d in deploys] == ["production"], "one deploy to production")
    return ok and story.check(issue["status"] == "resolved" and issue.get("statusDetails", {}).get("inRelease") ==
                              version, f"{short_id} is resolved in that release")


def _next_release(stack: Any, story: Story) -> bool:
    from shared.reconcile.run import reconciler
    from shared.runtime import runtime

    story.step("A web work item moves to Done when the fix merges; Sentry resolves the issue in the next release")
    old, new = "web@1.4.0", "web@1.5.0"
    issue = stack.sentry.new_error("frontend", "TypeError", "cart is undefined", release=old)["issue"]
    stack.settle()
    link = _link(issue["id"])
    if not story.check(link is not None and link.is_linked, f"{issue['shortId']} (seen in {old}) has a work item"):
        return False
    stack.ado.act_update(link.work_item_id, {"System.State": "Done"}, as_=ENGINEER)
    stack.settle()
    resolved = _issue(issue["id"])
    story.show(f"{issue['shortId']}: {resolved['status']} {resolved.get('statusDetails')}")
    if not story.check(resolved["status"] == "resolved" and resolved.get("statusDetails") == {"inNextRelease": True},
                       'resolved "in the next release" (the frontend route\'s resolution_strategy)'):
        return False
    patches = len([e for e in stack.ado.journal.entries() if e["method"] == "PATCH"])
    stack.sentry.new_error("frontend", "TypeError", "cart is undefined", release=old)
    stack.settle()
    again = _issue(issue["id"])
    state = _item_fields(stack, link.work_item_id)["System.State"]
    story.show(f"another event from {old} (the fix is not deployed yet): {again['status']}, work item {state}")
    ok = story.check(again["status"] == "resolved" and state == "Done" and patches == len(
        [e for e in stack.ado.journal.entries() if e["method"] == "PATCH"]),
        "no regression, no reopen: the issue stays resolved and the work item Done")
    stack.sentry.new_error("frontend", "TypeError", "cart is undefined", release=new)
    stack.settle()
    reconciler(runtime()).run()  # the regression scan or the unresolved webhook does this within minutes
    state = _item_fields(stack, link.work_item_id)["System.State"]
    story.show(f"an event from {new}: {_issue(issue['id'])['substatus']}, work item {state}")
    return ok and story.check(state == "Doing", f"a true regression (seen in {new}) reopens the work item")


class _Quiet(logging.Filter):
    """Keeps the named loggers off the terminal (the records still reach error reporting)."""

    def __init__(self, *names: str) -> None:
        super().__init__()
        self.names = names

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.name.startswith(self.names)


def _work_item_writes(stack: Any) -> int:
    return sum(1 for e in stack.ado.journal.entries() if e.get("method") == "PATCH" and "/wit/workitems/" in e["path"])


def _expired_pat(stack: Any, story: Story) -> bool:
    from cli.commands.replay_poison import replay
    from sandbox.ado.seed import BRIDGE
    from sandbox.stack import ADO_PAT
    from shared import error_reporting
    from shared.queues import open_queues
    from shared.runtime import runtime

    story.step("The bridge's PAT expires; an assignment fails, Sentry hears of it, a replay carries it after renewal")
    stack.ado.revoke_token(ADO_PAT)
    before = len(stack.sentry.envelopes)
    writes_before = _work_item_writes(stack)
    quiet = _Quiet("functions.sync", "sandbox.local_host")  # the story shows the failure; no tracebacks
    for handler in logging.getLogger().handlers:
        handler.addFilter(quiet)
    try:
        stack.sentry.act("alice@example.com", story.issue["id"], {"assignedTo": "user:1"})  # Alice takes it
        stack.settle()
    finally:
        stack.ado.add_token(ADO_PAT, BRIDGE.distinct())
        for handler in logging.getLogger().handlers:
            handler.removeFilter(quiet)
    queues = open_queues(runtime().config.settings)
    waiting = queues.depth("sentry-events-poison") if queues else 0
    attempts = _work_item_writes(stack) - writes_before
    story.check(waiting == 1 and attempts == 1, f"the assignment was refused (401: a revoked PAT): tried {attempts} "
                                                "time(s), not retried (a permanent failure); it waits in poison")
    error_reporting.flush()
    reported = [e for env in stack.sentry.envelopes[before:] for e in env.events() if e.get("level") == "error"]
    for event in reported:
        message = (event.get("logentry") or {}).get("formatted") or event.get("message") or ""
        story.show(f"Sentry got the bridge's own error: {message.splitlines()[0][:110]}")
    if not story.check(len(reported) == 1, "the bridge's own error arrived in Sentry once (SENTRY_DSN)"):
        return False
    story.show("the PAT is renewed; `sentry-ado replay-poison` moves the message back:")
    replay(queues, runtime().store, "sentry-events", dry_run=False, out=story.show)
    stack.settle()
    assigned = _item_fields(stack, story.work_item).get("System.AssignedTo") or {}
    who = assigned.get("uniqueName") if isinstance(assigned, dict) else str(assigned)
    story.show(f"work item assigned to: {who}")
    return story.check(who == "ava@contoso.com", "the replayed assignment reached the work item (alice = ava)")
