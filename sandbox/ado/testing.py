"""Helpers for tests that drive the ADO emulator: start it on loopback, receive its webhooks.

``HookReceiver`` is a real local HTTP server (no mocks) that records every POST it gets, so
tests can assert on the exact body and headers the emulator delivered.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

from sandbox.ado.emulator import AdoEmulator
from sandbox.core import RunningServer


@dataclass(frozen=True)
class ReceivedHook:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class HookReceiver:
    """A WSGI app that records JSON POSTs and answers with a configurable status."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: list[ReceivedHook] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict, start_response: Any) -> Any:
        request = Request(environ)
        hook = ReceivedHook(request.path, dict(request.headers), json.loads(request.get_data() or b"null"))
        with self._lock:
            self.received.append(hook)
        return Response("", status=self.status)(environ, start_response)

    def of_type(self, event_type: str) -> list[ReceivedHook]:
        with self._lock:
            return [h for h in self.received if h.body.get("eventType") == event_type]


@contextmanager
def running_ado(org: str = "contoso") -> Iterator[tuple[AdoEmulator, RunningServer]]:
    """An emulator served on loopback; ``emulator.base_url`` is the org URL clients should use."""
    emulator = AdoEmulator(org)
    server = RunningServer(emulator)
    emulator.host = server.url
    try:
        yield emulator, server
    finally:
        server.stop()
