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
from dataclasses import dataclass, field
from typing import Any

from shared.actions import Action, CreateWorkItem, Skip
from shared.store import ConcurrentUpdate, Link, LinkStore, update_with_retry

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


def _send(action: Action, clients: dict[str, Any]) -> Any:
    request = action.request()
    return None if request is None else clients[action.system].send(request)


def _create(action: CreateWorkItem, store: LinkStore, clients: dict[str, Any], applied: Applied) -> Link:
    claimed = store.claim(action.claim)
    if claimed is None:
        raise ClaimLost(f"Sentry issue {action.claim.sentry_issue_id} is already claimed")
    try:
        response = _send(action, clients)
    except Exception:
        store.release(claimed)
        raise
    link = store.save(action.link_after(claimed, response))
    applied.done.append(action.to_json())
    for follow in action.follow_ups(link):
        response = _send(follow, clients)
        link = _save(store, follow.link_after(link, response) or link, follow, response)
        applied.done.append(follow.to_json())
    return link


def apply_plan(actions: list[Action], link: Link | None, store: LinkStore, clients: dict[str, Any],
               dry_run: bool = False) -> Applied:
    """Send each action in order; `clients` maps "ado" / "sentry" to a client with ``send``."""
    applied = Applied(link)
    if dry_run:
        applied.done = [a.to_json() for a in actions]
        return applied
    for action in actions:
        if isinstance(action, Skip):
            applied.done.append(action.to_json())
            log.info("skip: %s", action.reason)
            continue
        if isinstance(action, CreateWorkItem):
            try:
                applied.link = _create(action, store, clients, applied)
            except ClaimLost as exc:
                applied.done.append(Skip(str(exc)).to_json())
                return applied
            continue
        response = _send(action, clients)
        after = action.link_after(applied.link, response)
        if after is not None and after != applied.link:
            applied.link = _save(store, after, action, response)
        applied.done.append(action.to_json())
    return applied
