"""POST /api/ado/webhook: authenticate an Azure DevOps service hook, enqueue it, answer 202.

ADO disables subscriptions that keep failing, so the answer is fast and the work happens in
`sync_from_ado`; authentication is the subscription's shared secret (shared/intake.py).
"""

from __future__ import annotations

import azure.functions as func

from functions.responses import answer_webhook, answers_json
from shared.contract import ADO_QUEUE, ADO_WEBHOOK_ROUTE
from shared.intake import check_ado_webhook
from shared.runtime import settings

bp = func.Blueprint()


@bp.function_name("ado_webhook")
@bp.route(route=ADO_WEBHOOK_ROUTE, methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@bp.queue_output(arg_name="outq", queue_name=ADO_QUEUE, connection="AzureWebJobsStorage")
@answers_json()
def ado_webhook(req: func.HttpRequest, outq: func.Out[str]) -> func.HttpResponse:
    s = settings()
    verdict = check_ado_webhook(req.headers, req.get_body(), s.ado_hook_secret.reveal(), s.webhook_max_bytes)
    return answer_webhook(verdict, outq, "ado")
