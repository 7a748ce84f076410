"""GET /api/status: the operator's view, HTML for a browser and JSON for ``Accept: application/json``.

Function-key protected (the app's default auth level; never anonymous): it shows failure reasons
and the configuration, though never a secret. Everything on it was recorded as the work happened
(shared/status/), so a page costs a handful of store reads whatever the number of links.
"""

from __future__ import annotations

import time

import azure.functions as func

from functions.responses import answers_json, json_response
from shared.runtime import runtime

bp = func.Blueprint()


def wants_json(accept: str) -> bool:
    """JSON when asked for it and not for HTML (a browser's Accept lists text/html first)."""
    accept = accept.lower()
    return "application/json" in accept and "text/html" not in accept


@bp.function_name("status")
@bp.route(route="status", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@answers_json()
def status(req: func.HttpRequest) -> func.HttpResponse:
    from shared.queues import open_queues
    from shared.status.render import html_page
    from shared.status.snapshot import gather

    rt = runtime()  # bad settings and an unreachable store are a 503 naming the cause (answers_json)
    snap = gather(rt.config, rt.store, open_queues(rt.config.settings), time.time())
    if wants_json(req.headers.get("accept", "")):
        return json_response(snap)
    return func.HttpResponse(html_page(snap), status_code=200, mimetype="text/html", charset="utf-8",
                             headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
                                      "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                                                 "img-src data:"})
