"""Issue details carry the activity log Sentry keeps (reconciliation reads it to date a change)."""

from __future__ import annotations

import requests

from sandbox.sentry import seed
from sandbox.sentry.emulator import serve


def test_status_and_assignee_changes_are_logged_newest_first() -> None:
    emulator, server = serve()
    try:
        issue = emulator.new_error("backend", "KeyError", "x")["issue"]
        emulator.act("alice@example.com", issue["id"], {"status": "resolved"})
        emulator.act("alice@example.com", issue["id"], {"assignedTo": "bob@example.com"})
        emulator.act("alice@example.com", issue["id"], {"assignedTo": ""})
        details = requests.get(f"{server.url}/api/0/organizations/acme/issues/{issue['id']}/", timeout=10,
                               headers={"Authorization": f"Bearer {seed.APP_TOKEN}"}).json()
        assert [a["type"] for a in details["activity"]] == ["unassigned", "assigned", "set_resolved"]
        assert all(a["dateCreated"].endswith("Z") for a in details["activity"])
    finally:
        server.stop()
