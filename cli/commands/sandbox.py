"""`sentry-ado sandbox`: run both emulators as their own process and print every setting to use them.

For `sentry-ado serve`, the other commands (`check`, `reconcile`, `plan`), the benchmarks, and
anyone pointing their own tools (sentry-cli, the azure-devops client, curl) at spec-faithful
stand-ins of Sentry and Azure DevOps. It seeds a few Sentry issues and the Git repository the
shipped rules (sandbox/default-sync.toml) name, points Sentry's webhooks and ADO's service hooks
at ``--app-url`` (where `sentry-ado serve` listens by default), and prints the settings as
``export`` lines and, with ``--settings-file``, as a local.settings.json, so that
``sentry-ado check --settings FILE`` passes against it.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
from pathlib import Path
from typing import Any

NAME = "sandbox"
HELP = "run the Sentry and Azure DevOps emulators on loopback and print every setting to use them"
SEED_ERRORS = (("backend", "KeyError", "'customer_id'"), ("backend", "TimeoutError", "payment gateway"),
               ("frontend", "TypeError", "undefined is not a function"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added latency per API call")
    parser.add_argument("--app-url", default="http://127.0.0.1:7071",
                        help="where the app listens (sentry-ado serve's default): webhooks are sent there")
    parser.add_argument("--settings-file", type=Path,
                        help="also write the settings here as a local.settings.json (for --settings)")
    parser.add_argument("--no-seed", action="store_true", help="start empty: no issues, no repository")


def prepare(stack: Any, app_url: str, workdir: Path, seed: bool = True) -> dict[str, str]:
    """Wire the running emulators for an app at ``app_url`` and return its settings."""
    from sandbox.sentry import seed as sentry_seed
    from sandbox.stack import subscribe_ado_hooks
    from shared.setup.manifest import SENTRY_WEBHOOK_PATH
    from shared.setup.subscriptions import ADO_WEBHOOK_PATH

    base = app_url.rstrip("/")
    stack.sentry.configure_webhook(f"{base}{SENTRY_WEBHOOK_PATH}", sentry_seed.CLIENT_SECRET)
    subscribe_ado_hooks(stack.env["ADO_ORG_URL"], f"{base}{ADO_WEBHOOK_PATH}", ["Shop", "Basic"])
    if seed:
        first = {"message": "Initial commit", "author": "Ava Chen <ava@contoso.com>",
                 "changes": [{"changeType": "add", "path": "/README.md"}]}
        stack.ado.push_commits("Shop", "shop-web", [first])
        for project, kind, value in SEED_ERRORS:
            stack.sentry.new_error(project, kind, value)
    settings = dict(stack.env)
    settings["SQLITE_PATH"] = str(workdir / "links.sqlite")
    settings["APP_BASE_URL"] = base
    return settings


def local_settings(settings: dict[str, str]) -> str:
    return json.dumps({"IsEncrypted": False, "Values": {"FUNCTIONS_WORKER_RUNTIME": "python", **settings}},
                      indent=2)


def run(args: argparse.Namespace) -> int:
    from sandbox.core import Faults
    from sandbox.stack import sandbox_stack

    workdir = Path(tempfile.mkdtemp(prefix="sentry-ado-sandbox-"))
    with sandbox_stack(workdir=str(workdir), with_host=False,
                       faults=Faults(latency_s=args.latency_ms / 1000)) as stack:
        settings = prepare(stack, args.app_url, workdir, seed=not args.no_seed)
        print("# the app's settings for these emulators (eval them, or use --settings-file):")
        for key, value in settings.items():
            print(f"export {key}={value}")
        if args.settings_file:
            args.settings_file.write_text(local_settings(settings), encoding="utf-8")
            print(f"# written to {args.settings_file}: sentry-ado check --settings {args.settings_file}")
        print(f"# Sentry: {stack.sentry_server.url}  ADO: {settings['ADO_ORG_URL']}  webhooks go to {args.app_url} "
              "(start it with: sentry-ado serve)")
        print("# control API: POST <emulator>/_sandbox/<action> (README \"The sandbox\"); "
              "GET <emulator>/_sandbox/journal. Ctrl-C stops.", flush=True)
        threading.Event().wait()
    return 0
