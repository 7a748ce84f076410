"""apply_plan against the emulators: comments are carried at most once, even when an earlier attempt
died after its post landed, and while another attempt is posting; and a comment whose post failed is
never taken for carried because another comment's copy has the same text."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from sandbox.ado.seed import BRIDGE, DEFAULT_TOKEN
from sandbox.ado.testing import running_ado
from sandbox.sentry import seed
from sandbox.sentry.emulator import serve
from shared.actions import AddAdoComment, AddSentryComment, UpdateSentryIssue
from shared.ado.auth import PatAuth
from shared.ado.client import AdoClient
from shared.apply import CommentInFlight, apply_plan
from shared.mapping.comments import digest
from shared.sentry.client import SentryClient
from shared.sentry.errors import SentryBadRequest
from shared.store import StoreUnavailable
from shared.store.model import LINKED, Link
from shared.store.sqlite import SqliteLinkStore
from shared.transport import RetryPolicy


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


def attempts(actions: list, link: Link, store: SqliteLinkStore, clients: dict, tries: int = 5) -> Link:
    """Apply as the queue does: a failed attempt is tried again (with the link as stored), up to 5 times."""
    for attempt in range(1, tries + 1):
        try:
            return apply_plan(actions, store.get_by_issue(link.sentry_org, link.sentry_issue_id) or link, store,
                              clients).link
        except Exception:
            if attempt == tries:
                raise
    raise AssertionError("unreachable")


def test_a_second_ado_comment_with_the_same_text_gets_its_own_sentry_copy(world) -> None:
    """Sentry refuses a user's same text twice within an hour ("You have already posted that comment."),
    so the first post of an ADO comment that says what another one said fails. Its retry must not take
    the other comment's copy for its own landed post (that lost the comment: no copy, no poison)."""
    client, store, link, issue_id = world
    text = "**Ava** (via Azure DevOps): +1"
    first = apply_plan([AddSentryComment("acme", issue_id, text, "ado:77", digest("+1"))], link, store,
                       {"sentry": client}).link
    second = attempts([AddSentryComment("acme", issue_id, text, "ado:78", digest("+1"))], first, store,
                      {"sentry": client})
    notes = {str(c["id"]): c["data"]["text"] for c in client.list_comments(issue_id)}
    assert len(notes) == 2
    one, two = second.copy_of("ado:77"), second.copy_of("ado:78")
    assert one and two and one[0] != two[0]
    assert notes[two[0].split(":")[1]].startswith(text)


def test_a_failed_post_is_not_mistaken_for_another_comments_copy_with_the_same_text(tmp_path) -> None:
    """An earlier attempt failed (its claim released for a look first); the work item already holds
    another Sentry comment's copy with this very text. The retry posts its own copy."""
    with running_ado() as (ado, _server):
        item = ado.create_work_item("Shop", "Bug", [{"op": "add", "path": "/fields/System.Title", "value": "t"}],
                                    BRIDGE, notify=False)
        client = AdoClient(ado.base_url, PatAuth(DEFAULT_TOKEN), policy=RetryPolicy(max_attempts=1))
        store = SqliteLinkStore(tmp_path / "links.sqlite")
        link = store.claim(Link(sentry_org="acme", sentry_issue_id="5", ado_project="Shop", work_item_id=item.id,
                                state=LINKED))
        text = "**Alice** (via Sentry): same here"
        first = apply_plan([AddAdoComment("Shop", item.id, text, True, "sentry:1", digest("same here"))], link,
                           store, {"ado": client}).link
        store.set_marker("comment", "acme:5:sentry:2", {"state": "posting", "at": 0})  # the failed attempt
        second = apply_plan([AddAdoComment("Shop", item.id, text, True, "sentry:2", digest("same here"))], first,
                            store, {"ado": client}).link
        copies = [c for c in client.list_comments("Shop", item.id) if c["text"] == text]
        assert len(copies) == 2
        assert {second.copy_of("sentry:1")[0], second.copy_of("sentry:2")[0]} == {f"ado:{c['id']}" for c in copies}


class FailingSaves(SqliteLinkStore):
    """The link store refuses the next `failures` saves (the post before them has landed)."""

    failures = 0

    def save(self, link: Link) -> Link:
        if self.failures:
            self.failures -= 1
            raise StoreUnavailable("link store unreachable")
        return super().save(link)


def test_a_retry_after_the_save_failed_keeps_the_copy_so_edits_reach_it(tmp_path, world) -> None:
    """The post landed, then saving the link failed: the retry finds the comment done and still maps its
    copy (otherwise the comment's later edits and deletion could never reach it)."""
    client, _, _, issue_id = world
    store = FailingSaves(tmp_path / "failing.sqlite")
    link = store.claim(Link(sentry_org="acme", sentry_issue_id=issue_id, work_item_id=3, state=LINKED))
    store.failures = 1
    with pytest.raises(StoreUnavailable):
        apply_plan([action(issue_id)], link, store, {"sentry": client})
    again = apply_plan([action(issue_id)], store.get_by_issue("acme", issue_id), store, {"sentry": client})
    [note] = client.list_comments(issue_id)
    assert again.link.copy_of("ado:77") == (f"sentry:{note['id']}", "")


def test_a_release_resolve_sentry_refuses_for_want_of_a_release_is_sent_plainly(world) -> None:
    """The issue's project has no release: Sentry refuses ``inNextRelease`` (400 on statusDetails)
    and the same update is sent without it; any other refusal is raised."""
    client, store, link, issue_id = world
    resolve = UpdateSentryIssue("acme", issue_id, {"status": "resolved", "statusDetails": {"inNextRelease": True}},
                                {"sentry_status": "resolved"})
    done = apply_plan([resolve], link, store, {"sentry": client})
    issue = client.get_issue(issue_id)
    assert (issue["status"], issue["statusDetails"]) == ("resolved", {})
    assert done.link.synced.sentry_status == "resolved"
    wrong = UpdateSentryIssue("acme", issue_id, {"status": "resolved", "substatus": "ongoing",
                                                 "statusDetails": {"inNextRelease": True}})
    with pytest.raises(SentryBadRequest):
        apply_plan([wrong], done.link, store, {"sentry": client})
