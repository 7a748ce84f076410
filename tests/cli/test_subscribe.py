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


def test_a_url_that_is_not_the_webhook_route_is_bad_input(stack: Stack, capsys: Capsys) -> None:
    code = main(["subscribe", "--url", stack.receiver_url])
    err = capsys.readouterr().err
    assert code == 2 and "--url: the path must end with /api/ado/webhook" in err
    assert stack.ado.subscriptions == {}


def test_an_unknown_ado_project_is_named(stack: Stack, capsys: Capsys) -> None:
    stack.rules('[[routes]]\nsentry_projects = ["backend"]\nado_project = "Nope"\n')
    code = main(["subscribe", "--url", stack.hook_url])
    assert code == 2 and "ADO project(s) Nope not found" in capsys.readouterr().err


def test_refused_credentials_fail_with_exit_1_without_echoing_them(stack: Stack, capsys: Capsys) -> None:
    stack.env(ADO_PAT="not-the-pat")
    code = main(["subscribe", "--url", stack.hook_url])
    out = capsys.readouterr()
    assert code == 1 and "401" in out.err and "not-the-pat" not in out.out + out.err
