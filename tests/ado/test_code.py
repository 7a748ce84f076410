"""Build and commit requests, and commit paging past 100 against a loopback server."""

from __future__ import annotations

import json

import pytest
from werkzeug.wrappers import Request, Response

from shared.ado import code_requests as code
from shared.ado.auth import PatAuth
from shared.ado.client import AdoClient
from tests.ado.scripted_server import FakeTime, reply, serve

OLD, NEW = "a" * 40, "b" * 40


def test_commits_batch_body_direction_and_paging_params() -> None:
    req = code.commits_batch("P", "repo-id", OLD, NEW, top=100, skip=200)
    assert req.path == "/P/_apis/git/repositories/repo-id/commitsbatch"
    assert req.query == {"$top": "100", "$skip": "200", "api-version": "7.1"}
    assert req.body == {"compareVersion": {"versionType": "commit", "version": NEW},
                        "itemVersion": {"versionType": "commit", "version": OLD}}
    assert "itemVersion" not in code.commits_batch("P", "r", None, NEW).body


@pytest.mark.parametrize(("call", "message"), [
    (lambda: code.commits_batch("P", "r", "zz", NEW), "item_version"),
    (lambda: code.commits_batch("P", "r", OLD, NEW, top=0), "top"),
    (lambda: code.get_build("P", 0), "build id"),
    (lambda: code.commit_changes("P", "", NEW), "repository"),
])
def test_bad_inputs_are_named(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_commits_between_pages_past_100_and_stops_on_a_short_page() -> None:
    def history(request: Request) -> Response:
        top, skip = int(request.args["$top"]), int(request.args["$skip"])
        total = 230
        return reply({"count": 0, "value": [{"commitId": f"{i:040x}"} for i in range(skip, min(skip + top, total))]})

    fake = FakeTime()
    with serve(history) as (app, url):
        client = AdoClient(url, PatAuth("p"), sleep=fake.sleep)
        commits = client.commits_between("P", "r", OLD, NEW)
        capped = client.commits_between("P", "r", OLD, NEW, max_commits=150)
    assert [c["commitId"] for c in commits] == [f"{i:040x}" for i in range(230)]
    assert [s.query["$skip"][0] for s in app.seen[:3]] == ["0", "100", "200"]
    assert len(capped) == 150 and app.seen[-1].query["$top"] == ["50"]
    assert json.loads(app.seen[0].body)["itemVersion"]["version"] == OLD


def test_build_and_commit_changes() -> None:
    pages = [reply({"changes": [{"item": {"path": f"/f{i}"}} for i in range(2)]}),
             reply({"changes": [{"item": {"path": "/last"}}]})]
    with serve(reply({"id": 7, "sourceVersion": NEW}), *pages) as (app, url):
        client = AdoClient(url, PatAuth("p"))
        assert client.get_build("P", 7)["sourceVersion"] == NEW
        changes = client.commit_changes("P", "r", NEW, page_size=2)
    assert [c["item"]["path"] for c in changes] == ["/f0", "/f1", "/last"]
    assert app.seen[0].path == "/P/_apis/build/builds/7"
    assert app.seen[2].query["skip"] == ["2"]
