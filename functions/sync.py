"""Queue functions: carry one verified webhook over to the other side.

`sync_from_sentry` reads ``sentry-events``, `sync_from_ado` reads ``ado-events`` (both filled by the
webhook functions). A message that raises is retried by the host (host.json ``maxDequeueCount``)
and then moved to ``<queue>-poison``; reconciliation repairs what it would have changed. Each failure
is recorded for the status view (keyed by the message's content, so `sentry-ado replay-poison
--dry-run` can say why a poison message failed) and logged: a warning per attempt, an error (which
error reporting sends to Sentry) on the attempt that sends it to the poison queue.
"""

from __future__ import annotations

import json
import logging

import azure.functions as func

from shared.contract import ADO_DEPLOYMENT_EVENTS, ADO_QUEUE, SENTRY_QUEUE
from shared.error_reporting import error_context
from shared.runtime import runtime
from shared.status.record import describe_message, message_digest, record_failure

bp = func.Blueprint()
log = logging.getLogger(__name__)


MAX_DEQUEUE_COUNT = 5  # host.json extensions.queues.maxDequeueCount (tests/functions keep them equal)


def _handle(msg: func.QueueMessage, queue: str) -> None:
    text = msg.get_body().decode("utf-8", "replace")
    about = describe_message(text)
    attempt = msg.dequeue_count or 1
    try:
        try:
            message = json.loads(text)
        except ValueError as exc:
            # Only our own webhook functions write these queues, so this cannot come from outside;
            # raising sends it to the poison queue where a person can look at it.
            raise ValueError(f"{queue}: message {msg.id} is not JSON: {exc}") from None
        for done in _route(message):
            log.info("%s: %s", queue, json.dumps(done)[:500])
    except Exception as exc:
        _record(queue, text, about, f"{type(exc).__name__}: {exc}", attempt)
        final = attempt >= MAX_DEQUEUE_COUNT
        with error_context(function=f"sync {queue}", event_type=about["event_type"],
                           sentry_issue=about["sentry_issue_id"], work_item=about["work_item_id"]):
            log.log(logging.ERROR if final else logging.WARNING, "%s: %s failed (attempt %d%s): %s", queue,
                    about["summary"], attempt, "; moved to the poison queue" if final else "",
                    f"{type(exc).__name__}: {exc}", exc_info=final)
        raise


def _route(message: dict) -> list[dict]:
    """Deployment events become Sentry releases (shared/releases/); everything else is synced."""
    rt = runtime()
    if message.get("source") == "ado" and message.get("event_type") in ADO_DEPLOYMENT_EVENTS:
        return [rt.deployments.handle(message["body"])]
    return rt.syncer.handle_message(message)


def _record(queue: str, text: str, about: dict, reason: str, attempt: int) -> None:
    try:
        record_failure(runtime().store, queue, message_digest(text), reason, summary=about["summary"],
                       event_type=about["event_type"], sentry_issue_id=about["sentry_issue_id"],
                       work_item_id=about["work_item_id"], attempt=attempt)
    except Exception:  # the store may be what failed; the message still goes back to the queue
        log.warning("%s: could not record the failure for the status view", queue, exc_info=True)


@bp.function_name("sync_from_sentry")
@bp.queue_trigger(arg_name="msg", queue_name=SENTRY_QUEUE, connection="AzureWebJobsStorage")
def sync_from_sentry(msg: func.QueueMessage) -> None:
    _handle(msg, SENTRY_QUEUE)


@bp.function_name("sync_from_ado")
@bp.queue_trigger(arg_name="msg", queue_name=ADO_QUEUE, connection="AzureWebJobsStorage")
def sync_from_ado(msg: func.QueueMessage) -> None:
    _handle(msg, ADO_QUEUE)
