"""Sentry's stack-trace link: the ``stacktrace-link`` UI component puts a link to this route in every
in-app frame, and the person's browser opens it (``?installationId&projectSlug&lineNo&filename``).
A browser sends no signature and no function key, so the route is anonymous; it reads nothing but
whether a mapped path exists, and answers a redirect to Azure Repos (302) or a JSON ``{"message"}``
(404 no mapping or no file, 400 a query Sentry would not build). The work is in
shared/code_link_service.py.
"""

from __future__ import annotations

import azure.functions as func

from functions.responses import answers_json, json_response
from shared.contract import STACKTRACE_LINK_ROUTE
from shared.runtime import runtime

bp = func.Blueprint()


@bp.function_name("stacktrace_link")
@bp.route(route=STACKTRACE_LINK_ROUTE, methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@answers_json("message")
def stacktrace_link(req: func.HttpRequest) -> func.HttpResponse:
    answer = runtime().code_links.answer(req.params)
    if answer.location is None:
        return json_response({"message": answer.message}, answer.status)
    response = json_response({"message": answer.message, "url": answer.location}, answer.status)
    response.headers["Location"] = answer.location
    response.headers["Cache-Control"] = "no-store"
    return response
