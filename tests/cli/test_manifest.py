"""`sentry-ado manifest`: the text a person pastes into Sentry, and ``--json`` for the schema box."""

from __future__ import annotations

import json

import pytest

from cli.main import main
from shared.setup.manifest import ui_schema

Capsys = pytest.CaptureFixture[str]


def test_json_prints_exactly_the_schema(capsys: Capsys) -> None:
    assert main(["manifest", "--url", "https://app.example.net", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == ui_schema()


def test_text_lists_webhook_url_permissions_webhooks_alert_action_and_schema(capsys: Capsys) -> None:
    assert main(["manifest", "--url", "https://app.example.net/", "--commit-tracking"]) == 0
    out = capsys.readouterr().out
    assert "Webhook URL:        https://app.example.net/api/sentry/webhook" in out
    assert "Alert Rule Action:  enabled" in out
    for resource, level in (("Issue & Event", "Read & Write"), ("Organization", "Read"), ("Member", "Read"),
                            ("Project", "Read"), ("Release", "Admin")):
        assert any(line.split("(")[0].split() == [*resource.split(), *level.split()] for line in out.splitlines())
    assert "Webhooks (check these resources): issue, comment" in out
    schema_text = out.split("Schema (paste into the Schema box):\n", 1)[1].split("\n\n", 1)[0]
    assert json.loads(schema_text) == ui_schema()


def test_without_commit_tracking_no_release_permission(capsys: Capsys) -> None:
    main(["manifest", "--url", "https://app.example.net"])
    assert "Release" not in capsys.readouterr().out


def test_a_url_with_a_path_is_bad_input(capsys: Capsys) -> None:
    assert main(["manifest", "--url", "https://app.example.net/api/sentry/webhook"]) == 2
    assert "base URL only" in capsys.readouterr().err


def test_text_explains_the_issue_activity_channel_and_where_to_see_it_is_set_up(capsys: Capsys) -> None:
    assert main(["manifest", "--url", "https://app.example.net"]) == 0
    out = capsys.readouterr().out
    assert "'issue_resolved_trigger'" in out and "`sentry-ado check` says whether one is set up" in out
