"""What both emulators share: the request journal, fault injection, webhook delivery, serving.

Each emulator is a WSGI application (werkzeug) built on ``EmulatorApp``. It records every request
in the journal before anything else, so a test can read exactly what our code sent; it applies the
configured faults (latency, 429, 5xx, timeouts) before routing; and it hands outgoing webhooks to a
``WebhookSender`` that can drop, duplicate and reorder them, the way a lossy network and a
non-retrying sender would.

Control endpoints, on every emulator:
- ``GET  /_sandbox/journal``  every request received, JSON Lines, oldest first
- ``POST /_sandbox/reset``    clear state and journal (faults are kept)
- ``POST /_sandbox/faults``   body: a JSON object of ``Faults`` fields; replaces the faults
- ``POST /_sandbox/flush``    wait until every queued webhook was delivered (or dropped)
"""

from __future__ import annotations

import json
import queue
import random
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any

import requests
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

CONTROL_PREFIX = "/_sandbox/"


@dataclass
class Faults:
    """Probabilities are per request (or per webhook), drawn from one seeded generator."""

    latency_s: float = 0.0
    rate_limit_rate: float = 0.0  # answer 429 with Retry-After / rate-limit headers
    retry_after_s: float = 0.05
    error_rate: float = 0.0  # answer 503
    timeout_rate: float = 0.0  # sleep past the client's timeout, then answer 504
    timeout_s: float = 2.0
    webhook_drop_rate: float = 0.0
    webhook_duplicate_rate: float = 0.0
    webhook_reorder: bool = False  # deliver queued webhooks in shuffled order per flush
    seed: int = 0

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Faults:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
        return cls(**data)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers, mimetype="application/json")


class Journal:
    """Every request an emulator received, in the documented JSON Lines shape."""

    def __init__(self, service: str) -> None:
        self.service = service
        self._entries: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def record(self, request: Request) -> None:
        raw = request.get_data(cache=True)
        body: Any
        if not raw:
            body = None
        else:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        query = {k: (v[0] if len(v) == 1 else v) for k, v in request.args.lists()}
        entry = {
            "service": self.service,
            "method": request.method,
            "path": request.path,
            "query": query,
            "headers": dict(request.headers),
            "body": body,
        }
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def jsonl(self) -> str:
        return "".join(json.dumps(e) + "\n" for e in self.entries())


@dataclass
class Webhook:
    url: str
    body: bytes
    headers: dict[str, str]


class WebhookSender:
    """Delivers webhooks from a background thread, applying the drop/duplicate/reorder faults.

    Delivery is fire-and-forget like the real services (Sentry never retries internal
    integrations); ``flush()`` blocks until the queue is empty so tests can be deterministic.
    A delivery not answered within ``timeout_s`` is lost, as the real sender counts it: it is
    recorded with status ``None`` and is in ``lost``.
    """

    def __init__(self, faults: Callable[[], Faults], rng: random.Random, timeout_s: float = 10.0) -> None:
        self._faults = faults
        self._rng = rng
        self._timeout_s = timeout_s
        self._pending: list[Webhook] = []
        self._cond = threading.Condition()
        self._busy = False
        self._session = requests.Session()
        self.delivered: list[tuple[Webhook, int | None]] = []
        self._queue: queue.Queue[None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="webhook-sender", daemon=True)
        self._thread.start()

    def send(self, hook: Webhook) -> None:
        with self._cond:
            self._pending.append(hook)
        self._queue.put(None)

    def _take_batch(self) -> list[Webhook]:
        with self._cond:
            batch, self._pending = self._pending, []
            self._busy = bool(batch)
        faults = self._faults()
        if faults.webhook_reorder:
            self._rng.shuffle(batch)
        out: list[Webhook] = []
        for hook in batch:
            if self._rng.random() < faults.webhook_drop_rate:
                continue
            out.append(hook)
            if self._rng.random() < faults.webhook_duplicate_rate:
                out.append(hook)
        return out

    def _run(self) -> None:
        while True:
            self._queue.get()
            for hook in self._take_batch():
                status: int | None
                try:
                    resp = self._session.post(hook.url, data=hook.body, headers=hook.headers,
                                              timeout=self._timeout_s)
                    status = resp.status_code
                except requests.RequestException:
                    status = None
                self.delivered.append((hook, status))
            with self._cond:
                self._busy = bool(self._pending)
                self._cond.notify_all()

    @property
    def lost(self) -> list[Webhook]:
        """Deliveries that timed out or found nobody listening: never seen by the receiver's app."""
        return [hook for hook, status in self.delivered if status is None]

    def flush(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._pending or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("webhooks still pending after flush timeout")
                self._cond.wait(left)


class EmulatorApp:
    """Base WSGI app: journal, faults and control endpoints; subclasses add ``url_map`` rules.

    A subclass sets ``service`` ("ado" or "sentry"), builds ``self.url_map`` (werkzeug rules whose
    endpoint is a bound method taking ``(request, **values)`` and returning a ``Response``) and
    implements ``reset_state()``. ``fault_response`` may be overridden to shape 429/5xx bodies the
    way the real service does.
    """

    service = "base"
    webhook_timeout_s = 10.0  # how long the real service waits for a webhook's answer

    def __init__(self, faults: Faults | None = None) -> None:
        self.faults = faults or Faults()
        self.rng = random.Random(self.faults.seed)
        self.journal = Journal(self.service)
        self.webhooks = WebhookSender(lambda: self.faults, self.rng, self.webhook_timeout_s)
        self.url_map = Map()
        self.lock = threading.RLock()
        self._lost_answers: list[tuple[str, str, float]] = []  # (method, path part, delay): see lose_answer

    def reset_state(self) -> None:  # pragma: no cover - subclasses override
        raise NotImplementedError

    def set_faults(self, faults: Faults) -> None:
        self.faults = faults
        self.rng.seed(faults.seed)

    def lose_answer(self, method: str, path_part: str = "", delay_s: float = 2.0) -> None:
        """The next `method` request whose path contains `path_part` is carried out, and answered only
        after `delay_s`, with 504: a gateway that gave up on a request the service still completed.
        A client that stopped waiting cannot tell whether its change landed."""
        with self.lock:
            self._lost_answers.append((method.upper(), path_part, delay_s))

    def _answer_lost(self, request: Request) -> float | None:
        with self.lock:
            for i, (method, part, delay) in enumerate(self._lost_answers):
                if request.method == method and part in request.path:
                    del self._lost_answers[i]
                    return delay
        return None

    def fault_response(self, kind: str) -> Response:
        if kind == "rate_limit":
            secs = self.faults.retry_after_s
            return json_response({"detail": "rate limited"}, 429,
                                 {"Retry-After": f"{secs:g}"})
        if kind == "timeout":
            time.sleep(self.faults.timeout_s)
            return json_response({"detail": "gateway timeout"}, 504)
        return json_response({"detail": "service unavailable"}, 503)

    def _control(self, request: Request) -> Response:
        action = request.path[len(CONTROL_PREFIX):].strip("/")
        if action == "journal" and request.method == "GET":
            return Response(self.journal.jsonl(), mimetype="application/x-ndjson")
        if action == "reset" and request.method == "POST":
            self.webhooks.flush()
            with self.lock:
                self.reset_state()
            self.journal.clear()
            return json_response({"reset": True})
        if action == "faults" and request.method == "POST":
            try:
                self.set_faults(Faults.from_json(request.get_json(force=True) or {}))
            except (ValueError, TypeError) as exc:
                return json_response({"error": str(exc)}, 400)
            return json_response(asdict(self.faults))
        if action == "flush" and request.method == "POST":
            self.webhooks.flush()
            return json_response({"flushed": True})
        return self.control(request, action)

    def control(self, request: Request, action: str) -> Response:
        """Emulator-specific control actions (act as a person would); 404 by default."""
        return json_response({"error": f"unknown control action {action!r}"}, 404)

    def _draw_fault(self) -> str | None:
        f = self.faults
        roll = self.rng.random()
        for kind, rate in (("rate_limit", f.rate_limit_rate), ("error", f.error_rate),
                           ("timeout", f.timeout_rate)):
            if roll < rate:
                return kind
            roll -= rate
        return None

    def dispatch(self, request: Request) -> Response:
        if request.path.startswith(CONTROL_PREFIX):
            return self._control(request)
        self.journal.record(request)
        if self.faults.latency_s:
            time.sleep(self.faults.latency_s)
        fault = self._draw_fault()
        if fault:
            return self.fault_response(fault)
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except HTTPException as exc:
            return self.not_found(request, exc)
        lost = self._answer_lost(request)
        response = endpoint(request, **values)
        if lost is None:
            return response
        time.sleep(lost)
        return json_response({"detail": "gateway timeout"}, 504)

    def not_found(self, request: Request, exc: HTTPException) -> Response:
        return json_response({"detail": exc.description}, exc.code or 404)

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        request = Request(environ)
        return self.dispatch(request)(environ, start_response)


class _QuietHandler(WSGIRequestHandler):
    """No access log line per request (the journal records requests); errors are still logged."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class RunningServer:
    """A WSGI app served on a loopback port from a daemon thread."""

    def __init__(self, app: Callable, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self._server = make_server(host, port, app, threaded=True, request_handler=_QuietHandler)
        self.port = self._server.server_port
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
