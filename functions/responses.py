"""The one way functions answer: JSON bodies with an explicit status."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import azure.functions as func


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
