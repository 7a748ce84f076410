"""`sentry-ado replay-poison [--queue sentry-events|ado-events] [--dry-run]`: after fixing what made
syncs fail (config, permissions), move the poison messages back to their queue, each once.

``--dry-run`` lists them with the reason each failed (recorded by the queue function when it gave
up, kept 7 days) and moves nothing. Reads the queues the app's storage holds (AzureWebJobsStorage,
or AzureWebJobsStorage__accountName with your Azure login: you need "Storage Queue Data Contributor").
Each message is moved once: the run takes at most as many as the poison queue held when it started,
so a replayed message that fails again and returns to the poison queue waits for the next run.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.queues import QueueAccess
    from shared.store import LinkStore

NAME = "replay-poison"
HELP = "move poison queue messages back to their queue after a fix (--dry-run: list them with why each failed)"
HIDE_S = 300  # a taken message is invisible to other readers while it is moved
BATCH = 32  # the most Azure Storage hands out per call


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from shared.queues import SYNC_QUEUES

    parser.add_argument("--queue", choices=SYNC_QUEUES, action="append",
                        help="only this queue's poison messages (default: both)")
    parser.add_argument("--dry-run", action="store_true", help="list the messages and why each failed; move nothing")


def replay(queues: QueueAccess, store: LinkStore, queue: str, dry_run: bool,
           out: Callable[[str], None] = print) -> int:
    """Move (or list) one queue's poison messages; returns how many."""
    from shared.queues import poison_of
    from shared.status.record import describe_message, failure_of_message, iso

    poison = poison_of(queue)
    waiting = queues.depth(poison)
    if dry_run:
        shown = queues.peek(poison, BATCH)
        for m in shown:
            failure = failure_of_message(store, queue, m.text)
            since = iso(m.inserted_at) if m.inserted_at else "?"
            out(f"{poison}: {describe_message(m.text)['summary']} (since {since}): "
                f"{failure['reason'] if failure else 'reason not recorded (older than 7 days)'}")
        if waiting > len(shown):
            out(f"{poison}: ... and {waiting - len(shown)} more")
        out(f"{poison}: {waiting} message(s) would be moved to {queue}")
        return waiting
    moved = 0
    while moved < waiting:
        batch = queues.take(poison, min(BATCH, waiting - moved), HIDE_S)
        if not batch:
            break
        for m in batch:
            queues.put(queue, m.text)  # first the copy, then the removal: a crash between repeats one
            queues.remove(poison, m)  # sync, which is safe to run twice, and loses none
            moved += 1
            out(f"moved: {describe_message(m.text)['summary']}")
    out(f"{poison}: {moved} message(s) moved to {queue}")
    return moved


def run(args: argparse.Namespace) -> int:
    from shared.queues import SYNC_QUEUES, open_queues
    from shared.runtime import runtime

    rt = runtime()
    queues = open_queues(rt.config.settings)
    if queues is None:
        print("error: no queue storage to read: set AzureWebJobsStorage (a connection string) or "
              "AzureWebJobsStorage__accountName", file=sys.stderr)
        return 2
    for queue in args.queue or SYNC_QUEUES:
        replay(queues, rt.store, queue, args.dry_run)
    return 0
