"""Carry out a plan: send each action's request with the right client and save the link after it.

The imperative shell around `shared/actions.py`. Rules:
- A work item is only ever created after the link store's conditional insert claimed the Sentry
  issue (`CreateWorkItem.claim`); losing the claim means another delivery is creating it, and this
  one stops. If the create fails, the claim is released so a later delivery or reconciliation can
  try again. Creates are never retried blindly (the transport does not replay them).
- The link is saved after every action that succeeded, with its ETag precondition; a lost race
  re-reads the link and applies the same change to the fresh copy (`update_with_retry`), so nothing
  another worker saved meanwhile is overwritten.
- A dry run returns the plan as JSON and sends nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.actions import (
    EMPTIED_SENTRY_COMMENT,
    Action,
    AddAdoComment,
    AddSentryComment,
    CreateWorkItem,
    DeleteAdoComment,
    DeleteSentryComment,
    PersonUnmatched,
    Skip,
    UpdateSentryIssue,
    UpdateWorkItem,
    announced,
    withdrawn,
)
from shared.ado.errors import AdoNotFound
from shared.identifiers import MalformedIdentifier
from shared.sentry.errors import DuplicateComment, SentryBadRequest, SentryNotFound, SentryPermissionDenied
from shared.store import ConcurrentUpdate, Link, LinkStore, update_with_retry
from shared.transport import NetworkError

log = logging.getLogger(__name__)


class ClaimLost(Exception):
    """Another delivery claimed this Sentry issue first; it creates the work item."""


@dataclass
class Applied:
    link: Link | None
    done: list[dict[str, Any]] = field(default_factory=list)  # to_json() of each action carried out or skipped


def _save(store: LinkStore, link: Link, action: Action, response: Any) -> Link:
    try:
        return store.save(link)
    except ConcurrentUpdate:
        return update_with_retry(store, link.sentry_org, link.sentry_issue_id,
                                 lambda fresh: action.link_after(fresh, response) or fresh)


def _in_flight(store: LinkStore, link: Link, action: UpdateSentryIssue | UpdateWorkItem,
               change: Callable[[UpdateSentryIssue | UpdateWorkItem, Link], Link]) -> Link:
    """Save the values a write will set before sending it (``announced``): its webhook can arrive
    before the save that follows the write, and must still be told as ours by its content; or take
    them back once the service refused the write (``withdrawn``)."""
    changed = change(action, link)
    if changed == link:
        return link
    try:
        return store.save(changed)
    except ConcurrentUpdate:
        return update_with_retry(store, link.sentry_org, link.sentry_issue_id, lambda fresh: change(action, fresh))


def _send(action: Action, clients: dict[str, Any]) -> Any:
    request = action.request()
    if request is None:
        return None
    try:
        return clients[action.system].send(request)
    except (AdoNotFound, SentryNotFound):
        if isinstance(action, DeleteAdoComment | DeleteSentryComment):
            return None  # already gone (an earlier attempt, or a person): what the deletion wanted
        raise
    except SentryPermissionDenied:
        if isinstance(action, DeleteSentryComment):
            log.info("comment %s: no event:admin scope to delete its Sentry copy; emptied instead", action.source_id)
            return clients["sentry"].send(action.without_admin())
        raise
    except SentryBadRequest as exc:
        plain = action.without_release() if isinstance(action, UpdateSentryIssue) else None
        if plain is None or "statusDetails" not in exc.field_errors:
            raise
        log.info("Sentry issue %s: %s; resolved plainly", action.issue_id, exc.detail)
        return clients["sentry"].send(plain.request())


def _create(action: CreateWorkItem, store: LinkStore, clients: dict[str, Any], applied: Applied) -> Link:
    if problems := action.claim.problems():  # the last door: nothing is claimed or created for it
        raise MalformedIdentifier(f"not claiming Sentry issue {action.claim.sentry_issue_id!r}: {'; '.join(problems)}")
    claimed = _take_claim(store, action.claim)
    if claimed is None:
        raise ClaimLost(f"Sentry issue {action.claim.sentry_issue_id} is already claimed")
    try:
        response = action.landed or _send(action, clients)
    except Exception as exc:
        if not _may_have_landed(exc):
            store.release(claimed)
            raise
        try:  # the next attempt looks for the work item this one may have made before making one
            store.save(action.sent(claimed))
        except ConcurrentUpdate:
            log.warning("Sentry issue %s: could not mark its create as sent", claimed.sentry_issue_id)
        raise
    link = store.save(action.link_after(claimed, response))
    applied.done.append(action.to_json())
    for follow in action.follow_ups(link):
        response = _send(follow, clients)
        link = _save(store, follow.link_after(link, response) or link, follow, response)
        applied.done.append(follow.to_json())
    return link


def _take_claim(store: LinkStore, claim: Link) -> Link | None:
    """A new claim (conditional insert), or a claim whose earlier create's outcome was unknown, taken
    over at the version the plan read (of attempts racing for it, one wins); None when lost."""
    if claim.etag is None:
        return store.claim(claim)
    try:
        return store.save(claim)
    except ConcurrentUpdate:
        return None


def _may_have_landed(exc: Exception) -> bool:
    """No answer after the request was sent, or a gateway's (502, 504: the service behind it may have
    finished): the create may have been made. Any other answer says it was not."""
    return isinstance(exc, NetworkError) or getattr(exc, "status", None) in (502, 504)


COMMENT_LEASE_S = 60.0  # well inside the queue's retries (host.json: 5 tries, 30 s apart)


class CommentInFlight(Exception):
    """Another attempt is posting this comment right now; retry the message later."""


def _posted(action: AddAdoComment | AddSentryComment, link: Link, clients: dict[str, Any]) -> dict[str, Any] | None:
    """The comment an earlier attempt posted with this exact text, if it landed: the newest one with
    the text that the link knows as no other comment's copy (two comments may say the same thing,
    and taking the other one's copy for ours would lose this one)."""
    known = {entry.partition("#")[0] for entry in link.comment_copies.values()} | set(link.comment_ids)
    if isinstance(action, AddAdoComment):
        listed = [(f"ado:{c.get('id')}", c.get("text", ""), c) for c in
                  clients["ado"].list_comments(action.project, action.work_item_id)]
        texts = {action.text}
    else:
        listed = [(f"sentry:{c.get('id')}", (c.get("data") or {}).get("text", ""), c) for c in
                  clients["sentry"].list_comments(action.issue_id)]
        texts = {action.text, action.distinct().text}
    found = [c for copy_id, text, c in listed if text in texts and copy_id not in known and "id" in c]
    return {"id": found[-1]["id"]} if found else None


def _comment_once(action: AddAdoComment | AddSentryComment, link: Link, store: LinkStore,
                  clients: dict[str, Any]) -> tuple[bool, Any]:
    """Post a carried comment at most once, across retries and workers; returns (posted, response).

    Neither API deduplicates comments, and a post whose answer was lost may still have landed. A
    marker claims the comment before posting and, once posted, keeps the copy's id (a retry whose
    save of the link failed still maps the copy, so the comment's edits and deletion reach it). A
    later attempt that finds a fresh claim backs off (the queue retries it); one that finds a stale
    claim (the earlier attempt failed or died mid-post) looks for the exact text on the target,
    among comments the link knows as no other comment's copy, before posting again."""
    key = f"{link.sentry_org}:{link.sentry_issue_id}:{action.source_id}"
    if not store.claim_marker("comment", key, {"state": "posting", "at": time.time()}):
        marker = store.get_marker("comment", key) or {}
        if marker.get("state") == "done":
            return False, {"id": marker["copy"]} if marker.get("copy") is not None else None
        if time.time() - marker.get("at", 0) < COMMENT_LEASE_S:
            raise CommentInFlight(f"comment {action.source_id} is being posted by another attempt")
        fresh = store.get_by_issue(link.sentry_org, link.sentry_issue_id) or link
        landed = _posted(action, fresh, clients)
        if landed is not None:
            store.set_marker("comment", key, {"state": "done", "copy": landed["id"]})
            return False, landed
        store.set_marker("comment", key, {"state": "posting", "at": time.time()})
    try:
        response = _post(action, clients)
    except Exception:
        store.set_marker("comment", key, {"state": "posting", "at": 0})  # may have landed: check next time
        raise
    copy = response.get("id") if isinstance(response, dict) else None
    store.set_marker("comment", key, {"state": "done", "copy": copy})
    return True, response


def _post(action: AddAdoComment | AddSentryComment, clients: dict[str, Any]) -> Any:
    """Sentry refuses a user's same text twice within an hour; the bridge posts every copy as one
    user, so a comment saying what another carried lately said is posted naming its source."""
    try:
        return _send(action, clients)
    except DuplicateComment:
        if not isinstance(action, AddSentryComment):
            raise
        log.info("comment %s: Sentry has this text from the bridge already; posted naming its source",
                 action.source_id)
        return _send(action.distinct(), clients)


UNMATCHED_KEEP_DAYS = 2


def report_unmatched(store: LinkStore, action: PersonUnmatched, now: float | None = None) -> bool:
    """Warn about a person nobody matched once per person per day (a marker per day and person
    claims the report), with the fix; older days' markers are dropped as a new one is made."""
    at = time.time() if now is None else now
    day = time.strftime("%Y-%m-%d", time.gmtime(at))
    if not store.claim_marker("unmatched", f"{day}|{action.person.casefold()}", {"reason": action.reason}):
        return False
    log.warning("unmatched person %s (reported once a day): %s", action.person, action.reason)
    oldest = time.strftime("%Y-%m-%d", time.gmtime(at - UNMATCHED_KEEP_DAYS * 86400))
    for key, _ in store.list_markers("unmatched"):
        if key.split("|", 1)[0] < oldest:
            store.delete_marker("unmatched", key)
    return True


def apply_plan(actions: list[Action], link: Link | None, store: LinkStore, clients: dict[str, Any],
               dry_run: bool = False) -> Applied:
    """Send each action in order; `clients` maps "ado" / "sentry" to a client with ``send``."""
    applied = Applied(link)
    if dry_run:
        applied.done = [a.to_json() for a in actions]
        return applied
    for action in actions:
        if isinstance(action, Skip):
            if isinstance(action, PersonUnmatched) and action.person:
                report_unmatched(store, action)
            applied.done.append(action.to_json())
            log.debug("skip: %s", action.reason)
            after = action.link_after(applied.link)  # `Agreed` records what both sides already hold
            if after is not None and after != applied.link:
                applied.link = _save(store, after, action, None)
            continue
        if isinstance(action, CreateWorkItem):
            try:
                applied.link = _create(action, store, clients, applied)
            except ClaimLost as exc:
                applied.done.append(Skip(str(exc)).to_json())
                return applied
            continue
        if isinstance(action, AddAdoComment | AddSentryComment) and applied.link is not None:
            posted, response = _comment_once(action, applied.link, store, clients)
            if not posted:
                applied.done.append(Skip(f"comment {action.source_id} was already carried").to_json())
                applied.link = _save(store, action.link_after(applied.link, response) or applied.link, action,
                                     response)
                continue
        elif isinstance(action, UpdateSentryIssue | UpdateWorkItem) and applied.link is not None:
            applied.link = _in_flight(store, applied.link, action, announced)
            try:
                response = _send(action, clients)
            except Exception as exc:
                if not _may_have_landed(exc):  # refused (a 412 among them): nothing of it is in flight
                    _in_flight(store, applied.link, action, withdrawn)
                raise
        else:
            response = _send(action, clients)
        after = action.link_after(applied.link, response)
        if after is not None and after != applied.link:
            applied.link = _save(store, after, action, response)
        applied.done.append(_outcome(action, response))
    return applied


def _outcome(action: Action, response: Any) -> dict[str, Any]:
    """What was done: a Sentry copy emptied (no event:admin to delete it) says so, since Sentry's
    comment count did not move (reconciliation's baseline counts follow these kinds)."""
    done = action.to_json()
    if isinstance(action, DeleteSentryComment) and isinstance(response, Mapping):
        done["kind"] = EMPTIED_SENTRY_COMMENT
    return done
