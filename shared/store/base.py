"""The link store interface. Two implementations: SQLite (local default) and Azure Table Storage.

The contract (tests/store/test_contract.py runs the same suite against both):
- `claim` is a conditional insert: of any number of concurrent claims for one Sentry issue, exactly
  one returns the stored link; the others get None and must not create a work item.
- `save` is optimistic: it succeeds only if the link's ``etag`` is still current, else it raises
  `ConcurrentUpdate`, and the caller re-reads and retries (`update_with_retry`).
- A work item can be linked to several Sentry issues (the same bug on two platforms), each its own
  link; a Sentry issue to one work item. "Which work item for this issue" is a point read
  (`get_by_issue`); "which issues for this work item" is one indexed read (`links_for_work_item`,
  in issue key order; SQLite: an index on the work item key; Table: a second entity per link keyed
  by work item, in one partition range), plus, on Table, a point read per linked issue.
  `get_by_work_item` is the first of them, for callers that show one.
- `iter_pages` streams links in key order a page at a time and can start after a key, so
  reconciliation can checkpoint and resume.
- A stored record that cannot be read as a link (damaged JSON or fields) never hides the others:
  `iter_pages` lists it as a `DamagedLink` (its key and what is wrong) in its place, a point read
  raises `DamagedRecord`, and `remove(key)` deletes it (`sentry-ado links remove KEY`).
- Markers are small named records (checkpoints, last deployed commit per environment, processed
  deployment runs); `claim_marker` is insert-if-absent for de-duplication. `list_markers` reads one
  kind in key order (kinds the app keeps bounded: reconcile runs, sync failures, daily totals) and
  `delete_marker` removes one, so those kinds stay small.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol

from shared.store.model import DamagedLink, Link


class ConcurrentUpdate(Exception):
    """The link changed since it was read; re-read and retry."""


class StoreUnavailable(Exception):
    """The store could not be reached or used (named in the message, never with credentials)."""


class LinkStore(Protocol):
    def claim(self, link: Link) -> Link | None: ...

    def get_by_issue(self, sentry_org: str, issue_id: str) -> Link | None: ...

    def get_by_work_item(self, ado_org_url: str, work_item_id: int) -> Link | None: ...

    def links_for_work_item(self, ado_org_url: str, work_item_id: int) -> list[Link]: ...

    def save(self, link: Link) -> Link: ...

    def release(self, link: Link) -> None: ...

    def remove(self, key: str) -> bool: ...

    def iter_pages(self, page_size: int = 200, after: str | None = None) -> Iterator[list[Link | DamagedLink]]: ...

    def get_marker(self, kind: str, key: str) -> dict[str, Any] | None: ...

    def set_marker(self, kind: str, key: str, value: dict[str, Any]) -> None: ...

    def claim_marker(self, kind: str, key: str, value: dict[str, Any]) -> bool: ...

    def list_markers(self, kind: str, limit: int = 1000) -> list[tuple[str, dict[str, Any]]]: ...

    def delete_marker(self, kind: str, key: str) -> None: ...

    def ping(self) -> None: ...


def link_key(link: Link) -> str:
    """The stable order key of a link; `iter_pages(after=...)` resumes after it."""
    return issue_key(link.sentry_org, link.sentry_issue_id)


def record_key(record: Link | DamagedLink) -> str:
    """The key of whatever `iter_pages` listed, readable or not."""
    return record.key if isinstance(record, DamagedLink) else link_key(record)


def work_item_key(ado_org_url: str, work_item_id: int) -> str:
    """The key of a work item across links: one organization's id, however its URL is spelled."""
    return f"{ado_org_url.rstrip('/').lower()}#{work_item_id}"


def issue_key(sentry_org: str, issue_id: str) -> str:
    # Sentry issue ids are numeric; zero-padding keeps key order equal to numeric order.
    return f"{sentry_org}:{issue_id.zfill(20)}"


def update_with_retry(store: LinkStore, sentry_org: str, issue_id: str,
                      change: Callable[[Link], Link], attempts: int = 10) -> Link:
    """Read, change and save a link, re-reading after each lost race."""
    for _ in range(attempts):
        current = store.get_by_issue(sentry_org, issue_id)
        if current is None:
            raise KeyError(f"no link for Sentry issue {issue_id} in {sentry_org}")
        try:
            return store.save(change(current))
        except ConcurrentUpdate:
            continue
    raise ConcurrentUpdate(f"link for Sentry issue {issue_id} kept changing; gave up after {attempts} tries")
