"""Azure DevOps failures as typed exceptions, so callers branch on kind, never on message text.

ADO errors arrive as a WrappedException body (``typeKey``, ``message``, ``errorCode``,
``customProperties``); ``typeKey`` and status are stable, messages are not. The request id
(``ActivityId`` / ``X-VSS-E2EID`` header) is kept so a failure can be quoted to Microsoft support.
Nothing here ever holds a credential: only the method, the path and what the server answered.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from shared.ado.scopes import needed_scope

STALE_TYPE_KEYS = frozenset({"TestPatchOperationFailedException", "WorkItemRevisionMismatchException"})
FIELD_TYPE_KEYS = frozenset({"RuleValidationException", "WorkItemFieldInvalidException",
                             "WorkItemFieldInvalidTreeNameException", "InvalidPatchFieldNameException"})
_RULE_FIELD = re.compile(r"TF401320: Rule Error for field (?P<field>[^.]+)\.")
_MAX_MESSAGE = 500


class AdoError(Exception):
    """Base: anything Azure DevOps refused or failed at. ``status`` is None for local failures."""

    def __init__(self, message: str, *, status: int | None = None, type_key: str | None = None,
                 activity_id: str | None = None, method: str = "", path: str = "") -> None:
        self.message = message[:_MAX_MESSAGE]
        self.status, self.type_key, self.activity_id = status, type_key, activity_id
        self.method, self.path = method, path
        head = " ".join(p for p in (method, path, f"-> {status}" if status is not None else "") if p)
        text = f"{head}: " if head else ""
        text += f"{type_key}: {self.message}" if type_key else self.message
        super().__init__(text + (f" (activity {activity_id})" if activity_id else ""))


class AdoAuthError(AdoError):
    """Credentials missing, wrong or expired (401, a 203/HTML sign-in page, a failed token grant),
    or a valid PAT without the call's scope: ADO answers both with the same 401. ``scope`` is the
    scope the refused call needs, when known."""

    def __init__(self, message: str, *, scope: str | None = None, **kwargs: Any) -> None:
        if scope:
            message = f"{message} (a PAT needs scope {scope} for this call)"
        super().__init__(message, **kwargs)
        self.scope = scope


class AdoPermissionDenied(AdoError):
    """Authenticated, but the identity lacks a permission (403)."""


class AdoNotFound(AdoError):
    """404: the item does not exist *or* this identity may not see it (ADO maps both to 404)."""


class StaleRevision(AdoError):
    """The ``test /rev`` failed (412) or the revision moved underneath (409): re-read and retry."""


class InvalidFieldValue(AdoError):
    """A field value broke a rule (TF401320 state/required/allowed values, unknown identity, bad
    area path). ``field`` is the reference name when ADO gives it, else the display name."""

    def __init__(self, message: str, *, field: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.field = field


class AdoRateLimited(AdoError):
    """429 after the retry budget was spent; ``retry_after`` seconds if the server said."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class AdoServerError(AdoError):
    """5xx after retries (or not retried because the call was not idempotent)."""


class AdoBadRequest(AdoError):
    """Any other 4xx: our request was wrong; retrying it unchanged will not help."""


class AdoProtocolError(AdoError):
    """A 2xx we cannot read as JSON that is not a sign-in page."""


def request_id(headers: Mapping[str, str]) -> str | None:
    return headers.get("ActivityId") or headers.get("X-VSS-E2EID") or headers.get("X-TFS-ActivityId")


def _wrapped_exception(body: str) -> dict[str, Any]:
    """The WrappedException, or the ``{"count":1,"value":{"Message":...}}`` controller variant."""
    try:
        data = json.loads(body)
    except ValueError:
        return {}
    if isinstance(data, dict) and isinstance(data.get("value"), dict) and "Message" in data["value"]:
        return {"message": data["value"]["Message"]}
    return data if isinstance(data, dict) else {}


def field_of(wrapped: Mapping[str, Any]) -> str | None:
    """The field a rule error is about: customProperties first, the TF401320 text as a fallback."""
    props = wrapped.get("customProperties") or {}
    if isinstance(props, Mapping):
        if isinstance(props.get("ReferenceName"), str):
            return props["ReferenceName"]
        for rule in props.get("RuleValidationErrors") or []:
            if isinstance(rule, Mapping) and isinstance(rule.get("fieldReferenceName"), str):
                return rule["fieldReferenceName"]
    match = _RULE_FIELD.search(str(wrapped.get("message", "")))
    return match.group("field").strip() if match else None


def error_from_response(status: int, headers: Mapping[str, str], body: str, method: str, path: str,
                        retry_after: float | None = None) -> AdoError:
    """Classify one failed response. Pure: status, headers and body text in, exception out."""
    wrapped = _wrapped_exception(body)
    type_key = wrapped.get("typeKey") if isinstance(wrapped.get("typeKey"), str) else None
    message = str(wrapped.get("message") or f"HTTP {status}")
    common: dict[str, Any] = {"status": status, "type_key": type_key,
                              "activity_id": request_id(headers), "method": method, "path": path}
    if status == 401:
        return AdoAuthError(message, scope=needed_scope(method, path), **common)
    if status == 403:
        return AdoPermissionDenied(message, **common)
    if status in (409, 412) or type_key in STALE_TYPE_KEYS:
        return StaleRevision(message, **common)
    if type_key in FIELD_TYPE_KEYS or "TF401320" in message:
        return InvalidFieldValue(message, field=field_of(wrapped), **common)
    if status == 404:
        return AdoNotFound(message, **common)
    if status == 429:
        return AdoRateLimited(message, retry_after=retry_after, **common)
    if status >= 500:
        return AdoServerError(message, **common)
    return AdoBadRequest(message, **common)
