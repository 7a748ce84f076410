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
