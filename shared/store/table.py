"""Azure Table Storage link store: the default in Azure (same storage account as the app).

Layout, all in one table:
- partition ``link``: one entity per link, RowKey = `issue_key`, the link as JSON in ``data``.
  Its ETag is the link's ``etag``: saves are ``If-Match`` updates, claims are inserts.
- partition ``wi``: a second, small entity per link with a work item, keyed by the work item:
  RowKey = ``{work item key}|{issue key}`` (escaped), pointing at the link's RowKey. A work item's
  links are one range query (`_range`: the escaped work item key up to ``%7D``, which excludes every
  other work item, whose escaped key goes on with a digit) plus a point read per link. Files
  written before a work item could have several issues hold one entity per work item with
  RowKey = the escaped work item key alone, which the same range includes. An index entity is
  written after its link; a reader checks the link really points back at the work item, so a
  stale one is never believed.
- partitions ``m:{kind}``: markers.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, unquote

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.data.tables import TableClient, TableServiceClient, UpdateMode

from shared.store.base import ConcurrentUpdate, StoreUnavailable, issue_key, link_key, work_item_key
from shared.store.model import DamagedLink, DamagedRecord, Link

LINKS = "link"
WORK_ITEMS = "wi"


def _rk(value: str) -> str:
    """Escape a value for use as a RowKey ('/', '\\', '#' and '?' are not allowed)."""
    return quote(value, safe=":@")


def _index_rk(link: Link) -> str:
    assert link.work_item_id is not None
    return _rk(f"{work_item_key(link.ado_org_url, link.work_item_id)}|{link_key(link)}")


def _range(ado_org_url: str, work_item_id: int) -> tuple[str, str]:
    """The RowKeys of one work item's index entities: from its escaped key (the older layout's
    single entity) up to, not including, that key followed by ``%7D`` (``}``): every new entity
    follows it with ``%7C`` (``|``), every other work item's key with a digit ('0' > '%')."""
    start = _rk(work_item_key(ado_org_url, work_item_id))
    return start, start + "%7D"


class TableLinkStore:
    def __init__(self, table: TableClient) -> None:
        self._table = table

    @classmethod
    def from_settings(cls, connection: str | None, account: str | None,
                      table_name: str = "links") -> TableLinkStore:
        """Connection string locally (Azurite); the managed identity (AZURE_CLIENT_ID) in Azure."""
        try:
            if connection:
                service = TableServiceClient.from_connection_string(connection)
            elif account:
                from azure.identity import DefaultAzureCredential

                credential = DefaultAzureCredential()
                service = TableServiceClient(f"https://{account}.table.core.windows.net", credential=credential)
            else:
                raise StoreUnavailable("Table link store: set AzureWebJobsStorage or "
                                       "AzureWebJobsStorage__accountName")
            table = service.create_table_if_not_exists(table_name)
        except AzureError as exc:
            raise StoreUnavailable(f"Table link store {table_name!r}: {type(exc).__name__}") from None
        return cls(table)

    @staticmethod
    def _read(entity: dict[str, Any]) -> Link | DamagedLink:
        return Link.from_json(unquote(entity["RowKey"]), str(entity.get("data")), etag=entity.metadata["etag"])

    @classmethod
    def _to_link(cls, entity: dict[str, Any]) -> Link:
        link = cls._read(entity)
        if isinstance(link, DamagedLink):
            raise DamagedRecord(f"{link.key}: {link.reason}")
        return link

    def _entity(self, link: Link) -> dict[str, Any]:
        return {"PartitionKey": LINKS, "RowKey": _rk(link_key(link)), "data": json.dumps(link.to_dict())}

    def claim(self, link: Link) -> Link | None:
        try:
            meta = self._table.create_entity(self._entity(link))
        except ResourceExistsError:
            return None
        self._index(link)
        return Link.from_dict(link.to_dict(), etag=meta["etag"])

    def _get(self, partition: str, row: str) -> dict[str, Any] | None:
        try:
            return self._table.get_entity(partition, row)
        except ResourceNotFoundError:
            return None

    def get_by_issue(self, sentry_org: str, issue_id: str) -> Link | None:
        entity = self._get(LINKS, _rk(issue_key(sentry_org, issue_id)))
        return self._to_link(entity) if entity else None

    def get_by_work_item(self, ado_org_url: str, work_item_id: int) -> Link | None:
        return next(iter(self.links_for_work_item(ado_org_url, work_item_id)), None)

    def links_for_work_item(self, ado_org_url: str, work_item_id: int) -> list[Link]:
        start, end = _range(ado_org_url, work_item_id)
        index = self._table.query_entities("PartitionKey eq @pk and RowKey ge @start and RowKey lt @end",
                                           parameters={"pk": WORK_ITEMS, "start": start, "end": end},
                                           select=["link"])
        wanted = work_item_key(ado_org_url, work_item_id)
        links = []
        for row in sorted({str(entry["link"]) for entry in index}):  # the older layout's and the new
            entity = self._get(LINKS, row)
            link = self._to_link(entity) if entity else None
            if link is not None and link.work_item_id is not None and \
                    work_item_key(link.ado_org_url, link.work_item_id) == wanted:
                links.append(link)
        return links

    def _index(self, link: Link) -> None:
        if link.work_item_id is None:
            return
        self._table.upsert_entity({"PartitionKey": WORK_ITEMS, "RowKey": _index_rk(link),
                                   "link": _rk(link_key(link))}, mode=UpdateMode.REPLACE)

    def save(self, link: Link) -> Link:
        if link.etag is None:
            raise ConcurrentUpdate("a link must be read (or claimed) before it is saved")
        try:
            meta = self._table.update_entity(self._entity(link), mode=UpdateMode.REPLACE, etag=link.etag,
                                             match_condition=MatchConditions.IfNotModified)
        except (ResourceModifiedError, ResourceNotFoundError):
            raise ConcurrentUpdate(f"link for Sentry issue {link.sentry_issue_id} changed since it was read") \
                from None
        self._index(link)
        return Link.from_dict(link.to_dict(), etag=meta["etag"])

    def release(self, link: Link) -> None:
        # its index entity stays: deleting it could race a new claim of the same pair re-indexing
        # it, and a stale one is never believed (the reader checks the link points back)
        with contextlib.suppress(ResourceModifiedError, ResourceNotFoundError):
            self._table.delete_entity(LINKS, _rk(link_key(link)), etag=link.etag,
                                      match_condition=MatchConditions.IfNotModified)

    def remove(self, key: str) -> bool:
        entity = self._get(LINKS, _rk(key))
        if entity is None:
            return False
        with contextlib.suppress(ResourceNotFoundError):
            self._table.delete_entity(LINKS, _rk(key))
        link = self._read(entity)
        # its index entity goes too when the link can be read; one left behind (a damaged link's,
        # the older layout's) is harmless: a reader checks the link points back
        if isinstance(link, Link) and link.work_item_id is not None:
            with contextlib.suppress(ResourceNotFoundError):
                self._table.delete_entity(WORK_ITEMS, _index_rk(link))
        return True

    def iter_pages(self, page_size: int = 200, after: str | None = None) -> Iterator[list[Link | DamagedLink]]:
        query = f"PartitionKey eq '{LINKS}'"
        params: dict[str, Any] = {}
        if after:
            query += " and RowKey gt @after"
            params["after"] = _rk(after)
        pages = self._table.query_entities(query, parameters=params, results_per_page=page_size,
                                           select=["RowKey", "data"]).by_page()
        for page in pages:
            links = [self._read(e) for e in page]
            if links:
                yield links

    def get_marker(self, kind: str, key: str) -> dict[str, Any] | None:
        entity = self._get(f"m:{kind}", _rk(key))
        return json.loads(entity["data"]) if entity else None

    def set_marker(self, kind: str, key: str, value: dict[str, Any]) -> None:
        self._table.upsert_entity({"PartitionKey": f"m:{kind}", "RowKey": _rk(key), "data": json.dumps(value)},
                                  mode=UpdateMode.REPLACE)

    def claim_marker(self, kind: str, key: str, value: dict[str, Any]) -> bool:
        try:
            self._table.create_entity({"PartitionKey": f"m:{kind}", "RowKey": _rk(key),
                                       "data": json.dumps(value)})
        except ResourceExistsError:
            return False
        return True

    def list_markers(self, kind: str, limit: int = 1000) -> list[tuple[str, dict[str, Any]]]:
        # one partition, returned in RowKey order; _rk escapes with %XX, which keeps the order of
        # the keys the app lists (ISO times and plain names)
        entities = self._table.query_entities("PartitionKey eq @pk", parameters={"pk": f"m:{kind}"},
                                              select=["RowKey", "data"], results_per_page=min(limit, 1000))
        out: list[tuple[str, dict[str, Any]]] = []
        for entity in entities:
            out.append((unquote(entity["RowKey"]), json.loads(entity["data"])))
            if len(out) >= limit:
                break
        return out

    def delete_marker(self, kind: str, key: str) -> None:
        with contextlib.suppress(ResourceNotFoundError):
            self._table.delete_entity(f"m:{kind}", _rk(key))

    def ping(self) -> None:
        try:
            next(iter(self._table.query_entities("PartitionKey eq 'ping'", results_per_page=1)), None)
        except AzureError as exc:
            raise StoreUnavailable(f"Table link store: {type(exc).__name__}") from None
