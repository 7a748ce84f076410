"""Link store: where each Sentry issue <-> work item pair and its last synced values live."""

from __future__ import annotations

from shared.config import Settings
from shared.store.base import ConcurrentUpdate, LinkStore, StoreUnavailable, update_with_retry
from shared.store.model import CLAIMED, LINKED, UNLINKED, Link, SyncedValues

__all__ = ["CLAIMED", "LINKED", "UNLINKED", "ConcurrentUpdate", "Link", "LinkStore", "StoreUnavailable",
           "SyncedValues", "open_store", "update_with_retry"]


def open_store(settings: Settings) -> LinkStore:
    """The store the settings name (LINK_STORE), opened and ready."""
    if settings.link_store == "table":
        from shared.store.table import TableLinkStore

        connection = settings.storage_connection.reveal() if settings.storage_connection else None
        return TableLinkStore.from_settings(connection, settings.storage_account)
    from shared.store.sqlite import SqliteLinkStore

    return SqliteLinkStore(settings.sqlite_path)
