"""A loopback HTTP server that answers from a script and records what it received.

Tests of the transport and both clients run against this real server (no mocks of our code): each
queued answer is a werkzeug ``Response`` or a callable taking the ``Request``; when the script runs
out, the last answer repeats.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

from sandbox.core import RunningServer

Answer = Response | Callable[[Request], Response]


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def reply(body: Any = None, status: int = 200, headers: dict[str, str] | None = None,
          content_type: str = "application/json") -> Response:
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return Response(data, status=status, headers=headers, content_type=content_type)


class ScriptedApp:
    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.seen: list[Seen] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        request = Request(environ)
        with self._lock:
            self.seen.append(Seen(request.method, request.path, request.args.to_dict(flat=False),
                                  dict(request.headers), request.get_data()))
            answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        response = answer(request) if callable(answer) and not isinstance(answer, Response) else answer
        return response(environ, start_response)


@contextmanager
def serve(*answers: Answer) -> Iterator[tuple[ScriptedApp, str]]:
    app = ScriptedApp(*answers)
    server = RunningServer(app)
    try:
        yield app, server.url
    finally:
        server.stop()


class FakeTime:
    """Injected sleep and clock: sleeping advances the clock and is recorded, never waited."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now
