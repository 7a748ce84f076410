"""Helpers for the reliability tests: sync rules with an identity table, fast API clients, a tap on the
emulators' outgoing webhooks, the people on each side, and the worker process of the duplicates test.

Nothing here replaces our code: the tests drive the real function app, the real Syncer and the real
stores against the emulators (real local HTTP servers) and Azurite.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sandbox.core import Webhook
from shared.transport import RetryPolicy

# Sentry seed members (user ids 1..3) and the ADO identities [identities] maps them to.
SENTRY_PEOPLE = {"alice@example.com": "1", "bob@example.com": "2", "carol@example.com": "3"}
ADO_PEOPLE = {"alice@example.com": "Ava Chen <ava@contoso.com>",
              "bob@example.com": "Jamal Hartnett <jamal@contoso.com>",
              "carol@example.com": "Priya Natarajan <priya@contoso.com>"}
ADO_UNIQUE = {email: ident[ident.index("<") + 1:-1] for email, ident in ADO_PEOPLE.items()}
BRIDGE_ADO = "sentry-bridge@contoso.com"

RULES = """
[[routes]]
sentry_projects = ["backend"]
ado_project = "Shop"
work_item_type = "Bug"
area_path = "Shop\\\\Api"
tags = ["sentry"]
[routes.auto_create]
enabled = true
levels = ["error", "fatal"]

[[routes]]
sentry_projects = ["frontend"]
ado_project = "Basic"
work_item_type = "Issue"
[routes.auto_create]
enabled = {frontend_auto}
levels = ["error", "fatal"]

[states]
done_categories = ["Completed"]
ignored_action = "none"
reopen_on_regression = true

[sync]
status = "both"
assignee = "both"
comments = "both"
title = "off"
conflict = "latest"

[identities]
"alice@example.com" = "ava@contoso.com"
"bob@example.com" = "jamal@contoso.com"
"carol@example.com" = "priya@contoso.com"
"""

# Fast enough for a test, still the product's retry logic: Retry-After honoured, backoff, budget.
FAST_POLICY = RetryPolicy(max_attempts=6, base_delay_s=0.01, max_delay_s=0.1, total_budget_s=5.0,
                          connect_timeout_s=2.0, read_timeout_s=0.5)


def write_rules(directory: Path, frontend_auto: bool = False) -> Path:
    path = directory / "sync.toml"
    path.write_text(RULES.replace("{frontend_auto}", "true" if frontend_auto else "false"))
    return path


def use_fast_clients(policy: RetryPolicy = FAST_POLICY) -> None:
    """Give the process-wide runtime API clients with `policy` before anything builds the defaults.

    `Runtime.ado` / `.sentry` are cached properties: setting them is what building them would do,
    through the same factory (`shared/setup/clients.py`), with a shorter budget."""
    from shared.runtime import runtime
    from shared.setup.clients import ado_client, sentry_client

    rt = runtime()
    rt.ado = ado_client(rt.config.settings, policy)
    rt.sentry = sentry_client(rt.config.settings, policy)


class HookTap:
    """Records every webhook an emulator hands to its sender (before drop/duplicate faults), and can
    hold them instead of sending, so a test delivers them itself in the order it chooses."""

    def __init__(self, emulator: Any) -> None:
        self.sender = emulator.webhooks
        self._send = self.sender.send
        self.sent: list[Webhook] = []
        self.held: list[Webhook] = []
        self.holding = False
        self._lock = threading.Lock()
        self.sender.send = self._tap  # an observer on the emulator (sandbox), not on our code

    def _tap(self, hook: Webhook) -> None:
        with self._lock:
            self.sent.append(hook)
            if self.holding:
                self.held.append(hook)
                return
        self._send(hook)

    @contextmanager
    def hold(self) -> Iterator[list[Webhook]]:
        with self._lock:
            self.holding, self.held = True, []
        try:
            yield self.held
        finally:
            with self._lock:
                self.holding = False

    def bodies(self) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(h.body) for h in self.sent]


def delivered(emulator: Any) -> list[tuple[dict[str, Any], int | None]]:
    """The webhooks the emulator really delivered (after drops and duplicates) and our status."""
    return [(json.loads(hook.body), status) for hook, status in list(emulator.webhooks.delivered)]


# --- the duplicates test's worker process ----------------------------------------------------------

def queue_worker(env: dict[str, str], messages: list[str], barrier: Any, results: Any, threads: int = 4,
                 max_dequeue: int = 5) -> None:
    """One Functions worker process: builds its own runtime from app settings, waits for the others,
    then runs the real queue function on each message with `threads` concurrent invocations, retrying
    a failed message as the host does (up to `max_dequeue` times, then poison)."""
    os.environ.update(env)
    from azure.functions.queue import QueueMessage

    from functions.sync import sync_from_sentry
    from sandbox.local_host import OutBinding
    from shared import runtime

    runtime.reset()
    use_fast_clients()
    handler = sync_from_sentry.build().get_user_function()
    runtime.runtime().syncer  # noqa: B018 - build store and clients before the start line
    outcome: dict[str, Any] = {"pid": os.getpid(), "ok": 0, "retries": 0, "poison": 0, "errors": []}
    lock = threading.Lock()

    def run(index_text: tuple[int, str]) -> None:
        index, text = index_text
        for attempt in range(1, max_dequeue + 1):
            poison = OutBinding()
            try:
                handler(QueueMessage(id=f"{os.getpid()}-{index}-{attempt}", body=text.encode(),
                                     dequeue_count=attempt), poison)
                if poison.value is not None:  # a bad record: the function moved it to the poison queue itself
                    raise RuntimeError("moved to the poison queue at once")
            except Exception as exc:  # the host would retry; we record why
                with lock:
                    outcome["errors"].append(f"{type(exc).__name__}: {str(exc)[:200]}")
                    if attempt == max_dequeue or poison.value is not None:
                        outcome["poison"] += 1
                        return
                    outcome["retries"] += 1
                continue
            with lock:
                outcome["ok"] += 1
            return

    barrier.wait(timeout=60)
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(run, enumerate(messages)))
    results.put(outcome)
