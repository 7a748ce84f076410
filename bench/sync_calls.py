"""Webhook path: what a mixed stream of webhooks costs in API calls, against its floor.

A seeded story of people's changes on both sides drives the emulators (another process, 5 ms of
latency per API call): new errors (each delivered as ``issue.created`` and as the alert rule's
``event_alert``, some delivered twice), status changes, assignments and comments made in Sentry
and in Azure DevOps, and the same kinds of changes on issues and work items nothing links (the
``frontend`` project, whose auto-create is off here, and the ``Basic`` ADO project). Their webhooks
reach a receiver in this process that verifies them with the app's own intake (shared/intake.py)
and queues the message; workers run the real queue functions (functions/sync.py) on each, and our
writes come back as webhooks too (echoes). After each round the bench delivers some processed
webhooks again (re-deliveries) and some older ADO revisions after newer ones (stale).

Every API call our clients make is attributed to the message being processed (a response hook on
the clients' sessions, an observer only). Kinds, told by the bench from what it did and who acted:
creation, duplicate (another delivery for an issue already delivered), change (a person's change
on a linked pair), echo (Sentry's actor is an application, ADO's revisedBy the bridge, or a
comment carries the bridge's attribution), redelivery, stale, unlinked.

Prints one JSON object as its last line:
  events, api_calls, floor_calls (per message: its successful writes, plus one read when it wrote
  anything; 0 for the rest), calls_ratio (ours / floor), reads_per_carried_change, by_kind
  ({kind: {events, api_calls, writes}}), zero_cost_calls (calls made for echo, redelivery, stale
  and unlinked messages), warmup_calls (the store-cached look-ups: type states and fields, the
  bridge's identity, Sentry members; not counted in api_calls), events_per_s_1 / events_per_s_8
  (the same story with 1 and 8 workers), latency_ms_p50 / latency_ms_p99 (webhook received to the
  other side written, for messages that wrote; the story sends bursts of about 150 webhooks, so
  with one worker this is mostly queueing), the 8-worker run's figures suffixed _8, converged (a
  dry-run reconcile finds no drift and every new error has its work item), errors; for the
  default story, ``before``: its cost measured once before this path was brought to its floor.
Goals: calls_ratio <= 1.1, zero_cost_calls == 0, converged.
"""

from __future__ import annotations

import argparse
import json
import math
import queue
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import azure.functions as func  # noqa: E402
import requests  # noqa: E402
from werkzeug.wrappers import Request, Response  # noqa: E402

from bench.emulator_host import SEED_PATH  # noqa: E402
from bench.reconcile import emulators  # noqa: E402
from sandbox.core import CONTROL_PREFIX, RunningServer  # noqa: E402
from sandbox.local_host import OutBinding  # noqa: E402
from sandbox.sentry import seed as sentry_seed  # noqa: E402
from sandbox.stack import DEFAULT_SYNC_CONFIG, HOOK_SECRET, app_settings, applied_env, subscribe_ado_hooks  # noqa: E402
from shared.intake import check_ado_webhook, check_sentry_webhook  # noqa: E402
from shared.mapping.comments import written_by_bridge  # noqa: E402
from shared.setup.manifest import SENTRY_WEBHOOK_PATH  # noqa: E402
from shared.setup.subscriptions import ADO_WEBHOOK_PATH  # noqa: E402

ZERO_COST = ("echo", "redelivery", "stale", "unlinked")
CACHED_LOOKUPS = ("/workitemtypes/", "/connectionData", "/members/")  # what the store caches for an hour
READ_POSTS = ("/workitemsbatch", "/wiql")
BRIDGE_ADO = "sentry-bridge@contoso.com"
SENTRY_PEOPLE = ("carol@example.com", "alice@example.com")
# alice, bob (both mapped in [identities]); never nobody: Sentry sends no webhook for unassigning
# (reconciliation repairs that, measured by bench/reconcile.py)
SENTRY_ASSIGNEES = ("user:1", "user:2")
ADO_PERSON = "Priya Natarajan <priya@contoso.com>"
ADO_ASSIGNEES = ("Ava Chen <ava@contoso.com>", "Jamal Hartnett <jamal@contoso.com>")
LINKED_PROJECT, UNLINKED_PROJECT, UNLINKED_ADO_PROJECT = "backend", "frontend", "Basic"
MAX_DEQUEUE = 5  # host.json: a message is tried this often before the poison queue
# The default story's cost before the webhook path was brought to its floor (main at eed4a9a, 1 worker),
# measured once and printed beside today's so the gain stays visible.
BEFORE = {"commit": "eed4a9a", "events": 5009, "api_calls": 8790, "floor_calls": 3868, "calls_ratio": 2.272,
          "zero_cost_calls": 2988, "events_per_s_1": 31.3, "events_per_s_8": 52.2}


@dataclass
class Message:
    source: str
    text: str
    kind: str
    key: tuple[str, str]  # ("sentry", issue id) or ("ado", work item id)
    received: float
    rev: int | None = None
    calls: list[tuple[str, str, int]] = field(default_factory=list)
    done_at: float = 0.0
    error: str | None = None

    def again(self, kind: str) -> Message:
        return Message(self.source, self.text, kind, self.key, time.perf_counter(), self.rev)

    @property
    def counted(self) -> list[tuple[str, str, int]]:
        return [c for c in self.calls if not any(p in c[1] for p in CACHED_LOOKUPS)]

    @property
    def writes(self) -> int:
        return sum(1 for method, path, status in self.counted
                   if method != "GET" and status < 400 and not any(p in path for p in READ_POSTS))


class Classifier:
    """Tells what kind each delivered webhook is, from what it carries and what the bench did."""

    def __init__(self) -> None:
        self._seen_creations: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, source: str, text: str) -> tuple[str, tuple[str, str], int | None]:
        message = json.loads(text)
        body = message["body"]
        if source == "sentry":
            return self._sentry(message["resource"], body)
        return self._ado(body)

    def _sentry(self, resource: str, body: dict[str, Any]) -> tuple[str, tuple[str, str], int | None]:
        data, actor = body.get("data") or {}, body.get("actor") or {}
        issue = data.get("issue") or {}
        issue_id = str(issue.get("id") or data.get("issue_id") or (data.get("event") or {}).get("issue_id"))
        project = (issue.get("project") or {}).get("slug") or data.get("project_slug")
        key = ("sentry", issue_id)
        ours = actor.get("type") == "application" and actor.get("id") != "sentry"  # "sentry": Sentry itself
        if ours or written_by_bridge(data.get("comment")):
            return "echo", key, None
        if project == UNLINKED_PROJECT:
            return "unlinked", key, None
        if resource == "event_alert" or (resource == "issue" and body.get("action") == "created"):
            with self._lock:
                first = issue_id not in self._seen_creations
                self._seen_creations.add(issue_id)
            return ("creation" if first else "duplicate"), key, None
        return "change", key, None

    @staticmethod
    def _ado(body: dict[str, Any]) -> tuple[str, tuple[str, str], int | None]:
        resource = body.get("resource") or {}
        fields = (resource.get("revision") or {}).get("fields") or resource.get("fields") or {}
        wid = resource.get("workItemId", resource.get("id"))
        key = ("ado", str(wid))
        by = json.dumps([resource.get("revisedBy"), fields.get("System.ChangedBy")])
        if BRIDGE_ADO in by or written_by_bridge(fields.get("System.History")):
            return "echo", key, resource.get("rev")
        if fields.get("System.TeamProject") == UNLINKED_ADO_PROJECT:
            return "unlinked", key, resource.get("rev")
        return "change", key, resource.get("rev")


class Workers:
    """Queue-triggered function workers: each takes a message, runs the real queue function on it
    (retried like the host does) and records the API calls made meanwhile."""

    def __init__(self, count: int, sessions: list[requests.Session]) -> None:
        from functions.sync import sync_from_ado, sync_from_sentry

        self.handlers: dict[str, Callable[[func.QueueMessage], None]] = {
            "sentry": sync_from_sentry.build().get_user_function(),
            "ado": sync_from_ado.build().get_user_function()}
        self.queue: queue.Queue[Message] = queue.Queue()
        self.local = threading.local()
        self.done: list[Message] = []
        self.pending = 0
        self.received = 0
        self.cond = threading.Condition()
        for session in sessions:
            session.hooks["response"].append(self._observe)
        for n in range(count):
            threading.Thread(target=self._run, name=f"worker-{n}", daemon=True).start()

    def _observe(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        current = getattr(self.local, "message", None)
        if current is not None:
            current.calls.append((response.request.method or "", urlsplit(response.request.url).path,
                                  response.status_code))

    def put(self, message: Message) -> None:
        with self.cond:
            self.pending += 1
            self.received += 1
        self.queue.put(message)

    def _run(self) -> None:
        while True:
            message = self.queue.get()
            self.local.message = message
            for _ in range(MAX_DEQUEUE):
                poison = OutBinding()
                try:
                    self.handlers[message.source](func.QueueMessage(id=str(id(message)), body=message.text.encode()),
                                                  poison)
                    message.error = None if poison.value is None else "a bad record: moved to the poison queue"
                    break
                except Exception as exc:  # the host retries any failure, then poisons the message
                    message.error = f"{type(exc).__name__}: {exc}"[:300]
            self.local.message = None
            message.done_at = time.perf_counter()
            with self.cond:
                self.done.append(message)
                self.pending -= 1
                self.cond.notify_all()

    def wait_idle(self) -> None:
        with self.cond:
            while self.pending:
                self.cond.wait()


class Receiver:
    """The webhook routes, verified by the app's own intake, enqueuing as the HTTP functions do."""

    def __init__(self, workers: Workers, classify: Classifier) -> None:
        self.workers, self.classify = workers, classify

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        request = Request(environ)
        body = request.get_data()
        if request.path == SENTRY_WEBHOOK_PATH:
            source = "sentry"
            verdict = check_sentry_webhook(request.headers, body, sentry_seed.CLIENT_SECRET, time.time(), 300, 1 << 20)
        else:
            source = "ado"
            verdict = check_ado_webhook(request.headers, body, HOOK_SECRET, 1 << 20)
        if verdict.message is not None:
            kind, key, rev = self.classify(source, verdict.message)
            self.workers.put(Message(source, verdict.message, kind, key, time.perf_counter(), rev))
        return Response(json.dumps(verdict.body), status=verdict.status)(environ, start_response)


class Story:
    """People acting on both sides through the emulators' control routes (not our clients)."""

    def __init__(self, urls: dict[str, str], workers: Workers, rng: random.Random) -> None:
        self.sentry = urls["sentry_url"] + CONTROL_PREFIX
        self.ado = urls["seed_url"][: -len(SEED_PATH)] + CONTROL_PREFIX
        self.http = requests.Session()
        self.workers, self.rng = workers, rng
        self.errors = 0

    def post(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.http.post(url, json=body, timeout=30)
        if response.status_code >= 400:
            raise RuntimeError(f"{url} {body}: {response.status_code} {response.text[:300]}")
        return response.json()

    def settle(self) -> None:
        """Deliver every pending webhook and process every message, until nothing new arrives."""
        while True:
            before = self.workers.received
            for url in (self.sentry, self.ado):
                self.http.post(url + "flush", timeout=120).raise_for_status()
            self.workers.wait_idle()
            if self.workers.received == before:
                return

    def new_error(self, project: str) -> str:
        self.errors += 1
        issue = self.post(self.sentry + "errors", {
            "project": project, "exception_type": f"BenchError{self.errors}", "level": "error",
            "exception_value": f"story error {self.errors}", "fingerprint": f"bench-{project}-{self.errors}"})
        return str(issue["issue"]["id"])

    def sentry_act(self, issue_id: str, changes: dict[str, Any]) -> None:
        self.post(f"{self.sentry}issues/{issue_id}/update", {"as": self.rng.choice(SENTRY_PEOPLE), **changes})

    def sentry_comment(self, issue_id: str) -> None:
        self.post(f"{self.sentry}issues/{issue_id}/comments",
                  {"as": self.rng.choice(SENTRY_PEOPLE), "text": f"note {self.rng.randrange(10**6)}"})

    def ado_update(self, wid: int, fields: dict[str, Any]) -> None:
        self.post(f"{self.ado}workitems/{wid}/update", {"as": ADO_PERSON, "fields": fields})

    def ado_comment(self, wid: int) -> None:
        self.post(f"{self.ado}workitems/{wid}/comment",
                  {"as": ADO_PERSON, "text": f"ado note {self.rng.randrange(10**6)}"})

    def ado_create(self, project: str, wit: str) -> int:
        title = f"made in ADO {self.rng.randrange(10**6)}"
        item = self.post(self.ado + "workitems", {"project": project, "type": wit, "as": ADO_PERSON,
                                                  "fields": {"System.Title": title}})
        return int(item["id"])


@dataclass
class Pair:
    issue_id: str
    work_item_id: int
    resolved: bool = False


def change_pair(story: Story, pair: Pair) -> None:
    """One person's change on a linked pair, on either side; status alternates open / done."""
    roll = story.rng.random()
    if roll < 0.3:
        if pair.resolved:
            story.ado_update(pair.work_item_id, {"System.State": "Active"})
        elif story.rng.random() < 0.5:
            story.sentry_act(pair.issue_id, {"status": "resolved"})
        else:
            story.ado_update(pair.work_item_id, {"System.State": "Closed"})
        pair.resolved = not pair.resolved
    elif roll < 0.5:
        story.sentry_act(pair.issue_id, {"assignedTo": story.rng.choice(SENTRY_ASSIGNEES)})
    elif roll < 0.65:
        story.ado_update(pair.work_item_id, {"System.AssignedTo": story.rng.choice(ADO_ASSIGNEES)})
    elif roll < 0.82:
        story.sentry_comment(pair.issue_id)
    else:
        story.ado_comment(pair.work_item_id)


def change_unlinked(story: Story, issues: list[str], items: list[int]) -> None:
    roll = story.rng.random()
    if roll < 0.25:
        story.sentry_act(story.rng.choice(issues), {"assignedTo": story.rng.choice(("user:1", "user:3"))})
    elif roll < 0.5:
        story.sentry_comment(story.rng.choice(issues))
    elif roll < 0.75:
        story.ado_update(story.rng.choice(items), {"System.AssignedTo": story.rng.choice(ADO_ASSIGNEES)})
    else:
        story.ado_comment(story.rng.choice(items))


def redeliver(story: Story, rng: random.Random, fresh: list[Message], rate: float) -> None:
    """Deliver some of this round's messages again, and older ADO revisions after newer ones."""
    for message in fresh:
        if message.kind in ("change", "creation") and rng.random() < rate:
            story.workers.put(message.again("redelivery"))
    by_item: dict[str, list[Message]] = {}
    for message in story.workers.done:
        if message.source == "ado" and message.kind == "change" and message.rev is not None:
            by_item.setdefault(message.key[1], []).append(message)
    for revisions in by_item.values():
        if len(revisions) >= 2 and rng.random() < rate:
            older = min(revisions, key=lambda m: m.rev or 0)
            story.workers.put(older.again("stale"))


def run_story(urls: dict[str, str], workdir: Path, workers_count: int, target: int, seed: int) -> dict[str, Any]:
    """One whole story against fresh emulator state and a fresh store; returns the measurements."""
    from shared.runtime import runtime

    requests.post(urls["seed_url"], json={"links": 0}, timeout=60).raise_for_status()  # fresh emulator state
    rng = random.Random(seed)
    classify = Classifier()
    config_path = workdir / "bench-sync.toml"
    config_path.write_text(DEFAULT_SYNC_CONFIG.read_text().replace(
        'tags = ["sentry", "frontend"]\n[routes.auto_create]\nenabled = true',
        'tags = ["sentry", "frontend"]\n[routes.auto_create]\nenabled = false'))
    env = app_settings(urls["sentry_url"], urls["ado_org_url"], str(workdir), config_path)
    env["SQLITE_PATH"] = str(workdir / f"story-{workers_count}.sqlite")
    with applied_env(env):
        rt = runtime()
        workers = Workers(workers_count, [rt.ado.transport.session, rt.sentry.transport.session])
        receiver = RunningServer(Receiver(workers, classify))
        try:
            story = Story(urls, workers, rng)
            story.post(story.sentry + "webhook", {"url": receiver.url + SENTRY_WEBHOOK_PATH,
                                                  "client_secret": sentry_seed.CLIENT_SECRET})
            story.post(story.sentry + "alert-rules", {"name": "Work item for new errors", "project": LINKED_PROJECT,
                                                      "settings": [{"name": "project", "value": "Shop"},
                                                                   {"name": "work_item_type", "value": "Bug"}]})
            subscribe_ado_hooks(urls["ado_org_url"], receiver.url + ADO_WEBHOOK_PATH, ["Shop", UNLINKED_ADO_PROJECT])
            return play(story, rt, workers, rng, target)
        finally:
            receiver.stop()


def play(story: Story, rt: Any, workers: Workers, rng: random.Random, target: int) -> dict[str, Any]:
    busy = 0.0
    start = time.perf_counter()
    created = [story.new_error(LINKED_PROJECT) for _ in range(max(20, target // 25))]
    unlinked_issues = [story.new_error(UNLINKED_PROJECT) for _ in range(max(5, target // 250))]
    unlinked_items = [story.ado_create(UNLINKED_ADO_PROJECT, "Issue") for _ in range(max(5, target // 250))]
    story.settle()
    redeliver(story, rng, list(workers.done), 0.1)
    story.settle()
    busy += time.perf_counter() - start
    org = rt.config.settings.sentry_org
    pairs = []
    for issue_id in created:
        link = rt.store.get_by_issue(org, issue_id)
        if link is not None and link.work_item_id:
            pairs.append(Pair(issue_id, link.work_item_id))
    while len(workers.done) < target and pairs:
        start = time.perf_counter()
        seen = len(workers.done)
        for pair in rng.sample(pairs, min(len(pairs), 60)):
            change_pair(story, pair)
        for _ in range(6):
            change_unlinked(story, unlinked_issues, unlinked_items)
        story.settle()
        redeliver(story, rng, workers.done[seen:], 0.08)
        story.settle()
        busy += time.perf_counter() - start
    return measure(workers.done, busy, rt, created)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def measure(done: list[Message], busy: float, rt: Any, created: list[str]) -> dict[str, Any]:
    from shared.reconcile.engine import Reconciler

    by_kind: dict[str, dict[str, int]] = {}
    api = floor = reads_carried = carried = warmup = 0
    for message in done:
        counted, writes = message.counted, message.writes
        warmup += len(message.calls) - len(counted)
        api += len(counted)
        floor += writes + (1 if writes else 0)
        if writes:
            carried += 1
            reads_carried += sum(1 for method, _, _ in counted if method == "GET")
        row = by_kind.setdefault(message.kind, {"events": 0, "api_calls": 0, "writes": 0})
        row["events"] += 1
        row["api_calls"] += len(counted)
        row["writes"] += writes
    latencies = [(m.done_at - m.received) * 1000 for m in done if m.writes and m.kind in ("change", "creation")]
    report = Reconciler(rt.config, rt.store, rt.ado, rt.sentry, rt.syncer).run(dry_run=True)
    org = rt.config.settings.sentry_org
    missing = sum(1 for issue_id in created if not (rt.store.get_by_issue(org, issue_id) or _Unlinked).is_linked)
    return {"events": len(done), "api_calls": api, "floor_calls": floor,
            "calls_ratio": round(api / floor, 3) if floor else None,
            "reads_per_carried_change": round(reads_carried / carried, 3) if carried else None,
            "carried": carried, "by_kind": dict(sorted(by_kind.items())),
            "zero_cost_calls": sum(by_kind.get(k, {}).get("api_calls", 0) for k in ZERO_COST),
            "warmup_calls": warmup, "events_per_s": round(len(done) / busy, 1),
            "latency_ms_p50": round(percentile(latencies, 0.5), 1),
            "latency_ms_p99": round(percentile(latencies, 0.99), 1),
            "converged": report.drifted == 0 and not report.errors and missing == 0,
            "drifted": report.drifted, "missing_work_items": missing,
            "errors": sorted({m.error for m in done if m.error})[:5]}


class _Unlinked:
    is_linked = False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--latency-ms", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 8])
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    runs = {}
    with emulators(args.latency_ms) as urls:
        for count in args.workers:
            runs[count] = run_story(urls, workdir, count, args.events, args.seed)
            print(f"{count} worker(s): {json.dumps(runs[count])}", file=sys.stderr, flush=True)
    first = runs[args.workers[0]]
    out = {k: v for k, v in first.items() if k != "events_per_s"}
    out["latency_ms"] = args.latency_ms
    if (args.events, args.latency_ms, args.seed) == (5000, 5.0, 17):
        out["before"] = BEFORE
    for count, run in runs.items():
        out[f"events_per_s_{count}"] = run["events_per_s"]
        if count != args.workers[0]:
            for key in ("api_calls", "zero_cost_calls", "latency_ms_p50", "latency_ms_p99", "converged"):
                out[f"{key}_{count}"] = run[key]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
