"""`sentry-ado manifest --url https://<app>`: what to paste into Sentry's integration form.

Prints the settings a person enters (webhook URL, permissions, webhooks, alert rule action) and
the UI-component schema; ``--json`` prints the schema alone, ready for the "Schema" box.
"""

from __future__ import annotations

import argparse
import json
import sys

from shared.contract import WORKFLOW_ACTIVITY_TRIGGER
from shared.setup.manifest import Manifest, build_manifest

NAME = "manifest"
HELP = "print the Sentry internal-integration settings and UI-component schema for this app"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", required=True, help="the app's base URL, https://<app>.azurewebsites.net")
    parser.add_argument("--json", action="store_true", help="print only the schema JSON")
    parser.add_argument("--commit-tracking", action="store_true",
                        help="also ask for Project: Read and Release: Admin (releases, commits, deploys)")


def render(manifest: Manifest) -> str:
    """The human-readable form, in the order of Sentry's form."""
    width = max(len(p.resource) for p in manifest.permissions)
    lines = [
        "Sentry > Settings > Developer Settings > Custom Integrations > Create New Integration > Internal Integration",
        "",
        f"Webhook URL:        {manifest.webhook_url}",
        f"Alert Rule Action:  {'enabled' if manifest.alert_rule_action else 'disabled'}",
        "",
        "Permissions:",
        *(f"  {p.resource:<{width}}  {p.level:<12}  ({p.why})" for p in manifest.permissions),
        "  (everything else: No Access)",
        "",
        "Webhooks (check these resources): " + ", ".join(manifest.webhook_resources),
        "",
        "Schema (paste into the Schema box):",
        json.dumps(manifest.schema, indent=2),
        "",
        "After saving: copy the Client Secret to SENTRY_CLIENT_SECRET and create a token for SENTRY_TOKEN.",
        "",
        "Issue activity (optional, a second channel beside the webhooks): in Sentry > Alerts, an alert",
        f"whose trigger is '{WORKFLOW_ACTIVITY_TRIGGER}' (the issue is resolved) and whose action notifies this",
        "app sends each resolve as activity_alert. `sentry-ado check` says whether one is set up.",
    ]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    try:
        manifest = build_manifest(args.url, commit_tracking=args.commit_tracking)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(json.dumps(manifest.schema, indent=2) if args.json else render(manifest))
    return 0
