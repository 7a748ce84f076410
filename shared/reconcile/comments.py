"""Comment drift: what a link's comment lists say is missing, stale or gone on the other side. Pure.

Reconciliation reads a link's comment lists only when the comment count or the work item's change
date differs from what was last synced (`needs_read`). ADO's change date moves on every comment
added, edited or deleted, so the ADO side needs nothing more. Sentry shows no such sign: a note's
edit moves no count and no date (the note keeps its ``dateCreated``; getsentry/sentry
`src/sentry/issues/endpoints/group_notes_details.py` leaves a "last_modified" as a wish), and a
deletion masked by an addition leaves ``numComments`` as it was. So links whose Sentry issue has
comments also take turns (`rechecked`): one slice of `RECHECK_PASSES` per reconcile pass reads its
Sentry list, which bounds both at RECHECK_PASSES passes and costs a quiet pass one read per
RECHECK_PASSES links with comments (nothing for links without). For
the lists it did read, `comment_actions` compares each person's comment with the link's map of
carried comments (``Link.comment_copies``, source id -> copy id and digest of the text carried):
- not carried yet (its webhook was lost)          -> add its copy on the other side;
- carried, its text's digest differs (an edit;
  ADO sends no hook for edits)                    -> update the copy;
- deleted (ADO keeps it as ``isDeleted``; Sentry
  drops it from the list)                         -> delete the copy.
Comments the bridge wrote (its attribution, its ADO identity, or an id it remembers as a copy) are
never carried back. The actions are the webhook path's own, so the same at-most-once claim (a
marker per source comment) covers a reconcile run racing a late webhook.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.actions import (
    Action,
    AddAdoComment,
    AddSentryComment,
    DeleteAdoComment,
    DeleteSentryComment,
    UpdateAdoComment,
    UpdateSentryComment,
    copy_number,
)
from shared.mapping import comments
from shared.mapping.identities import same_ado_identity
from shared.reconcile.drift import parse_time
from shared.store.model import Link


@dataclass(frozen=True)
class Counts:
    """What each side shows of its comments now, from the batch reads reconciliation makes anyway."""

    sentry: int  # the issue's numComments
    ado: int  # the work item's System.CommentCount
    ado_changed_at: str | None  # the work item's System.ChangedDate (an ADO edit or deletion moves it)


def counts(issue: Mapping[str, Any], work_item: Mapping[str, Any]) -> Counts:
    fields = work_item.get("fields") or {}
    return Counts(int(issue.get("numComments") or 0), int(fields.get("System.CommentCount") or 0),
                  fields.get("System.ChangedDate"))


RECHECK_PASSES = 24  # a link with Sentry comments reads its Sentry list at least once in this many passes


def needs_read(link: Link, now: Counts, pass_number: int | None = None) -> tuple[bool, bool]:
    """(read Sentry's list, read ADO's list): a side whose count or change date moved, and Sentry's
    on the link's turn in pass `pass_number` (None: no turns, e.g. a work item just created)."""
    s = link.synced
    sentry = now.sentry != (s.sentry_comments or 0) or (pass_number is not None and rechecked(link, now, pass_number))
    return sentry, now.ado != (s.ado_comments or 0) or later(now.ado_changed_at, s.ado_changed_at)


def rechecked(link: Link, now: Counts, pass_number: int) -> bool:
    """Whether pass `pass_number` is this link's turn to read its Sentry list although no count
    moved: a link whose issue has comments, in the slice the pass number picks (the issue id's CRC
    spreads links evenly over the slices whatever their ids look like)."""
    if max(now.sentry, link.synced.sentry_comments or 0) == 0:
        return False
    return zlib.crc32(link.sentry_issue_id.encode()) % RECHECK_PASSES == pass_number % RECHECK_PASSES


def later(now: str | None, synced: str | None) -> bool:
    """A change date past the one synced (the bridge's own later write is no reason to read)."""
    a, b = parse_time(now), parse_time(synced)
    return a is not None and (b is None or a > b)


def comment_actions(link: Link, sentry_notes: Sequence[Mapping[str, Any]] | None,
                    ado_comments: Sequence[Mapping[str, Any]] | None, *, org: str, to_ado: bool, to_sentry: bool,
                    ado_markdown: bool, bridge_ado_identity: str | None) -> list[Action]:
    """The writes that bring the other side's copies in line with the lists read (None: not read)."""
    actions: list[Action] = []
    if sentry_notes is not None and to_ado:
        actions.extend(_from_sentry(link, sentry_notes, ado_markdown))
    if ado_comments is not None and to_sentry:
        actions.extend(_from_ado(link, ado_comments, org, bridge_ado_identity))
    return actions


def _from_sentry(link: Link, notes: Sequence[Mapping[str, Any]], markdown: bool) -> list[Action]:
    actions: list[Action] = []
    seen: set[str] = set()
    wid = link.work_item_id or 0
    for note in notes:
        source = f"sentry:{note.get('id')}"
        seen.add(source)
        text = (note.get("data") or {}).get("text")
        if not isinstance(text, str) or not text.strip() or comments.written_by_bridge(text):
            continue
        copy = link.copy_of(source)
        author = (note.get("user") or {}).get("name")
        if copy is None:
            if source in link.comment_ids:
                continue  # a copy the bridge wrote, or carried before copies were mapped
            rendered = comments.to_ado(author, text, markdown)
            actions.append(AddAdoComment(link.ado_project, wid, rendered.text, rendered.markdown, source,
                                         comments.digest(text), counted=True))
        elif copy[1] != comments.digest(text) and copy[0].startswith("ado:"):
            rendered = comments.to_ado(author, text, markdown)
            actions.append(UpdateAdoComment(link.ado_project, wid, copy_number(copy[0]), rendered.text,
                                            rendered.markdown, source, comments.digest(text)))
    for source, _ in _mapped(link, "sentry:"):
        if source not in seen:
            copy = link.copy_of(source)
            assert copy is not None
            actions.append(DeleteAdoComment(link.ado_project, wid, copy_number(copy[0]), source, counted=True))
    return actions


def _from_ado(link: Link, listed: Sequence[Mapping[str, Any]], org: str, bridge: str | None) -> list[Action]:
    actions: list[Action] = []
    present: set[str] = set()
    for comment in listed:
        source = f"ado:{comment.get('id')}"
        text = comment.get("text")
        by = comment.get("createdBy") or {}
        if (bridge and same_ado_identity(by, bridge)) or comments.written_by_bridge(text):
            continue
        copy = link.copy_of(source)
        if comment.get("isDeleted"):
            continue  # not present: its copy, if any, is deleted below
        present.add(source)
        if not isinstance(text, str) or not text.strip():
            continue
        author = by.get("displayName") or by.get("uniqueName")
        body = comments.to_sentry(author, text, is_markdown=comment.get("format") == "markdown")
        if copy is None:
            if source in link.comment_ids:
                continue
            actions.append(AddSentryComment(org, link.sentry_issue_id, body, source, comments.digest(text),
                                            counted=True))
        elif copy[1] != comments.digest(text) and copy[0].startswith("sentry:"):
            actions.append(UpdateSentryComment(org, link.sentry_issue_id, copy_number(copy[0]), body, source,
                                               comments.digest(text)))
    for source, _ in _mapped(link, "ado:"):
        if source not in present:
            copy = link.copy_of(source)
            assert copy is not None
            actions.append(DeleteSentryComment(org, link.sentry_issue_id, copy_number(copy[0]), source,
                                               counted=True))
    return actions


def _mapped(link: Link, prefix: str) -> list[tuple[str, str]]:
    return [(k, v) for k, v in link.comment_copies.items() if k.startswith(prefix)]
