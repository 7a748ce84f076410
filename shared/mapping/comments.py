"""Comments carried between a Sentry issue and its work item. Pure.

Rules:
- A carried comment opens with its author and origin, ``**Jane Doe** (via Sentry): ...`` or
  ``**Jane Doe** (via Azure DevOps): ...``. That attribution is also the *marker*: a comment that
  opens with it was written by the bridge and is never carried back. The planner additionally drops
  comments authored by the bridge's own identities and comment ids it already carried.
- Sentry comments are Markdown. ADO comments are Markdown on Azure DevOps Services and sanitised
  HTML on Server (``is_services``); either way the ADO copy never contains active content.
- Visible attribution rather than a hidden marker: both services strip or escape HTML comments and
  zero-width characters, but keep text.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from shared.mapping.markup import escape_markdown, html_to_markdown, markdown_to_html, sanitize_html

VIA_SENTRY = "via Sentry"
VIA_ADO = "via Azure DevOps"
MAX_COMMENT_CHARS = 150_000  # ADO rejects larger comments; Sentry's limit is lower in practice
# Attribution at the start, in Markdown or in the HTML we render it to (after optional <p>).
_MARKER = re.compile(r"^\s*(?:<p>\s*)?(?:\*\*|<strong>).{1,200}?(?:\*\*|</strong>) \((via Sentry|via Azure DevOps)\):",
                     re.DOTALL)


@dataclass(frozen=True)
class AdoComment:
    text: str
    markdown: bool  # True: send with format=markdown


def _author(name: str | None) -> str:
    clean = " ".join((name or "").split())
    return escape_markdown(clean) if clean else "Someone"


def _bounded(text: str) -> str:
    return text if len(text) <= MAX_COMMENT_CHARS else text[: MAX_COMMENT_CHARS - 1] + "…"


def to_ado(author: str | None, markdown: str, is_services: bool) -> AdoComment:
    """A Sentry comment (Markdown) as an ADO comment, attributed to its author."""
    if not isinstance(markdown, str) or not markdown.strip():
        raise ValueError(f"comment text must be a non-empty string, got {markdown!r}")
    body = _bounded(f"**{_author(author)}** ({VIA_SENTRY}): {markdown.strip()}")
    if is_services:
        return AdoComment(body, markdown=True)
    return AdoComment(markdown_to_html(body), markdown=False)


def to_sentry(author: str | None, text: str, is_markdown: bool = False) -> str:
    """An ADO comment (HTML, or Markdown source) as a Sentry comment, attributed to its author."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"comment text must be a non-empty string, got {text!r}")
    body = sanitize_html_markdown(text) if is_markdown else html_to_markdown(text)
    return _bounded(f"**{_author(author)}** ({VIA_ADO}): {body}")


def sanitize_html_markdown(text: str) -> str:
    """ADO Markdown comments may embed HTML; keep only what the allow-list keeps."""
    return sanitize_html(text).strip()


def written_by_bridge(text: str | None) -> bool:
    """Whether a comment carries the bridge's attribution, in any of the forms it writes."""
    return bool(text) and _MARKER.match(text) is not None


def digest(text: str | None) -> str:
    """A short fingerprint of a comment's source text: an edit already carried is told by it."""
    return hashlib.sha256((text or "").strip().encode("utf-8", "surrogatepass")).hexdigest()[:12]
