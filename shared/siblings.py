"""Several Sentry issues linked to one work item (the same bug on two platforms or environments).

Each issue keeps its own link and synced values; the work item is shared. The sync engine fans an
ADO change out to every linked issue (each planned with its own link: one write each), and carries
a Sentry change to the work item once, for the issue it came from. The bridge's write must then not
reach the sibling issues as a change of the work item: each sibling takes what the bridge wrote as
its synced ADO values (`took_bridge_write`), so the write's revision, its hook and reconciliation
all find it already known (an echo, decided by content: what the bridge last wrote). While the write
is being sent, its values are in flight on every sibling's link (`announced`) as on the issue's own:
its hook may arrive before the save that follows the write. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared import actions
from shared.actions import UpdateWorkItem
from shared.store.model import Link, SyncedValues

# work item fields the bridge writes: a sibling takes the written value whatever it held
WRITTEN = ("ado_state", "ado_assignee", "ado_title")
# what the link follows of the work item, moved by any write to it
FOLLOWED = ("ado_rev", "ado_changed_at", "ado_comments")


def took_bridge_write(sibling: Link, before: SyncedValues, after: SyncedValues) -> Link:
    """`sibling` once the bridge's write for another issue of its work item moved that issue's
    synced ADO values from `before` to `after`. The written fields are taken as they are. What
    the sibling follows of the work item (its revision, change date and comment count) moves only
    where the sibling knew what the issue knew before the write, and the revision only to the very
    next one: a revision between them is someone else's change, which the sibling must still see
    through its own hook."""
    mine = sibling.synced
    changes: dict[str, Any] = {name: getattr(after, name) for name in WRITTEN
                               if getattr(after, name) != getattr(before, name)}
    for name in FOLLOWED:
        old, new = getattr(before, name), getattr(after, name)
        if new != old and getattr(mine, name) == old and \
                (name != "ado_rev" or (old is not None and new == old + 1)):
            changes[name] = new
    return sibling.with_synced(**changes) if changes else sibling


def announced(sibling: Link, writes: Sequence[UpdateWorkItem]) -> Link:
    """The sibling with the values the work item updates being sent set, in flight."""
    for write in writes:
        sibling = actions.announced(write, sibling)
    return sibling


def withdrawn(sibling: Link, writes: Sequence[UpdateWorkItem]) -> Link:
    """The sibling once those updates are applied (or refused): their values no longer in flight."""
    for write in writes:
        sibling = actions.withdrawn(write, sibling)
    return sibling
