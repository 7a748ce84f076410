"""Queue functions: carry one verified webhook over to the other side.

`sync_from_sentry` reads ``sentry-events``, `sync_from_ado` reads ``ado-events`` (both filled by the
webhook functions). A message that cannot succeed goes to ``<queue>-poison`` and never holds up the
others:
- one that fails because of a bad record (a message that is not JSON, a malformed identifier, a
  damaged link in the store, a deployment event missing what its type always carries:
  `shared.identifiers.BadRecord`) goes there at once, as it came, since retrying cannot help;
- one that fails otherwise is retried by the host (host.json ``maxDequeueCount``), which then moves
  it there; reconciliation repairs what it would have changed.
Each failure is recorded for the status view with its reason (keyed by the message's content, which
the poison copy keeps byte for byte, so `sentry-ado replay-poison --dry-run` can say why a poison
message failed) and logged: a warning per attempt, an error (which error reporting sends to Sentry)
on the attempt that sends it to the poison queue.
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
        for done in _route(message):
            log.info("%s: %s", queue, json.dumps(done)[:500])
    except BadRecord as exc:
        _failed(queue, text, about, exc, attempt, final=True)
        poison.set(text)  # now, as it came: its digest keys the recorded reason
    except Exception as exc:
        _failed(queue, text, about, exc, attempt, final=attempt >= MAX_DEQUEUE_COUNT)
        raise


def _route(message: dict) -> list[dict]:
    """Deployment events become Sentry releases (shared/releases/); everything else is synced."""
    rt = runtime()
    if message.get("source") == "ado" and message.get("event_type") in ADO_DEPLOYMENT_EVENTS:
        return [rt.deployments.handle(message["body"])]
    return rt.syncer.handle_message(message)


def _failed(queue: str, text: str, about: dict, exc: Exception, attempt: int, final: bool) -> None:
    reason = f"{type(exc).__name__}: {exc}"
    try:
        record_failure(runtime().store, queue, message_digest(text), reason, summary=about["summary"],
                       event_type=about["event_type"], sentry_issue_id=about["sentry_issue_id"],
                       work_item_id=about["work_item_id"], attempt=attempt)
    except Exception:  # the store may be what failed; the message still goes back to the queue
        log.warning("%s: could not record the failure for the status view", queue, exc_info=True)
    with error_context(function=f"sync {queue}", event_type=about["event_type"],
                       sentry_issue=about["sentry_issue_id"], work_item=about["work_item_id"]):
        log.log(logging.ERROR if final else logging.WARNING, "%s: %s failed (attempt %d%s): %s", queue,
                about["summary"], attempt, "; moved to the poison queue" if final else "", reason,
                exc_info=final and not isinstance(exc, BadRecord))


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
