"""apply_plan against the emulators: comments are carried at most once, even when an earlier attempt
died after its post landed, and while another attempt is posting."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from sandbox.sentry import seed
from sandbox.sentry.emulator import serve
from shared.actions import AddSentryComment
from shared.apply import CommentInFlight, apply_plan
from shared.sentry.client import SentryClient
from shared.store.model import LINKED, Link
from shared.store.sqlite import SqliteLinkStore


@pytest.fixture
def world(tmp_path) -> Iterator[tuple]:
    emulator, server = serve()
    try:
        issue = emulator.new_error("backend", "KeyError", "x")["issue"]
        store = SqliteLinkStore(tmp_path / "links.sqlite")
        link = store.claim(Link(sentry_org="acme", sentry_issue_id=issue["id"], work_item_id=3, state=LINKED))
        yield SentryClient(server.url, seed.APP_TOKEN, "acme"), store, link, issue["id"]
    finally:
        server.stop()


def comments(client: SentryClient, issue_id: str) -> list[str]:
    return [c["data"]["text"] for c in client.list_comments(issue_id)]


def action(issue_id: str, text: str = "**Ava** (via Azure DevOps): done") -> AddSentryComment:
    return AddSentryComment("acme", issue_id, text, "ado:77")


def test_a_comment_is_carried_once(world) -> None:
    client, store, link, issue_id = world
    first = apply_plan([action(issue_id)], link, store, {"sentry": client})
    assert first.done[0]["kind"] == "add_sentry_comment" and "ado:77" in first.link.comment_ids
    again = apply_plan([action(issue_id)], replace(first.link, comment_ids=()), store, {"sentry": client})
    assert again.done[0]["kind"] == "skip"
    assert comments(client, issue_id).count("**Ava** (via Azure DevOps): done") == 1


def test_a_post_that_landed_before_its_attempt_died_is_not_repeated(world) -> None:
    client, store, link, issue_id = world
    client.create_comment(issue_id, "**Ava** (via Azure DevOps): done")  # the earlier attempt's post landed
    store.set_marker("comment", f"acme:{issue_id}:ado:77", {"state": "posting", "at": 0})  # ... then it died
    result = apply_plan([action(issue_id)], link, store, {"sentry": client})
    assert result.done[0]["kind"] == "skip" and "ado:77" in result.link.comment_ids
    assert comments(client, issue_id).count("**Ava** (via Azure DevOps): done") == 1


def test_a_post_that_did_not_land_is_made_and_one_in_flight_waits(world) -> None:
    client, store, link, issue_id = world
    store.set_marker("comment", f"acme:{issue_id}:ado:77", {"state": "posting", "at": 0})  # died before posting
    assert apply_plan([action(issue_id)], link, store, {"sentry": client}).done[0]["kind"] == "add_sentry_comment"
    assert comments(client, issue_id) == ["**Ava** (via Azure DevOps): done"]
    store.set_marker("comment", f"acme:{issue_id}:ado:78", {"state": "posting", "at": time.time()})
    with pytest.raises(CommentInFlight):
        apply_plan([AddSentryComment("acme", issue_id, "other", "ado:78")], link, store, {"sentry": client})
    assert "other" not in comments(client, issue_id)


def test_nothing_is_claimed_or_created_for_a_malformed_issue_id(tmp_path) -> None:
    """The last door, whatever path a creation came by (webhook, reconcile, issue page)."""
    from shared.actions import CreateWorkItem
    from shared.identifiers import MalformedIdentifier

    class NoCalls:
        def send(self, request):  # pragma: no cover - reaching it is the failure
            raise AssertionError(f"a request was sent: {request}")

    store = SqliteLinkStore(tmp_path / "links.sqlite")
    create = CreateWorkItem(Link(sentry_org="acme", sentry_issue_id="0", ado_project="Shop"), "Shop", "Bug",
                            [{"op": "add", "path": "/fields/System.Title", "value": "t"}])
    with pytest.raises(MalformedIdentifier, match="not claiming Sentry issue '0': sentry_issue_id must be"):
        apply_plan([create], None, store, {"ado": NoCalls(), "sentry": NoCalls()})
    assert list(store.iter_pages()) == []
