"""`sentry-ado serve [--port N] [--sandbox]`: host the function app locally, without Core Tools.

The same function objects Azure runs, under the same routes, on loopback. Settings come from the
environment, then `local.settings.json` (or ``--settings FILE``), as every command does. With
``--sandbox`` both emulators start too and the app is wired to them; ``--demo`` then plays the demo's
story against them first (and runs the reconcile timer once), so the status page has a history to show.
A failed queue message waits host.json's ``visibilityTimeout`` before its retry, as in Azure.
"""

from __future__ import annotations

import argparse
import threading

NAME = "serve"
HELP = "host the function app on loopback (same routes as Azure); --sandbox adds both emulators"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=7071, help="port for the app (default 7071, like func start)")
    parser.add_argument("--sandbox", action="store_true", help="also start the Sentry and Azure DevOps emulators")
    parser.add_argument("--demo", action="store_true",
                        help="with --sandbox: play the demo story first, then keep serving (see /api/status)")


def run(args: argparse.Namespace) -> int:
    from sandbox.core import RunningServer
    from sandbox.local_host import LocalHost

    if args.sandbox:
        from sandbox.stack import sandbox_stack

        with sandbox_stack(app_port=args.port, report_errors=args.demo,
                           retry_delay_s=0.0 if args.demo else None) as stack:
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

    host = LocalHost(function_app.app, retry_delay_s=None)
    queues.use_local(host)
    server = RunningServer(host, port=args.port)
    print(f"app: {server.url}/api/  (health: {server.url}/api/health). Ctrl-C stops.", flush=True)
    try:
        threading.Event().wait()
    finally:
        server.stop()
    return 0
