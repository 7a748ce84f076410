"""`sentry-ado reconcile --link`: one pair repaired now, named by either side's id, and what it did."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cli.main import main as cli
from sandbox.core import Faults
from sandbox.stack import SandboxStack, sandbox_stack
from shared.runtime import runtime


@pytest.fixture
def stack() -> Iterator[SandboxStack]:
    with sandbox_stack() as s:
        yield s


def test_one_pair_is_repaired_by_either_id(stack: SandboxStack, capsys) -> None:
    issue = stack.sentry.new_error("backend", "KeyError", "boom")["issue"]
    stack.settle()
    link = runtime().store.get_by_issue("acme", issue["id"])
    stack.sentry.set_faults(Faults(webhook_drop_rate=1.0))  # the resolve's webhook is lost
    stack.sentry.act("alice@example.com", issue["id"], {"status": "resolved"})
    stack.settle()
    stack.sentry.set_faults(Faults())
    assert runtime().ado.get_work_item(link.work_item_id)["fields"]["System.State"] != "Closed"

    assert cli(["reconcile", "--link", issue["id"], "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "drifted; would make 1 change(s)" in out and '"kind": "update_work_item"' in out
    assert runtime().ado.get_work_item(link.work_item_id)["fields"]["System.State"] != "Closed"

    assert cli(["reconcile", "--link", f"ado:{link.work_item_id}"]) == 0
    out = capsys.readouterr().out
    assert f"work item {link.work_item_id}" in out and "drifted; made 1 change(s)" in out
    assert runtime().ado.get_work_item(link.work_item_id)["fields"]["System.State"] == "Closed"

    assert cli(["reconcile", "--link", issue["id"]]) == 0
    assert "in sync; made 0 change(s)" in capsys.readouterr().out


@pytest.mark.parametrize(("ref", "message"), [
    ("999999", "no link for Sentry issue or work item 999999"),
    ("sentry:999999", "no link for Sentry issue 999999"),
    ("BACKEND-1", "expected a Sentry issue id or a work item id"),
    ("jira:5", "expected a Sentry issue id or a work item id"),
])
def test_a_link_that_is_not_there_is_named(stack: SandboxStack, capsys, ref: str, message: str) -> None:
    assert cli(["reconcile", "--link", ref]) == 2
    assert message in capsys.readouterr().err
