"""Integration-platform webhooks from the Sentry emulator, received by a real local HTTP server
and verified with stdlib hmac over the raw body bytes."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from sandbox.core import RunningServer
from sandbox.sentry.emulator import SentryEmulator, serve
from sandbox.sentry.seed import APP_TOKEN, APP_UUID, INSTALLATION_UUID, USER_TOKENS

SECRET = "receiver-test-secret"


class Receiver:
    """A loopback HTTP server that keeps every POST's headers and exact body bytes."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.append((dict(self.headers.items()), raw))
                time.sleep(delay_s)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/sentry/webhook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def bodies(self) -> list[dict]:
        return [json.loads(raw) for _, raw in self.received]


@pytest.fixture()
def setup() -> Iterator[tuple[SentryEmulator, RunningServer, Receiver]]:
    receiver = Receiver()
    emulator, server = serve()
    emulator.configure_webhook(receiver.url, SECRET)
    yield emulator, server, receiver
    server.stop()
    receiver.stop()


def put(server: RunningServer, token: str, issue_id: str, body: dict) -> requests.Response:
    return requests.put(f"{server.url}/api/0/organizations/acme/issues/{issue_id}/", json=body, timeout=10,
                        headers={"Authorization": f"Bearer {token}"})


def test_signature_verifies_over_the_raw_body(setup: tuple[SentryEmulator, RunningServer, Receiver]) -> None:
    emulator, _, receiver = setup
    emulator.new_error("backend", "ValueError", "naïve café")  # non-ASCII must arrive escaped
    emulator.webhooks.flush()
    (headers, raw), = receiver.received
    expected = hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["Sentry-Hook-Signature"], expected)
    wrong = hmac.new(b"another-secret", raw, hashlib.sha256).hexdigest()
    assert not hmac.compare_digest(headers["Sentry-Hook-Signature"], wrong)
    assert raw.isascii() and b", " not in raw and b'": ' not in raw
    assert list(json.loads(raw)) == ["action", "installation", "data", "actor"]
    assert headers["Sentry-Hook-Resource"] == "issue" and headers["Sentry-Hook-Timestamp"].isdigit()
    assert len(headers["Request-ID"]) == 32 and headers["Content-Type"] == "application/json"


def test_issue_created_payload(setup: tuple[SentryEmulator, RunningServer, Receiver]) -> None:
    emulator, _, receiver = setup
    issue = emulator.new_error("backend", "KeyError", "'id'")["issue"]
    emulator.webhooks.flush()
    body, = receiver.bodies()
    assert body["action"] == "created" and body["installation"] == {"uuid": INSTALLATION_UUID}
    assert body["actor"] == {"type": "application", "id": "sentry", "name": "Sentry"}
    assert body["data"]["issue"]["id"] == issue["id"] and body["data"]["issue"]["web_url"].endswith(f"/{issue['id']}/")


def test_app_token_changes_are_reported_as_the_application(
        setup: tuple[SentryEmulator, RunningServer, Receiver]) -> None:
    emulator, server, receiver = setup
    issue = emulator.new_error("backend", "KeyError", "'id'")["issue"]
    assert put(server, APP_TOKEN, issue["id"], {"status": "resolved"}).status_code == 200
    assert put(server, USER_TOKENS["bob@example.com"], issue["id"], {"assignedTo": "user:2"}).status_code == 200
    emulator.webhooks.flush()
    resolved, assigned = receiver.bodies()[1:]
    assert (resolved["action"], resolved["actor"]) == ("resolved", {"type": "application", "id": APP_UUID,
                                                                    "name": "sentry-ado"})
    assert (assigned["action"], assigned["actor"]) == ("assigned", {"type": "user", "id": 2, "name": "Bob Example"})
    assert assigned["data"]["issue"]["assignedTo"]["email"] == "bob@example.com"


@pytest.mark.parametrize(("flag", "sent"), [
    (False, ["created", "ignored", "resolved", "assigned"]),  # sentry.io's default
    (True, ["created", "ignored", "resolved", "unresolved", "assigned"]),
])
def test_status_webhooks_follow_sentrys_rules(setup: tuple[SentryEmulator, RunningServer, Receiver], flag: bool,
                                              sent: list[str]) -> None:
    emulator, _, receiver = setup
    emulator.set_feature("organizations:webhooks-unresolved", flag)
    issue_id = emulator.new_error("backend", "KeyError", "'id'")["issue"]["id"]
    for change in ({"status": "ignored"}, {"status": "unresolved"}, {"status": "resolved"},
                   {"status": "unresolved"}, {"assignedTo": "alice"}, {"assignedTo": ""}):
        emulator.act("alice", issue_id, change)
    emulator.webhooks.flush()
    # un-archiving sends nothing; unassigning sends nothing; unresolving only behind the flag
    assert [b["action"] for b in receiver.bodies()] == sent
    assert all(b["actor"]["type"] == "user" for b in receiver.bodies()[1:])


def test_regressions_and_escalations_send_unresolved_only_behind_the_flag(
        setup: tuple[SentryEmulator, RunningServer, Receiver]) -> None:
    emulator, _, receiver = setup
    regressed = emulator.new_error("backend", "KeyError", "'a'")["issue"]["id"]
    escalated = emulator.new_error("backend", "TypeError", "'b'")["issue"]["id"]
    emulator.act("alice", regressed, {"status": "resolved"})
    emulator.act("alice", escalated, {"status": "ignored", "substatus": "archived_until_escalating"})
    emulator.new_error("backend", "KeyError", "'a'")
    assert emulator.escalate(escalated)["substatus"] == "escalating"
    emulator.webhooks.flush()
    assert "unresolved" not in [b["action"] for b in receiver.bodies()]
    emulator.set_feature("organizations:webhooks-unresolved", True)
    emulator.act("alice", regressed, {"status": "resolved"})
    emulator.new_error("backend", "KeyError", "'a'")
    emulator.webhooks.flush()
    last = receiver.bodies()[-1]
    assert (last["action"], last["data"]["issue"]["substatus"]) == ("unresolved", "regressed")


def test_comment_webhooks(setup: tuple[SentryEmulator, RunningServer, Receiver]) -> None:
    emulator, server, receiver = setup
    issue = emulator.new_error("backend", "KeyError", "'id'")["issue"]
    note = emulator.comment("bob@example.com", issue["id"], "looking into it")
    bob = {"Authorization": f"Bearer {USER_TOKENS['bob@example.com']}"}
    path = f"{server.url}/api/0/organizations/acme/issues/{issue['id']}/comments/{note['id']}/"
    requests.put(path, json={"text": "fixed in #12"}, headers=bob, timeout=10)
    requests.delete(path, headers=bob, timeout=10)
    emulator.webhooks.flush()
    hooks = receiver.received[1:]
    assert [h["Sentry-Hook-Resource"] for h, _ in hooks] == ["comment"] * 3
    bodies = [json.loads(raw) for _, raw in hooks]
    assert [b["action"] for b in bodies] == ["created", "updated", "deleted"]
    assert [b["data"]["comment"] for b in bodies] == ["looking into it", "fixed in #12", "fixed in #12"]
    assert bodies[0]["data"]["comment_id"] == int(note["id"]) and bodies[0]["data"]["project_slug"] == "backend"


def test_alert_rule_fires_event_alert_with_settings(setup: tuple[SentryEmulator, RunningServer, Receiver]) -> None:
    emulator, _, receiver = setup
    settings = [{"name": "title", "value": "Fix {title}"}, {"name": "areaPath", "value": "Web\\Backend"}]
    emulator.add_alert_rule("Create ADO bug", settings, project="backend")
    emulator.new_error("frontend", "TypeError", "not for this rule")
    emulator.new_error("backend", "KeyError", "'id'")
    emulator.webhooks.flush()
    alerts = [(h, json.loads(raw)) for h, raw in receiver.received if h["Sentry-Hook-Resource"] == "event_alert"]
    body, = [b for _, b in alerts]
    assert body["action"] == "triggered" and body["data"]["triggered_rule"] == "Create ADO bug"
    assert body["data"]["issue_alert"]["settings"] == settings
    assert body["data"]["event"]["exception"]["values"][0]["type"] == "KeyError"


def test_installation_created_goes_to_the_new_app(setup: tuple[SentryEmulator, RunningServer, Receiver]) -> None:
    emulator, _, receiver = setup
    installed = emulator.install(receiver.url, "other-secret", "other-app", "alice")
    emulator.webhooks.flush()
    (headers, raw), = receiver.received
    assert headers["Sentry-Hook-Resource"] == "installation"
    assert headers["Sentry-Hook-Signature"] == hmac.new(b"other-secret", raw, hashlib.sha256).hexdigest()
    assert json.loads(raw)["data"]["installation"]["uuid"] == installed["uuid"]


def test_rejected_update_sends_no_webhook(setup: tuple[SentryEmulator, RunningServer, Receiver]) -> None:
    emulator, server, receiver = setup
    issue = emulator.new_error("backend", "KeyError", "'id'")["issue"]
    assert put(server, APP_TOKEN, issue["id"], {"status": "resolved", "assignedTo": "nobody"}).status_code == 400
    emulator.webhooks.flush()
    assert [b["action"] for b in receiver.bodies()] == ["created"]
    assert emulator.world.issue(issue["id"]).status == "unresolved"


def test_an_answer_slower_than_one_second_is_a_lost_delivery() -> None:
    """Sentry waits 1.0 s for a webhook's answer and never retries an internal integration."""
    slow, fast = Receiver(delay_s=1.3), Receiver()
    emulator, server = serve()
    try:
        emulator.configure_webhook(slow.url, SECRET)
        emulator.new_error("backend", "KeyError", "'slow'")
        emulator.webhooks.flush()
        emulator.configure_webhook(fast.url, SECRET)
        emulator.new_error("backend", "TypeError", "'fast'")
        emulator.webhooks.flush()
    finally:
        server.stop()
        slow.stop()
        fast.stop()
    (lost,) = emulator.webhooks.lost
    assert json.loads(lost.body)["data"]["issue"]["title"].endswith("'slow'")
    assert [status for _, status in emulator.webhooks.delivered] == [None, 200]
