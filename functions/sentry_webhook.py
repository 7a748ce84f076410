"""POST /api/sentry/webhook: verify a Sentry Integration Platform webhook, enqueue it, answer 202.

Sentry gives a webhook one second and never retries internal integrations, so this path makes no
outbound call: verification is local (shared/intake.py) and the queue output binding carries the
event to `sync_from_sentry`.
"""

from __future__ import annotations

import time

import azure.functions as func

from functions.responses import answer_webhook, answers_json
from shared.contract import SENTRY_QUEUE, SENTRY_WEBHOOK_ROUTE
from shared.intake import check_sentry_webhook
from shared.runtime import settings

bp = func.Blueprint()


@bp.function_name("sentry_webhook")
@bp.route(route=SENTRY_WEBHOOK_ROUTE, methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@bp.queue_output(arg_name="outq", queue_name=SENTRY_QUEUE, connection="AzureWebJobsStorage")
@answers_json()
def sentry_webhook(req: func.HttpRequest, outq: func.Out[str]) -> func.HttpResponse:
    s = settings()
    verdict = check_sentry_webhook(req.headers, req.get_body(), s.sentry_client_secret.reveal(), time.time(),
                                   s.webhook_max_age_s, s.webhook_max_bytes)
    return answer_webhook(verdict, outq, "sentry")
