"""`sentry-ado reconcile [--dry-run] [--link ID]`: one reconciliation run now, with progress.

Uses the same app settings as the deployed app. ``--dry-run`` prints what it would change, as
JSON actions, and changes nothing (not even the checkpoint). ``--link`` repairs one pair now, named
by its Sentry issue id or its work item id (``sentry:ID`` / ``ado:ID`` when a number is both; a work
item linked to several Sentry issues: each of its pairs), and prints each action it took.
``--json`` prints one JSON object instead of lines: the counts, each drift's outcome, conflicts,
errors (and the actions, dry run).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.config import Settings
    from shared.runtime import Runtime
    from shared.store import Link, LinkStore

NAME = "reconcile"
HELP = "repair drift between linked Sentry issues and work items now (--dry-run: only show the plan)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="print the planned actions; change nothing")
    parser.add_argument("--max-pages", type=int, default=None, help="stop after N pages (resume next run)")
    parser.add_argument("--link", metavar="ISSUE_ID|WORK_ITEM_ID",
                        help="repair one pair now: a Sentry issue id or a work item id (prefix sentry: or ado:)")
    parser.add_argument("--json", action="store_true", help="print one JSON report instead of lines")


def find_links(store: LinkStore, settings: Settings, ref: str) -> list[Link]:
    """The links a person named (a Sentry issue's, or every issue's of a work item), or a
    ValueError saying why none matches (or the number names both an issue and a work item)."""
    side, _, value = ref.partition(":") if ":" in ref else ("", "", ref)
    if side not in ("", "sentry", "ado") or not value.isdigit() or int(value) <= 0:
        raise ValueError(f"--link {ref!r}: expected a Sentry issue id or a work item id (a positive number), "
                         "optionally prefixed sentry: or ado:")
    by_issue = store.get_by_issue(settings.sentry_org, value) if side in ("", "sentry") else None
    by_item = store.links_for_work_item(settings.ado_org_url, int(value)) if side in ("", "ado") else []
    if by_issue and by_item and by_issue.sentry_issue_id not in {link.sentry_issue_id for link in by_item}:
        raise ValueError(f"--link {value} is both Sentry issue {value} and work item {value} (linked to issue "
                         f"{', '.join(link.sentry_issue_id for link in by_item)}); say sentry:{value} or ado:{value}")
    found = [by_issue] if by_issue else by_item
    if not found:
        where = {"sentry": "Sentry issue", "ado": "work item"}.get(side, "Sentry issue or work item")
        raise ValueError(f"--link {ref}: no link for {where} {value} in the link store")
    return found


def run_link(rt: Runtime, ref: str, dry_run: bool) -> int:
    """Repair the pair named now; a work item linked to several Sentry issues, each of its pairs."""
    from shared.reconcile.run import reconciler

    try:
        links = find_links(rt.store, rt.config.settings, ref)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    failed = False
    for link in links:
        print(f"Sentry issue {link.sentry_short_id or link.sentry_issue_id} <-> work item {link.work_item_id} "
              f"({link.state})")
        report = reconciler(rt).run_one(link, dry_run=dry_run)
        for decision in report.decisions:
            print(f"conflict: {decision}")
        done = [a for a in report.planned if a.get("kind") != "skip"]
        for action in report.planned:
            print(("would " if dry_run and action.get("kind") != "skip" else "") + json.dumps(action))
        for error in report.errors:
            print(f"error: {error}", file=sys.stderr)
        verb = "would make" if dry_run else "made"
        print(f"{'in sync' if not report.drifted else 'drifted'}; {verb} {len(done)} change(s) "
              f"({report.api_calls} API calls)")
        failed = failed or bool(report.errors)
    return 1 if failed else 0


def run(args: argparse.Namespace) -> int:
    from shared.reconcile.run import reconciler, repair_subscriptions, summary
    from shared.runtime import runtime

    rt = runtime()
    if args.link:
        return run_link(rt, args.link, args.dry_run)

    def progress(report) -> None:
        print(f"  page {report.pages}: {report.links} links, {report.drifted} drifted, {report.writes} writes",
              file=sys.stderr, flush=True)

    subscriptions = repair_subscriptions(rt, dry_run=args.dry_run)
    report = reconciler(rt, None if args.json else progress).run(dry_run=args.dry_run, max_pages=args.max_pages)
    if args.json:
        print(json.dumps({"dry_run": args.dry_run, "finished": report.finished, "links": report.links,
                          "pages": report.pages, "drifted": report.drifted, "writes": report.writes,
                          "created": report.created, "unlinked": report.unlinked, "drift": report.outcomes,
                          "conflicts": report.decisions, "errors": report.errors, "subscriptions": subscriptions,
                          **({"actions": report.planned} if args.dry_run else {})}, indent=2))
        return 1 if report.errors else 0
    for line in subscriptions:
        print(line)
    for decision in report.decisions:
        print(f"conflict: {decision}")
    for outcome in report.outcomes:
        print(f"drift: {outcome}")
    if args.dry_run:
        print(json.dumps({"actions": [a for a in report.planned if a.get("kind") != "skip"]}, indent=2))
    for bad in report.bad:
        print(f"skipped: {bad}", file=sys.stderr)
    print(summary(report))
    return 1 if report.errors else 0
