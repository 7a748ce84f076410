"""Inbound webhook verification and classification (pure)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from requests.structures import CaseInsensitiveDict

from sandbox.ado.hooks import sample_event
from shared.intake import check_ado_webhook, check_sentry_webhook, sentry_signature, signature_matches
from tests.fixtures import SENTRY_DOCS, SENTRY_EXAMPLES

SECRET = "test-client-secret"
NOW = 1_800_000_000.0


def sentry_headers(body: bytes, resource: str = "issue", secret: str = SECRET, stamp: float = NOW) -> dict:
    return {"Sentry-Hook-Resource": resource, "Sentry-Hook-Signature": sentry_signature(secret, body),
            "Sentry-Hook-Timestamp": str(int(stamp)), "Request-ID": "abc"}


def check(body: bytes, headers: dict) -> tuple[int, str, dict | None]:
    v = check_sentry_webhook(CaseInsensitiveDict(headers), body, SECRET, NOW, max_age_s=300, max_bytes=10_000)
    return v.status, v.detail, json.loads(v.message) if v.message else None


def test_documented_vectors() -> None:
    # Self-computed vector recorded in shared/reference/sentry-api.md §1.2 (HMAC of the empty string).
    assert sentry_signature(SECRET, b"") == "cff7ccd625537ce1a726fd29f7fc4beca8a15c96b6c9ee9b9461e149f57d4e88"
    assert not signature_matches(SECRET, b"x", None) and not signature_matches("", b"x", sentry_signature("", b"x"))


def webhook_examples() -> list[Path]:
    """The published webhook bodies (the folders also hold REST examples, which have no 'action')."""
    return sorted(p for folder in (SENTRY_EXAMPLES, SENTRY_DOCS) for p in folder.glob("*.json")
                  if "action" in json.loads(p.read_bytes()))


def test_examples_are_present() -> None:
    assert len(webhook_examples()) >= 18


@pytest.mark.parametrize("path", webhook_examples(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_published_example_is_accepted_or_dropped(path: Path) -> None:
    raw = path.read_bytes()
    body = json.loads(raw)
    resource = path.name.split(".")[0]
    status, detail, message = check(raw, sentry_headers(raw, resource))
    assert status == 202
    if resource in ("issue", "comment", "event_alert"):
        assert message is not None and message["resource"] == resource and message["body"] == body
    else:
        assert message is None and "not synced" in detail


def test_signature_is_over_raw_bytes_not_reserialised_json() -> None:
    raw = json.dumps({"action": "created", "data": {"issue": {"id": "1", "title": "caf\u00e9"}}},
                     separators=(",", ":")).encode()
    pretty = json.dumps(json.loads(raw), indent=2).encode()
    assert check(raw, sentry_headers(raw))[0] == 202
    assert check(pretty, sentry_headers(raw))[:2] == (401, "Sentry-Hook-Signature does not match the body")


@pytest.mark.parametrize(("mutate", "status", "fragment"), [
    (lambda h, b: (h | {"Sentry-Hook-Signature": "0" * 64}, b), 401, "does not match"),
    (lambda h, b: ({k: v for k, v in h.items() if k != "Sentry-Hook-Signature"}, b), 401, "missing"),
    (lambda h, b: (sentry_headers(b, secret="other"), b), 401, "does not match"),
    (lambda h, b: (sentry_headers(b, stamp=NOW - 301), b), 401, "is 301s old; the window is 300s"),
    (lambda h, b: (sentry_headers(b, stamp=NOW + 400), b), 401, "is 400s in the future; the window is 300s"),
    (lambda h, b: ({k: v for k, v in h.items() if k != "Sentry-Hook-Timestamp"}, b), 401,
     "missing Sentry-Hook-Timestamp"),
    (lambda h, b: (h | {"Sentry-Hook-Timestamp": "yesterday"}, b), 400, "not a Unix time"),
    (lambda h, b: (h | {"Sentry-Hook-Timestamp": "INF"}, b), 400, "not a Unix time"),
    (lambda h, b: (h | {"Sentry-Hook-Timestamp": "nan"}, b), 400, "not a Unix time"),
    (lambda h, b: ({k: v for k, v in h.items() if k != "Sentry-Hook-Resource"}, b), 400, "Sentry-Hook-Resource"),
    (lambda h, b: (sentry_headers(b"{nope", "issue"), b"{nope"), 400, "not valid JSON"),
    (lambda h, b: (sentry_headers(b"[1]", "issue"), b"[1]"), 400, "must be a JSON object"),
    (lambda h, b: (sentry_headers(b"\xff\xfe", "issue"), b"\xff\xfe"), 400, "not UTF-8"),
    (lambda h, b: (sentry_headers(b, "comment"), b), 400, "does not match Sentry-Hook-Resource 'comment'"),
    (lambda h, b: (sentry_headers(b"x" * 10_001), b"x" * 10_001), 413, "limit is 10000"),
])
def test_rejections(mutate, status: int, fragment: str) -> None:
    raw = b'{"action":"created","data":{"issue":{"id":"1"}},"actor":{"type":"user"}}'
    headers, body = mutate(sentry_headers(raw), raw)
    got_status, detail, message = check(body, headers)
    assert got_status == status and fragment in detail and message is None


ADO_SECRET = "hook-secret-1"


def ado(body: dict | bytes, headers: dict | None = None) -> tuple[int, str, dict | None]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"X-Hook-Secret": ADO_SECRET} if headers is None else headers
    v = check_ado_webhook(CaseInsensitiveDict(headers), raw, ADO_SECRET,
                          max_bytes=10_000)
    return v.status, v.detail, json.loads(v.message) if v.message else None


UPDATED = {"eventType": "workitem.updated", "resource": {"workItemId": 7, "rev": 3, "fields": {}}}


def test_ado_accepts_header_or_basic_auth() -> None:
    assert ado(UPDATED)[0] == 202 and ado(UPDATED)[2]["event_type"] == "workitem.updated"
    basic = base64.b64encode(f"ado:{ADO_SECRET}".encode()).decode()
    assert ado(UPDATED, {"Authorization": f"Basic {basic}"})[0] == 202


@pytest.mark.parametrize("headers", [
    {}, {"X-Hook-Secret": "wrong"}, {"Authorization": "Basic !!!"},
    {"Authorization": "Basic " + base64.b64encode(b"ado:wrong").decode()}, {"Authorization": "Bearer x"},
])
def test_ado_rejects_bad_auth(headers: dict) -> None:
    assert ado(UPDATED, headers)[:1] == (401,) and ado(UPDATED, headers)[2] is None


def test_ado_classifies_events() -> None:
    assert ado({"eventType": "workitem.created", "resource": {"id": 1}})[:2] == (
        202, "event type 'workitem.created' is not synced; dropped")
    assert ado({"eventType": "workitem.deleted", "resource": {"id": 9}})[2]["body"]["resource"]["id"] == 9
    assert ado({"resource": {}})[0] == 400
    assert ado({"eventType": "workitem.updated", "resource": {}})[1] == "workitem.updated: resource.id is missing"
    assert ado(b"not json")[0] == 400
    assert ado(b"x" * 10_001)[0] == 413


NESTED = b'{"action":"created","data":{"issue":{"id":"1","x":' + b"[" * 3000 + b"]" * 3000 + b"}}}"
MODERATE = b'{"action":"created","data":{"issue":{"id":"1","x":' + b"[" * 200 + b"]" * 200 + b"}}}"
HUGE_INT = b'{"action":"created","data":{"issue":{"id":"1","n":' + b"9" * 5000 + b"}}}"


@pytest.mark.parametrize(("body", "fragment"), [
    (NESTED, "nests JSON deeper than 64 levels"),  # the parser's own recursion limit
    (MODERATE, "nests JSON deeper than 64 levels"),  # parses, but deeper than any real payload
    (HUGE_INT, "Exceeds the limit (4300 digits)"),  # a ValueError without .msg
    (b'{"action":"created","data":{"issue":{"id":"1","n":NaN}}}', "NaN is not JSON"),
    (b'{"action":"created","data":{"issue":{"id":"1","n":-Infinity}}}', "-Infinity is not JSON"),
    (b'{"action":"created","data":{"issue":{"id":"1","n":1e400}}}', "1e400 is out of range"),
    (b'{"action":"created","data":{"issue":{"id":"1","title":"a\\ud800b"}}}', "lone UTF-16 surrogate"),
    (b'{"action":"created","data":{"issue":{"id":"1","\\uDFFF":1}}}', "lone UTF-16 surrogate"),
])
def test_every_parse_failure_is_a_400_naming_it(body: bytes, fragment: str) -> None:
    status, detail, message = check(body, sentry_headers(body))
    assert (status, message) == (400, None) and fragment in detail
    ado = check_ado_webhook(CaseInsensitiveDict({"X-Hook-Secret": "s"}), body, "s", 100_000)
    assert ado.status == 400 and fragment in ado.detail and ado.message is None


def test_depth_up_to_the_limit_and_duplicate_keys_are_accepted_as_every_reader_sees_them() -> None:
    deep = b'{"action":"created","data":{"issue":{"id":"1","x":' + b"[" * 61 + b"]" * 61 + b"}}}"
    assert check(deep, sentry_headers(deep))[0] == 202
    emoji = b'{"action":"created","data":{"issue":{"id":"1","title":"\\ud83d\\ude00 \\\\ud800"}}}'
    assert check(emoji, sentry_headers(emoji))[0] == 202  # a surrogate pair, and an escaped backslash
    dup = b'{"action":"created","action":"resolved","data":{"issue":{"id":"1"}}}'
    status, _, message = check(dup, sentry_headers(dup))
    assert status == 202 and message["body"]["action"] == json.loads(dup)["action"] == "resolved"


@pytest.mark.parametrize("event_type", ["workitem.updated", "workitem.commented", "workitem.deleted",
                                        "workitem.restored"])
def test_ado_test_button_samples_are_answered_200_as_test_deliveries_and_not_enqueued(event_type: str) -> None:
    """The subscription dialog's Test button sends the service's canned sample (work item 0 or a
    work item of another collection); a 4xx would show the person setting up the hook a failure,
    and enqueuing it would act on a work item of ours that happens to share the sample's id."""
    sample = sample_event(event_type)
    for delivery in (sample, {"subscriptionId": "00000000-0000-0000-0000-000000000000", **sample}):
        verdict = check_ado_webhook(CaseInsensitiveDict({"X-Hook-Secret": ADO_SECRET}), json.dumps(delivery).encode(),
                                    ADO_SECRET, 100_000)
        assert (verdict.status, verdict.test, verdict.message) == (200, True, None)
        assert "test delivery" in verdict.detail


def test_a_real_delivery_is_not_taken_for_a_test() -> None:
    real = {**UPDATED, "subscriptionId": "5f1c2b9e-1111-4c3a-9d7e-0123456789ab",
            "resourceContainers": {"collection": {"id": "8f1c2b9e-2222-4c3a-9d7e-0123456789ab"}}}
    assert ado(real)[0] == 202 and ado(real)[2] is not None
