"""Service hook subscriptions and the events they deliver, as plain data.

Shapes: hooks 7.1 spec ``Subscription`` and ``Event``; envelope and work item resources per
reference §5 (resourceVersion 1.0: identities as strings; ``workitem.updated`` resource is a
WorkItemUpdate with ``fields.{ref}.oldValue/newValue``, ``revision``, ``revisedBy``).
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from sandbox.ado.errors import AdoError, bad_request
from sandbox.ado.identities import Identity

WORK_ITEM_EVENTS = ("workitem.created", "workitem.updated", "workitem.deleted", "workitem.restored",
                    "workitem.commented")
PIPELINE_EVENTS = {"ms.vss-pipelines.stage-state-changed-event": "pipelines",
                   "ms.vss-pipelines.run-state-changed-event": "pipelines",
                   "ms.vss-release.deployment-completed-event": "rm", "build.complete": "tfs",
                   "git.push": "tfs"}
SAMPLES = Path(__file__).parent / "samples"
NO_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"  # a Test pressed before the subscription is saved
STATUSES = ("enabled", "onProbation", "disabledByUser", "disabledBySystem", "disabledByInactiveIdentity")
DELIVERING = ("enabled", "onProbation")


@dataclass
class Subscription:
    id: str
    publisher_id: str
    event_type: str
    resource_version: str
    consumer_id: str
    consumer_action_id: str
    publisher_inputs: dict[str, str]
    consumer_inputs: dict[str, str]
    created_by: Identity
    created_date: str
    modified_by: Identity
    modified_date: str
    status: str = "enabled"
    notifications: list[dict[str, Any]] = field(default_factory=list)


def parse_subscription(body: Any, sub_id: str, actor: Identity, now: str,
                       project_ids: set[str]) -> Subscription:
    """Validate a create/replace body; every refusal names the bad input."""
    if not isinstance(body, dict):
        raise bad_request("The subscription body must be a JSON object.")
    publisher, event = body.get("publisherId"), body.get("eventType")
    expected_publisher = "tfs" if event in WORK_ITEM_EVENTS else PIPELINE_EVENTS.get(str(event))
    if expected_publisher is None:
        raise bad_request(f"Event type '{event}' is not supported; use one of "
                          f"{', '.join((*WORK_ITEM_EVENTS, *PIPELINE_EVENTS))}.")
    if publisher != expected_publisher:
        raise bad_request(f"Publisher '{publisher}' does not publish '{event}'; use '{expected_publisher}'.")
    if body.get("consumerId") != "webHooks" or body.get("consumerActionId", "httpRequest") != "httpRequest":
        raise bad_request(f"Consumer '{body.get('consumerId')}'/'{body.get('consumerActionId')}' is not "
                          "supported; use webHooks/httpRequest.")
    consumer = {k: str(v) for k, v in (body.get("consumerInputs") or {}).items() if v is not None}
    url = urlparse(consumer.get("url", ""))
    if url.scheme not in ("http", "https") or not url.netloc:
        raise bad_request(f"Consumer input 'url' must be an absolute http(s) URL, got '{consumer.get('url', '')}'.")
    for key in ("basicAuthUsername", "basicAuthPassword"):
        if key in consumer and (not consumer[key] or " " in consumer[key] or len(consumer[key]) > 256):
            raise bad_request(f"Consumer input '{key}' must be 1-256 characters without spaces.")
    publisher_inputs = {k: str(v) for k, v in (body.get("publisherInputs") or {}).items() if v is not None}
    project = publisher_inputs.get("projectId")
    if project and project not in project_ids:
        raise AdoError(404, "ProjectDoesNotExistException",
                       f"TF200016: The following project does not exist: {project}.")
    return Subscription(sub_id, publisher, event, body.get("resourceVersion") or "1.0", "webHooks",
                        "httpRequest", publisher_inputs, consumer, actor, now, actor, now)


MASK = "********"


def masked_headers(http_headers: str) -> str:
    """``Key:value`` lines with every value replaced by the mask, as the service shows them."""
    lines = []
    for line in http_headers.splitlines():
        key, sep, _value = line.partition(":")
        lines.append(f"{key}:{MASK}" if sep else line)
    return "\n".join(lines)


def render_subscription(sub: Subscription, base_url: str) -> dict[str, Any]:
    """The subscription as the service answers it: secrets never come back. The basic-auth
    password and the *values* of custom HTTP headers read back as ``********`` (header names
    stay), as in the service's own delivery log, e.g. ``x-custom-header: ********`` in a real
    Test request shown in github.com/uselagoon/lagoon/issues/3470."""
    inputs = dict(sub.consumer_inputs)
    if "basicAuthPassword" in inputs:
        inputs["basicAuthPassword"] = MASK
    if inputs.get("httpHeaders"):
        inputs["httpHeaders"] = masked_headers(inputs["httpHeaders"])
    return {
        "id": sub.id, "url": f"{base_url}/_apis/hooks/subscriptions/{sub.id}", "status": sub.status,
        "publisherId": sub.publisher_id, "eventType": sub.event_type, "resourceVersion": sub.resource_version,
        "eventDescription": f"{sub.event_type} events", "consumerId": sub.consumer_id,
        "consumerActionId": sub.consumer_action_id, "actionDescription": f"To host {urlparse(inputs['url']).netloc}",
        "createdBy": sub.created_by.ref(base_url), "createdDate": sub.created_date,
        "modifiedBy": sub.modified_by.ref(base_url), "modifiedDate": sub.modified_date,
        "publisherInputs": sub.publisher_inputs, "consumerInputs": inputs, "probationRetries": 0,
    }


def matches(sub: Subscription, event_type: str, project_id: str, fields: dict[str, Any],
            changed: set[str], comment: str | None = None) -> bool:
    """Does this enabled subscription want this event (publisher input filters, empty = any)?"""
    if sub.status not in DELIVERING or sub.event_type != event_type:
        return False
    f = sub.publisher_inputs
    if f.get("projectId") and f["projectId"].lower() != project_id.lower():
        return False
    area = str(fields.get("System.AreaPath") or "")
    if f.get("areaPath") and not (area.lower() + "\\").startswith(f["areaPath"].lower().rstrip("\\") + "\\"):
        return False
    if f.get("workItemType") and f["workItemType"].lower() != str(fields.get("System.WorkItemType")).lower():
        return False
    if event_type == "workitem.updated" and f.get("changedFields") and \
            f["changedFields"].lower() not in {c.lower() for c in changed}:
        return False
    if f.get("tag"):
        tags = [t.strip().lower() for t in str(fields.get("System.Tags") or "").split(";")]
        if f["tag"].lower() not in tags:
            return False
    return not (event_type == "workitem.commented" and f.get("commentPattern")
                and f["commentPattern"].lower() not in (comment or "").lower())


def delivery_headers(sub: Subscription) -> dict[str, str]:
    """Content type, the subscription's custom ``Key:value`` header lines, and basic auth."""
    headers = {"Content-Type": "application/json; charset=utf-8"}
    for line in sub.consumer_inputs.get("httpHeaders", "").splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            headers[key.strip()] = value.strip()
    user, password = sub.consumer_inputs.get("basicAuthUsername"), sub.consumer_inputs.get("basicAuthPassword")
    if user and password:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    return headers


def envelope(sub: Subscription, notification_id: int, event_type: str, resource: dict[str, Any],
             text: str, detailed: str, containers: dict[str, Any], now: str) -> dict[str, Any]:
    """The body POSTed to the subscriber, honouring ``messagesToSend``/``resourceDetailsToSend``."""
    inputs = sub.consumer_inputs

    def message(content: str, which: str) -> dict[str, str] | None:
        choice = inputs.get(which, "")
        if choice == "none":
            return None
        full = {"text": content, "html": content.replace("\n", "<br/>"), "markdown": content}
        return {choice: full[choice]} if choice in full else full

    details = inputs.get("resourceDetailsToSend", "")
    body = {
        "subscriptionId": sub.id, "notificationId": notification_id, "id": str(uuid.uuid4()),
        "eventType": event_type, "publisherId": sub.publisher_id,
        "message": message(text, "messagesToSend"), "detailedMessage": message(detailed, "detailedMessagesToSend"),
        "resource": None if details == "none" else (
            {k: resource[k] for k in ("id", "url") if k in resource} if details == "minimal" else resource),
        "resourceVersion": sub.resource_version, "resourceContainers": containers, "createdDate": now,
    }
    return body


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode("utf-8")


def sample_event(event_type: str) -> dict[str, Any]:
    """The canned payload the service's Test button sends for ``event_type`` (see samples/SOURCE.md)."""
    path = SAMPLES / f"{event_type}.json"
    if not path.is_file():
        raise bad_request(f"There is no sample payload for event type '{event_type}'.")
    return json.loads(path.read_text(encoding="utf-8"))


def test_envelope(sample: dict[str, Any], subscription_id: str, notification_id: int) -> dict[str, Any]:
    """A Test delivery: the sample with ``subscriptionId``/``notificationId`` in front, as delivered."""
    return {"subscriptionId": subscription_id, "notificationId": notification_id, **sample}
