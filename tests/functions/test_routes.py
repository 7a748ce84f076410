"""Every HTTP route of the app, found as the Functions host finds them, answers JSON whatever fails
inside it: a route added later cannot forget the wrapper and leak a bare 500 or an HTML page."""

from __future__ import annotations

import json
from unittest import mock

import azure.functions as func
import pytest

import function_app
from sandbox.local_host import indexed_functions
from shared import runtime


def http_functions() -> list:
    return [fn for fn in indexed_functions(function_app.app)
            if any(b["type"] == "httpTrigger" for b in json.loads(fn.get_function_json())["bindings"])]


def test_the_app_has_its_http_routes() -> None:
    assert {fn.get_function_name() for fn in http_functions()} >= {
        "sentry_webhook", "ado_webhook", "health", "issue_link_options", "issue_link_create", "issue_link_link",
        "alert_rule_action"}


@pytest.mark.parametrize("fn", http_functions(), ids=lambda fn: fn.get_function_name())
def test_an_unexpected_failure_inside_any_route_is_a_json_500(fn, app_env, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> None:
        raise RuntimeError("something no route expects")

    broken.cache_clear = lambda: None  # as runtime.reset() expects of get_config
    monkeypatch.setattr(runtime, "get_config", broken)
    runtime.reset()
    bindings = json.loads(fn.get_function_json())["bindings"]
    trigger = next(b for b in bindings if b["type"] == "httpTrigger")
    req = func.HttpRequest(method=trigger["methods"][0].upper(), url=f"/api/{trigger['route']}", body=b"{}",
                           headers={}, route_params={"kind": "projects"})
    outputs = {b["name"]: mock.Mock(spec=func.Out) for b in bindings
               if b["direction"] == "OUT" and b["type"] == "queue"}
    resp = fn.get_user_function()(req, **outputs)
    assert resp.status_code == 500 and resp.mimetype == "application/json"
    body = json.loads(resp.get_body())
    assert (body.get("error") or body.get("message")).startswith("internal error (RuntimeError)")
    for out in outputs.values():
        out.set.assert_not_called()
