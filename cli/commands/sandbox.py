"""`sentry-ado sandbox`: run both emulators as their own process and print their URLs.

For the benchmarks and for anyone pointing their own tools (sentry-cli, the azure-devops client,
curl) at spec-faithful stand-ins of Sentry and Azure DevOps.
"""

from __future__ import annotations

import argparse
import threading

NAME = "sandbox"
HELP = "run the Sentry and Azure DevOps emulators on loopback and print their URLs and tokens"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added latency per API call")


def run(args: argparse.Namespace) -> int:
    from sandbox.core import Faults
    from sandbox.sentry import seed
    from sandbox.stack import ADO_PAT, sandbox_stack

    with sandbox_stack(with_host=False, faults=Faults(latency_s=args.latency_ms / 1000)) as stack:
        print(f"SENTRY_BASE_URL={stack.sentry_server.url}")
        print(f"SENTRY_ORG={seed.ORG_SLUG}")
        print(f"SENTRY_TOKEN={seed.APP_TOKEN}")
        print(f"ADO_ORG_URL={stack.env['ADO_ORG_URL']}")
        print(f"ADO_PAT={ADO_PAT}")
        print("journal: GET <url>/_sandbox/journal on either. Ctrl-C stops.", flush=True)
        threading.Event().wait()
    return 0
