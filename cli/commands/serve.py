"""`sentry-ado serve [--port N] [--sandbox]`: host the function app locally, without Core Tools.

The same function objects Azure runs, under the same routes, on loopback. Settings come from the
environment and `local.settings.json` (its ``Values``) when present, as with `func start`. With
``--sandbox`` both emulators start too and the app is wired to them; ``--demo`` then plays the demo's
story against them first (and runs the reconcile timer once), so the status page has a history to show.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
from pathlib import Path

NAME = "serve"
HELP = "host the function app on loopback (same routes as Azure); --sandbox adds both emulators"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=7071, help="port for the app (default 7071, like func start)")
    parser.add_argument("--sandbox", action="store_true", help="also start the Sentry and Azure DevOps emulators")
    parser.add_argument("--demo", action="store_true",
                        help="with --sandbox: play the demo story first, then keep serving (see /api/status)")
    parser.add_argument("--settings", default="local.settings.json",
                        help="a local.settings.json whose Values are loaded into the environment (if it exists)")


def load_local_settings(path: Path) -> dict[str, str]:
    """The ``Values`` of a local.settings.json; a broken file is an error naming it."""
    if not path.exists():
        return {}
    try:
        values = json.loads(path.read_text(encoding="utf-8")).get("Values", {})
    except (ValueError, AttributeError) as exc:
        raise SystemExit(f"{path}: not a local.settings.json ({exc})") from None
    return {k: str(v) for k, v in values.items() if not k.startswith("FUNCTIONS_")}


def run(args: argparse.Namespace) -> int:
    from sandbox.core import RunningServer
    from sandbox.local_host import LocalHost

    for key, value in load_local_settings(Path(args.settings)).items():
        os.environ.setdefault(key, value)
    if args.sandbox:
        from sandbox.stack import sandbox_stack

        with sandbox_stack(app_port=args.port, report_errors=args.demo) as stack:
            if args.demo:
                import logging

                from cli.commands.demo import Story, play

                logging.basicConfig(level=logging.WARNING, format="   [%(levelname)s %(name)s] %(message)s")
                story = Story()
                play(stack, story)
                stack.host.run_timer("reconcile")  # records the hook subscriptions' health too
                print(f"\ndemo: {'every step happened' if not story.failed else 'FAILED: ' + '; '.join(story.failed)}")
            print(f"app:           {stack.app_url}/api/  (health: {stack.app_url}/api/health)")
            print(f"status:        {stack.app_url}/api/status")
            print(f"Sentry (emu):  {stack.sentry_server.url}   org {stack.env['SENTRY_ORG']}")
            print(f"ADO (emu):     {stack.env['ADO_ORG_URL']}")
            print("timers:        POST /admin/timers/<name>; queues drain in-process. Ctrl-C stops.", flush=True)
            threading.Event().wait()
        return 0
    from shared.config import get_config

    get_config()  # fail now, naming every bad key, rather than on the first request
    import function_app
    from shared import queues

    host = LocalHost(function_app.app)
    queues.use_local(host)
    server = RunningServer(host, port=args.port)
    print(f"app: {server.url}/api/  (health: {server.url}/api/health). Ctrl-C stops.", flush=True)
    try:
        threading.Event().wait()
    finally:
        server.stop()
    return 0
