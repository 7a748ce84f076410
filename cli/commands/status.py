"""`sentry-ado status [--json]`: the status page's content in a terminal, read with the app's settings.

The same snapshot as ``GET /api/status`` (shared/status/), from the same store and queues.
Exit code 0 when healthy, 1 when something needs attention (so a script can alert on it).
"""

from __future__ import annotations

import argparse
import json

NAME = "status"
HELP = "show sync health: links, reconcile runs, failures, poison queues, hook subscriptions, config"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the snapshot as JSON (as GET /api/status does)")


def run(args: argparse.Namespace) -> int:
    from shared.queues import open_queues
    from shared.runtime import runtime
    from shared.status.render import problems, text_report
    from shared.status.snapshot import gather

    rt = runtime()
    snap = gather(rt.config, rt.store, open_queues(rt.config.settings))
    print(json.dumps(snap, indent=2) if args.json else text_report(snap), end="\n" if args.json else "")
    return 1 if problems(snap) else 0
