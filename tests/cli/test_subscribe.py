# ruff: noqa: F811 - `stack` is the pytest fixture imported from tests.setup.stack
"""`sentry-ado subscribe` against the ADO emulator: creates, is idempotent, repairs, and the
subscriptions it makes really deliver work item events with the secret header."""

from __future__ import annotations

import pytest

from cli.main import main
from shared.contract import ADO_SECRET_HEADER, ADO_WORK_ITEM_EVENTS
from tests.setup.stack import HOOK_SECRET, Stack, stack  # noqa: F401 - the fixture

Capsys = pytest.CaptureFixture[str]


def subscribe(stack: Stack, capsys: Capsys, *extra: str) -> tuple[int, str]:
    code = main(["subscribe", "--url", stack.hook_url, *extra])
    out = capsys.readouterr()
    assert HOOK_SECRET not in out.out + out.err
    return code, out.out


def test_first_run_creates_four_per_project_and_second_run_changes_nothing(stack: Stack, capsys: Capsys) -> None:
    code, out = subscribe(stack, capsys)
    assert code == 0
    assert out.count("create ") == 2 * len(ADO_WORK_ITEM_EVENTS)
    subs = list(stack.ado.subscriptions.values())
    assert sorted((s.event_type, s.publisher_inputs["projectId"]) for s in subs) == sorted(
        (e, stack.ado.project(p).id) for p in ("Shop", "Scrum") for e in ADO_WORK_ITEM_EVENTS)
    assert {(s.resource_version, s.consumer_inputs["url"]) for s in subs} == {("1.0", stack.hook_url)}
    before = {s.id: s.modified_date for s in subs}

    code, out = subscribe(stack, capsys)
    assert code == 0
    assert out.count("keep ") == 8 and "0 changed" in out
    assert {s.id: s.modified_date for s in stack.ado.subscriptions.values()} == before


def test_a_disabled_subscription_is_replaced_and_delivers_again(stack: Stack, capsys: Capsys) -> None:
    subscribe(stack, capsys)
    shop = stack.ado.project("Shop").id
    updated = next(s for s in stack.ado.subscriptions.values()
                   if s.event_type == "workitem.updated" and s.publisher_inputs["projectId"] == shop)
    stack.ado.set_subscription_status(updated.id, "disabledBySystem")

    code, out = subscribe(stack, capsys)
    assert code == 0
    assert "replace workitem.updated" in out and updated.id in out and "status disabledBySystem" in out
    assert stack.ado.subscriptions[updated.id].status == "enabled"

    item = stack.ado.act_create("Shop", "Bug", {"System.Title": "boom"}, "Ava Chen <ava@contoso.com>")
    stack.ado.act_update(item.id, {"System.State": "Active"}, "Ava Chen <ava@contoso.com>")
    stack.ado.webhooks.flush()
    (hook,) = stack.receiver.of_type("workitem.updated")
    assert hook.path == "/api/ado/webhook"
    assert hook.headers[ADO_SECRET_HEADER] == HOOK_SECRET


def test_dry_run_prints_the_plan_and_changes_nothing(stack: Stack, capsys: Capsys) -> None:
    code, out = subscribe(stack, capsys, "--dry-run")
    assert code == 0 and out.count("create ") == 8 and "8 would change" in out
    assert stack.ado.subscriptions == {}


def test_the_url_is_the_apps_base_url_as_for_the_manifest(stack: Stack, capsys: Capsys) -> None:
    assert main(["subscribe", "--url", stack.receiver_url]) == 0
    assert {s.consumer_inputs["url"] for s in stack.ado.subscriptions.values()} == {stack.hook_url}
    assert main(["subscribe", "--url", stack.hook_url]) == 0  # the route itself: the same subscriptions
    assert "0 changed" in capsys.readouterr().out


def test_a_url_with_another_path_is_bad_input(stack: Stack, capsys: Capsys) -> None:
    code = main(["subscribe", "--url", f"{stack.receiver_url}/api/sentry/webhook"])
    err = capsys.readouterr().err
    assert code == 2 and "--url: expected the app's base URL" in err
    assert stack.ado.subscriptions == {}


def test_with_releases_the_stage_hooks_are_subscribed_too_and_check_sees_them(stack: Stack, capsys: Capsys) -> None:
    import json

    stack.rules('[[routes]]\nsentry_projects = ["backend"]\nado_project = "Shop"\n'
                '[[releases.repositories]]\nado_repository = "shop-web"\nsentry_repository = "Shop Web"\n'
                'sentry_projects = ["backend"]\n')
    assert main(["subscribe", "--url", stack.receiver_url, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    stage = [s for s in report["subscriptions"] if s["event_type"] == "ms.vss-pipelines.stage-state-changed-event"]
    assert [(s["action"], s["project"]) for s in stage] == [("create", "Shop")] and report["changed"] == 5
    sub = next(s for s in stack.ado.subscriptions.values() if s.event_type == stage[0]["event_type"])
    assert (sub.publisher_id, sub.resource_version) == ("pipelines", "5.1-preview.1")
    assert main(["subscribe", "--url", stack.receiver_url]) == 0 and "0 changed" in capsys.readouterr().out
    main(["check"])
    assert "ok   ADO service hooks for Shop: 5 events subscribed and enabled" in capsys.readouterr().out


def test_an_unknown_ado_project_is_named(stack: Stack, capsys: Capsys) -> None:
    stack.rules('[[routes]]\nsentry_projects = ["backend"]\nado_project = "Nope"\n')
    code = main(["subscribe", "--url", stack.hook_url])
    assert code == 2 and "ADO project(s) Nope not found" in capsys.readouterr().err


def test_refused_credentials_fail_with_exit_3_without_echoing_them(stack: Stack, capsys: Capsys) -> None:
    stack.env(ADO_PAT="not-the-pat")
    code = main(["subscribe", "--url", stack.hook_url])
    out = capsys.readouterr()
    assert code == 3 and "401" in out.err and "fix: ADO_PAT" in out.err and "not-the-pat" not in out.out + out.err
