"""Settings for function tests: a complete environment, reset around each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared import runtime

SETTINGS = {"SENTRY_ORG": "acme", "SENTRY_TOKEN": "tok-sentry", "SENTRY_CLIENT_SECRET": "client-secret",
            "ADO_ORG_URL": "https://dev.azure.com/contoso", "ADO_PAT": "pat-value",
            "ADO_HOOK_SECRET": "hook-secret", "LINK_STORE": "sqlite", "WEBHOOK_MAX_BYTES": "20000"}


@pytest.fixture
def app_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[dict[str, str]]:
    env = {**SETTINGS, "SQLITE_PATH": str(tmp_path / "links.sqlite")}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    runtime.reset()
    yield env
    runtime.reset()
