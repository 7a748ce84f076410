"""The Azure Functions app: one blueprint per module in functions/, nothing else happens here.

Import stays light and side-effect free (settings are read on first use), so the host always
indexes every function and a cold start stays short.
"""

import azure.functions as func

from functions import ado_webhook, health, issue_link, reconcile, regressions, sentry_webhook, sync

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
for module in (sentry_webhook, ado_webhook, issue_link, sync, reconcile, regressions, health):
    app.register_functions(module.bp)
