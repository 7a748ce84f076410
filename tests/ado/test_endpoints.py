"""The ADO builders render the documented routes and reject bad input before anything is sent."""

from __future__ import annotations

import re

import pytest

from shared.ado import endpoints as ado


def test_create_quotes_type_and_project_and_uses_json_patch() -> None:
    req = ado.create_work_item("My Project", "User Story",
                               [{"op": "add", "path": "/fields/System.Title", "value": "t"}],
                               validate_only=True)
    assert (req.method, req.path) == ("POST", "/My%20Project/_apis/wit/workitems/$User%20Story")
    assert req.query == {"validateOnly": "true", "api-version": "7.1"}
    assert req.content_type == "application/json-patch+json"
    assert req.body == [{"op": "add", "path": "/fields/System.Title", "value": "t"}]


def test_update_prepends_rev_test_only_when_rev_given() -> None:
    ops = [{"op": "replace", "path": "/fields/System.State", "value": "Done"}]
    guarded = ado.update_work_item(7, ops, rev=3)
    assert guarded.body == [{"op": "test", "path": "/rev", "value": 3}, *ops]
    assert guarded.path == "/_apis/wit/workitems/7"
    assert ado.update_work_item(7, ops, rev=None).body == ops
    assert ops == [{"op": "replace", "path": "/fields/System.State", "value": "Done"}]


@pytest.mark.parametrize(("ops", "message"), [
    ([], "non-empty"),
    ([{"op": "set", "path": "/fields/X", "value": 1}], "ops[0].op"),
    ([{"op": "add", "path": "fields/X", "value": 1}], "ops[0].path"),
    ([{"op": "remove", "path": "/fields/X", "value": 1}], "remove"),
    (["add"], "ops[0] must be a dict"),
])
def test_bad_patch_documents_are_named(ops: list, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        ado.update_work_item(1, ops, rev=None)


@pytest.mark.parametrize("bad", [0, -1, "7", True, 1.5])
def test_work_item_id_must_be_positive_int(bad: object) -> None:
    with pytest.raises(ValueError, match="work item id"):
        ado.get_work_item(bad)  # type: ignore[arg-type]


def test_get_rejects_fields_with_expand() -> None:
    assert ado.get_work_item(5, expand="relations").query == {"$expand": "relations", "api-version": "7.1"}
    with pytest.raises(ValueError, match="fields and expand"):
        ado.get_work_item(5, expand="all", fields=["System.Title"])


def test_batch_limit_and_error_policy() -> None:
    req = ado.work_items_batch(list(range(1, 201)), fields=["System.State"])
    assert req.body["errorPolicy"] == "omit" and len(req.body["ids"]) == 200
    assert req.body["fields"] == ["System.State"]
    with pytest.raises(ValueError, match="201"):
        ado.work_items_batch(list(range(1, 202)))
    with pytest.raises(ValueError, match="at least one"):
        ado.work_items_batch([])


def test_chunks_split_450_into_200_200_50_and_drop_repeats() -> None:
    parts = ado.chunks([*range(1, 451), 3, 4])
    assert [len(p) for p in parts] == [200, 200, 50]
    assert [i for p in parts for i in p] == list(range(1, 451))


def test_comments_use_preview_version_and_format() -> None:
    req = ado.add_comment("P", 9, "**hi**", markdown=True)
    assert req.path == "/P/_apis/wit/workItems/9/comments"
    assert req.query == {"format": "markdown", "api-version": "7.1-preview.4"}
    assert ado.add_comment("P", 9, "<b>hi</b>", markdown=False).query["format"] == "html"
    listed = ado.list_comments("P", 9, top=50, continuation_token="abc", order="asc")
    assert listed.query == {"$top": "50", "continuationToken": "abc", "order": "asc",
                            "api-version": "7.1-preview.4"}
    with pytest.raises(ValueError, match="text"):
        ado.add_comment("P", 9, "  ", markdown=True)


def test_metadata_routes() -> None:
    assert ado.work_item_type_states("P", "Bug").path == "/P/_apis/wit/workitemtypes/Bug/states"
    assert ado.work_item_type_fields("P", "Bug", "allowedValues").query["$expand"] == "allowedValues"
    assert ado.classification_nodes("P", depth=2).path == "/P/_apis/wit/classificationnodes/areas"
    assert ado.connection_data().query["api-version"] == "7.1-preview.1"
    with pytest.raises(ValueError, match="structure_group"):
        ado.classification_nodes("P", "teams")
    with pytest.raises(ValueError, match="project"):
        ado.work_item_types("")


def test_wiql_and_hooks() -> None:
    q = ado.wiql("P", "SELECT [System.Id] FROM WorkItems", top=10)
    assert (q.method, q.path, q.body) == ("POST", "/P/_apis/wit/wiql", {"query": "SELECT [System.Id] FROM WorkItems"})
    assert q.query["$top"] == "10"
    sub = {"publisherId": "tfs", "eventType": "workitem.updated", "consumerId": "webHooks",
           "consumerActionId": "httpRequest"}
    assert ado.create_hook_subscription(sub).path == "/_apis/hooks/subscriptions"
    assert ado.replace_hook_subscription("abc", sub).method == "PUT"
    assert ado.delete_hook_subscription("abc").path == "/_apis/hooks/subscriptions/abc"
    with pytest.raises(ValueError, match="consumerId"):
        ado.create_hook_subscription({"publisherId": "tfs", "eventType": "x", "consumerActionId": "y"})
