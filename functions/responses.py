"""The one way functions answer: JSON bodies with an explicit status."""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import azure.functions as func

from shared.config import ConfigError
from shared.error_reporting import error_context
from shared.intake import Verdict

log = logging.getLogger(__name__)
Handler = Callable[..., func.HttpResponse]


@lru_cache(maxsize=64)
def _status_text(key: str, detail: str) -> str:
    """The few fixed answers of the webhook hot path are serialised once."""
    return json.dumps({key: detail})


def json_response(body: Any, status: int = 200) -> func.HttpResponse:
    if isinstance(body, dict) and len(body) == 1:
        ((key, value),) = body.items()
        text = _status_text(key, value) if isinstance(value, str) else json.dumps(body)
    else:
        text = json.dumps(body)
    return func.HttpResponse(text, status_code=status, mimetype="application/json")


def failure_response(exc: Exception, key: str) -> func.HttpResponse:
    """The answer for an exception that escaped a route: never a bare 500 page.

    A deployment whose settings are wrong, or whose link store cannot be reached, is unavailable
    (503, naming each bad key); a failed call to Azure DevOps or Sentry is a bad gateway (502,
    saying which call, never how we authenticate). Anything else is a bug of ours: a JSON 500 and
    the traceback in the log. The caller's own mistakes never get here: routes answer them 4xx."""
    from shared.ado.errors import AdoError
    from shared.sentry.errors import SentryError
    from shared.store import StoreUnavailable

    if isinstance(exc, ConfigError):
        log.error("%s", exc)
        return json_response({key: "invalid configuration", "problems": exc.problems}, 503)
    if isinstance(exc, StoreUnavailable):
        log.error("link store unavailable: %s", exc)
        return json_response({key: f"link store unavailable: {exc}"}, 503)
    if _store_driver_error(exc):  # a message could name the account: the log has it, the answer not
        log.error("link store unavailable", exc_info=exc)
        return json_response({key: f"link store unavailable: {type(exc).__name__}"}, 503)
    transport = sys.modules.get("shared.transport")  # loaded by whichever client raised it
    if isinstance(exc, AdoError | SentryError) or (transport and isinstance(exc, transport.NetworkError)):
        log.warning("dependency failed: %s", exc)
        which = "Sentry" if isinstance(exc, SentryError) else "Azure DevOps"
        if transport and isinstance(exc, transport.NetworkError):
            which = "Azure DevOps or Sentry"
        return json_response({key: f"{which} call failed: {type(exc).__name__}: {exc}"}, 502)
    log.exception("unexpected failure answering a request")
    return json_response({key: f"internal error ({type(exc).__name__}); the details are in the log"}, 500)


def _store_driver_error(exc: Exception) -> bool:
    """An error of the link store's driver that the store passed on (SQLite locked or broken, Azure
    Storage unreachable or refusing): only the stores use these libraries, and a module not yet
    imported raised nothing."""
    for module, name in (("sqlite3", "Error"), ("azure.core.exceptions", "AzureError")):
        loaded = sys.modules.get(module)
        if loaded is not None and isinstance(exc, getattr(loaded, name)):
            return True
    return False


def answers_json(key: str = "error") -> Callable[[Handler], Handler]:
    """Every HTTP route answers JSON, whatever fails inside it (`failure_response`); `key` names the
    error field its callers read (Sentry's UI components show ``message``)."""

    def decorate(fn: Handler) -> Handler:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> func.HttpResponse:
            try:
                return fn(*args, **kwargs)
            except Exception as exc:  # the one place a route's failure becomes an answer
                with error_context(function=fn.__name__):  # what failure_response logs is tagged
                    return failure_response(exc, key)

        return wrapper

    return decorate


def answer_webhook(verdict: Verdict, outq: func.Out[str], source: str) -> func.HttpResponse:
    """Enqueue an accepted delivery, log a dropped or rejected one, and answer with the verdict."""
    if verdict.message is not None:
        outq.set(verdict.message)
    elif verdict.test:
        log.info("%s webhook test delivery: %s", source, verdict.detail)
    elif verdict.status < 400:
        log.info("%s webhook dropped: %s", source, verdict.detail)
    else:
        log.warning("%s webhook rejected (%d): %s", source, verdict.status, verdict.detail)
    return json_response(verdict.body, verdict.status)
