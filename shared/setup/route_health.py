"""Do the routes point at ADO projects and work item types that exist? For GET /api/health.

A route to a project or type that does not exist fails every sync of its Sentry projects; health is
where a person (or a probe) looks first, so it says which route and why. The answer is kept a few
minutes per process so a probe every few seconds costs Azure DevOps almost nothing, and an ADO
that cannot be asked is reported as not checked, never as a broken route.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from shared.ado.errors import AdoError, AdoNotFound
from shared.config import SyncRules
from shared.transport import NetworkError, RetryPolicy

TTL_S = 300.0
_lock = threading.Lock()
_cache: dict[tuple[Any, ...], tuple[float, dict[str, Any]]] = {}


# A probe is waiting: one try, a few seconds, never the queue functions' patient budget.
QUICK = RetryPolicy(max_attempts=1, total_budget_s=5.0, connect_timeout_s=2.0, read_timeout_s=5.0)


def route_health(ado: Callable[[], Any], rules: SyncRules, ado_org_url: str,
                 clock: Callable[[], float] = time.monotonic) -> dict[str, Any]:
    """``ado`` builds the client on a miss. Answers ``{"checked": bool, "problems": [{route,
    ado_project, work_item_type, problem}]}`` (and ``error`` when ADO could not be asked)."""
    key = (ado_org_url, tuple((r.ado_project, r.work_item_type) for r in rules.routes))
    with _lock:
        hit = _cache.get(key)
        if hit and clock() - hit[0] < TTL_S:
            return hit[1]
    result = _check(ado(), rules)
    with _lock:
        _cache[key] = (clock(), result)
    return result


def _check(ado: Any, rules: SyncRules) -> dict[str, Any]:
    problems: list[dict[str, Any]] = []
    try:
        projects = ado.projects() if rules.routes else []
        names = {str(p.get(k, "")).lower() for p in projects for k in ("name", "id")}
        for i, route in enumerate(rules.routes):
            where = {"route": i, "ado_project": route.ado_project, "work_item_type": route.work_item_type}
            if route.ado_project.lower() not in names:
                problems.append({**where, "problem": "ADO project not found (or not visible to the sync identity)"})
                continue
            try:
                types = {str(t.get("name", "")).lower() for t in ado.work_item_types(route.ado_project)}
            except AdoNotFound:
                problems.append({**where, "problem": "ADO project not found"})
                continue
            if route.work_item_type.lower() not in types:
                problems.append({**where, "problem": "work item type not found in the project"})
    except (AdoError, NetworkError) as exc:
        return {"checked": False, "problems": problems, "error": f"Azure DevOps not asked: {type(exc).__name__}"}
    return {"checked": True, "problems": problems}


def forget() -> None:
    """Drop the kept answers (tests; a new config)."""
    with _lock:
        _cache.clear()
