"""`sentry-ado`: the command line. Each subcommand lives in its own module in cli/commands/.

A command module exposes ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``.
Every command reads settings the same way (cli/settings.py) and answers an expected failure with
one line naming the cause and one naming the fix (shared/failures.py); ``--debug`` adds the
traceback. Exit codes (`EXIT_CODES`): 0 success, 1 the work failed (a check failed, a demo step
did not happen), 2 bad input or configuration, 3 credentials or a permission refused, 4 a service
unreachable, throttled or failing, 5 a project, type or item that does not exist or a request the
service rejected, 6 the link store unreachable, 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import traceback
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from types import ModuleType

from cli import settings as local_settings
from shared.failures import Failure, classify

COMMANDS = ("demo", "serve", "sandbox", "plan", "reconcile", "check", "subscribe", "manifest", "status",
            "replay-poison", "links", "import-links")
EXIT_CODES = {"config": 2, "bad-record": 2, "auth": 3, "permission": 3, "network": 4, "throttled": 4, "server": 4,
              "conflict": 4, "not-found": 5, "rejected": 5, "store": 6}
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _load(name: str) -> ModuleType:
    return importlib.import_module(f"cli.commands.{name.replace('-', '_')}")


def package_version() -> str:
    try:
        return version("sentry-ado")
    except PackageNotFoundError:
        return "unknown (not installed: pip install -e .)"


def common_options(defaults: bool) -> argparse.ArgumentParser:
    """Options every command takes, before or after its name (``SUPPRESS`` on the subcommand keeps
    a value given before the name from being overwritten by the subcommand's default)."""
    parent = argparse.ArgumentParser(add_help=False)
    default = None if defaults else argparse.SUPPRESS
    parent.add_argument("--settings", metavar="FILE", default=default,
                        help="a local.settings.json to read settings from after the environment "
                             "(default: ./local.settings.json when present)")
    parent.add_argument("--log-level", type=str.upper, choices=LOG_LEVELS, default=default,
                        help="log level of the app's own log lines (default WARNING; serve: INFO)")
    parent.add_argument("--debug", action="store_true", default=False if defaults else argparse.SUPPRESS,
                        help="show the traceback of a failure")
    return parent


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sentry-ado", parents=[common_options(True)],
        description="Two-way sync between Sentry issues and Azure DevOps work items.",
        epilog="exit codes: 0 ok, 1 work failed, 2 bad input or configuration, 3 credentials or permission "
               "refused, 4 service unreachable or failing, 5 not found or rejected, 6 link store unreachable")
    parser.add_argument("--version", action="version", version=f"sentry-ado {package_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = _load(name)
        except ModuleNotFoundError as exc:
            if exc.name != f"cli.commands.{name.replace('-', '_')}":
                raise
            continue
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP, parents=[common_options(False)])
        module.add_arguments(p)
        p.set_defaults(run=module.run)
    return parser


def configure_logging(level: str | None, command: str) -> None:
    """Log lines to stderr at ``--log-level``. Where logging is already set up (a host, a test
    harness), only an explicit ``--log-level`` changes it."""
    root = logging.getLogger()
    if root.handlers:
        if level:
            root.setLevel(level)
        return
    logging.basicConfig(level=level or ("INFO" if command == "serve" else "WARNING"),
                        format="%(levelname)s %(name)s: %(message)s")


def report(failure: Failure) -> int:
    print(f"error: {failure.line()}", file=sys.stderr)
    return EXIT_CODES[failure.kind]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level, args.command)
    try:
        with local_settings.applied(args.settings):
            return int(args.run(args))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        failure = classify(exc)
        if failure is None:
            raise
        if args.debug:
            traceback.print_exc()
        return report(failure)


if __name__ == "__main__":
    sys.exit(main())
