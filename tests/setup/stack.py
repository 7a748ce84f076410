"""Both emulators on loopback plus the environment the CLI reads, for the command tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sandbox.ado.emulator import AdoEmulator
from sandbox.ado.seed import DEFAULT_TOKEN
from sandbox.ado.testing import HookReceiver
from sandbox.core import RunningServer
from sandbox.sentry.emulator import SentryEmulator, serve
from sandbox.sentry.seed import APP_TOKEN, CLIENT_SECRET, ORG_SLUG

HOOK_SECRET = "hook-secret-for-tests"
RULES = """
[[routes]]
sentry_projects = ["backend"]
ado_project = "Shop"
work_item_type = "Bug"
area_path = "Shop\\\\Web"

[[routes]]
sentry_projects = ["frontend"]
ado_project = "Scrum"
work_item_type = "Product Backlog Item"
"""


@dataclass
class Stack:
    ado: AdoEmulator
    sentry: SentryEmulator
    receiver: HookReceiver
    receiver_url: str
    rules_path: Path
    monkeypatch: pytest.MonkeyPatch

    @property
    def hook_url(self) -> str:
        return f"{self.receiver_url}/api/ado/webhook"

    def rules(self, text: str) -> None:
        self.rules_path.write_text(text, encoding="utf-8")

    def env(self, **values: str) -> None:
        for key, value in values.items():
            self.monkeypatch.setenv(key, value)


@pytest.fixture()
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    ado = AdoEmulator("contoso")
    ado_server = RunningServer(ado)
    ado.host = ado_server.url
    sentry, sentry_server = serve()
    receiver = HookReceiver()
    receiver_server = RunningServer(receiver)
    rules_path = tmp_path / "sync.toml"
    rules_path.write_text(RULES, encoding="utf-8")
    for key in ("ADO_AUTH", "ADO_TENANT_ID", "ADO_CLIENT_ID", "ADO_CLIENT_SECRET", "LINK_STORE"):
        monkeypatch.delenv(key, raising=False)
    values = {"ADO_ORG_URL": ado.base_url, "ADO_PAT": DEFAULT_TOKEN, "ADO_HOOK_SECRET": HOOK_SECRET,
              "SENTRY_BASE_URL": sentry_server.url, "SENTRY_ORG": ORG_SLUG, "SENTRY_TOKEN": APP_TOKEN,
              "SENTRY_CLIENT_SECRET": CLIENT_SECRET, "SYNC_CONFIG_PATH": str(rules_path),
              "SQLITE_PATH": str(tmp_path / "links.sqlite")}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    try:
        yield Stack(ado, sentry, receiver, receiver_server.url, rules_path, monkeypatch)
    finally:
        for server in (ado_server, sentry_server, receiver_server):
            server.stop()
