"""The link between one Sentry issue and one Azure DevOps work item, as plain data.

A link is claimed before the work item exists (``work_item_id is None``, state ``claimed``) so that
concurrent deliveries of the same ``issue.created`` create exactly one work item. It then keeps the
last values synced each way, with the time each side last changed, which is what echo suppression,
ordering and reconciliation compare against.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from shared import identifiers as ids

CLAIMED = "claimed"  # the Sentry issue is claimed; the work item is being created
LINKED = "linked"
UNLINKED = "unlinked"  # the work item was deleted in ADO; kept so a restore can relink
STATES = (CLAIMED, LINKED, UNLINKED)


@dataclass(frozen=True)
class SyncedValues:
    """The values both sides agreed on at the last sync, in each side's own vocabulary."""

    sentry_status: str | None = None  # unresolved | resolved | ignored
    sentry_assignee: str | None = None  # Sentry actor as "user:ID" / "team:ID", or None
    sentry_title: str | None = None
    ado_state: str | None = None  # state name of the work item's type
    ado_assignee: str | None = None  # ADO uniqueName, or None
    ado_title: str | None = None
    sentry_changed_at: str | None = None  # ISO-8601 UTC of the newest Sentry change applied
    ado_changed_at: str | None = None  # System.ChangedDate of the newest ADO revision applied
    ado_rev: int | None = None
    # comment counts last seen (Sentry's numComments, ADO's System.CommentCount): reconciliation
    # reads a link's comment lists only when one differs (shared/reconcile/comments.py)
    sentry_comments: int | None = None
    ado_comments: int | None = None
    # a Sentry assignee (actor) last found to have no ADO identity: the same assignment again is
    # told at no call (cleared once an assignee is carried, so a later assignment looks again)
    sentry_assignee_unmatched: str | None = None


@dataclass(frozen=True)
class Link:
    sentry_org: str
    sentry_issue_id: str
    sentry_project: str = ""
    sentry_short_id: str = ""
    sentry_url: str = ""
    ado_org_url: str = ""
    ado_project: str = ""
    work_item_id: int | None = None
    work_item_type: str = ""
    work_item_url: str = ""
    external_issue_id: str | None = None  # Sentry App external issue shown on the Sentry issue page
    state: str = CLAIMED
    claimed_at: str = ""
    synced: SyncedValues = field(default_factory=SyncedValues)
    # ids of comments written by the bridge or already carried over, per side, so none is echoed
    # or copied twice (bounded: only the newest few hundred are kept, see planner)
    comment_ids: tuple[str, ...] = ()
    # each carried comment's copy on the other side, source id -> "copy id#digest" ("sentry:12" ->
    # "ado:34#9f2c...", "ado:7" -> "sentry:56#..."); the digest is of the source text last carried.
    # An edit or deletion of the source reaches its copy through it, and an edit already carried is
    # told by content (bounded like comment_ids: the newest few hundred)
    comment_copies: dict[str, str] = field(default_factory=dict, hash=False)
    # Sentry values a write being sent will set ({"sentry_status": ..., "sentry_assignee": ...}),
    # saved before it is sent: its webhook can overtake the save that follows the write, and must
    # still be known as ours. Cleared by that save.
    in_flight: dict[str, Any] = field(default_factory=dict, hash=False)
    etag: str | None = None  # set by the store; the update precondition

    @property
    def is_linked(self) -> bool:
        return self.state == LINKED and self.work_item_id is not None

    def copy_of(self, source_id: str) -> tuple[str, str] | None:
        """(copy id, digest of the source text last carried) of a carried comment, if known."""
        entry = self.comment_copies.get(source_id)
        if not entry:
            return None
        copy_id, _, digest = entry.partition("#")
        return copy_id, digest

    def problems(self) -> list[str]:
        """What makes this stored link unusable (identifiers that could never be read or written:
        saved by an older version, or edited by hand); empty when it is well formed."""
        out = []
        checks = [lambda: ids.sentry_issue_id(self.sentry_issue_id, "sentry_issue_id")]
        if self.work_item_id is not None or self.state != CLAIMED:
            checks.append(lambda: ids.work_item_id(self.work_item_id, "work_item_id"))
        if self.ado_project:
            checks.append(lambda: ids.ado_project(self.ado_project, "ado_project", named_by_ado=True))
        for check in checks:
            try:
                check()
            except ids.MalformedIdentifier as exc:
                out.append(str(exc))
        if self.state not in STATES:
            out.append(f"state must be one of {', '.join(STATES)}, got {self.state!r}")
        return out

    def with_synced(self, **changes: Any) -> Link:
        if "sentry_assignee" in changes:  # an assignee carried or agreed: a later one is looked up again
            changes = {"sentry_assignee_unmatched": None, **changes}
        return replace(self, synced=replace(self.synced, **changes))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("etag")
        data["comment_ids"] = list(self.comment_ids)
        data["comment_copies"] = dict(self.comment_copies)
        return data

    @classmethod
    def from_json(cls, key: str, text: str, etag: str | None = None) -> Link | DamagedLink:
        """A stored record, or what is wrong with it: one damaged record must not hide the others."""
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise TypeError(f"a link is a JSON object, got {type(data).__name__}")
            return cls.from_dict(data, etag)
        except (ValueError, TypeError, AttributeError) as exc:
            return DamagedLink(key, f"stored link is not readable: {type(exc).__name__}: {str(exc)[:120]}")

    @classmethod
    def from_dict(cls, data: dict[str, Any], etag: str | None = None) -> Link:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known and k != "etag"}
        synced_known = {f.name for f in fields(SyncedValues)}
        values["synced"] = SyncedValues(**{k: v for k, v in (data.get("synced") or {}).items()
                                           if k in synced_known})
        values["comment_ids"] = tuple(data.get("comment_ids") or ())
        values["in_flight"] = dict(data.get("in_flight") or {})
        values["comment_copies"] = {str(k): str(v) for k, v in (data.get("comment_copies") or {}).items()}
        return cls(**values, etag=etag)


@dataclass(frozen=True)
class DamagedLink:
    """A stored record that cannot be read as a link (its JSON or its fields are damaged). Listed by
    `iter_pages` in its place, so reconciliation reports it and goes on; `key` is its store key."""

    key: str
    reason: str


class DamagedRecord(ids.BadRecord):
    """A point read found a damaged record; the message holds its key and what is wrong."""
