"""Markup conversion, sanitising and comment attribution."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.mapping import comments, markup

DANGEROUS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "![a](javascript:alert(1))",
    "<a href=\"javascript:alert(1)\">x</a>",
    "<svg onload=alert(1)>",
    "[x](&#106;avascript:alert(1))",
    "<div onclick='x'>hi</div>",
]


class _ActiveContent(HTMLParser):
    """Finds what a browser would run: script elements, on* handlers, javascript: URLs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.found.append("script")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(name)
            compact = re.sub(r"[\x00-\x20]", "", value or "").lower()
            if name in ("href", "src") and compact.startswith(("javascript:", "vbscript:", "data:")):
                self.found.append(f"{name}={value}")


def _unsafe(html: str) -> bool:
    parser = _ActiveContent()
    parser.feed(html)
    parser.close()
    return bool(parser.found)


def test_the_checker_itself_finds_active_content():
    assert _unsafe('<a href=" JavaScript:x">a</a>') and _unsafe("<p onclick=x>") and _unsafe("<script>")
    assert not _unsafe("<p>&lt;script&gt; onclick=x javascript:</p>")


@pytest.mark.parametrize("md", DANGEROUS)
def test_markdown_never_yields_active_html(md):
    assert not _unsafe(markup.markdown_to_html(md))


@pytest.mark.parametrize("html", DANGEROUS)
def test_sanitize_html_strips_active_content(html):
    assert not _unsafe(markup.sanitize_html(html))


PIECES = [*DANGEROUS, "**", "[", "](", ")", "<", ">", "\n", "`", '"', "'", " on", "javascript:", "<a href=",
          "onerror=", "&#", "data:text/html,"]


@settings(max_examples=300)
@given(st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=8)), max_size=20).map("".join))
def test_no_generated_markdown_yields_script_handler_or_js_url(md):
    assert not _unsafe(markup.markdown_to_html(md))


@pytest.mark.parametrize(("md", "fragment"), [
    ("**bold**", "<strong>bold</strong>"),
    ("[link](https://example.com)", '<a href="https://example.com" rel="noopener noreferrer">link</a>'),
    ("| a |\n|---|\n| b |", "<td>b</td>"),
    ("`a<b`", "<code>a&lt;b</code>"),
])
def test_markdown_renders(md, fragment):
    assert fragment in markup.markdown_to_html(md)


@pytest.mark.parametrize(("html", "md"), [
    ("<p>Hello <strong>world</strong></p>", "Hello **world**"),
    ('<div>see <a href="https://x.example/a">docs</a></div>', "see [docs](https://x.example/a)"),
    ('<a href="#" data-vss-mention="version:2.0,abc">@Jane Doe</a> look', "@Jane Doe look"),
    ("<ul><li>one</li><li>two</li></ul>", "- one\n- two"),
    ("<p>x</p><script>alert(1)</script>", "x"),
])
def test_html_to_markdown(html, md):
    assert markup.html_to_markdown(html) == md


def test_code_fence_outlasts_backticks_inside():
    fenced = markup.code_fence("a ```` b")
    assert fenced.startswith("`````\n") and fenced.endswith("\n`````")


@pytest.mark.parametrize("bad", [None, 3, b"x"])
def test_markup_rejects_non_strings(bad):
    with pytest.raises(TypeError, match="must be a string"):
        markup.markdown_to_html(bad)


# --- comments ---------------------------------------------------------------------------------

def test_sentry_comment_to_ado_services_is_attributed_markdown():
    c = comments.to_ado("Jane Doe", "Looks like **the cache**", is_services=True)
    assert c == comments.AdoComment("**Jane Doe** (via Sentry): Looks like **the cache**", markdown=True)


def test_sentry_comment_to_ado_server_is_sanitised_html():
    c = comments.to_ado("Jane", "hi <script>alert(1)</script> [x](javascript:alert(1))", is_services=False)
    assert not c.markdown
    assert c.text.startswith("<p><strong>Jane</strong> (via Sentry): hi")
    assert not _unsafe(c.text)


def test_ado_comment_to_sentry_markdown():
    text = comments.to_sentry("Bob Smith", "<div>Fixed in <b>1.2</b></div>")
    assert text == "**Bob Smith** (via Azure DevOps): Fixed in **1.2**"


def test_author_names_cannot_forge_markup():
    c = comments.to_ado("**x** (via Sentry): [a](b)", "hello", is_services=True)
    assert c.text.startswith("**\\*\\*x\\*\\* \\(via Sentry\\): \\[a\\]\\(b\\)** (via Sentry): ")


@pytest.mark.parametrize(("text", "mine"), [
    (comments.to_ado("Jane", "x", True).text, True),
    (comments.to_ado("Jane", "x", False).text, True),
    (comments.to_sentry("Bob", "<p>x</p>"), True),
    ("<p><strong>Bob</strong> (via Azure DevOps): x</p>", True),
    ("I saw this via Sentry yesterday", False),
    ("**Bob** said (via Sentry): x", False),
    ("", False),
    (None, False),
])
def test_written_by_bridge(text, mine):
    assert comments.written_by_bridge(text) is mine


@given(st.text(min_size=1).filter(str.strip), st.text(max_size=30), st.booleans())
def test_every_carried_comment_is_recognised_as_ours(text, author, services):
    assert comments.written_by_bridge(comments.to_ado(author, text, services).text)


@pytest.mark.parametrize("bad", ["", "   ", None])
def test_empty_comment_is_refused(bad):
    with pytest.raises(ValueError, match="comment text must be a non-empty string"):
        comments.to_ado("x", bad, True)
