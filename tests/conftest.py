"""Shared fixtures: Azurite (started once per session, stopped by process id) and app settings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import settings

from shared import runtime
from tests.azurite import Azurite, start_azurite

# Property tests assert behaviour, not speed (benchmarks in bench/ measure that): Hypothesis's
# default 200 ms per example would fail them on a loaded machine.
settings.register_profile("untimed", deadline=None)
settings.load_profile("untimed")


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    server = start_azurite()  # raises (the test errors) if Azurite cannot start: never a silent skip
    yield server
    server.stop()


@pytest.fixture(scope="session")
def azurite_connection(azurite: Azurite) -> str:
    return azurite.connection_string

SETTINGS = {"SENTRY_ORG": "acme", "SENTRY_TOKEN": "tok-sentry", "SENTRY_CLIENT_SECRET": "client-secret",
            "ADO_ORG_URL": "http://127.0.0.1:9/contoso", "ADO_PAT": "pat-value",
            # a closed loopback port: a test that reaches for ADO fails fast and never leaves the machine
            "ADO_HOOK_SECRET": "hook-secret", "LINK_STORE": "sqlite", "WEBHOOK_MAX_BYTES": "20000"}


@pytest.fixture
def app_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[dict[str, str]]:
    env = {**SETTINGS, "SQLITE_PATH": str(tmp_path / "links.sqlite")}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    runtime.reset()
    yield env
    runtime.reset()
