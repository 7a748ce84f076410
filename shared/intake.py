"""Decide whether an inbound webhook is genuine and well formed, and what to enqueue. Pure.

The HTTP functions call these with the raw body and headers and act on the verdict; nothing here
touches the network, so the whole accept/reject policy is tested without a host. Rules:
- Sentry: HMAC-SHA256 of the raw body bytes, as received, keyed with the client secret, lower-case
  hex in ``Sentry-Hook-Signature`` (``Sentry-App-Signature`` for UI-component requests), compared in
  constant time. Re-serialised JSON never matches Sentry's compact encoding, so the bytes are used.
- Sentry's ``Sentry-Hook-Timestamp`` is unsigned, but a value outside the window still marks a
  replay or a badly skewed sender; it is rejected so old deliveries cannot be replayed forever.
  Sentry sends it with every webhook, so a delivery without it is refused the same way.
- Azure DevOps signs nothing: a subscription carries a shared secret in a custom header or as the
  basic-auth password, compared in constant time.
- Headers are a case-insensitive mapping, as azure.functions, werkzeug and requests provide.
- A well-formed event we do not act on is accepted (202) and dropped with its reason: answering
  4xx would make the sender count failures and, in time, disable the subscription.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared import identifiers as ids
from shared.contract import (
    ADO_DEPLOYMENT_EVENTS,
    ADO_EVENTS_ACTED_ON,
    ADO_SAMPLE_COLLECTION_ID,
    ADO_SECRET_HEADER,
    ADO_UNSAVED_SUBSCRIPTION_ID,
    SENTRY_REQUEST_ID_HEADER,
    SENTRY_RESOURCE_DATA,
    SENTRY_RESOURCE_HEADER,
    SENTRY_RESOURCES_SYNCED,
    SENTRY_SIGNATURE_HEADER,
    SENTRY_TIMESTAMP_HEADER,
    SENTRY_UI_SIGNATURE_HEADER,
    WORKITEM_UPDATED,
)


@dataclass(frozen=True)
class Verdict:
    """The answer to give, and the queue message to send when ``message`` is not None."""

    status: int
    detail: str
    message: str | None = None  # JSON text for the queue
    test: bool = False  # a test delivery (the sender's own check of the endpoint), answered 2xx

    @property
    def body(self) -> dict[str, Any]:
        key = "error" if self.status >= 400 else "status"
        return {key: self.detail}


def sentry_signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def signature_matches(secret: str, body: bytes, signature: str | None) -> bool:
    if not signature or not secret:
        return False
    return hmac.compare_digest(sentry_signature(secret, body), signature.strip().lower())


def _queue_message(source: str, kind_key: str, kind: str, extra: str | None, text: str) -> str:
    """The queue message: our fields plus the body spliced in as received (it parsed as a JSON object),
    which spares a second serialisation of the body on the hot path. `kind` is one of our constants."""
    return f'{{"source": "{source}", "{kind_key}": "{kind}", "request_id": {json.dumps(extra)}, "body": {text}}}'


# Azure Storage queue messages hold 64 KiB; the host base64-encodes them (host.json), so the JSON we
# hand the output binding must stay under 3/4 of that.
QUEUE_MESSAGE_LIMIT = 48 * 1024
# What the planner reads from an alert's event and a work item revision; the rest (breadcrumbs,
# contexts, stack frames, long HTML fields) is dropped when a delivery would not fit in a message.
_EVENT_KEYS = ("event_id", "issue_id", "title", "culprit", "metadata", "level", "environment", "release",
               "project", "project_slug", "web_url", "issue_url", "url", "datetime")
_REVISION_KEYS = ("System.Id", "System.Rev", "System.WorkItemType", "System.TeamProject", "System.State",
                  "System.AssignedTo", "System.Title", "System.ChangedDate", "System.ChangedBy", "System.History",
                  "System.Reason")


def _fit(message: str, source: str, kind_key: str, kind: str, extra: str | None,
         parsed: dict[str, Any]) -> Verdict:
    """The queue message, trimmed to what syncing needs when the delivery is too big for a queue."""
    if len(message) <= QUEUE_MESSAGE_LIMIT // 4 or len(message.encode("utf-8")) <= QUEUE_MESSAGE_LIMIT:
        return Verdict(202, "queued", message)  # (a character is at most 4 UTF-8 bytes)
    slim = json.loads(json.dumps(parsed))  # a deep copy to trim
    data = slim.get("data") or {}
    if isinstance(data.get("event"), dict):
        data["event"] = {k: v for k, v in data["event"].items() if k in _EVENT_KEYS}
    resource = slim.get("resource") or {}
    revision = resource.get("revision") if isinstance(resource, dict) else None
    if isinstance(revision, dict) and isinstance(revision.get("fields"), dict):
        revision["fields"] = {k: v for k, v in revision["fields"].items() if k in _REVISION_KEYS}
    if isinstance(resource, dict) and isinstance(resource.get("fields"), dict) and "revision" not in resource:
        resource["fields"] = {k: v for k, v in resource["fields"].items() if k in _REVISION_KEYS}
    trimmed = _queue_message(source, kind_key, kind, extra, json.dumps(slim))
    if len(trimmed.encode("utf-8")) > QUEUE_MESSAGE_LIMIT:
        return Verdict(413, f"the delivery needs {len(trimmed)} bytes even trimmed; a queue message holds "
                            f"{QUEUE_MESSAGE_LIMIT}")
    return Verdict(202, "queued (trimmed to fit a queue message)", trimmed)


# Real payloads nest a dozen levels at most (a Sentry event's frame variables are cut at depth 5 by
# the SDKs); far deeper input is refused before it can exhaust the parser's or a consumer's stack.
MAX_JSON_DEPTH = 64


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:40]} is out of range for a number")
    return value


# Built once: json.loads with hooks would build a decoder on every call.
_DECODER = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite)
# A UTF-16 surrogate escape (``\\ud800``-``\\udfff``): JSON allows one alone, Unicode text does not.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _lone_surrogate(value: Any) -> bool:
    """Whether any key or string holds half a surrogate pair (it cannot be encoded, e.g. in a URL)."""
    pending = [value]
    while pending:
        node = pending.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, child in items:
            for text in (key, child):
                if isinstance(text, str):
                    try:
                        text.encode("utf-8")
                    except UnicodeEncodeError:
                        return True
            if isinstance(child, dict | list):
                pending.append(child)
    return False


def _nested_deeper(value: Any, limit: int) -> bool:
    """Whether containers nest more than `limit` levels; iterative, so depth costs no stack."""
    pending = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            if isinstance(child, dict | list):
                if depth >= limit:
                    return True
                pending.append((child, depth + 1))
    return False


def parse_json_object(text: str, what: str = "body") -> dict[str, Any] | str:
    """`text` as a JSON object, or the problem naming `what`. Any parse failure is the sender's:
    invalid syntax, NaN/Infinity or a number beyond a float's range, an integer too long to convert
    (Python's 4,300-digit limit), or nesting beyond `MAX_JSON_DEPTH`. Duplicate keys keep the last
    value, as every later reader (the queue functions parse the same text) does too."""
    too_deep = f"{what} nests JSON deeper than {MAX_JSON_DEPTH} levels"
    try:
        parsed = _DECODER.decode(text)
    except RecursionError:
        return too_deep
    except ValueError as exc:
        where = f" at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        detail = getattr(exc, "msg", None) or str(exc).split(";")[0][:200]  # not Python's advice to raise it
        return f"{what} is not valid JSON: {detail}{where}"
    if not isinstance(parsed, dict):
        return f"{what} must be a JSON object, got {type(parsed).__name__}"
    # a body with fewer brackets than the limit cannot nest deeper (the cheap test for most webhooks)
    if text.count("{") + text.count("[") > MAX_JSON_DEPTH and _nested_deeper(parsed, MAX_JSON_DEPTH):
        return too_deep
    # only a text that escapes a surrogate can hold a lone one (pairs, i.e. emoji, are fine)
    if "\\u" in text and _SURROGATE_ESCAPE.search(text) and _lone_surrogate(parsed):
        return f"{what} holds a lone UTF-16 surrogate (\\ud800-\\udfff) in a string; that is no Unicode text"
    return parsed


def _json_object(body: bytes) -> tuple[str, dict[str, Any]] | Verdict:
    """The body as text and as a parsed JSON object, or the 400 saying why it is neither."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Verdict(400, f"body is not UTF-8 text (byte {exc.start})")
    parsed = parse_json_object(text)
    if isinstance(parsed, str):
        return Verdict(400, parsed)
    return text, parsed


def _signed_rejection(headers: Mapping[str, str], body: bytes, secret: str, header: str,
                      max_bytes: int) -> Verdict | None:
    """Size first (cheap), then the HMAC in `header`; None when both pass."""
    if len(body) > max_bytes:
        return Verdict(413, f"body is {len(body)} bytes; the limit is {max_bytes}")
    signature = headers.get(header.lower())
    if not signature_matches(secret, body, signature):
        return Verdict(401, f"missing {header} header" if signature is None else f"{header} does not match the body")
    return None


def check_sentry_webhook(headers: Mapping[str, str], body: bytes, secret: str, now: float,
                         max_age_s: int, max_bytes: int) -> Verdict:
    """Verify and classify one Sentry Integration Platform webhook delivery."""
    rejected = _signed_rejection(headers, body, secret, SENTRY_SIGNATURE_HEADER, max_bytes)
    if rejected:
        return rejected
    stamp = headers.get(SENTRY_TIMESTAMP_HEADER.lower())
    if stamp is None:  # Sentry sends it with every webhook; without it a replay cannot be told apart
        return Verdict(401, f"missing {SENTRY_TIMESTAMP_HEADER} header")
    try:
        age = now - float(stamp)
    except ValueError:
        age = math.nan
    if not math.isfinite(age):  # "inf" and "nan" parse as floats but are no time
        return Verdict(400, f"{SENTRY_TIMESTAMP_HEADER} is not a Unix time: {stamp[:40]!r}")
    if abs(age) > max_age_s:
        when = f"{int(age)}s old" if age > 0 else f"{int(-age)}s in the future"
        return Verdict(401, f"{SENTRY_TIMESTAMP_HEADER} is {when}; the window is {max_age_s}s either way")
    resource = headers.get(SENTRY_RESOURCE_HEADER.lower())
    if not resource:
        return Verdict(400, f"missing {SENTRY_RESOURCE_HEADER} header")
    decoded = _json_object(body)
    if isinstance(decoded, Verdict):
        return decoded
    text, parsed = decoded
    problem = _sentry_shape_problem(resource, parsed)
    if problem:
        return Verdict(400, problem)
    if resource not in SENTRY_RESOURCES_SYNCED:
        return Verdict(202, f"resource {resource!r} is not synced; dropped")
    try:
        sentry_identifiers(resource, parsed)
    except ids.MalformedIdentifier as exc:
        return Verdict(400, str(exc))
    request_id = headers.get(SENTRY_REQUEST_ID_HEADER.lower())
    return _fit(_queue_message("sentry", "resource", resource, request_id, text), "sentry", "resource", resource,
                request_id, parsed)


def _sentry_shape_problem(resource: str, body: dict[str, Any]) -> str | None:
    if not isinstance(body.get("action"), str):
        return "body has no string 'action'"
    data = body.get("data")
    if not isinstance(data, dict):
        return "body has no 'data' object"
    needed = SENTRY_RESOURCE_DATA.get(resource, ())
    missing = [k for k in needed if k not in data]
    if missing:
        return f"body does not match {SENTRY_RESOURCE_HEADER} {resource!r}: data lacks {', '.join(missing)}"
    if resource == "issue" and not (isinstance(data["issue"], dict) and data["issue"].get("id")):
        return f"body does not match {SENTRY_RESOURCE_HEADER} 'issue': data.issue has no id"
    return None


def sentry_identifiers(resource: str, body: Mapping[str, Any]) -> None:
    """Every identifier a Sentry webhook we act on carries must be well formed before anything is
    claimed or created for it (a Sentry issue "0" once became a link no reconcile page survived).
    Sentry itself never sends a malformed one, so the 400 cannot count against the integration."""
    data = body.get("data") or {}
    installation = body.get("installation")
    if isinstance(installation, Mapping) and installation.get("uuid") is not None:
        ids.installation_uuid(installation["uuid"], "installation.uuid")
    elif installation is not None:
        raise ids.MalformedIdentifier(f"installation must be an object with a uuid, got {installation!r:.60}")
    if resource in ("issue", "activity_alert"):
        issue = data["issue"]
        if not isinstance(issue, Mapping):
            raise ids.MalformedIdentifier(f"data.issue must be an object, got {issue!r:.60}")
        ids.sentry_issue_id(issue.get("id"), "data.issue.id")
        project = issue.get("project")
        if isinstance(project, Mapping) and project.get("slug") is not None:
            ids.sentry_project_slug(project["slug"], "data.issue.project.slug")
    elif resource == "comment":
        ids.sentry_issue_id(data.get("issue_id"), "data.issue_id")
        ids.sentry_numeric_id(data.get("comment_id"), "data.comment_id")
    elif resource == "event_alert":
        event = data.get("event")
        if not isinstance(event, Mapping):
            raise ids.MalformedIdentifier(f"data.event must be an object, got {event!r:.60}")
        ids.sentry_issue_id(event.get("issue_id"), "data.event.issue_id")


def check_queued(message: Mapping[str, Any]) -> None:
    """A queue message is checked again before it is acted on: one queued by an older version, or
    written by hand, may carry what the webhook routes now reject. Raises `BadRecord` saying what."""
    body = message.get("body")
    if not isinstance(body, Mapping):
        raise ids.BadRecord("queue message has no 'body' object")
    if message.get("source") == "sentry":
        resource = message.get("resource")
        if resource not in SENTRY_RESOURCES_SYNCED:
            return  # the planner skips it
        problem = _sentry_shape_problem(resource, dict(body))
        if problem:
            raise ids.BadRecord(problem)
        sentry_identifiers(resource, body)
    elif message.get("source") == "ado" and message.get("event_type") in ADO_EVENTS_ACTED_ON:
        if not isinstance(body.get("resource"), Mapping):
            raise ids.BadRecord("service hook event has no 'resource' object")
        ado_identifiers(str(message["event_type"]), body)


def ado_secret_matches(headers: Mapping[str, str], secret: str) -> bool:
    """The shared secret, from our custom header or as the basic-auth password."""
    if not secret:
        return False
    offered = headers.get(ADO_SECRET_HEADER.lower())
    if offered is None:
        auth = headers.get("authorization") or ""
        scheme, _, encoded = auth.partition(" ")
        if scheme.lower() == "basic" and encoded:
            try:
                offered = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")[2]
            except (binascii.Error, UnicodeDecodeError):
                offered = None
    return offered is not None and hmac.compare_digest(offered.encode("utf-8"), secret.encode("utf-8"))


def check_ado_webhook(headers: Mapping[str, str], body: bytes, secret: str, max_bytes: int) -> Verdict:
    """Authenticate and classify one Azure DevOps service hook delivery."""
    if len(body) > max_bytes:
        return Verdict(413, f"body is {len(body)} bytes; the limit is {max_bytes}")
    if not ado_secret_matches(headers, secret):
        return Verdict(401, f"missing or wrong {ADO_SECRET_HEADER} header / basic-auth password")
    decoded = _json_object(body)
    if isinstance(decoded, Verdict):
        return decoded
    text, parsed = decoded
    event_type = parsed.get("eventType")
    if not isinstance(event_type, str) or not isinstance(parsed.get("resource"), dict):
        return Verdict(400, "not a service hook event: needs a string 'eventType' and a 'resource' object")
    if ado_test_delivery(parsed):
        return Verdict(200, f"test delivery of {event_type!r} received (a sample payload, nothing to sync)",
                       test=True)
    if event_type not in ADO_EVENTS_ACTED_ON:
        return Verdict(202, f"event type {event_type!r} is not synced; dropped")
    try:
        ado_identifiers(event_type, parsed)
    except ids.BadRecord as exc:
        return Verdict(400, f"{event_type}: {exc}")
    return _fit(_queue_message("ado", "event_type", event_type, None, text), "ado", "event_type", event_type, None,
                parsed)


def ado_test_delivery(event: Mapping[str, Any]) -> bool:
    """Whether a service hook delivery is the Test button's sample rather than a real event.
    Answering it 2xx matters: a 4xx shows the person setting up the hook a failure."""
    containers = event.get("resourceContainers")
    collection = containers.get("collection") if isinstance(containers, dict) else None
    if isinstance(collection, dict) and str(collection.get("id", "")).lower() == ADO_SAMPLE_COLLECTION_ID:
        return True
    if str(event.get("subscriptionId", "")) == ADO_UNSAVED_SUBSCRIPTION_ID:
        return True
    resource = event.get("resource")
    return (event.get("eventType") == WORKITEM_UPDATED and isinstance(resource, dict)
            and resource.get("workItemId") == 0 and resource.get("revisedBy") is None)



def ado_identifiers(event_type: str, body: Mapping[str, Any]) -> None:
    """The work item id and project of a work item event, and the ids a deployment event must carry
    (its own parser's checks, with no rules: which environment is tracked is decided later)."""
    resource = body["resource"]
    if event_type in ADO_DEPLOYMENT_EVENTS:
        from shared.releases.deployment import parse_deployment
        from shared.releases.rules import ReleaseRules

        parse_deployment(body, ReleaseRules())
        return
    key = "workItemId" if "workItemId" in resource else "id"
    ids.work_item_id(resource.get(key), f"resource.{key}")
    revision = resource.get("revision")
    fields = (revision if isinstance(revision, Mapping) else resource).get("fields")
    if isinstance(fields, Mapping) and fields.get("System.TeamProject") is not None:
        ids.ado_project(fields["System.TeamProject"], "System.TeamProject", named_by_ado=True)


def check_ui_request(headers: Mapping[str, str], body: bytes, secret: str, max_bytes: int) -> Verdict:
    """Sentry UI-component requests (issue-link forms, select options, alert-rule action).

    They carry ``Sentry-App-Signature``, the same HMAC as webhooks; select-option GETs sign the
    empty string. The parsed body (or ``{}`` for a GET) is returned as the message.
    """
    rejected = _signed_rejection(headers, body, secret, SENTRY_UI_SIGNATURE_HEADER, max_bytes)
    if rejected:
        return rejected
    if not body:
        return Verdict(200, "verified", "{}")
    decoded = _json_object(body)
    return decoded if isinstance(decoded, Verdict) else Verdict(200, "verified", decoded[0])
