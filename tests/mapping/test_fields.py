"""Work item fields for a new Sentry issue."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.config import SyncRules
from shared.mapping import fields as f
from tests.fixtures import SENTRY_EXAMPLES as EXAMPLES

ISSUE = json.loads((EXAMPLES / "issue.created.json").read_text())["data"]["issue"]
URL = "https://sentry.io/organizations/example/issues/123/"
AGILE_BUG_FIELDS = frozenset({"System.Title", "System.Description", f.REPRO_STEPS, f.PRIORITY, f.SEVERITY})
BASIC_ISSUE_FIELDS = frozenset({"System.Title", "System.Description", f.PRIORITY})
EVENT = {
    "tags": [{"key": "environment", "value": "production"}, {"key": "release", "value": "shop@1.4.2"}],
    "entries": [{"type": "exception", "data": {"values": [{
        "type": "KeyError", "value": "'cart'",
        "stacktrace": {"frames": [
            {"filename": "lib/site.py", "lineNo": 1, "function": "run", "inApp": False},
            {"filename": "shop/views.py", "lineNo": 40, "function": "checkout", "inApp": True},
            {"filename": "shop/cart.py", "lineNo": 12, "function": "total", "inApp": True},
        ]}}]}}],
}


def _ops_by_path(ops):
    return {op["path"]: op for op in ops}


def _target(**kw):
    return f.Target(**{"project": "Shop", "work_item_type": "Bug", **kw})


@pytest.mark.parametrize(("type_fields", "field"), [
    (AGILE_BUG_FIELDS, f.REPRO_STEPS),
    (BASIC_ISSUE_FIELDS, f.DESCRIPTION),
    (None, f.DESCRIPTION),
])
def test_body_goes_where_the_form_shows_it(type_fields, field):
    ops = _ops_by_path(f.create_ops(ISSUE, None, _target(), SyncRules(), type_fields, True, URL))
    assert f"/fields/{field}" in ops
    assert ops[f"/multilineFieldsFormat/{field}"]["value"] == "Markdown"
    assert "/multilineFieldsFormat/System.Title" not in ops


def test_server_gets_sanitised_html_and_no_markdown_op():
    issue = {**ISSUE, "culprit": "<script>alert(1)</script>"}
    ops = f.create_ops(issue, None, _target(), SyncRules(), AGILE_BUG_FIELDS, False, URL)
    body = _ops_by_path(ops)[f"/fields/{f.REPRO_STEPS}"]["value"]
    assert body.startswith("<p>Sentry issue <a href=\"https://sentry.io/")
    assert "<script" not in body and "&lt;script&gt;" in body
    assert not any(op["path"].startswith("/multilineFieldsFormat") for op in ops)


def test_body_carries_what_a_developer_needs():
    text = f.body_markdown(ISSUE, EVENT, URL)
    for expected in ["Level:** error", "KeyError", "production", "shop@1\\.4\\.2", "Events:**", URL,
                     "shop/cart.py:12 in total\nshop/views.py:40 in checkout"]:
        assert expected in text
    assert "lib/site.py" not in text  # only in-app frames when there are any


@pytest.mark.parametrize(("type_fields", "has_severity", "has_priority"), [
    (AGILE_BUG_FIELDS, True, True), (BASIC_ISSUE_FIELDS, False, True), (frozenset({"System.Title"}), False, False),
    (None, False, True),
])
def test_severity_and_priority_only_where_the_type_has_them(type_fields, has_severity, has_priority):
    ops = _ops_by_path(f.create_ops(ISSUE, None, _target(), SyncRules(), type_fields, True, URL))
    assert (f"/fields/{f.SEVERITY}" in ops) is has_severity
    assert (f"/fields/{f.PRIORITY}" in ops) is has_priority


@pytest.mark.parametrize(("issue", "expected"), [
    ({"priority": "high", "level": "warning"}, 1), ({"level": "warning"}, 3), ({"level": "fatal"}, 1),
    ({"priority": "low"}, 3), ({}, None), ({"level": "unknown"}, None),
])
def test_priority(issue, expected):
    assert f.priority(issue, SyncRules()) == expected


def test_route_values_tags_and_hyperlink():
    target = _target(area_path="Shop\\Backend", iteration_path="Shop\\Sprint 1", tags=("sentry", "backend"),
                     fields={"Custom.Team": "Payments"}, priority=1)
    ops = f.create_ops(ISSUE, None, target, SyncRules(), AGILE_BUG_FIELDS, True, URL)
    by = _ops_by_path(ops)
    assert by["/fields/System.AreaPath"]["value"] == "Shop\\Backend"
    assert by["/fields/System.IterationPath"]["value"] == "Shop\\Sprint 1"
    assert by["/fields/Custom.Team"]["value"] == "Payments"
    assert by[f"/fields/{f.PRIORITY}"]["value"] == 1
    assert by["/fields/System.Tags"] == {"op": "add", "path": "/fields/System.Tags", "value": "sentry; backend"}
    assert by["/relations/-"]["value"] == {"rel": "Hyperlink", "url": URL,
                                           "attributes": {"comment": "Sentry issue " + ISSUE["shortId"]}}


@pytest.mark.parametrize(("fields", "message"), [
    ({"Team": "x"}, "'Team' is not a field reference name"),
    ({"System.Title": "x"}, "'System.Title' is set by the bridge"),
])
def test_bad_route_fields_are_named(fields, message):
    with pytest.raises(ValueError, match=message):
        f.create_ops(ISSUE, None, _target(fields=fields), SyncRules(), None, True, URL)


@pytest.mark.parametrize(("tags", "replace", "expected"), [
    (["a", "b", "A"], False, [{"op": "add", "path": "/fields/System.Tags", "value": "a; b"}]),
    (["a"], True, [{"op": "replace", "path": "/fields/System.Tags", "value": "a"}]),
    ([], True, [{"op": "replace", "path": "/fields/System.Tags", "value": ""}]),
    ([], False, []),
])
def test_tag_ops(tags, replace, expected):
    assert f.tag_ops(tags, replace) == expected


@pytest.mark.parametrize("tag", ["a;b", "", "  "])
def test_bad_tag_is_named(tag):
    with pytest.raises(ValueError, match="must be a non-empty string without ';'"):
        f.tag_ops([tag])


def test_bad_issue_url_is_named():
    with pytest.raises(ValueError, match="Sentry issue URL must be an http"):
        f.create_ops(ISSUE, None, _target(), SyncRules(), None, True, "javascript:alert(1)")


# --- titles -----------------------------------------------------------------------------------

def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@pytest.mark.parametrize(("short_id", "raw", "expected"), [
    ("BACKEND-1A", "KeyError: 'cart'", "[BACKEND-1A] KeyError: 'cart'"),
    ("BACKEND-1A", "  multi\nline\ttitle ", "[BACKEND-1A] multi line title"),
    ("BACKEND-1A", "", "[BACKEND-1A] (no title)"),
    ("", "plain", "plain"),
    ("FE-2", "Ошибка: 数据 💥", "[FE-2] Ошибка: 数据 💥"),
])
def test_title(short_id, raw, expected):
    assert f.title(short_id, raw) == expected


@pytest.mark.parametrize("raw", ["x" * 1000, "💥" * 300, "e\u0301" * 200, "👩\u200d💻" * 100, "a" * 254 + "💥"])
def test_long_titles_fit_and_keep_the_short_id(raw):
    out = f.title("BACKEND-1A", raw)
    assert _utf16(out) <= f.TITLE_LIMIT
    assert out.startswith("[BACKEND-1A] ") and out.endswith(f.ELLIPSIS)
    out.encode("utf-8")  # no lone surrogate


@given(st.text(min_size=0, max_size=600), st.from_regex(r"[A-Z]{1,12}-[0-9A-Z]{1,6}", fullmatch=True))
def test_title_property(raw, short_id):
    out = f.title(short_id, raw)
    assert _utf16(out) <= f.TITLE_LIMIT
    assert out.startswith(f"[{short_id}] ")
    if out.endswith(f.ELLIPSIS) and not " ".join(raw.split()).endswith(f.ELLIPSIS):
        kept = out[len(short_id) + 3:-1]
        assert " ".join(raw.split()).startswith(kept)


def test_absurd_short_id_is_refused():
    with pytest.raises(ValueError, match="too long for a work item title"):
        f.title("X" * 200, "t")
