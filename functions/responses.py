"""The one way functions answer: JSON bodies with an explicit status."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import azure.functions as func

from shared.config import ConfigError
from shared.intake import Verdict

log = logging.getLogger(__name__)


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


def config_errors_as_503(fn: Callable[..., func.HttpResponse]) -> Callable[..., func.HttpResponse]:
    """A deployment with bad settings answers 503 naming each bad key, instead of a bare 500."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> func.HttpResponse:
        try:
            return fn(*args, **kwargs)
        except ConfigError as exc:
            log.error("%s", exc)
            return json_response({"error": "invalid configuration", "problems": exc.problems}, 503)

    return wrapper


def answer_webhook(verdict: Verdict, outq: func.Out[str], source: str) -> func.HttpResponse:
    """Enqueue an accepted delivery, log a dropped or rejected one, and answer with the verdict."""
    if verdict.message is not None:
        outq.set(verdict.message)
    elif verdict.status < 400:
        log.info("%s webhook dropped: %s", source, verdict.detail)
    else:
        log.warning("%s webhook rejected (%d): %s", source, verdict.status, verdict.detail)
    return json_response(verdict.body, verdict.status)
