"""Sentry's cursor pagination: follow ``rel="next"`` only while it says ``results="true"``.

Both ``previous`` and ``next`` links are always present, so the presence of a next link means
nothing by itself; the ``results`` flag is what says another page exists.
"""

from __future__ import annotations

from requests.utils import parse_header_links


def next_cursor(link_header: str | None) -> str | None:
    """The cursor of the next page, or None on the last page (or with no/garbled Link header)."""
    if not link_header:
        return None
    for link in parse_header_links(link_header):
        if link.get("rel") == "next" and link.get("results") == "true" and link.get("cursor"):
            return link["cursor"]
    return None
