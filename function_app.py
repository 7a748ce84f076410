"""The Azure Functions app: one blueprint per module in functions/, nothing else happens here.

Import stays light and side-effect free (settings are read on first use), so the host always
indexes every function and a cold start stays short. The one exception is ``SENTRY_DSN``: when set,
error reporting starts here, before any function runs (shared/error_reporting.py).
"""

import os

import azure.functions as func

from functions import (
    ado_webhook,
    health,
    issue_link,
    reconcile,
    regressions,
    sentry_webhook,
    stacktrace_link,
    status,
    sync,
)

if os.environ.get("SENTRY_DSN"):  # the bridge's own errors to Sentry; without it sentry-sdk is never imported
    from shared.error_reporting import start

    start()

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
for module in (sentry_webhook, ado_webhook, issue_link, stacktrace_link, sync, reconcile, regressions, health, status):
    app.register_functions(module.bp)
