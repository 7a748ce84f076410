"""Markdown and HTML between Sentry (Markdown) and Azure DevOps (HTML on Server). Pure.

Rules: HTML we produce or read passes one allow-list (`ALLOWED_TAGS`, `ALLOWED_ATTRIBUTES`,
`URL_SCHEMES`); nothing outside it survives, so no ``<script>``, no ``on*`` attribute and no
``javascript:`` URL ever reaches either side. Markdown is rendered by markdown-it-py with raw HTML
disabled (raw tags become text), then sanitised by nh3 anyway: the renderer is trusted to render,
the sanitiser to sanitise. HTML -> Markdown sanitises first, then markdownify converts.
"""

from __future__ import annotations

import re

import nh3
from markdown_it import MarkdownIt
from markdownify import MarkdownConverter

ALLOWED_TAGS = frozenset({
    "a", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "li",
    "ol", "p", "pre", "s", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul", "img", "span", "div",
})
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})

_MD = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(["table", "strikethrough"])
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")


def sanitize_html(html: str) -> str:
    """Keep only the allow-listed tags, attributes and URL schemes; drop script/style content."""
    if not isinstance(html, str):
        raise TypeError(f"html must be a string, got {type(html).__name__}")
    return nh3.clean(html, tags=set(ALLOWED_TAGS), attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
                     url_schemes=set(URL_SCHEMES), clean_content_tags={"script", "style"},
                     link_rel="noopener noreferrer")


def markdown_to_html(markdown: str) -> str:
    """Sentry Markdown as HTML that is safe to store in an ADO rich-text field or comment."""
    if not isinstance(markdown, str):
        raise TypeError(f"markdown must be a string, got {type(markdown).__name__}")
    return sanitize_html(_MD.render(markdown)).strip()


class _Converter(MarkdownConverter):
    """ADO mentions are ``<a href="#" data-vss-mention=...>@Name</a>``: keep the text, not a dead link."""

    def convert_a(self, el, text, *args, **kwargs):  # type: ignore[no-untyped-def]
        href = el.get("href") or ""
        if not href or href.startswith("#"):
            return text
        return super().convert_a(el, text, *args, **kwargs)


def html_to_markdown(html: str) -> str:
    """ADO HTML (comments, rich-text fields) as Markdown Sentry renders."""
    text = _Converter(heading_style="ATX", bullets="-", escape_underscores=False).convert(sanitize_html(html))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def escape_markdown(text: str) -> str:
    """Text that Markdown shows literally (user data inside our own Markdown)."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def code_fence(text: str, info: str = "") -> str:
    """A fenced block whose fence is longer than any backtick run inside, so it cannot be closed early."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text}\n{fence}"
