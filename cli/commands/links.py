"""`sentry-ado links`: find and remove stored links the bridge can no longer use.

``links check`` reads every stored link (the store only, no API call) and lists each one that is
damaged or carries a malformed identifier (saved by an older version or edited by hand), with the
command that removes it, and the links reconcile skipped lately (the status view's records), with why.
``links remove KEY`` deletes one stored record by its key (``org:issue-id`` zero-padded, as the
lists show it); nothing else is touched. Link the pair again from the Sentry issue page.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator

NAME = "links"
HELP = "list stored links that cannot be synced (check) or remove one (remove KEY)"
SHOWN = 20  # a check lists this many of each kind, then counts the rest


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    sub.add_parser("check", help="list malformed or damaged stored links and the latest reconcile failures")
    remove = sub.add_parser("remove", help="remove one stored link by its key")
    remove.add_argument("key", help="the link's key, as `links check` or the reconcile log shows it")
    remove.add_argument("--dry-run", action="store_true", help="show the record; remove nothing")


def stored_link_problems(store) -> Iterator[str]:
    """One line per unusable stored link, with its fix."""
    from shared.reconcile.engine import unusable

    for page in store.iter_pages():
        for record in page:
            if bad := unusable(record):
                yield str(bad)


def check_lines(store) -> tuple[list[str], int]:
    """The report `links check` and `sentry-ado check` print, and how many stored links are bad."""
    from shared.status import record

    bad = list(stored_link_problems(store))
    lines = [f"FAIL stored link {line}" for line in bad[:SHOWN]]
    if len(bad) > SHOWN:
        lines.append(f"FAIL ... and {len(bad) - SHOWN} more stored links like these")
    if not bad:
        lines.append("ok   stored links: every one is well formed")
    skipped = [f for f in record.recent_failures(store) if f.get("source") == "reconcile"]
    if skipped:
        lines.append(f"note reconcile skipped {len(skipped)} link(s) in the last week:")
        lines += [f"       {f['subject']}: {f['reason']}" + (f" ({f['summary'].split('; ', 1)[1]})"
                                                              if "; fix: " in f.get("summary", "") else "")
                  for f in skipped[:SHOWN]]
    return lines, len(bad)


def run(args: argparse.Namespace) -> int:
    from shared.runtime import runtime

    store = runtime().store
    if args.action == "check":
        lines, bad = check_lines(store)
        print("\n".join(lines))
        return 1 if bad else 0
    if args.dry_run:
        found = any(args.key == key for key in _keys(store))
        print(f"would remove {args.key}" if found else f"no stored link {args.key}")
        return 0 if found else 1
    if store.remove(args.key):
        print(f"removed {args.key}")
        return 0
    print(f"no stored link {args.key}")
    return 1


def _keys(store) -> Iterator[str]:
    from shared.store.base import record_key

    for page in store.iter_pages():
        yield from (record_key(r) for r in page)
