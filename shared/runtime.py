"""The process-wide objects the functions share, built on first use and then reused.

Azure reuses a worker process across invocations, so the config, the link store and the API
clients (with their HTTP sessions and token caches) are built once. Nothing is built at import:
a missing setting must fail the invocation that needs it, with the key named, not the indexing.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from shared.config import Config, Settings, get_config
from shared.store import LinkStore

if TYPE_CHECKING:
    from shared.ado.client import AdoClient
    from shared.code_link_service import CodeLinks
    from shared.issue_link_service import IssueLinkService
    from shared.metadata import Metadata
    from shared.releases.handler import Deployments
    from shared.sentry.client import SentryClient
    from shared.sync import Syncer


@dataclass
class Runtime:
    config: Config

    @cached_property
    def store(self) -> LinkStore:
        return open_store(self.config.settings)

    @cached_property
    def ado(self) -> AdoClient:
        from shared.setup.clients import ado_client  # deferred: keeps the webhook path's cold start light

        return ado_client(self.config.settings)

    @cached_property
    def syncer(self) -> Syncer:
        from shared.sync import Syncer

        return Syncer(self.config, self.store, self.ado, self.sentry, self.metadata)

    @cached_property
    def metadata(self) -> Metadata:
        from shared.metadata import Metadata

        return Metadata(self.store, self.ado, self.sentry, self.config.settings)

    @cached_property
    def deployments(self) -> Deployments:
        from shared.releases.handler import Deployments

        return Deployments(self.config.rules.releases, self.config.settings.ado_org_url, self.store, self.ado,
                           self.sentry)

    @cached_property
    def issue_links(self) -> IssueLinkService:
        from shared.issue_link_service import IssueLinkService

        return IssueLinkService(self.syncer)

    @cached_property
    def code_links(self) -> CodeLinks:
        """With its own ADO client whose calls give up within seconds: a person is waiting."""
        from shared.code_link_service import CodeLinks
        from shared.setup.clients import CLICK_POLICY, ado_client

        return CodeLinks(self.config, ado_client(self.config.settings, CLICK_POLICY), self.metadata)

    @cached_property
    def sentry(self) -> SentryClient:
        from shared.setup.clients import sentry_client

        return sentry_client(self.config.settings)


def open_store(settings: Settings) -> LinkStore:
    """The store the settings name (LINK_STORE), opened and ready."""
    if settings.link_store == "table":
        from shared.store.table import TableLinkStore

        connection = settings.storage_connection.reveal() if settings.storage_connection else None
        return TableLinkStore.from_settings(connection, settings.storage_account)
    from shared.store.sqlite import SqliteLinkStore

    return SqliteLinkStore(settings.sqlite_path)


_building = threading.Lock()
_built: Runtime | None = None


def runtime() -> Runtime:
    """One per process even when the first invocations arrive together: two would each open the
    store and keep their own caches, so a cached answer would be lost to whichever lost the race."""
    global _built
    if _built is None:
        with _building:
            if _built is None:
                _built = Runtime(get_config())
    return _built


def settings() -> Settings:
    return runtime().config.settings


def reset() -> None:
    """Forget everything built so far (tests and the local host change settings between runs)."""
    global _built
    with _building:
        _built = None
    get_config.cache_clear()
