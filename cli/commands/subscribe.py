"""`sentry-ado subscribe --url https://<app>`: create or repair the ADO service hooks.

The shell around shared/setup/subscriptions.py: it reads the configured ADO projects from the sync
rules, lets `ensure_subscriptions` plan and apply, and prints one line per subscription (``--json``:
one JSON object). With ``[releases]`` it also subscribes each project's YAML stage completions.
Running it again changes nothing; every line then says ``keep``. ``--url`` is the app's base URL,
the same as `sentry-ado manifest --url` takes (its ``/api/ado/webhook`` route is accepted too).
"""

from __future__ import annotations

import argparse
import json
import sys

from shared.config import load_config
from shared.setup.clients import ado_client
from shared.setup.subscriptions import Change, ensure_subscriptions, events_for

NAME = "subscribe"
HELP = "create or repair the Azure DevOps service hook subscriptions for the configured projects"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", required=True,
                        help="the app's base URL, https://<app>.azurewebsites.net (as for manifest --url)")
    parser.add_argument("--force", action="store_true",
                        help="rewrite every subscription (after rotating ADO_HOOK_SECRET, which ADO may not show)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan without changing anything")
    parser.add_argument("--json", action="store_true", help="print {changed, subscriptions: [...]} as JSON")


def _print(change: Change) -> None:
    print(change.describe(), flush=True)


def run(args: argparse.Namespace) -> int:
    config = load_config()
    projects = list(dict.fromkeys(route.ado_project for route in config.rules.routes))
    if not projects:
        print("no ADO project to subscribe: the sync rules have no [[routes]] (set SYNC_CONFIG_PATH)",
              file=sys.stderr)
        return 2
    settings = config.settings
    try:
        changes = ensure_subscriptions(ado_client(settings), projects, args.url, settings.ado_hook_secret.reveal(),
                                       force=args.force, dry_run=args.dry_run,
                                       report=None if args.json else _print,
                                       events=events_for(config.rules.commit_tracking))
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    changed = sum(ch.action != "keep" for ch in changes)
    if args.json:
        print(json.dumps({"dry_run": args.dry_run, "changed": changed, "subscriptions": [
            {"action": ch.action, "event_type": ch.event_type, "project": ch.project, "id": ch.subscription_id,
             "reason": ch.reason} for ch in changes]}, indent=2))
        return 0
    verb = "would change" if args.dry_run else "changed"
    print(f"{len(changes)} subscription(s), {changed} {verb}")
    return 0
