"""POST /api/ado/webhook: authenticate an Azure DevOps service hook, enqueue it, answer 202.

ADO disables subscriptions that keep failing, so the answer is fast and the work happens in
`sync_from_ado`; authentication is the subscription's shared secret (shared/intake.py).
"""

from __future__ import annotations

import logging

import azure.functions as func

from functions.responses import config_errors_as_503, json_response
from shared.intake import check_ado_webhook
from shared.runtime import settings

bp = func.Blueprint()
log = logging.getLogger(__name__)


@bp.function_name("ado_webhook")
@bp.route(route="ado/webhook", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@bp.queue_output(arg_name="outq", queue_name="ado-events", connection="AzureWebJobsStorage")
@config_errors_as_503
def ado_webhook(req: func.HttpRequest, outq: func.Out[str]) -> func.HttpResponse:
    s = settings()
    verdict = check_ado_webhook(req.headers, req.get_body(), s.ado_hook_secret.reveal(), s.webhook_max_bytes)
    if verdict.message is not None:
        outq.set(verdict.message)
    elif verdict.status < 400:
        log.info("ado webhook dropped: %s", verdict.detail)
    else:
        log.warning("ado webhook rejected (%d): %s", verdict.status, verdict.detail)
    return json_response(verdict.body, verdict.status)
