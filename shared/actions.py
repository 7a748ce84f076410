"""What the planner decided, as typed, frozen values. Pure.

Each action knows three things:
- ``request()``: the one HTTP request that carries it out (built by shared/ado/endpoints.py or
  shared/sentry/endpoints.py), or None for a change to the link store alone;
- ``to_json()``: how a dry run shows it, ``{"system", "kind", "request": {method, path, body}}``,
  or ``{"kind": "skip", "reason"}``;
- ``link_after(link, response)``: the link to save once the request succeeded, given the parsed
  response body (the new work item's id and URL, the external issue's id). Saving it is what makes
  a second delivery of the same event plan nothing.
Some actions have ``follow_ups(link)``: requests that can only be built once the first succeeded
(linking the new work item on the Sentry issue needs its id and URL).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from shared.ado import endpoints as ado
from shared.api_request import ApiRequest
from shared.mapping.comments import VIA_ADO
from shared.sentry import endpoints as sentry
from shared.store.model import LINKED, UNLINKED, Link

# in a claim's in_flight: a create was sent and its outcome is unknown (no answer, or a 5xx); holds the
# title it was sent with, so the next attempt first looks for that work item instead of making another
CREATE_SENT = "create"
# what a copy becomes where the bridge may not delete notes (with the attribution: never carried back)
DELETED_NOTE = f"**Azure DevOps** ({VIA_ADO}): _(this comment was deleted in Azure DevOps)_"
EMPTIED_SENTRY_COMMENT = "empty_sentry_comment"  # a deletion done by emptying the copy (see DeleteSentryComment)
MAX_COMMENT_IDS = 300  # newest ids kept on a link; older ones cannot come back (hooks are not that late)


def _remember(link: Link, *ids: str) -> tuple[str, ...]:
    kept = tuple(i for i in link.comment_ids if i not in ids) + tuple(i for i in ids if i)
    return kept[-MAX_COMMENT_IDS:]


def _with_copy(link: Link, source_id: str, copy_id: str, digest: str) -> Link:
    """The link remembering both ids (never carried twice, never carried back) and which copy the
    source has, with the digest of the text carried, so its edits and deletion reach that copy."""
    copies = dict(link.comment_copies)
    if copy_id:  # unknown (an earlier attempt's answer was lost): keep what the link knows
        copies.pop(source_id, None)
        copies[source_id] = f"{copy_id}#{digest}"
    kept = dict(list(copies.items())[-MAX_COMMENT_IDS:])
    return replace(link, comment_ids=_remember(link, source_id, copy_id), comment_copies=kept)


def _mapped_already(link: Link, source_id: str, copy_id: str) -> bool:
    """Another worker saved this very copy first: its counts moved then, not again now."""
    known = link.copy_of(source_id)
    return bool(copy_id) and known is not None and known[0] == copy_id


def _counted(link: Link, sentry: int, ado: int, changed_at: str | None = None) -> Link:
    """Move the link's comment counts by what a carried comment changed on each side, so a
    reconcile run finds them as it last saw them and reads no comment list for it."""
    s = link.synced
    return link.with_synced(sentry_comments=max((s.sentry_comments or 0) + sentry, 0),
                            ado_comments=max((s.ado_comments or 0) + ado, 0),
                            ado_changed_at=changed_at or s.ado_changed_at)


def _forget_copy(link: Link, source_id: str) -> Link:
    """The pair is gone from the map; both ids stay in ``comment_ids`` so neither is carried again."""
    return replace(link, comment_copies={k: v for k, v in link.comment_copies.items() if k != source_id})


def copy_number(copy_id: str) -> int:
    """``"ado:34"`` -> 34: the copy's id on its own side."""
    return int(copy_id.split(":", 1)[1])


def _with_synced(link: Link, synced: Mapping[str, Any]) -> Link:
    return link.with_synced(**synced) if synced else link


def _in_flight(synced: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in synced.items() if k in keys}


def _announced(link: Link, values: Mapping[str, Any]) -> Link:
    """The link with a write's values in flight, beside those of other writes being sent."""
    return replace(link, in_flight={**link.in_flight, **values})


def _landed(link: Link, values: Mapping[str, Any]) -> Link:
    """The link once a write's values are synced, or known not to have landed: no longer in flight
    (a value another write put in flight since is kept)."""
    kept = {k: v for k, v in link.in_flight.items() if k not in values or values[k] != v}
    return link if kept == link.in_flight else replace(link, in_flight=kept)


@dataclass(frozen=True)
class Action:
    system: ClassVar[str]
    kind: ClassVar[str]

    def request(self) -> ApiRequest | None:
        raise NotImplementedError

    def link_after(self, link: Link | None, response: Any = None) -> Link | None:
        return link

    def follow_ups(self, link: Link) -> tuple[Action, ...]:
        return ()

    def to_json(self) -> dict[str, Any]:
        req = self.request()
        return {"system": self.system, "kind": self.kind, "request": req.to_json() if req else None}


@dataclass(frozen=True)
class Skip(Action):
    """Nothing to do, and why: shown in plans and logs, so every dropped event is explained."""

    reason: str
    system: ClassVar[str] = "none"
    kind: ClassVar[str] = "skip"

    def request(self) -> None:
        return None

    def to_json(self) -> dict[str, Any]:
        return {"kind": "skip", "reason": self.reason}


@dataclass(frozen=True)
class PersonUnmatched(Skip):
    """A person not matched on the other side: skipped like any skip, and reported once per person
    per day with the fix (not once per event). ``values`` records the outcome on the link (a store
    write only), so the same person again costs no look-up."""

    person: str = ""
    values: Mapping[str, Any] = field(default_factory=dict)

    def link_after(self, link: Link | None, response: Any = None) -> Link | None:
        return None if link is None or not self.values else _with_synced(link, self.values)


@dataclass(frozen=True)
class Agreed(Skip):
    """Nothing to send: the other side already holds the value this change asks for (our own
    earlier write whose answer was lost, or a person's same change). The link records that both
    sides agree, as the write would have, so a later change is measured from what is really there."""

    values: Mapping[str, Any] = field(default_factory=dict)  # SyncedValues fields both sides now hold

    def link_after(self, link: Link | None, response: Any = None) -> Link | None:
        return None if link is None else _with_synced(link, self.values)


@dataclass(frozen=True)
class FollowRevision(Action):
    """A work item revision that asks nothing of Sentry (a comment, a field we do not sync) and
    directly follows the link's rev: the link's rev follows it, so the next write guarded by
    ``test /rev`` is not refused (412) and re-read for it. Changes the link store alone."""

    rev: int
    changed_at: str | None = None
    agreed: Mapping[str, Any] = field(default_factory=dict)  # values the revision shows both sides agree on
    system: ClassVar[str] = "none"
    kind: ClassVar[str] = "follow_revision"

    def request(self) -> None:
        return None

    def link_after(self, link: Link | None, response: Any = None) -> Link | None:
        if link is None:
            return None
        return link.with_synced(**self.agreed, ado_rev=self.rev,
                                ado_changed_at=self.changed_at or link.synced.ado_changed_at)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "rev": self.rev}


@dataclass(frozen=True)
class CreateWorkItem(Action):
    """Create the work item for a claimed link; on success the link holds its id and URL."""

    claim: Link  # state "claimed": saved before the request so a second delivery cannot create twice
    project: str
    work_item_type: str
    ops: Sequence[Mapping[str, Any]]
    synced: Mapping[str, Any] = field(default_factory=dict)
    installation_uuid: str | None = None
    # the work item an earlier attempt created though its answer was lost, found by what it holds:
    # linked instead of created again (no request)
    landed: Mapping[str, Any] | None = None
    system: ClassVar[str] = "ado"
    kind: ClassVar[str] = "create_work_item"

    def request(self) -> ApiRequest | None:
        return None if self.landed else ado.create_work_item(self.project, self.work_item_type, self.ops)

    def sent(self, claim: Link) -> Link:
        """The claim once this create was sent and its outcome is unknown: it keeps the title sent."""
        title = next((str(op.get("value")) for op in self.ops if op.get("path") == "/fields/System.Title"), "")
        return replace(claim, in_flight={**claim.in_flight, CREATE_SENT: {"title": title}})

    def to_json(self) -> dict[str, Any]:
        if self.landed:
            return {"system": "none", "kind": "link_created_work_item", "work_item_id": self.landed.get("id")}
        return super().to_json()

    def link_after(self, link: Link | None, response: Any = None) -> Link:
        if not isinstance(response, Mapping) or not isinstance(response.get("id"), int):
            raise ValueError(f"create work item response has no integer id: {response!r}")
        fields = response.get("fields") or {}
        url = ((response.get("_links") or {}).get("html") or {}).get("href") or response.get("url", "")
        base = _with_synced(link or self.claim, self.synced)
        base = replace(base, in_flight={k: v for k, v in base.in_flight.items() if k != CREATE_SENT})
        return replace(base, work_item_id=response["id"], work_item_url=url, state=LINKED,
                       work_item_type=fields.get("System.WorkItemType", self.work_item_type),
                       synced=replace(base.synced, ado_rev=response.get("rev"),
                                      ado_state=fields.get("System.State", base.synced.ado_state),
                                      ado_title=fields.get("System.Title", base.synced.ado_title),
                                      ado_changed_at=fields.get("System.ChangedDate")))

    def follow_ups(self, link: Link) -> tuple[Action, ...]:
        if not self.installation_uuid or not link.work_item_id or not link.work_item_url:
            return ()
        return (LinkExternalIssue(self.installation_uuid, link.sentry_issue_id, link.work_item_url,
                                  link.ado_project, str(link.work_item_id)),)


@dataclass(frozen=True)
class UpdateWorkItem(Action):
    """Patch a work item; with ``rev`` the patch fails (412) instead of overwriting a newer revision."""

    work_item_id: int
    ops: Sequence[Mapping[str, Any]]
    rev: int | None
    synced: Mapping[str, Any] = field(default_factory=dict)
    system: ClassVar[str] = "ado"
    kind: ClassVar[str] = "update_work_item"

    def request(self) -> ApiRequest:
        return ado.update_work_item(self.work_item_id, self.ops, self.rev)

    def in_flight(self) -> dict[str, Any]:
        """The work item values this write sets: its own revision's hook is told by them."""
        return _in_flight(self.synced, ("ado_state", "ado_assignee"))

    def link_after(self, link: Link | None, response: Any = None) -> Link | None:
        if link is None:
            return None
        after = _with_synced(_landed(link, self.in_flight()), self.synced)
        if isinstance(response, Mapping):  # our own revision: its echo must not look newer than what we know
            fields = response.get("fields") or {}
            after = after.with_synced(ado_rev=response.get("rev", after.synced.ado_rev),
                                      ado_changed_at=fields.get("System.ChangedDate", after.synced.ado_changed_at))
        return after


def announced(action: UpdateWorkItem | UpdateSentryIssue, link: Link) -> Link:
    """The link to save before the request: the values it will set, in flight. Its echo can arrive
    before the save that follows the write and must still be known by its content."""
    return _announced(link, action.in_flight())


def withdrawn(action: UpdateWorkItem | UpdateSentryIssue, link: Link) -> Link:
    """The link once the service refused the write: its values are not in flight any more."""
    return _landed(link, action.in_flight())


@dataclass(frozen=True)
class AddAdoComment(Action):
    project: str
    work_item_id: int
    text: str
    markdown: bool
    source_id: str  # "sentry:<note id>", remembered so the comment is carried once
    digest: str = ""  # of the source text (shared/mapping/comments.py)
    counted: bool = False  # the source is already in the link's counts (reconciliation saw it)
    system: ClassVar[str] = "ado"
    kind: ClassVar[str] = "add_ado_comment"

    def request(self) -> ApiRequest:
        return ado.add_comment(self.project, self.work_item_id, self.text, self.markdown)

    def link_after(self, link: Link | None, response: Any = None) -> Link | None:
        if link is None:
            return None
        landed = isinstance(response, Mapping) and "id" in response
        ours = f"ado:{response['id']}" if landed else ""
        if _mapped_already(link, self.source_id, ours):
            return link
        after = _with_copy(link, self.source_id, ours, self.digest)
        # the comment's createdDate is the work item's new ChangedDate: our own change, already seen
        changed = response.get("createdDate") if landed and "version" in response else None
        return _counted(after, 0 if self.counted else 1, 1 if landed else 0, changed)


@dataclass(frozen=True)
class UpdateAdoComment(Action):
    """A carried comment's source was edited: its ADO copy gets the new text (a new comment version)."""

    project: str
    work_item_id: int
    comment_id: int
    text: str
    markdown: bool
    source_id: str
    digest: str
    system: ClassVar[str] = "ado"
    kind: ClassVar[str] = "update_ado_comment"

    def request(self) -> ApiRequest:
        return ado.update_comment(self.project, self.work_item_id, self.comment_id, self.text, self.markdown)

    def link_after(self, link: Link | None, response: Any = None) -> Link | None:
        if link is None:
            return None
        changed = response.get("modifiedDate") if isinstance(response, Mapping) else None
        return _counted(_with_copy(link, self.source_id, f"ado:{self.comment_id}", self.digest), 0, 0, changed)


@dataclass(frozen=True)
class DeleteAdoComment(Action):
    """A carried comment's source was deleted: so is its ADO copy, and the link forgets the pair."""

    project: str
    work_item_id: int
    comment_id: int
    source_id: str
    counted: bool = False
    system: ClassVar[str] = "ado"
    kind: ClassVar[str] = "delete_ado_comment"

    def request(self) -> ApiRequest:
        return ado.delete_comment(self.project, self.work_item_id, self.comment_id)

    def link_after(self, link: Link | None, response: Any = None) -> Link | None:
        return None if link is None else _counted(_forget_copy(link, self.source_id), 0 if self.counted else -1, -1)


@dataclass(frozen=True)
class CommentGone(Action):
    """A Sentry comment deleted before it was carried (its ``comment.deleted`` overtook its
    ``comment.created``): the link remembers its id, so the late creation or edit makes no copy of a
    deleted comment. Changes the link store alone."""

    source_id: str
    system: ClassVar[str] = "none"
    kind: ClassVar[str] = "comment_gone"

    def request(self) -> None:
        return None

    def link_after(self, link: Link | None, response: Any = None) -> Link | None:
        return None if link is None else replace(link, comment_ids=_remember(link, self.source_id))


@dataclass(frozen=True)
class UpdateSentryIssue(Action):
    org: str
    issue_id: str
    changes: Mapping[str, Any]
    synced: Mapping[str, Any] = field(default_factory=dict)
    system: ClassVar[str] = "sentry"
    kind: ClassVar[str] = "update_sentry_issue"

    def request(self) -> ApiRequest:
        return sentry.update_issue(self.org, self.issue_id, self.changes)

    def in_flight(self) -> dict[str, Any]:
        """The Sentry values this update sets: its webhook is told by them."""
        return _in_flight(self.synced, ("sentry_status", "sentry_assignee"))

    def without_release(self) -> UpdateSentryIssue | None:
        """The same update resolving plainly, for when Sentry refuses to resolve in a release because
        the issue's project has none (``mapping.states.resolution``); None without release details."""
        if "statusDetails" not in self.changes or self.changes.get("status") != "resolved":
            return None
        return replace(self, changes={k: v for k, v in self.changes.items() if k != "statusDetails"})

    def link_after(self, link: Link | None, response: Any = None) -> Link | None:
        return None if link is None else _with_synced(_landed(link, self.in_flight()), self.synced)


@dataclass(frozen=True)
class AddSentryComment(Action):
    org: str
    issue_id: str
    text: str
    source_id: str  # "ado:<comment id>"
    digest: str = ""
    counted: bool = False
    system: ClassVar[str] = "sentry"
    kind: ClassVar[str] = "add_sentry_comment"

    def request(self) -> ApiRequest:
        return sentry.create_comment(self.org, self.issue_id, self.text)

    def distinct(self) -> AddSentryComment:
        """This copy told apart from an identical one the bridge posted within the hour (Sentry
        refuses the same text from one user twice in an hour): it names its source comment."""
        return replace(self, text=f"{self.text}\n\n_(Azure DevOps comment {self.source_id.split(':', 1)[-1]})_")

    def link_after(self, link: Link | None, response: Any = None) -> Link | None:
        if link is None:
            return None
        landed = isinstance(response, Mapping) and "id" in response
        ours = f"sentry:{response['id']}" if landed else ""
        if _mapped_already(link, self.source_id, ours):
            return link
        return _counted(_with_copy(link, self.source_id, ours, self.digest), 1 if landed else 0,
                        0 if self.counted else 1)


@dataclass(frozen=True)
class UpdateSentryComment(Action):
    """A carried ADO comment was edited: its Sentry copy (a note the bridge wrote) gets the new text."""

    org: str
    issue_id: str
    note_id: int
    text: str
    source_id: str
    digest: str
    system: ClassVar[str] = "sentry"
    kind: ClassVar[str] = "update_sentry_comment"

    def request(self) -> ApiRequest:
        return sentry.update_comment(self.org, self.issue_id, self.note_id, self.text)

    def link_after(self, link: Link | None, response: Any = None) -> Link | None:
        return None if link is None else _with_copy(link, self.source_id, f"sentry:{self.note_id}", self.digest)


@dataclass(frozen=True)
class DeleteSentryComment(Action):
    """A carried ADO comment was deleted: so is its Sentry copy, and the link forgets the pair."""

    org: str
    issue_id: str
    note_id: int
    source_id: str
    counted: bool = False
    system: ClassVar[str] = "sentry"
    kind: ClassVar[str] = "delete_sentry_comment"

    def request(self) -> ApiRequest:
        return sentry.delete_comment(self.org, self.issue_id, self.note_id)

    def without_admin(self) -> ApiRequest:
        """Deleting a note needs the ``event:admin`` scope (Issue & Event: Admin); a Read & Write
        integration empties the copy instead (editing its own note needs only ``event:write``)."""
        return sentry.update_comment(self.org, self.issue_id, self.note_id, DELETED_NOTE)

    def link_after(self, link: Link | None, response: Any = None) -> Link | None:
        emptied = isinstance(response, Mapping)  # the note's new text came back: still counted by Sentry
        return None if link is None else _counted(_forget_copy(link, self.source_id), 0 if emptied else -1,
                                                  0 if self.counted else -1)


@dataclass(frozen=True)
class LinkExternalIssue(Action):
    """Show the work item on the Sentry issue page (an upsert: one link per issue and app)."""

    installation_uuid: str
    issue_id: str
    web_url: str
    project: str
    identifier: str
    relink: bool = False  # also mark the link linked again (a restored work item)
    system: ClassVar[str] = "sentry"
    kind: ClassVar[str] = "link_external_issue"

    def request(self) -> ApiRequest:
        return sentry.create_external_issue(self.installation_uuid, self.issue_id, self.web_url, self.project,
                                            self.identifier)

    def link_after(self, link: Link | None, response: Any = None) -> Link | None:
        if link is None:
            return None
        external = str(response["id"]) if isinstance(response, Mapping) and "id" in response else link.external_issue_id
        return replace(link, external_issue_id=external, state=LINKED if self.relink else link.state)


@dataclass(frozen=True)
class Unlink(Action):
    """The work item is gone: mark the link unlinked (kept for a restore) and remove the Sentry link."""

    installation_uuid: str | None
    external_issue_id: str | None
    reason: str
    system: ClassVar[str] = "sentry"
    kind: ClassVar[str] = "unlink"

    def request(self) -> ApiRequest | None:
        if not self.installation_uuid or not self.external_issue_id:
            return None  # nothing shown on the Sentry issue: only the link store changes
        return sentry.delete_external_issue(self.installation_uuid, self.external_issue_id)

    def link_after(self, link: Link | None, response: Any = None) -> Link | None:
        return None if link is None else replace(link, state=UNLINKED, external_issue_id=None)

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "reason": self.reason}
