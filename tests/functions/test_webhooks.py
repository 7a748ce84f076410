"""The webhook receivers, called the way Microsoft documents: build().get_user_function()."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import azure.functions as func

from functions.ado_webhook import ado_webhook
from functions.health import health
from functions.sentry_webhook import sentry_webhook
from shared.intake import sentry_signature


def call(fn, body: bytes, headers: dict) -> tuple[func.HttpResponse, mock.Mock]:
    out = mock.Mock(spec=func.Out)
    req = func.HttpRequest(method="POST", url="/api/x", headers=headers, body=body)
    return fn.build().get_user_function()(req, out), out


def test_sentry_webhook_enqueues_a_verified_event(app_env) -> None:
    body = b'{"action":"resolved","data":{"issue":{"id":"42"}},"actor":{"type":"user","id":1}}'
    headers = {"sentry-hook-resource": "issue", "sentry-hook-timestamp": str(int(time.time())),
               "sentry-hook-signature": sentry_signature("client-secret", body)}
    resp, out = call(sentry_webhook, body, headers)
    assert resp.status_code == 202
    message = json.loads(out.set.call_args.args[0])
    assert message["resource"] == "issue" and message["body"]["data"]["issue"]["id"] == "42"


def test_sentry_webhook_rejects_without_enqueue(app_env) -> None:
    body = b'{"action":"resolved","data":{"issue":{"id":"42"}}}'
    resp, out = call(sentry_webhook, body, {"sentry-hook-resource": "issue", "sentry-hook-signature": "bad"})
    assert resp.status_code == 401 and json.loads(resp.get_body())["error"]
    out.set.assert_not_called()
    resp, out = call(sentry_webhook, b"x" * 20_001, {})
    assert resp.status_code == 413
    out.set.assert_not_called()


def test_ado_webhook(app_env) -> None:
    body = json.dumps({"eventType": "workitem.commented", "resource": {"id": 5}}).encode()
    resp, out = call(ado_webhook, body, {"X-Hook-Secret": "hook-secret"})
    assert resp.status_code == 202 and json.loads(out.set.call_args.args[0])["event_type"] == "workitem.commented"
    resp, out = call(ado_webhook, body, {"X-Hook-Secret": "nope"})
    assert resp.status_code == 401
    out.set.assert_not_called()


def test_health_reports_without_secrets(app_env, monkeypatch) -> None:
    fn = health.build().get_user_function()
    resp = fn(func.HttpRequest(method="GET", url="/api/health", body=b""))
    text = resp.get_body().decode()
    assert resp.status_code == 200 and json.loads(text)["ok"] is True
    assert not any(app_env[k] in text for k in ("SENTRY_TOKEN", "SENTRY_CLIENT_SECRET", "ADO_PAT", "ADO_HOOK_SECRET"))
    monkeypatch.setenv("ADO_PAT", "@Microsoft.KeyVault(VaultName=kv;SecretName=pat)")
    from shared import runtime

    runtime.reset()
    resp = fn(func.HttpRequest(method="GET", url="/api/health", body=b""))
    assert resp.status_code == 503
    assert any(p.startswith("ADO_PAT:") for p in json.loads(resp.get_body())["problems"])


def test_function_app_indexes_every_function() -> None:
    """As the worker does, in a fresh interpreter: import, then index (names must be unique)."""
    code = "import function_app; print(' '.join(f.get_function_name() for f in function_app.app.get_functions()))"
    names = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                               cwd=Path(__file__).resolve().parents[2]).stdout.split())
    assert {"sentry_webhook", "ado_webhook", "health", "issue_link_options", "alert_rule_action"} <= names


def test_bad_config_answers_503_naming_the_key(app_env, monkeypatch) -> None:
    from shared import runtime

    monkeypatch.setenv("SENTRY_CLIENT_SECRET", "@Microsoft.KeyVault(VaultName=kv;SecretName=sentry)")
    runtime.reset()
    resp, out = call(sentry_webhook, b"{}", {"sentry-hook-resource": "issue"})
    assert resp.status_code == 503
    assert any(p.startswith("SENTRY_CLIENT_SECRET:") for p in json.loads(resp.get_body())["problems"])
    out.set.assert_not_called()
