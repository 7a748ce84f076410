"""Fixtures shared by the emulator tests: a running ADO emulator and a webhook receiver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.ado.emulator import AdoEmulator
from sandbox.ado.testing import HookReceiver, running_ado
from sandbox.core import RunningServer


@pytest.fixture
def ado() -> Iterator[AdoEmulator]:
    with running_ado() as (emulator, _server):
        yield emulator


@pytest.fixture
def receiver() -> Iterator[HookReceiver]:
    app = HookReceiver()
    server = RunningServer(app)
    app.url = server.url
    yield app
    server.stop()
