"""GET /api/health: is the config loaded and the link store reachable? Never shows a secret."""

from __future__ import annotations

import azure.functions as func

from functions.responses import answers_json, json_response
from shared.config import ConfigError
from shared.contract import HEALTH_ROUTE
from shared.runtime import runtime
from shared.store import StoreUnavailable

bp = func.Blueprint()


@bp.function_name("health")
@bp.route(route=HEALTH_ROUTE, methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@answers_json()
def health(req: func.HttpRequest) -> func.HttpResponse:
    try:
        rt = runtime()
    except ConfigError as exc:
        return json_response({"ok": False, "config": "invalid", "problems": exc.problems}, 503)
    try:
        rt.store.ping()
    except StoreUnavailable as exc:
        return json_response({"ok": False, "config": "loaded", "store": str(exc)}, 503)
    s = rt.config.settings
    return json_response({"ok": True, "config": "loaded", "store": s.link_store,
                          "routes": len(rt.config.rules.routes), "ado": s.ado_org_url, "sentry_org": s.sentry_org})
