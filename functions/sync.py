"""Queue functions: carry one verified webhook over to the other side.

`sync_from_sentry` reads ``sentry-events``, `sync_from_ado` reads ``ado-events`` (both filled by the
webhook functions). A message that raises is retried by the host (host.json ``maxDequeueCount``)
and then moved to ``<queue>-poison``; reconciliation repairs what it would have changed.
"""

from __future__ import annotations

import json
import logging

import azure.functions as func

from shared.runtime import runtime

bp = func.Blueprint()
log = logging.getLogger(__name__)


def _handle(msg: func.QueueMessage, queue: str) -> None:
    try:
        message = json.loads(msg.get_body().decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        # Only our own webhook functions write these queues, so this cannot come from outside;
        # raising sends it to the poison queue where a person can look at it.
        raise ValueError(f"{queue}: message {msg.id} is not JSON: {exc}") from None
    for done in runtime().syncer.handle_message(message):
        log.info("%s: %s", queue, json.dumps(done)[:500])


@bp.function_name("sync_from_sentry")
@bp.queue_trigger(arg_name="msg", queue_name="sentry-events", connection="AzureWebJobsStorage")
def sync_from_sentry(msg: func.QueueMessage) -> None:
    _handle(msg, "sentry-events")


@bp.function_name("sync_from_ado")
@bp.queue_trigger(arg_name="msg", queue_name="ado-events", connection="AzureWebJobsStorage")
def sync_from_ado(msg: func.QueueMessage) -> None:
    _handle(msg, "ado-events")
