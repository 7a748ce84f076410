"""A local stand-in for the Azure Functions host, for machines without Core Tools.

It indexes `function_app.app` exactly as the worker does (`get_functions()` and each function's
binding JSON), serves the HTTP triggers under the same routes (``/api/...``), carries queue output
bindings to the queue-triggered functions through in-process queues, and runs timers on demand.
Queue semantics follow host.json: a message whose function raises is retried up to
``maxDequeueCount`` times (each attempt sees its ``dequeue_count``), then moved to ``<queue>-poison``,
as the real host does; messages a function writes to a queue nothing consumes (its own
``<queue>-poison`` output) are kept in `poison` too. Retries wait ``retry_delay_s``: at once by
default (tests), or, given None, host.json's ``visibilityTimeout`` as Azure does (serve). The host
answers the app's queue questions (`shared.queues.QueueAccess`: depth, peek, take, put, remove) over
these in-memory queues, so the status page and poison replay work under `serve --sandbox` as on Storage.

Nothing here decides anything about syncing; it only moves requests and messages between the same
function objects Azure would call.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import azure.functions as func
from azure.functions.timer import TimerRequest
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from shared.queues import QueuedMessage

log = logging.getLogger(__name__)
HOST_JSON = Path(__file__).resolve().parent.parent / "host.json"


class HostQueueMessage(func.QueueMessage):
    """A queue message as the worker hands it over: with how many times it has been dequeued."""

    def __init__(self, *, id: str, body: bytes, dequeue_count: int) -> None:
        super().__init__(id=id, body=body)
        self._dequeue_count = dequeue_count

    @property
    def dequeue_count(self) -> int:
        return self._dequeue_count


class OutBinding(func.Out):
    """The value a function sets on an output binding."""

    def __init__(self) -> None:
        self.value: Any = None

    def set(self, val: Any) -> None:
        self.value = val

    def get(self) -> Any:
        return self.value


@dataclass
class FunctionEntry:
    name: str
    user_function: Callable[..., Any]
    trigger: dict[str, Any]
    outputs: list[dict[str, Any]] = field(default_factory=list)


_INDEXED: dict[int, list[Any]] = {}


def indexed_functions(app: func.FunctionApp) -> list[Any]:
    """`app.get_functions()`, once per app: the library refuses to index the same app twice (it
    then reports every name as a duplicate), and the worker indexes once too."""
    if id(app) not in _INDEXED:
        _INDEXED[id(app)] = app.get_functions()
    return _INDEXED[id(app)]


def _queue_setting(name: str) -> Any:
    try:
        return json.loads(HOST_JSON.read_text())["extensions"]["queues"].get(name)
    except (OSError, KeyError, ValueError):
        return None


def _max_dequeue_count() -> int:
    value = _queue_setting("maxDequeueCount")
    return int(value) if isinstance(value, int) else 5


def _visibility_timeout_s() -> float:
    """host.json's ``visibilityTimeout`` (hh:mm:ss): how long a failed message waits to be retried."""
    value = _queue_setting("visibilityTimeout")
    try:
        h, m, sec = (float(part) for part in str(value).split(":"))
    except ValueError:
        return 0.0
    return h * 3600 + m * 60 + sec


class LocalHost:
    """Routes HTTP requests to HTTP functions and queue messages to queue functions, in-process."""

    def __init__(self, app: func.FunctionApp, max_dequeue_count: int | None = None,
                 retry_delay_s: float | None = 0.0) -> None:
        self.functions: dict[str, FunctionEntry] = {}
        self.url_map = Map()
        self.queues: dict[str, queue.Queue[tuple[str, int]]] = {}
        self.poison: dict[str, list[str]] = {}
        self._poisoned_at: dict[str, list[float]] = {}
        self.max_dequeue_count = max_dequeue_count or _max_dequeue_count()
        self.retry_delay_s = _visibility_timeout_s() if retry_delay_s is None else retry_delay_s
        self._pending = 0
        self._cond = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._retries: list[threading.Timer] = []
        self._stopped = threading.Event()
        for fn in indexed_functions(app):
            self._index(fn)

    def _index(self, fn: Any) -> None:
        spec = json.loads(fn.get_function_json())
        trigger = next(b for b in spec["bindings"] if b["type"].endswith("Trigger"))
        outputs = [b for b in spec["bindings"] if b["direction"] == "OUT" and b["type"] == "queue"]
        entry = FunctionEntry(fn.get_function_name(), fn.get_user_function(), trigger, outputs)
        self.functions[entry.name] = entry
        if trigger["type"] == "httpTrigger":
            path = "/api/" + re.sub(r"\{(\w+)(:\w+)?\}", r"<\1>", trigger["route"])
            self.url_map.add(Rule(path, endpoint=entry.name, methods=trigger.get("methods")))
        elif trigger["type"] == "queueTrigger":
            name = trigger["queueName"]
            self.queues.setdefault(name, queue.Queue())
            worker = threading.Thread(target=self._consume, args=(name, entry), daemon=True,
                                      name=f"queue-{name}")
            worker.start()
            self._threads.append(worker)

    # -- queues -------------------------------------------------------------------------------

    def enqueue(self, queue_name: str, message: str) -> None:
        if queue_name not in self.queues:  # a poison queue (the functions write to it), or a mistake
            if not queue_name.endswith("-poison"):
                log.warning("queue %s has no consumer in this app; message kept in .poison", queue_name)
            self._poison(queue_name, message)
            return
        with self._cond:
            self._pending += 1
        self.queues[queue_name].put((message, 1))

    def _poison(self, poison_queue: str, message: str) -> None:
        with self._cond:
            self.poison.setdefault(poison_queue, []).append(message)
            self._poisoned_at.setdefault(poison_queue, []).append(time.time())

    def _consume(self, queue_name: str, entry: FunctionEntry) -> None:
        q = self.queues[queue_name]
        while True:
            message, dequeue_count = q.get()
            if self._stopped.is_set():
                return
            try:
                self._invoke(entry, {entry.trigger["name"]: HostQueueMessage(
                    id=uuid.uuid4().hex, body=message.encode("utf-8"), dequeue_count=dequeue_count)})
            except Exception as exc:
                log.debug("%s: attempt %d failed", entry.name, dequeue_count, exc_info=True)
                if dequeue_count >= self.max_dequeue_count:
                    log.error("%s: message failed %d times (last: %s: %s); moved to %s-poison", entry.name,
                              dequeue_count, type(exc).__name__, exc, queue_name)
                    self._poison(f"{queue_name}-poison", message)
                else:
                    log.warning("%s: attempt %d of %d failed (%s: %s); retried in %gs", entry.name, dequeue_count,
                                self.max_dequeue_count, type(exc).__name__, exc, self.retry_delay_s)
                    with self._cond:
                        self._pending += 1
                    self._retry_later(q, message, dequeue_count + 1)
            finally:
                with self._cond:
                    self._pending -= 1
                    self._cond.notify_all()

    def _retry_later(self, q: queue.Queue[tuple[str, int]], message: str, dequeue_count: int) -> None:
        if self._stopped.is_set():
            return
        if self.retry_delay_s <= 0:
            q.put((message, dequeue_count))
            return
        timer = threading.Timer(self.retry_delay_s, q.put, args=((message, dequeue_count),))
        timer.daemon = True
        with self._cond:
            self._retries = [t for t in self._retries if t.is_alive()] + [timer]
        timer.start()

    def stop(self) -> None:
        """End the consumers and drop pending retries: a stopped sandbox must not go on syncing
        (and logging) into whatever runs next in the process."""
        self._stopped.set()
        with self._cond:
            for timer in self._retries:
                timer.cancel()
        for q in self.queues.values():
            q.put(("", 0))  # wakes the consumer, which sees the stop

    # -- the app's view of the queues (shared.queues.QueueAccess) ------------------------------------

    def depth(self, queue_name: str) -> int:
        with self._cond:
            if queue_name in self.poison:
                return len(self.poison[queue_name])
        q = self.queues.get(queue_name)
        return q.qsize() if q is not None else 0

    def peek(self, queue_name: str, limit: int) -> list[QueuedMessage]:
        with self._cond:
            texts = list(self.poison.get(queue_name, []))[:limit]
            times = list(self._poisoned_at.get(queue_name, []))[:limit]
        return [QueuedMessage(t, at) for t, at in zip(texts, times, strict=True)]

    def take(self, queue_name: str, limit: int, hide_s: int) -> list[QueuedMessage]:
        """Poison messages are taken out at once (nothing else reads them here)."""
        with self._cond:
            texts = self.poison.get(queue_name, [])[:limit]
            times = self._poisoned_at.get(queue_name, [])[:limit]
            del self.poison.get(queue_name, [])[:limit], self._poisoned_at.get(queue_name, [])[:limit]
            if queue_name in self.poison and not self.poison[queue_name]:
                del self.poison[queue_name], self._poisoned_at[queue_name]
        return [QueuedMessage(t, at) for t, at in zip(texts, times, strict=True)]

    def put(self, queue_name: str, text: str) -> None:
        self.enqueue(queue_name, text)

    def remove(self, queue_name: str, message: QueuedMessage) -> None:
        """Taken poison messages are already gone."""

    def drain(self, timeout_s: float = 60.0) -> None:
        """Block until every queued message (and the messages it caused) has been processed."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._pending == 0, timeout_s):
                raise TimeoutError(f"{self._pending} queue message(s) still pending after {timeout_s}s")

    # -- invocation ---------------------------------------------------------------------------

    def _invoke(self, entry: FunctionEntry, args: dict[str, Any]) -> Any:
        outs = {b["name"]: OutBinding() for b in entry.outputs}
        result = entry.user_function(**args, **outs)
        for binding in entry.outputs:
            value = outs[binding["name"]].value
            if value is not None:
                for item in value if isinstance(value, list) else [value]:
                    self.enqueue(binding["queueName"], item if isinstance(item, str) else json.dumps(item))
        return result

    def run_timer(self, name: str, past_due: bool = False) -> Any:
        entry = self.functions[name]
        return self._invoke(entry, {entry.trigger["name"]: TimerRequest(past_due=past_due)})

    def timers(self) -> list[str]:
        return [n for n, e in self.functions.items() if e.trigger["type"] == "timerTrigger"]

    # -- HTTP -----------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        if request.path.startswith("/admin/timers/") and request.method == "POST":
            name = request.path.rsplit("/", 1)[-1]
            if name not in self.timers():
                return Response(json.dumps({"error": f"no timer function {name!r}"}), 404,
                                mimetype="application/json")
            self.run_timer(name)
            return Response(json.dumps({"ran": name}), 200, mimetype="application/json")
        if request.path == "/admin/drain" and request.method == "POST":
            self.drain()
            return Response(json.dumps({"drained": True, "poison": self.poison}), 200, mimetype="application/json")
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            name, values = adapter.match()
        except Exception as exc:  # werkzeug's NotFound / MethodNotAllowed carry the right code
            code = getattr(exc, "code", 404)
            return Response(json.dumps({"error": f"{request.method} {request.path}: {code}"}), code,
                            mimetype="application/json")
        entry = self.functions[name]
        req = func.HttpRequest(method=request.method, url=request.url, headers=dict(request.headers),
                               params=dict(request.args), route_params=values, body=request.get_data())
        resp: func.HttpResponse = self._invoke(entry, {entry.trigger["name"]: req})
        return Response(resp.get_body(), status=resp.status_code, headers=dict(resp.headers),
                        mimetype=resp.mimetype)

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        return self.handle(Request(environ))(environ, start_response)
