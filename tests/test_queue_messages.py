"""Queue messages as the webhook functions make them survive a real Azure Storage queue (Azurite),
with the host's base64 message encoding (host.json), and always fit one message."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from azure.storage.queue import QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy
from requests.structures import CaseInsensitiveDict

from shared.intake import QUEUE_MESSAGE_LIMIT, check_ado_webhook, check_sentry_webhook, sentry_signature
from shared.planner import parse_webhook
from tests.fixtures import SENTRY_EXAMPLES as EXAMPLES

HOST = json.loads((Path(__file__).resolve().parents[1] / "host.json").read_text())


def sentry_message(body: bytes, resource: str) -> tuple[int, str | None]:
    headers = CaseInsensitiveDict({"Sentry-Hook-Resource": resource, "Sentry-Hook-Timestamp": "0",
                                   "Sentry-Hook-Signature": sentry_signature("s", body)})
    verdict = check_sentry_webhook(headers, body, "s", 0, 10**9, 10**7)
    return verdict.status, verdict.message


def big_alert() -> bytes:
    body = json.loads((EXAMPLES / "event_alert.triggered--with_alert_rule_action.json").read_bytes())
    body["data"]["event"]["breadcrumbs"] = {"values": [{"message": "x" * 200, "n": i} for i in range(2000)]}
    return json.dumps(body).encode()


def test_the_host_base64_encodes_queue_messages() -> None:
    assert HOST["extensions"]["queues"]["messageEncoding"] == "base64"


def test_an_oversized_alert_is_trimmed_to_what_the_planner_reads() -> None:
    raw = big_alert()
    assert len(raw) > 300_000
    status, message = sentry_message(raw, "event_alert")
    assert status == 202 and len(message.encode()) <= QUEUE_MESSAGE_LIMIT
    body = json.loads(message)["body"]
    event = body["data"]["event"]
    assert "breadcrumbs" not in event and event["issue_id"] == json.loads(raw)["data"]["event"]["issue_id"]
    assert body["data"]["issue_alert"]["settings"]  # the action's settings survive
    assert parse_webhook("sentry", {"resource": "event_alert", "body": body}).kind == "event_alert.triggered"


def test_an_oversized_work_item_revision_is_trimmed() -> None:
    fields = {"System.State": "Active", "System.Description": "<p>" + "y" * 100_000 + "</p>"}
    raw = json.dumps({"eventType": "workitem.updated", "resource": {
        "workItemId": 3, "rev": 2, "fields": {"System.State": {"oldValue": "New", "newValue": "Active"}},
        "revision": {"id": 3, "rev": 2, "fields": fields}}}).encode()
    verdict = check_ado_webhook(CaseInsensitiveDict({"X-Hook-Secret": "k"}), raw, "k", 10**7)
    assert verdict.status == 202 and len(verdict.message.encode()) <= QUEUE_MESSAGE_LIMIT
    revision = json.loads(verdict.message)["body"]["resource"]["revision"]["fields"]
    assert revision == {"System.State": "Active"}


def test_messages_round_trip_through_a_real_queue(azurite_connection: str) -> None:
    queue = QueueClient.from_connection_string(azurite_connection, f"q{uuid.uuid4().hex[:10]}",
                                               message_encode_policy=TextBase64EncodePolicy(),
                                               message_decode_policy=TextBase64DecodePolicy())
    queue.create_queue()
    sent = []
    for path in sorted(EXAMPLES.glob("*.json")):
        raw = path.read_bytes()
        resource = path.name.split(".")[0]
        if resource in ("issue", "comment", "event_alert") and b'"action"' in raw:
            status, message = sentry_message(raw, resource)
            assert status == 202
            sent.append(message)
    _, big = sentry_message(big_alert(), "event_alert")
    sent.append(big)
    for message in sent:
        queue.send_message(message)
    received = [m.content for m in queue.receive_messages(messages_per_page=32)]
    assert sorted(json.loads(m)["body"]["action"] for m in received) == \
        sorted(json.loads(m)["body"]["action"] for m in sent)
    assert {json.dumps(json.loads(m), sort_keys=True) for m in received} == \
        {json.dumps(json.loads(m), sort_keys=True) for m in sent}
