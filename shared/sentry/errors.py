"""Sentry failures as typed exceptions; callers branch on the kind, never on the message.

Sentry error bodies are ``{"detail": "..."}`` (429 included; older servers sent a bare JSON string
there), field errors ``{"field": ["msg"]}`` on 400. Exceptions hold the method, path, status and
that detail; never the token.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

_MAX_DETAIL = 500
DUPLICATE_COMMENT = "You have already posted that comment."
# The token scope each call we make needs, as Sentry's permission classes admit it (GroupPermission,
# OrganizationPermission, MemberPermission, OrganizationReleasePermission in getsentry/sentry
# src/sentry/api/bases/), so a 403 names what to grant. First match wins.
_SCOPE_NEEDED = (
    ("DELETE", re.compile(r"/(comments|notes)/[^/]+/$"), "event:admin"),
    ("PUT|POST", re.compile(r"/(issues|comments|notes)/"), "event:write"),
    ("GET", re.compile(r"/(issues|shortids)/"), "event:read"),
    ("GET", re.compile(r"/members/$"), "member:read"),
    ("PUT|POST", re.compile(r"/releases/"), "project:releases"),
    ("GET", re.compile(r"/releases/"), "project:read"),
    ("GET", re.compile(r"/api/0/organizations/[^/]+/((projects|repos|sentry-app-installations|workflows)/)?$"),
     "org:read"),
)


def scope_needed(method: str, path: str) -> str | None:
    """The token scope a Sentry call needs, or None when we do not know it."""
    return next((scope for methods, pattern, scope in _SCOPE_NEEDED
                 if method.upper() in methods.split("|") and pattern.search(path)), None)


class SentryError(Exception):
    def __init__(self, detail: str, *, status: int | None = None, method: str = "", path: str = "",
                 field_errors: Mapping[str, Any] | None = None) -> None:
        self.detail = detail[:_MAX_DETAIL]
        self.status, self.method, self.path = status, method, path
        self.field_errors = dict(field_errors or {})
        head = " ".join(p for p in (method, path, f"-> {status}" if status is not None else "") if p)
        super().__init__(f"{head}: {self.detail}" if head else self.detail)


class SentryAuthError(SentryError):
    """401: token missing, revoked or (public apps) expired."""


class SentryPermissionDenied(SentryError):
    """403: the token lacks a scope (e.g. event:write to update issues); ``scope`` names it when known."""

    def __init__(self, detail: str, *, scope: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.scope = scope


class SentryNotFound(SentryError):
    """404: no such issue/installation in this organization."""


class SentryBadRequest(SentryError):
    """400: the request was wrong; ``field_errors`` holds Sentry's per-field messages."""


class DuplicateComment(SentryBadRequest):
    """Same text posted by the same user within an hour; the comment already exists."""


class SentryRateLimited(SentryError):
    def __init__(self, detail: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.retry_after = retry_after


class SentryServerError(SentryError):
    """5xx after retries (or not retried because the call was not idempotent)."""


class SentryProtocolError(SentryError):
    """A success response we cannot read as JSON (a proxy page, a wrong base URL)."""


def _detail(body: str, status: int) -> tuple[str, dict[str, Any]]:
    try:
        data = json.loads(body)
    except ValueError:
        return f"HTTP {status}", {}
    if isinstance(data, str):
        return data, {}
    if isinstance(data, Mapping):
        if isinstance(data.get("detail"), str):
            return data["detail"], {}
        fields = {k: v for k, v in data.items() if isinstance(k, str)}
        if fields:
            first = next(iter(fields))
            value = fields[first]
            message = value[0] if isinstance(value, list) and value else value
            return f"{first}: {message}", fields
    return f"HTTP {status}", {}


def error_from_response(status: int, body: str, method: str, path: str,
                        retry_after: float | None = None) -> SentryError:
    """Classify one failed response. Pure: status and body text in, exception out."""
    detail, fields = _detail(body, status)
    common: dict[str, Any] = {"status": status, "method": method, "path": path, "field_errors": fields}
    if status == 401:
        return SentryAuthError(detail, **common)
    if status == 403:
        scope = scope_needed(method, path)
        needed = f" (this call needs the token scope {scope})" if scope else ""
        return SentryPermissionDenied(detail + needed, scope=scope, **common)
    if status == 404:
        return SentryNotFound(detail, **common)
    if status == 429:
        return SentryRateLimited(detail, retry_after=retry_after, **common)
    if status >= 500:
        return SentryServerError(detail, **common)
    if detail == DUPLICATE_COMMENT:
        return DuplicateComment(detail, **common)
    return SentryBadRequest(detail, **common)
