"""The one way functions answer: JSON bodies with an explicit status."""

from __future__ import annotations

import json
from typing import Any

import azure.functions as func


def json_response(body: Any, status: int = 200) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body), status_code=status, mimetype="application/json")
