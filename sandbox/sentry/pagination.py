"""Sentry's cursor pagination (docs/api/pagination.mdx; reference/sentry-api.md §3.5), pure.

A cursor is ``<value>:<offset>:<is_prev>``; the emulator pages by offset with value 0. The
``Link`` header always has both ``previous`` and ``next`` parts, each
``<url>; rel="..."; results="true|false"; cursor="..."``, where ``url`` is the request path and
query string without ``cursor``, then ``&cursor=`` (Sentry's ``build_cursor_link`` format, which
yields ``?&cursor=`` when there is no other parameter).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlencode

T = TypeVar("T")
CURSOR = re.compile(r"^(-?\d+):(\d+):([01])$")


class InvalidCursor(ValueError):
    """Sentry answers 400 ``{"detail": "Invalid cursor parameter."}``."""


@dataclass(frozen=True)
class Page:
    items: list
    link: str


def parse_cursor(text: str | None) -> int:
    """The offset a cursor points at (0 when there is none)."""
    if not text:
        return 0
    match = CURSOR.match(text)
    if not match:
        raise InvalidCursor("Invalid cursor parameter.")
    return int(match.group(2))


def _link(base: str, name: str, cursor: str, has_results: bool) -> str:
    results = "true" if has_results else "false"
    return f'<{base}&cursor={cursor}>; rel="{name}"; results="{results}"; cursor="{cursor}"'


def paginate(items: Sequence[T], cursor: str | None, limit: int, url: str,
             query: Sequence[tuple[str, str]]) -> Page:
    """One page of ``items`` and its ``Link`` header; ``url`` is absolute without a query."""
    offset = parse_cursor(cursor)
    page = list(items[offset:offset + limit])
    kept = [(k, v) for k, v in query if k != "cursor"]
    base = f"{url}?{urlencode(kept)}" if kept else f"{url}?"
    prev_offset = max(offset - limit, 0)
    link = ", ".join([
        _link(base, "previous", f"0:{prev_offset}:1", offset > 0),
        _link(base, "next", f"0:{offset + limit}:0", offset + limit < len(items)),
    ])
    return Page(page, link)
