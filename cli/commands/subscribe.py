"""`sentry-ado subscribe --url https://<app>/api/ado/webhook`: create or repair the ADO service hooks.

The shell around shared/setup/subscriptions.py: it reads the configured ADO projects from the sync
rules, lets `ensure_subscriptions` plan and apply, and prints one line per subscription. Running it
again changes nothing; every line then says ``keep``.
"""

from __future__ import annotations

import argparse
import sys

from shared.ado.errors import AdoError
from shared.config import load_config
from shared.setup.clients import ado_client
from shared.setup.subscriptions import Change, ensure_subscriptions
from shared.transport import NetworkError

NAME = "subscribe"
HELP = "create or repair the Azure DevOps service hook subscriptions for the configured projects"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", required=True,
                        help="the app's ADO webhook URL, https://<app>.azurewebsites.net/api/ado/webhook")
    parser.add_argument("--force", action="store_true",
                        help="rewrite every subscription (after rotating ADO_HOOK_SECRET, which ADO may not show)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan without changing anything")


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
                                       force=args.force, dry_run=args.dry_run, report=_print)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    except (AdoError, NetworkError) as exc:
        print(f"Azure DevOps refused or failed: {exc}", file=sys.stderr)
        return 1
    changed = sum(ch.action != "keep" for ch in changes)
    verb = "would change" if args.dry_run else "changed"
    print(f"{len(changes)} subscription(s), {changed} {verb}")
    return 0
