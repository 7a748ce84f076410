"""The Sentry integration schema, validated against Sentry's published schema rules.

Source of the rules: getsentry/sentry ``src/sentry/sentry_apps/api/parsers/schema.py`` (read at
commit 45331a9148a096a69d0c72d058f6563ae6eaaeab) and docs.sentry.io "UI Components" (issue-link,
alert-rule-action). Sentry validates with Draft 7; its rules, re-expressed here:
- ``elements``: a non-empty array; each element is issue-link, alert-rule-action, issue-media or
  stacktrace-link; at most one element of each type.
- a ``uri`` is a string starting with ``/`` (a path on the webhook URL's host).
- form fields are select (type, name, label, and exactly one of uri / options), text or textarea
  (type, name, label; ``default`` only issue.title or issue.description); options are
  ``[value, label]`` pairs.
- issue-link: ``create`` and ``link``, each with ``uri`` and a non-empty ``required_fields``.
- stacktrace-link: ``uri``.
- alert-rule-action: ``title`` and ``settings`` of type alert-rule-settings with ``uri`` and
  ``required_fields``; ``description`` 1-140 characters.
"""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

import jsonschema
import pytest

from shared.contract import (
    ALERT_RULE_ACTION_PATH,
    FIELD_AREA,
    FIELD_ASSIGNEE,
    FIELD_ITERATION,
    FIELD_PARENT,
    FIELD_PRIORITY,
    FIELD_PROJECT,
    FIELD_REQUIRED,
    FIELD_SEVERITY,
    FIELD_TAGS,
    FIELD_TYPE,
    SENTRY_WEBHOOK_PATH,
)
from shared.setup.manifest import (
    app_origin,
    build_manifest,
    ui_schema,
)

CHOICES = [FIELD_ITERATION, FIELD_TAGS, FIELD_PRIORITY, FIELD_SEVERITY, FIELD_ASSIGNEE, FIELD_PARENT, *FIELD_REQUIRED]
PATH = {"type": "string", "pattern": "^/"}
LABELLED = {"name": {"type": "string"}, "label": {"type": "string"}}
SELECT = {
    "type": "object",
    "required": ["type", "name", "label"],
    "properties": {"type": {"const": "select"}, **LABELLED, "uri": PATH, "async": {"type": "boolean"},
                   "skip_load_on_open": {"type": "boolean"},
                   "depends_on": {"type": "array", "minItems": 1, "items": {"type": "string"}},
                   "options": {"type": "array", "minItems": 1, "items": {
                       "type": "array", "minItems": 2, "maxItems": 2,
                       "prefixItems": [{"type": "string"}, {"type": ["string", "number"]}]}}},
    "oneOf": [{"required": ["uri"]}, {"required": ["options"]}],
}


def _text_field(kind: str) -> dict[str, Any]:
    return {"type": "object", "required": ["type", "name", "label"],
            "properties": {"type": {"const": kind}, **LABELLED,
                           "default": {"enum": ["issue.title", "issue.description"]}}}


FIELDS = {"type": "array", "minItems": 1,
          "items": {"anyOf": [SELECT, _text_field("text"), _text_field("textarea")]}}
FORM = {"type": "object", "required": ["uri", "required_fields"],
        "properties": {"uri": PATH, "required_fields": FIELDS, "optional_fields": FIELDS}}
ISSUE_LINK = {"type": "object", "required": ["type", "create", "link"],
              "properties": {"type": {"const": "issue-link"}, "create": FORM, "link": FORM}}
ALERT_RULE_ACTION = {
    "type": "object", "required": ["type", "title", "settings"],
    "properties": {"type": {"const": "alert-rule-action"}, "title": {"type": "string"},
                   "settings": {"type": "object", "required": ["type", "uri", "required_fields"],
                                "properties": {"type": {"const": "alert-rule-settings"}, "uri": PATH,
                                               "description": {"type": "string", "minLength": 1, "maxLength": 140},
                                               "required_fields": FIELDS, "optional_fields": FIELDS}}},
}
STACKTRACE_LINK = {"type": "object", "required": ["type", "uri"],
                   "properties": {"type": {"const": "stacktrace-link"}, "uri": PATH}}
SENTRY_RULES = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object", "required": ["elements"],
    "properties": {"elements": {"type": "array", "minItems": 1, "items": {
        "type": "object", "required": ["type"],
        "properties": {"type": {"enum": ["issue-link", "alert-rule-action", "issue-media", "stacktrace-link"]}},
        "allOf": [
            {"if": {"properties": {"type": {"const": "issue-link"}}}, "then": ISSUE_LINK},
            {"if": {"properties": {"type": {"const": "alert-rule-action"}}}, "then": ALERT_RULE_ACTION},
            {"if": {"properties": {"type": {"const": "stacktrace-link"}}}, "then": STACKTRACE_LINK},
        ]}}},
}


def sentry_problems(schema: dict[str, Any]) -> list[str]:
    """Every rule violation, including Sentry's extra 'one element per type' check."""
    validator = jsonschema.Draft202012Validator(SENTRY_RULES)
    problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(schema)]
    counts = Counter(e.get("type") for e in schema.get("elements", []) if isinstance(e, dict))
    problems += [f"Multiple elements of type: {t}" for t, n in counts.items() if n > 1]
    return problems


def fields_of(form: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in form["required_fields"] + form.get("optional_fields", [])}


def test_the_schema_passes_sentrys_rules() -> None:
    assert sentry_problems(ui_schema()) == []


@pytest.mark.parametrize("break_it", [
    lambda s: s["elements"][0]["create"]["required_fields"][0].pop("uri"),
    lambda s: s["elements"][0]["create"]["required_fields"][2].update(default="issue.culprit"),
    lambda s: s["elements"][0]["link"].update(uri="https://elsewhere.example/x"),
    lambda s: s["elements"][1]["settings"].update(description="x" * 141),
    lambda s: s["elements"].append(copy.deepcopy(s["elements"][0])),
    lambda s: s["elements"][1].pop("title"),
    lambda s: s["elements"][2].pop("uri"),
])
def test_the_rules_catch_a_broken_schema(break_it: Any) -> None:
    schema = ui_schema()
    break_it(schema)
    assert sentry_problems(schema)


def test_create_form_has_project_type_and_title_required_and_description_area_optional() -> None:
    create = ui_schema()["elements"][0]["create"]
    assert [f["name"] for f in create["required_fields"]] == [FIELD_PROJECT, FIELD_TYPE, "title"]
    assert [f["name"] for f in create["optional_fields"]] == ["description", FIELD_AREA, *CHOICES]
    fields = fields_of(create)
    assert fields[FIELD_PROJECT]["uri"] == "/api/sentry/issue-link/options/projects"
    assert fields[FIELD_TYPE]["uri"] == "/api/sentry/issue-link/options/types"
    assert fields[FIELD_AREA]["uri"] == "/api/sentry/issue-link/options/areas"
    assert fields[FIELD_TYPE]["depends_on"] == fields[FIELD_AREA]["depends_on"] == [FIELD_PROJECT]
    assert (fields["title"]["type"], fields["title"]["default"]) == ("text", "issue.title")
    assert (fields["description"]["type"], fields["description"]["default"]) == ("textarea", "issue.description")
    assert create["uri"] == "/api/sentry/issue-link/create"


def test_stack_frames_link_to_the_stacktrace_route() -> None:
    (element,) = [e for e in ui_schema()["elements"] if e["type"] == "stacktrace-link"]
    assert element == {"type": "stacktrace-link", "uri": "/api/sentry/stacktrace-link"}


def test_link_form_searches_work_items_as_the_user_types() -> None:
    link = ui_schema()["elements"][0]["link"]
    (field,) = link["required_fields"]
    assert (link["uri"], field["uri"], field["async"]) == (
        "/api/sentry/issue-link/link", "/api/sentry/issue-link/options/workitems", True)


def test_alert_rule_action_posts_settings_to_its_own_route_not_the_webhook() -> None:
    settings = ui_schema()["elements"][1]["settings"]
    assert settings["uri"] == ALERT_RULE_ACTION_PATH != SENTRY_WEBHOOK_PATH
    assert list(fields_of(settings)) == [FIELD_PROJECT, FIELD_TYPE, FIELD_AREA, *CHOICES]


def test_both_forms_offer_the_same_choices_loaded_from_the_chosen_project_and_type() -> None:
    create = fields_of(ui_schema()["elements"][0]["create"])
    settings = fields_of(ui_schema()["elements"][1]["settings"])
    assert {n: create[n] for n in CHOICES} == {n: settings[n] for n in CHOICES}
    assert create[FIELD_ITERATION]["depends_on"] == [FIELD_PROJECT]
    for name, kind in ((FIELD_PRIORITY, "priorities"), (FIELD_SEVERITY, "severities"),
                       (FIELD_REQUIRED[0], "required-1"), (FIELD_REQUIRED[2], "required-3")):
        assert create[name]["uri"] == f"/api/sentry/issue-link/options/{kind}"
        assert create[name]["depends_on"] == [FIELD_PROJECT, FIELD_TYPE]
    assert create[FIELD_ASSIGNEE]["async"] and create[FIELD_PARENT]["async"]
    assert create[FIELD_PARENT]["uri"] == "/api/sentry/issue-link/options/workitems"
    assert create[FIELD_TAGS]["type"] == "text"


def test_manifest_permissions_and_webhooks() -> None:
    plain = build_manifest("https://app.example.net/")
    assert plain.webhook_url == "https://app.example.net/api/sentry/webhook"
    assert {(p.resource, p.level) for p in plain.permissions} == {
        ("Issue & Event", "Read & Write"), ("Organization", "Read"), ("Member", "Read")}
    assert plain.webhook_resources == ("issue", "comment") and plain.alert_rule_action
    commits = build_manifest("https://app.example.net", commit_tracking=True)
    assert {("Project", "Read"), ("Release", "Admin")} <= {(p.resource, p.level) for p in commits.permissions}


@pytest.mark.parametrize(("url", "message"), [
    ("", "got nothing"), ("app.example.net", "absolute URL"), ("http://app.example.net", "https"),
    ("https://app.example.net/api/sentry/webhook", "base URL only"), ("https://app.example.net?code=1", "base URL"),
])
def test_bad_app_urls_are_refused_by_name(url: str, message: str) -> None:
    with pytest.raises(ValueError, match="--url") as info:
        app_origin(url)
    assert message in str(info.value)
