"""The one cache of what almost never changes: work item type states and fields, who the bridge is
on Azure DevOps and whether ADO is Services or Server, Sentry's members, Sentry's project ids, and
the work item types and area trees the issue-link forms offer.

Small values are kept in the link store for an hour, so every worker and every reconcile run asks
the APIs once an hour, not once each; a lock per key makes concurrent workers that miss together
load it once. Type definitions and area trees can outgrow a store entity, so they are kept in this
process for an hour (`ProcessCache`). The API clients cache nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from shared.config import Settings
from shared.mapping import states as state_map
from shared.mapping.identities import AdoIdentity, SentryMember, ado_identity_from_api, sentry_members_from_api
from shared.store import LinkStore

CACHE_TTL_S = 3600.0
IDENTITY_TTL_S = 24 * 3600.0  # a person's directory entry (or its absence), per email or account
AREA_DEPTH = 10  # levels of the area tree read; deeper paths are left to ADO to check
SOURCE_FILE_TTL_S = 3600.0  # a file found on a branch: an hour
MISSING_FILE_TTL_S = 300.0  # a file not found: five minutes, so a push shows up soon
SOURCE_FILES_KEPT = 4096  # stack-trace link look-ups kept per process (anyone can ask for any path)
SEARCH_TTL_S = 300.0  # a person search of the assignee select: five minutes
SEARCHES_KEPT = 1024


class ProcessCache:
    """Values kept in this process with a TTL, so a process customisation is picked up within the
    hour without a restart. ``max_items`` bounds it (the oldest entry goes first) where callers
    choose the keys, as anyone opening a stack-trace link does."""

    def __init__(self, ttl_s: float = CACHE_TTL_S, clock: Callable[[], float] = time.monotonic,
                 max_items: int | None = None) -> None:
        self._ttl, self._clock, self._max = ttl_s, clock, max_items
        self._items: dict[tuple[str, ...], tuple[float, Any]] = {}  # key -> (expires at, value)
        self._lock = threading.Lock()

    def get_or_load(self, key: tuple[str, ...], load: Callable[[], Any],
                    ttl_of: Callable[[Any], float] | None = None) -> Any:
        """The cached value, else ``load()``'s, kept for ``ttl_of(value)`` seconds (default the TTL)."""
        now = self._clock()
        with self._lock:
            hit = self._items.get(key)
        if hit and now < hit[0]:
            return hit[1]
        value = load()
        with self._lock:
            self._items.pop(key, None)
            self._items[key] = (now + (ttl_of(value) if ttl_of else self._ttl), value)
            while self._max is not None and len(self._items) > self._max:
                del self._items[next(iter(self._items))]
        return value


class Metadata:
    def __init__(self, store: LinkStore, ado: Any, sentry: Any, settings: Settings,
                 process: ProcessCache | None = None) -> None:
        self.store, self.ado, self.sentry, self.settings = store, ado, sentry, settings
        self._process = process or ProcessCache()
        self._files = ProcessCache(SOURCE_FILE_TTL_S, max_items=SOURCE_FILES_KEPT)
        self._searches = ProcessCache(SEARCH_TTL_S, max_items=SEARCHES_KEPT)
        self._connection_facts: dict[str, Any] | None = None
        self._identities_ado: Any = None
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def cached(self, kind: str, key: str, load: Callable[[], Any], ttl_s: float = CACHE_TTL_S) -> Any:
        """`load()`'s value, kept in the store under (kind, key) for an hour (``ttl_s``)."""
        with self._locks_guard:
            lock = self._locks.setdefault(f"{kind}/{key}", threading.Lock())
        with lock:
            marker = self.store.get_marker(kind, key)
            if marker and time.time() - marker.get("at", 0) < ttl_s:
                return marker["value"]
            value = load()
            self.store.set_marker(kind, key, {"at": time.time(), "value": value})
            return value

    def states(self, project: str, wit: str) -> tuple[state_map.WorkItemState, ...]:
        raw = self.cached("states", f"{project}/{wit}", lambda: self.ado.work_item_type_states(project, wit))
        return state_map.parse_states(raw)

    def work_item_types(self, project: str) -> list[dict[str, Any]]:
        """A project's work item types (the REST answer's ``value``), per process."""
        return self._process.get_or_load(("types", project.lower()), lambda: self.ado.work_item_types(project))

    def area_paths(self, project: str) -> dict[str, Any]:
        """A project's area tree root node (``name``, ``path``, ``children``), per process."""
        return self._process.get_or_load(("areas", project.lower()),
                                         lambda: self.ado.area_paths(project, AREA_DEPTH))

    def source_file_exists(self, ado: Any, project: str, repo: str, branch: str, path: str) -> bool:
        """Whether a repository has ``path`` on ``branch``, per process: found for an hour, missing
        for five minutes. Kept in this process, not the store: the paths come from whoever opens a
        link, so a flood of made-up paths must cost memory bounded here, never store writes."""
        return self._files.get_or_load(
            (project.lower(), repo.lower(), branch, path),
            lambda: ado.git_item_exists(project, repo, path, branch),
            lambda found: SOURCE_FILE_TTL_S if found else MISSING_FILE_TTL_S)

    def iteration_paths(self, project: str) -> dict[str, Any]:
        """A project's iteration tree root node, per process."""
        return self._process.get_or_load(("iterations", project.lower()),
                                         lambda: self.ado.iteration_paths(project, AREA_DEPTH))

    def field_definitions(self, project: str, wit: str) -> list[dict[str, Any]]:
        """A type's fields as its definition states them (``alwaysRequired``, ``defaultValue``,
        ``allowedValues``), per process: what the creation form offers and requires."""
        return self._process.get_or_load(("field-definitions", project.lower(), wit.lower()),
                                         lambda: self.ado.work_item_type_fields(project, wit))

    def identity_search(self, text: str) -> list[dict[str, Any]]:
        """Directory entries whose account, mail or display name is ``text`` (Identities API,
        General search), per process for five minutes and bounded: the assignee select's search."""
        return self._searches.get_or_load(("identities", text.strip().casefold()),
                                          lambda: self._identity_client().read_identities("General", text.strip()))

    def type_fields(self, project: str, wit: str) -> list[str]:
        """The reference names of a work item type's fields."""
        return self.cached("fields", f"{project}/{wit}",
                           lambda: [f["referenceName"] for f in self.ado.work_item_type_fields(project, wit)])

    def _connection(self) -> dict[str, Any]:
        """Who we are on ADO and what ADO is, from one cached connectionData call: the identity our
        writes carry (``revisedBy``, to recognise their echoes) and ``deploymentType`` (``hosted``
        is Services, ``onPremises`` Server: Markdown or HTML)."""
        if self._connection_facts is None:
            def load() -> dict[str, Any]:
                data = self.ado.connection_data()
                user = data.get("authenticatedUser") or {}
                identity = ((user.get("properties") or {}).get("Account") or {}).get("$value") or \
                    user.get("providerDisplayName")
                return {"identity": identity, "deployment": data.get("deploymentType")}
            self._connection_facts = self.cached("connection", self.settings.ado_org_url, load)
        return self._connection_facts

    def bridge(self) -> str | None:
        return self._connection().get("identity")

    def ado_hosted(self) -> bool | None:
        deployment = str(self._connection().get("deployment") or "").lower()
        return {"hosted": True, "onpremises": False}.get(deployment)

    def sentry_members(self) -> tuple[SentryMember, ...]:
        def load() -> list[dict[str, str]]:
            return [asdict(m) for m in sentry_members_from_api(self.sentry.list_members())]
        return tuple(SentryMember(**m) for m in self.cached("members", self.settings.sentry_org, load))

    def ado_identity(self, key: str) -> AdoIdentity | None:
        """The ADO directory's entry for an email or an account (``DOMAIN\\user``), through the
        Identities API, kept in the store a day (a miss too); only an exact email, mail attribute or
        account matches, never a display name."""
        def load() -> dict[str, str] | None:
            search = "AccountName" if "\\" in key else "General"
            for record in self._identity_client().read_identities(search, key):
                found = ado_identity_from_api(record)
                if found and key.casefold() in (found.unique_name.casefold(), found.mail.casefold()):
                    return asdict(found)
            return None
        value = self.cached("identity", key.strip().casefold(), load, IDENTITY_TTL_S)
        return AdoIdentity(**value) if value else None

    def _identity_client(self) -> Any:
        """The Identities API is on the identity host on Services (vssps), the collection on Server."""
        from shared.ado.client import AdoClient, identity_url

        url = identity_url(self.ado.base_url)
        if url == self.ado.base_url:
            return self.ado
        if self._identities_ado is None:
            self._identities_ado = AdoClient(url, self.ado.auth)
        return self._identities_ado

    def sentry_project_ids(self) -> dict[str, Any]:
        """Sentry project slug -> id."""
        return self.cached("projects", self.settings.sentry_org,
                           lambda: {p["slug"]: p["id"] for p in self.sentry.list_projects()})
