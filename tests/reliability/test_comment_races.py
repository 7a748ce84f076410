"""Comments at most once when reconciliation and late webhooks race, and edits and deletions that
arrive late or twice: through the real HTTP webhook routes, the real queue functions and a real
reconcile run against the emulators."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.stack import SandboxStack, sandbox_stack
from shared.reconcile.run import reconciler
from shared.runtime import runtime
from tests.reliability.scenario import ADO_PEOPLE, HookTap, write_rules
from tests.reliability.test_ordering import deliver, linked

AVA = ADO_PEOPLE["alice@example.com"]


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[SandboxStack]:
    with sandbox_stack(workdir=str(tmp_path), sync_config=write_rules(tmp_path)) as s:
        yield s


def ado_texts(stack: SandboxStack, wid: int) -> list[str]:
    return [c.text for c in stack.ado.work_item(wid).comments if not c.is_deleted]


def sentry_texts(issue_id: str) -> list[str]:
    return [c["data"]["text"] for c in runtime().sentry.list_comments(issue_id)]


def test_reconcile_carrying_a_comment_then_its_late_webhooks_make_one_copy(stack: SandboxStack) -> None:
    issue_id, wid = linked(stack)
    taps = HookTap(stack.sentry), HookTap(stack.ado)
    with taps[0].hold() as sentry_late, taps[1].hold() as ado_late:
        stack.sentry.comment("alice@example.com", issue_id, "late from Sentry")
        stack.ado.act_comment(wid, "late from ADO", as_=AVA)
    reconciler(runtime()).run()  # the webhooks have not arrived: reconciliation carries both
    assert sum("late from Sentry" in t for t in ado_texts(stack, wid)) == 1
    assert sum("late from ADO" in t for t in sentry_texts(issue_id)) == 1
    deliver(stack, [*sentry_late, *ado_late, *sentry_late])  # then they arrive, one of them twice
    assert sum("late from Sentry" in t for t in ado_texts(stack, wid)) == 1
    assert sum("late from ADO" in t for t in sentry_texts(issue_id)) == 1
    reconciler(runtime()).run()
    assert len(ado_texts(stack, wid)) == 2 and len(sentry_texts(issue_id)) == 2


def test_an_edit_and_a_deletion_delivered_late_or_twice_change_the_copy_once(stack: SandboxStack) -> None:
    issue_id, wid = linked(stack)
    note = stack.sentry.comment("alice@example.com", issue_id, "v1")
    stack.settle()
    tap = HookTap(stack.sentry)
    with tap.hold() as edits:
        stack.sentry.edit_note("alice@example.com", issue_id, note["id"], "v2")
        stack.sentry.edit_note("alice@example.com", issue_id, note["id"], "v3")
    deliver(stack, [edits[1], edits[0], edits[1]])  # reordered and repeated: the newest text is carried
    [copy] = stack.ado.work_item(wid).comments
    assert copy.text.endswith("v3") and copy.version == 2  # one edit; the late v2 read v3 and changed nothing
    with tap.hold() as deleted:
        stack.sentry.delete_note("alice@example.com", issue_id, note["id"])
    deliver(stack, [*deleted, *deleted])
    assert ado_texts(stack, wid) == []
    assert stack.host.poison == {}
