"""AdoClient against a real loopback server: batching, typed errors, caching, paging."""

from __future__ import annotations

import json

import pytest
from werkzeug.wrappers import Request, Response

from shared.ado import endpoints as build
from shared.ado.auth import PatAuth
from shared.ado.client import AdoClient
from shared.ado.errors import (
    AdoBadRequest,
    AdoNotFound,
    AdoRateLimited,
    InvalidFieldValue,
    StaleRevision,
    error_from_response,
)
from tests.ado.scripted_server import FakeTime, reply, serve

PAT = "pat-secret-123"


def client(url: str, fake: FakeTime | None = None, **kwargs: object) -> AdoClient:
    fake = fake or FakeTime()
    return AdoClient(url, PatAuth(PAT), sleep=fake.sleep, clock=fake.clock, wall_clock=fake.clock,
                     **kwargs)  # type: ignore[arg-type]


def echo_batch(request: Request) -> Response:
    ids = json.loads(request.get_data())["ids"]
    return reply({"count": len(ids), "value": [None if i % 100 == 0 else {"id": i, "rev": 1} for i in ids]})


def test_batch_of_450_ids_is_split_200_200_50() -> None:
    with serve(echo_batch) as (app, url):
        items = client(url).get_work_items(range(1, 451), fields=["System.State"])
    bodies = [seen.json() for seen in app.seen]
    assert [len(b["ids"]) for b in bodies] == [200, 200, 50]
    assert all(b["errorPolicy"] == "omit" and b["fields"] == ["System.State"] for b in bodies)
    assert all(seen.path == "/_apis/wit/workitemsbatch" and seen.method == "POST" for seen in app.seen)
    assert [item["id"] for item in items] == [i for i in range(1, 451) if i % 100]


def test_batch_is_retried_on_503_because_it_only_reads() -> None:
    with serve(reply({}, 503), echo_batch) as (app, url):
        assert len(client(url).get_work_items([1, 2])) == 2
    assert len(app.seen) == 2


def test_stale_rev_412_and_409_are_stale_revision() -> None:
    body = {"message": "VS403351: Test Operation for path /rev failed, value 5 was not equal to test value 4.",
            "typeKey": "TestPatchOperationFailedException"}
    ops = [{"op": "add", "path": "/fields/System.State", "value": "Done"}]
    for status in (412, 409):
        with (serve(reply(body, status, {"X-VSS-E2EID": "e2e-9"})) as (app, url),
              pytest.raises(StaleRevision) as info):
            client(url).update_work_item(12, ops, rev=4, project="Proj")
        assert info.value.status == status and info.value.activity_id == "e2e-9"
        assert app.seen[0].json()[0] == {"op": "test", "path": "/rev", "value": 4}
        assert app.seen[0].headers["Content-Type"] == "application/json-patch+json"
        assert app.seen[0].path == "/Proj/_apis/wit/workitems/12"


def test_guarded_patch_is_retried_but_unguarded_is_not() -> None:
    ops = [{"op": "add", "path": "/fields/System.Title", "value": "x"}]
    with serve(reply({}, 503), reply({"id": 1, "rev": 5})) as (app, url):
        assert client(url).update_work_item(1, ops, rev=4)["rev"] == 5
    assert len(app.seen) == 2
    with serve(reply({}, 503), reply({"id": 1, "rev": 5})) as (app, url), pytest.raises(Exception, match="503"):
        client(url).update_work_item(1, ops, rev=None)
    assert len(app.seen) == 1
    # the planner's actions reach the client through the generic send: the /rev guard is read there
    with serve(reply({}, 503), reply({"id": 1, "rev": 5})) as (app, url):
        assert client(url).send(build.update_work_item(1, ops, rev=4))["rev"] == 5
    assert len(app.seen) == 2


def test_create_is_not_replayed_after_timeout_or_5xx() -> None:
    ops = [{"op": "add", "path": "/fields/System.Title", "value": "x"}]
    with serve(reply({}, 500), reply({"id": 1})) as (app, url), pytest.raises(Exception, match="500"):
        client(url).create_work_item("P", "Bug", ops)
    assert len(app.seen) == 1


def test_rule_error_carries_the_field() -> None:
    body = {"message": "TF401320: Rule Error for field State. Error code: LimitedToValues.",
            "typeKey": "RuleValidationException",
            "customProperties": {"RuleValidationErrors": [{"fieldReferenceName": "System.State",
                                                           "errorMessage": "bad"}]}}
    with serve(reply(body, 400)) as (_, url), pytest.raises(InvalidFieldValue) as info:
        client(url).update_work_item(3, [{"op": "add", "path": "/fields/System.State", "value": "Nope"}], 1)
    assert info.value.field == "System.State" and info.value.type_key == "RuleValidationException"


def test_error_classification_is_by_status_and_type_key() -> None:
    plain = error_from_response(400, {}, '{"message":"TF401320: Rule Error for field Severity. x"}', "PATCH", "/p")
    assert isinstance(plain, InvalidFieldValue) and plain.field == "Severity"
    assert isinstance(error_from_response(404, {}, "", "GET", "/x"), AdoNotFound)
    odd = error_from_response(400, {}, '{"count":1,"value":{"Message":"odd shape"}}', "GET", "/x")
    assert isinstance(odd, AdoBadRequest) and odd.message == "odd shape"
    limited = error_from_response(429, {}, "not json", "GET", "/x", retry_after=30)
    assert isinstance(limited, AdoRateLimited) and limited.retry_after == 30


def test_rate_limit_beyond_budget_becomes_rate_limited_error() -> None:
    with serve(reply({"message": "TF400733"}, 429, {"Retry-After": "3600"})) as (_, url), \
            pytest.raises(AdoRateLimited) as info:
        client(url).get_work_item(5)
    assert info.value.retry_after == 3600


def test_comments_follow_continuation_token_and_send_markdown_format() -> None:
    pages = [reply({"comments": [{"id": 1}], "continuationToken": "t2"}),
             reply({"comments": [{"id": 2}], "continuationToken": None})]
    with serve(*pages) as (app, url):
        assert [c["id"] for c in client(url).list_comments("P", 4)] == [1, 2]
    assert app.seen[1].query["continuationToken"] == ["t2"]
    assert app.seen[0].query["api-version"] == ["7.1-preview.4"]
    with serve(reply({"id": 9, "format": "markdown"})) as (app, url):
        client(url).add_comment("P", 4, "**bold**")
    assert app.seen[0].query["format"] == ["markdown"] and app.seen[0].json() == {"text": "**bold**"}


def test_wiql_returns_ids_and_hooks_roundtrip() -> None:
    with serve(reply({"workItems": [{"id": 3, "url": "u"}, {"id": 8, "url": "u"}]})) as (app, url):
        assert client(url).query_ids("P", "SELECT [System.Id] FROM WorkItems") == [3, 8]
    sub = {"publisherId": "tfs", "eventType": "workitem.updated", "consumerId": "webHooks",
           "consumerActionId": "httpRequest", "consumerInputs": {"url": "https://f/api/ado"}}
    with serve(reply({"id": "s-1", **sub}), reply(None, 204)) as (app, url):
        c = client(url)
        assert c.create_hook_subscription(sub)["id"] == "s-1"
        assert c.delete_hook_subscription("s-1") is None
    assert [(s.method, s.path) for s in app.seen] == [("POST", "/_apis/hooks/subscriptions"),
                                                      ("DELETE", "/_apis/hooks/subscriptions/s-1")]


def test_no_secret_in_errors_or_repr() -> None:
    with serve(reply({"message": "nope", "typeKey": "X"}, 400)) as (_, url):
        c = client(url)
        with pytest.raises(AdoBadRequest) as info:
            c.get_work_item(1)
    for text in (str(info.value), repr(info.value), repr(c), repr(c.transport)):
        assert PAT not in text
