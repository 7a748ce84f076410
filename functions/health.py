"""GET /api/health: is the config loaded, the link store reachable, and does every route's ADO
project and work item type exist (shared/setup/route_health.py)? Never shows a secret."""

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
    from shared.setup.clients import ado_client  # deferred: the ADO client is not needed to start
    from shared.setup.route_health import QUICK, route_health

    routes = route_health(lambda: ado_client(s, QUICK), rt.config.rules, s.ado_org_url)
    ok = not routes["problems"]
    return json_response({"ok": ok, "config": "loaded", "store": s.link_store,
                          "routes": len(rt.config.rules.routes), "route_problems": routes["problems"],
                          "routes_checked": routes["checked"], "ado": s.ado_org_url, "sentry_org": s.sentry_org},
                         200 if ok else 503)
