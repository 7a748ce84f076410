"""Integration-platform webhook requests, built exactly as Sentry builds them (pure).

Reference/sentry-api.md §1.1-1.2: the body is compact JSON (``separators=(",", ":")``, non-ASCII
escaped) with keys in the order ``action``, ``installation``, ``data``, ``actor``; the headers are
``Content-Type``, ``Request-ID`` (uuid4 hex), ``Sentry-Hook-Resource``, ``Sentry-Hook-Timestamp``
(Unix seconds) and ``Sentry-Hook-Signature`` = lower-case hex HMAC-SHA256 of the exact body bytes
keyed with the client secret (UTF-8).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from sandbox.core import Webhook

# SentryAppResourceType (getsentry/sentry src/sentry/sentry_apps/utils/webhooks.py)
RESOURCES = ("installation", "event_alert", "activity_alert", "issue", "metric_alert", "error", "comment", "seer",
             "preprod_artifact")


def encode_body(action: str, installation_uuid: str, data: dict[str, Any], actor: dict[str, Any]) -> bytes:
    payload = {"action": action, "installation": {"uuid": installation_uuid}, "data": data, "actor": actor}
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def sign(client_secret: str, body: bytes) -> str:
    return hmac.new(client_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def build_webhook(url: str, client_secret: str, resource: str, action: str, installation_uuid: str,
                  data: dict[str, Any], actor: dict[str, Any], request_id: str, timestamp: int) -> Webhook:
    """One signed delivery; ``request_id`` and ``timestamp`` are passed in to keep this pure."""
    if resource not in RESOURCES:
        raise ValueError(f"unknown webhook resource {resource!r}; expected one of {RESOURCES}")
    body = encode_body(action, installation_uuid, data, actor)
    headers = {
        "Content-Type": "application/json",
        "Request-ID": request_id,
        "Sentry-Hook-Resource": resource,
        "Sentry-Hook-Timestamp": str(timestamp),
        "Sentry-Hook-Signature": sign(client_secret, body),
    }
    return Webhook(url=url, body=body, headers=headers)
