"""Azure DevOps service hook behaviours through the real function app over HTTP: the subscription
dialog's Test button, and a PAT without the scope a sync write needs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from sandbox.ado import seed as seed_ado
from sandbox.stack import SandboxStack, sandbox_stack
from shared.runtime import runtime
from tests.functions.test_end_to_end import writes


@pytest.fixture
def stack() -> Iterator[SandboxStack]:
    with sandbox_stack() as s:
        yield s


def test_the_hook_test_button_is_answered_2xx_and_logged_as_a_test_delivery(stack: SandboxStack, caplog) -> None:
    """Pressing Test on each subscription the app made: every sample is answered 2xx (the person
    setting up the hook sees success), logged as a test delivery, and nothing is enqueued or written."""
    before = writes(stack)
    subs = [h for h in runtime().ado.list_hook_subscriptions() if h["publisherId"] == "tfs"]
    assert subs
    with caplog.at_level("INFO"):
        for sub in subs:
            answer = requests.post(f"{stack.ado.base_url}/_apis/hooks/testnotifications",
                                   params={"api-version": "7.1"}, json={"subscriptionId": sub["id"]},
                                   auth=("", seed_ado.DEFAULT_TOKEN), timeout=30).json()
            assert answer["result"] == "succeeded", answer
    stack.settle()
    assert [status for _, status in stack.ado.test_deliveries] == [200] * len(subs)
    assert sum("test delivery" in r.getMessage() for r in caplog.records) == len(subs)
    assert writes(stack) == before and stack.host.poison == {}


def test_a_pat_without_work_write_fails_the_sync_naming_the_scope(stack: SandboxStack, caplog) -> None:
    """The bridge's PAT can read work items but not write them: Azure DevOps answers the create
    with a bare 401, and the sync's failure log says which scope the refused write needed."""
    stack.ado.token_scopes[seed_ado.DEFAULT_TOKEN] = frozenset({"vso.work", "vso.project", "vso.code", "vso.build"})
    with caplog.at_level("WARNING"):
        stack.sentry.new_error("backend", "KeyError", "boom")
        stack.settle()
    assert stack.ado.items == {}  # nothing was created
    refused = [r for r in caplog.records if "vso.work_write" in r.getMessage()]
    assert refused, [r.getMessage() for r in caplog.records]
