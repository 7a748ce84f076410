"""SQLite link store: the local default (a single file; WAL mode so several processes can share it).

A work item's links are found through an index on ``work_item_key`` (several issues may share one
work item). A file made before that, whose ``work_item_key`` was UNIQUE, is rebuilt without the
constraint when it is first opened (`_migrate`)."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from shared.store.base import ConcurrentUpdate, StoreUnavailable, issue_key, link_key, work_item_key
from shared.store.model import DamagedLink, DamagedRecord, Link

_SCHEMA = """
CREATE TABLE IF NOT EXISTS links (
    issue_key TEXT PRIMARY KEY,
    work_item_key TEXT,
    version INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS links_by_work_item ON links (work_item_key, issue_key);
CREATE TABLE IF NOT EXISTS markers (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (kind, key)
);
"""
_ONE_ISSUE_PER_WORK_ITEM = "work_item_key TEXT UNIQUE"  # the column as files made before 1:N links have it
_REBUILD = """
CREATE TABLE links_1n (issue_key TEXT PRIMARY KEY, work_item_key TEXT, version INTEGER NOT NULL, data TEXT NOT NULL);
INSERT INTO links_1n SELECT issue_key, work_item_key, version, data FROM links;
DROP TABLE links;
ALTER TABLE links_1n RENAME TO links;
"""

__all__ = ["SqliteLinkStore", "work_item_key"]


class SqliteLinkStore:
    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._local = threading.local()
        try:
            self._migrate(self._conn())
            self._conn().executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"SQLite link store at {self.path!r}: {exc}") from None

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn

    @staticmethod
    def _migrate(conn: sqlite3.Connection) -> None:
        """Drop the one-issue-per-work-item constraint of an older file, once, under a write lock
        (another process may be opening the same file)."""
        def old() -> bool:
            row = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'links'").fetchone()
            return bool(row) and _ONE_ISSUE_PER_WORK_ITEM in row[0]
        if not old():
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            if old():
                for statement in filter(str.strip, _REBUILD.split(";")):
                    conn.execute(statement)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    @staticmethod
    def _row_to_link(row: tuple[str, int, str] | None) -> Link | None:
        if row is None:
            return None
        key, version, data = row
        link = Link.from_json(key, data, etag=str(version))
        if isinstance(link, DamagedLink):
            raise DamagedRecord(f"{link.key}: {link.reason}")
        return link

    @staticmethod
    def _wi_key(link: Link) -> str | None:
        return work_item_key(link.ado_org_url, link.work_item_id) if link.work_item_id is not None else None

    def claim(self, link: Link) -> Link | None:
        cur = self._conn().execute(
            "INSERT OR IGNORE INTO links (issue_key, work_item_key, version, data) VALUES (?, ?, 1, ?)",
            (link_key(link), self._wi_key(link), json.dumps(link.to_dict())))
        if cur.rowcount != 1:
            return None
        return Link.from_dict(link.to_dict(), etag="1")

    def get_by_issue(self, sentry_org: str, issue_id: str) -> Link | None:
        row = self._conn().execute("SELECT issue_key, version, data FROM links WHERE issue_key = ?",
                                   (issue_key(sentry_org, issue_id),)).fetchone()
        return self._row_to_link(row)

    def get_by_work_item(self, ado_org_url: str, work_item_id: int) -> Link | None:
        return next(iter(self.links_for_work_item(ado_org_url, work_item_id)), None)

    def links_for_work_item(self, ado_org_url: str, work_item_id: int) -> list[Link]:
        rows = self._conn().execute(
            "SELECT issue_key, version, data FROM links WHERE work_item_key = ? ORDER BY issue_key",
            (work_item_key(ado_org_url, work_item_id),)).fetchall()
        return [link for link in map(self._row_to_link, rows) if link is not None]

    def save(self, link: Link) -> Link:
        if link.etag is None:
            raise ConcurrentUpdate("a link must be read (or claimed) before it is saved")
        version = int(link.etag)
        cur = self._conn().execute(
            "UPDATE links SET work_item_key = ?, version = ?, data = ? WHERE issue_key = ? AND version = ?",
            (self._wi_key(link), version + 1, json.dumps(link.to_dict()), link_key(link), version))
        if cur.rowcount != 1:
            raise ConcurrentUpdate(f"link for Sentry issue {link.sentry_issue_id} changed since it was read")
        return Link.from_dict(link.to_dict(), etag=str(version + 1))

    def release(self, link: Link) -> None:
        self._conn().execute("DELETE FROM links WHERE issue_key = ? AND version = ?",
                             (link_key(link), int(link.etag or 0)))

    def remove(self, key: str) -> bool:
        cur = self._conn().execute("DELETE FROM links WHERE issue_key = ?", (key,))
        return cur.rowcount == 1

    def iter_pages(self, page_size: int = 200, after: str | None = None) -> Iterator[list[Link | DamagedLink]]:
        last = after or ""
        while True:
            rows = self._conn().execute(
                "SELECT issue_key, version, data FROM links WHERE issue_key > ? ORDER BY issue_key LIMIT ?",
                (last, page_size)).fetchall()
            if not rows:
                return
            last, full = rows[-1][0], len(rows) == page_size
            page = [Link.from_json(key, data, etag=str(version)) for key, version, data in rows]
            del rows  # one page in memory at a time, not this page's rows beside the next page's
            yield page
            del page
            if not full:
                return

    def get_marker(self, kind: str, key: str) -> dict[str, Any] | None:
        row = self._conn().execute("SELECT data FROM markers WHERE kind = ? AND key = ?", (kind, key)).fetchone()
        return json.loads(row[0]) if row else None

    def set_marker(self, kind: str, key: str, value: dict[str, Any]) -> None:
        self._conn().execute("INSERT OR REPLACE INTO markers (kind, key, data) VALUES (?, ?, ?)",
                             (kind, key, json.dumps(value)))

    def claim_marker(self, kind: str, key: str, value: dict[str, Any]) -> bool:
        cur = self._conn().execute("INSERT OR IGNORE INTO markers (kind, key, data) VALUES (?, ?, ?)",
                                   (kind, key, json.dumps(value)))
        return cur.rowcount == 1

    def list_markers(self, kind: str, limit: int = 1000) -> list[tuple[str, dict[str, Any]]]:
        rows = self._conn().execute("SELECT key, data FROM markers WHERE kind = ? ORDER BY key LIMIT ?",
                                    (kind, limit)).fetchall()
        return [(key, json.loads(data)) for key, data in rows]

    def delete_marker(self, kind: str, key: str) -> None:
        self._conn().execute("DELETE FROM markers WHERE kind = ? AND key = ?", (kind, key))

    def ping(self) -> None:
        try:
            self._conn().execute("SELECT 1 FROM links LIMIT 1").fetchall()
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"SQLite link store at {self.path!r}: {exc}") from None
