"""`sentry-ado`: the command line. Each subcommand lives in its own module in cli/commands/.

A command module exposes ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``.
Exit codes: 0 success, 1 the work failed (a check failed, a demo step did not happen), 2 bad input
(bad arguments, a file that is not what it should be, invalid configuration).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

from shared.config import ConfigError

COMMANDS = ("demo", "serve", "sandbox", "plan", "reconcile", "check", "links", "subscribe", "manifest", "status",
            "replay-poison")


def _load(name: str) -> ModuleType:
    return importlib.import_module(f"cli.commands.{name.replace('-', '_')}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sentry-ado", description="Two-way sync between Sentry issues and Azure DevOps work items.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = _load(name)
        except ModuleNotFoundError as exc:
            if exc.name != f"cli.commands.{name}":
                raise
            continue
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
