"""Queue functions: carry one verified webhook over to the other side.

`sync_from_sentry` reads ``sentry-events``, `sync_from_ado` reads ``ado-events`` (both filled by the
webhook functions). What happens to a message that fails depends on the failure, classified in
one place (shared/failures.py):
- permanent: a bad record (a message that is not JSON, a malformed identifier, a damaged link in
  the store, a deployment event missing what its type always carries: `shared.identifiers.BadRecord`),
  credentials or a permission refused, a project or type that does not exist, a field a rule
  refuses, bad settings. Retrying repeats it, so it is logged once, as an error naming the fix, and
  put in ``<queue>-poison`` at once, as it came, to be replayed after the fix;
- transient (network, throttling, a 5xx, a storage blip) or unexpected: it raises, and the host
  retries it after host.json's ``visibilityTimeout``, up to ``maxDequeueCount`` times, then moves it
  to ``<queue>-poison``; the API clients already retried each call with backoff. A warning per
  attempt, an error (which error reporting sends to Sentry) on the attempt that poisons it.
Reconciliation repairs what it would have changed. Each failure is recorded for the status view
with its reason (keyed by the message's content, which the poison copy keeps byte for byte, so
`sentry-ado replay-poison --dry-run` can say why a poison message failed). A message that succeeds
gets one INFO line saying what became of it.
"""

from __future__ import annotations

import json
import logging

import azure.functions as func

from shared.contract import ADO_DEPLOYMENT_EVENTS, ADO_QUEUE, SENTRY_QUEUE
from shared.error_reporting import error_context
from shared.identifiers import BadRecord
from shared.runtime import runtime
from shared.status.record import describe_message, message_digest, record_failure

bp = func.Blueprint()
log = logging.getLogger(__name__)


MAX_DEQUEUE_COUNT = 5  # host.json extensions.queues.maxDequeueCount (tests/functions keep them equal)


def _handle(msg: func.QueueMessage, queue: str, poison: func.Out[str]) -> None:
    text = msg.get_body().decode("utf-8", "replace")
    about = describe_message(text)
    attempt = msg.dequeue_count or 1
    try:
        try:
            message = json.loads(text)
        except ValueError as exc:  # only our webhook functions write these queues: a person must look
            raise BadRecord(f"{queue}: message {msg.id} is not JSON: {exc}") from None
        if not isinstance(message, dict):
            raise BadRecord(f"{queue}: message {msg.id} is not a JSON object but {type(message).__name__}")
        done = _route(message)
    except Exception as exc:
        from shared.failures import classify  # deferred: it names the clients' errors (cold start)

        failure = classify(exc)
        if failure is not None and failure.permanent:
            _failed(queue, text, about, exc, attempt, final=True, fix=failure.fix)
            poison.set(text)  # now, as it came: its digest keys the recorded reason
            return
        _failed(queue, text, about, exc, attempt, final=attempt >= MAX_DEQUEUE_COUNT)
        raise  # the host retries it, then moves it to the poison queue
    log.info("%s: %s: %s", queue, about["summary"], outcome_line(done))


def outcome_line(done: list[dict]) -> str:
    """What became of one delivery, in one line: each write, or why nothing was written."""
    said = [f"skip: {d.get('reason')}" if d.get("kind") == "skip" else str(d.get("kind")) for d in done]
    return ("; ".join(said) or "nothing to do")[:500]


def _route(message: dict) -> list[dict]:
    """Deployment events become Sentry releases (shared/releases/); everything else is synced."""
    rt = runtime()
    if message.get("source") == "ado" and message.get("event_type") in ADO_DEPLOYMENT_EVENTS:
        return [rt.deployments.handle(message["body"])]
    return rt.syncer.handle_message(message)


def _failed(queue: str, text: str, about: dict, exc: Exception, attempt: int, final: bool,
            fix: str | None = None) -> None:
    """Record the failure for the status view and log it: a permanent one (``fix`` given) once, as
    an error naming the fix and no traceback (``--log-level DEBUG`` shows it); a transient one as a
    warning per attempt and an error with its traceback on the attempt that poisons it."""
    reason = f"{type(exc).__name__}: {exc}"
    try:
        record_failure(runtime().store, queue, message_digest(text), reason, summary=about["summary"],
                       event_type=about["event_type"], sentry_issue_id=about["sentry_issue_id"],
                       work_item_id=about["work_item_id"], attempt=attempt)
    except Exception:  # the store may be what failed; the message still goes back to the queue
        log.warning("%s: could not record the failure for the status view", queue, exc_info=True)
    with error_context(function=f"sync {queue}", event_type=about["event_type"],
                       sentry_issue=about["sentry_issue_id"], work_item=about["work_item_id"]):
        if fix is not None:
            log.error("%s: %s failed: %s; not retried, moved to %s-poison. fix: %s", queue, about["summary"],
                      reason, queue, fix)
            log.debug("%s: traceback of the failure above", queue, exc_info=True)
            return
        log.log(logging.ERROR if final else logging.WARNING, "%s: %s failed (attempt %d%s): %s", queue,
                about["summary"], attempt, "; moved to the poison queue" if final else "; retried later", reason,
                exc_info=final)


@bp.function_name("sync_from_sentry")
@bp.queue_trigger(arg_name="msg", queue_name=SENTRY_QUEUE, connection="AzureWebJobsStorage")
@bp.queue_output(arg_name="poison", queue_name=f"{SENTRY_QUEUE}-poison", connection="AzureWebJobsStorage")
def sync_from_sentry(msg: func.QueueMessage, poison: func.Out[str]) -> None:
    _handle(msg, SENTRY_QUEUE, poison)


@bp.function_name("sync_from_ado")
@bp.queue_trigger(arg_name="msg", queue_name=ADO_QUEUE, connection="AzureWebJobsStorage")
@bp.queue_output(arg_name="poison", queue_name=f"{ADO_QUEUE}-poison", connection="AzureWebJobsStorage")
def sync_from_ado(msg: func.QueueMessage, poison: func.Out[str]) -> None:
    _handle(msg, ADO_QUEUE, poison)
