"""Link store: where each Sentry issue <-> work item pair and its last synced values live."""

from __future__ import annotations

from shared.store.base import ConcurrentUpdate, LinkStore, StoreUnavailable, update_with_retry
from shared.store.model import CLAIMED, LINKED, UNLINKED, Link, SyncedValues

__all__ = ["CLAIMED", "LINKED", "UNLINKED", "ConcurrentUpdate", "Link", "LinkStore", "StoreUnavailable",
           "SyncedValues", "update_with_retry"]

