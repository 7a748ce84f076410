"""`sentry-ado reconcile [--dry-run]`: one reconciliation run now, with progress.

Uses the same app settings as the deployed app. ``--dry-run`` prints what it would change, as
JSON actions, and changes nothing (not even the checkpoint).
"""

from __future__ import annotations

import argparse
import json
import sys

NAME = "reconcile"
HELP = "repair drift between linked Sentry issues and work items now (--dry-run: only show the plan)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="print the planned actions; change nothing")
    parser.add_argument("--max-pages", type=int, default=None, help="stop after N pages (resume next run)")


def run(args: argparse.Namespace) -> int:
    from shared.reconcile.run import reconciler, repair_subscriptions, summary
    from shared.runtime import runtime

    rt = runtime()

    def progress(report) -> None:
        print(f"  page {report.pages}: {report.links} links, {report.drifted} drifted, {report.writes} writes",
              file=sys.stderr, flush=True)

    for line in repair_subscriptions(rt, dry_run=args.dry_run):
        print(line)
    report = reconciler(rt, progress).run(dry_run=args.dry_run, max_pages=args.max_pages)
    for decision in report.decisions:
        print(f"conflict: {decision}")
    if args.dry_run:
        print(json.dumps({"actions": [a for a in report.planned if a.get("kind") != "skip"]}, indent=2))
    for error in report.errors:
        print(f"error: {error}", file=sys.stderr)
    print(summary(report))
    return 1 if report.errors else 0
