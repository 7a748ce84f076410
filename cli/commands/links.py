"""`sentry-ado links`: list, find, check and remove the links between Sentry issues and work items.

Reads the link store the app uses (LINK_STORE), no API call:
- ``links list [--state S] [--json]``: every link, one per line as a table, or JSON Lines with
  ``--json`` (the link as the store keeps it); a damaged record is listed with its key and why;
- ``links find (--issue ID | --work-item ID) [--json]``: the link of a Sentry issue ("which work item
  is this issue linked to?"), or every link of a work item (several Sentry issues may share one,
  one line each); exit 1 when there is none;
- ``links check``: each stored link that is damaged or carries a malformed identifier (saved by an
  older version or edited by hand), with the command that removes it, and the links reconcile
  skipped lately (the status view's records), with why;
- ``links remove KEY``: delete one stored record by its key (``org:issue-id`` zero-padded, as the
  lists show it); nothing else is touched. Link the pair again from the Sentry issue page.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from shared.store.model import CLAIMED, LINKED, UNLINKED, DamagedLink, Link

if TYPE_CHECKING:
    from shared.store import LinkStore

NAME = "links"
HELP = "list or find links (list, find), list those that cannot be synced (check), remove one (remove KEY)"
SHOWN = 20  # a check lists this many of each kind, then counts the rest
COLUMNS = ("issue", "short id", "work item", "type", "project", "state", "sentry status", "ado state")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = sub.add_parser("list", help="every stored link, as a table or JSON Lines")
    listing.add_argument("--state", choices=(LINKED, CLAIMED, UNLINKED), help="only links in this state")
    listing.add_argument("--json", action="store_true", help="JSON Lines: one link per line, as stored")
    find = sub.add_parser("find", help="the link of one Sentry issue or work item")
    which = find.add_mutually_exclusive_group(required=True)
    which.add_argument("--issue", metavar="ID", help="a Sentry issue's numeric id")
    which.add_argument("--work-item", metavar="ID", type=int, help="a work item id")
    find.add_argument("--json", action="store_true", help="the link as stored, as JSON")
    sub.add_parser("check", help="list malformed or damaged stored links and the latest reconcile failures")
    remove = sub.add_parser("remove", help="remove one stored link by its key")
    remove.add_argument("key", help="the link's key, as `links check` or the reconcile log shows it")
    remove.add_argument("--dry-run", action="store_true", help="show the record; remove nothing")


def row(link: Link) -> tuple[str, ...]:
    return (link.sentry_issue_id, link.sentry_short_id, str(link.work_item_id or "-"), link.work_item_type,
            link.ado_project, link.state, link.synced.sentry_status or "-", link.synced.ado_state or "-")


def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in [COLUMNS, *rows]) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
                     for r in [COLUMNS, *rows])


def stored_link_problems(store: LinkStore) -> Iterator[str]:
    """One line per unusable stored link, with its fix."""
    from shared.reconcile.engine import unusable

    for page in store.iter_pages():
        for record in page:
            if bad := unusable(record):
                yield str(bad)


def check_lines(store: LinkStore) -> tuple[list[str], int]:
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

    rt = runtime()
    store = rt.store
    if args.action == "list":
        return _print(list(_listed(store, args.state)), args.json)
    if args.action == "find":
        s = rt.config.settings
        if args.issue:
            one = store.get_by_issue(s.sentry_org, str(args.issue))
            found = [one] if one else []
        else:  # every Sentry issue linked to the work item, one line each
            found = store.links_for_work_item(s.ado_org_url, args.work_item)
        if not found:
            which = f"Sentry issue {args.issue}" if args.issue else f"work item {args.work_item}"
            print(f"no link for {which} in the link store ({rt.config.settings.link_store})", file=sys.stderr)
            return 1
        return _print(list(found), args.json)
    if args.action == "check":
        lines, bad = check_lines(store)
        print("\n".join(lines))
        return 1 if bad else 0
    if args.dry_run:
        found = any(args.key == key for key in _keys(store))
        print(f"would remove {args.key}" if found else f"no stored link {args.key}", file=sys.stderr if not found
              else sys.stdout)
        return 0 if found else 1
    if store.remove(args.key):
        print(f"removed {args.key}")
        return 0
    print(f"no stored link {args.key}", file=sys.stderr)
    return 1


def _listed(store: LinkStore, state: str | None) -> Iterator[Link | DamagedLink]:
    for page in store.iter_pages():
        yield from (r for r in page if not state or (not isinstance(r, DamagedLink) and r.state == state))


def _print(records: list[Link | DamagedLink], as_json: bool) -> int:
    links = [r for r in records if not isinstance(r, DamagedLink)]
    damaged = [r for r in records if isinstance(r, DamagedLink)]
    if as_json:
        for link in links:
            print(json.dumps(link.to_dict()))
        for record in damaged:
            print(json.dumps({"key": record.key, "damaged": record.reason}))
        return 0
    print(table([row(link) for link in links]))
    for record in damaged:
        print(f"damaged record {record.key}: {record.reason} (see `sentry-ado links check`)")
    print(f"{len(links)} link(s)" + (f", {len(damaged)} damaged record(s)" if damaged else ""))
    return 0


def _keys(store: LinkStore) -> Iterator[str]:
    from shared.store.base import record_key

    for page in store.iter_pages():
        yield from (record_key(r) for r in page)
