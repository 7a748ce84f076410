"""The ADO emulator, driven over HTTP: the official client, refusals, auth, hooks, journal, control."""

from __future__ import annotations

import base64
import json
import os
import tempfile

os.environ.setdefault("AZURE_DEVOPS_CACHE_DIR", tempfile.mkdtemp(prefix="ado-client-cache-"))

import pytest
import requests
from azure.devops.connection import Connection
from azure.devops.exceptions import AzureDevOpsServiceError
from azure.devops.v7_1.work_item_tracking.models import JsonPatchOperation
from msrest.authentication import BasicAuthentication

from sandbox.ado.seed import BRIDGE, DEFAULT_TOKEN
from sandbox.core import Faults

PATCH_JSON = "application/json-patch+json"


def _session(token: str = DEFAULT_TOKEN) -> requests.Session:
    s = requests.Session()
    s.headers["Authorization"] = "Basic " + base64.b64encode(f":{token}".encode()).decode()
    s.headers["X-TFS-FedAuthRedirect"] = "Suppress"
    return s


def _create(ado, title: str = "Crash in checkout", type_: str = "Bug", project: str = "Shop",
            extra: list | None = None, session: requests.Session | None = None) -> dict:
    ops = [{"op": "add", "path": "/fields/System.Title", "value": title}, *(extra or [])]
    r = (session or _session()).post(f"{ado.base_url}/{project}/_apis/wit/workitems/${type_}",
                                     params={"api-version": "7.1"}, json=ops,
                                     headers={"Content-Type": PATCH_JSON})
    assert r.status_code == 200, r.text
    return r.json()


def _patch(ado, wid: int, ops: list, **params) -> requests.Response:
    return _session().patch(f"{ado.base_url}/_apis/wit/workitems/{wid}", params={"api-version": "7.1", **params},
                            data=json.dumps(ops), headers={"Content-Type": PATCH_JSON})


def _subscribe(ado, receiver, event: str, **inputs) -> dict:
    body = {"publisherId": "tfs", "eventType": event, "resourceVersion": "1.0", "consumerId": "webHooks",
            "consumerActionId": "httpRequest", "publisherInputs": {"projectId": ado.project("Shop").id},
            "consumerInputs": {"url": f"{receiver.url}/hook", **inputs}}
    r = _session().post(f"{ado.base_url}/_apis/hooks/subscriptions", params={"api-version": "7.1"}, json=body)
    assert r.status_code == 200, r.text
    return r.json()


# ----- the official azure-devops client ---------------------------------------------------------
def test_official_client_creates_updates_and_reads_a_work_item(ado):
    conn = Connection(base_url=ado.base_url, creds=BasicAuthentication("", DEFAULT_TOKEN))
    wit = conn.clients_v7_1.get_work_item_tracking_client()
    created = wit.create_work_item([JsonPatchOperation(op="add", path="/fields/System.Title", value="Null ref"),
                                    JsonPatchOperation(op="add", path="/fields/Microsoft.VSTS.Common.Severity",
                                                       value="2 - High")], "Shop", "Bug")
    assert created.rev == 1
    assert created.fields["System.State"] == "New"
    assert created.fields["System.ChangedBy"]["uniqueName"] == BRIDGE.unique_name
    updated = wit.update_work_item([JsonPatchOperation(op="test", path="/rev", value=1),
                                    JsonPatchOperation(op="add", path="/fields/System.State", value="Active")],
                                   created.id)
    assert (updated.rev, updated.fields["System.State"]) == (2, "Active")
    read = wit.get_work_item(created.id, expand="All")
    assert read.fields["System.Title"] == "Null ref"
    assert read.fields["Microsoft.VSTS.Common.Severity"] == "2 - High"
    assert read.rev == 2


def test_official_client_sees_412_for_a_stale_rev(ado):
    wit = Connection(base_url=ado.base_url, creds=BasicAuthentication("", DEFAULT_TOKEN)) \
        .clients_v7_1.get_work_item_tracking_client()
    created = wit.create_work_item([JsonPatchOperation(op="add", path="/fields/System.Title", value="x")],
                                   "Shop", "Task")
    with pytest.raises(AzureDevOpsServiceError) as info:
        wit.update_work_item([JsonPatchOperation(op="test", path="/rev", value=7),
                              JsonPatchOperation(op="add", path="/fields/System.Title", value="y")], created.id)
    assert info.value.type_key == "TestPatchOperationFailedException"


# ----- what the real service rejects ---------------------------------------------------------
def test_missing_api_version_is_400_with_wrapped_exception(ado):
    r = _session().get(f"{ado.base_url}/_apis/wit/workitems/1")
    assert r.status_code == 400
    body = r.json()
    assert body["typeKey"] == "VssVersionNotSpecifiedException"
    assert set(body) >= {"$id", "innerException", "message", "typeName", "typeKey", "errorCode", "eventId"}


def test_api_version_in_accept_header_is_honoured(ado):
    item = _create(ado)
    r = _session().get(f"{ado.base_url}/_apis/wit/workitems/{item['id']}",
                       headers={"Accept": "application/json;api-version=7.1"})
    assert r.status_code == 200 and r.json()["id"] == item["id"]


def test_wrong_content_type_for_a_patch_is_415(ado):
    item = _create(ado)
    r = _session().patch(f"{ado.base_url}/_apis/wit/workitems/{item['id']}", params={"api-version": "7.1"},
                         json=[{"op": "add", "path": "/fields/System.Title", "value": "z"}])
    assert r.status_code == 415
    assert r.json()["typeKey"] == "VssRequestContentTypeNotSupportedException"


def test_bad_patch_op_is_400_and_changes_nothing(ado):
    item = _create(ado)
    r = _patch(ado, item["id"], [{"op": "frobnicate", "path": "/fields/System.Title", "value": "z"}])
    assert r.status_code == 400
    assert "frobnicate" in r.json()["message"]
    assert ado.work_item(item["id"]).rev == 1


def test_stale_rev_is_412_and_changes_nothing(ado):
    item = _create(ado)
    assert _patch(ado, item["id"], [{"op": "add", "path": "/fields/System.Title", "value": "v2"}]).status_code == 200
    r = _patch(ado, item["id"], [{"op": "test", "path": "/rev", "value": 1},
                                 {"op": "add", "path": "/fields/System.Title", "value": "v3"}])
    assert r.status_code == 412
    assert r.json()["typeKey"] == "TestPatchOperationFailedException"
    assert ado.work_item(item["id"]).current.fields["System.Title"] == "v2"


def test_state_the_type_lacks_is_tf401320(ado):
    item = _create(ado)  # Agile Bug has no Removed state
    r = _patch(ado, item["id"], [{"op": "add", "path": "/fields/System.State", "value": "Removed"}])
    assert r.status_code == 400
    assert r.json()["message"].startswith("TF401320")
    assert r.json()["typeKey"] == "RuleValidationException"


def test_custom_process_state_is_accepted(ado):
    item = _create(ado, project="Custom", extra=[{"op": "add", "path": "/fields/Custom.Team", "value": "Payments"}])
    r = _patch(ado, item["id"], [{"op": "add", "path": "/fields/System.State", "value": "Triaged"}])
    assert r.status_code == 200
    states = _session().get(f"{ado.base_url}/Custom/_apis/wit/workitemtypes/Bug/states",
                            params={"api-version": "7.1"}).json()["value"]
    assert {"name": "Triaged", "color": "007acc", "category": "InProgress"} in states


@pytest.mark.parametrize(("project", "type_", "required"), [
    ("Basic", "Issue", {"System.Title": None}),
    ("Shop", "Bug", {"System.Title": None}),
    ("Shop", "User Story", {"System.Title": None, "Microsoft.VSTS.Common.ValueArea": "Business"}),
    ("Scrum", "Product Backlog Item", {"System.Title": None, "Microsoft.VSTS.Common.ValueArea": "Business"}),
    ("Scrum", "Bug", {"System.Title": None}),
    ("CMMI", "Requirement", {"System.Title": None, "Microsoft.VSTS.Common.ValueArea": "Business",
                             "Microsoft.VSTS.CMMI.RequirementType": "Functional"}),
    ("Custom", "Bug", {"System.Title": None, "Custom.Team": None}),
])
def test_required_fields_are_reported_filled_by_default_and_enforced(ado, project, type_, required):
    """Work Item Types Field - List says ``alwaysRequired`` and ``defaultValue`` per the type's rules;
    a create leaves a defaulted field to its default and is refused (TF401320) without the others."""
    fields = _session().get(f"{ado.base_url}/{project}/_apis/wit/workitemtypes/{type_}/fields",
                            params={"api-version": "7.1", "$expand": "allowedValues"}).json()["value"]
    reported = {f["referenceName"]: f.get("defaultValue") for f in fields if f["alwaysRequired"]}
    reported.pop("Microsoft.VSTS.Common.Priority", None)
    assert reported == required
    values = {f["referenceName"]: f["allowedValues"] for f in fields}
    for ref, default in required.items():
        if default is not None:
            assert default in values[ref]
    blank = {ref for ref, default in required.items() if default is None and ref != "System.Title"}
    r = _session().post(f"{ado.base_url}/{project}/_apis/wit/workitems/${type_}", params={"api-version": "7.1"},
                        json=[{"op": "add", "path": "/fields/System.Title", "value": "t"}],
                        headers={"Content-Type": PATCH_JSON})
    if blank:
        assert r.status_code == 400 and r.json()["message"].startswith("TF401320: Rule Error for field Team")
        assert r.json()["customProperties"]["RuleValidationErrors"][0]["fieldReferenceName"] == "Custom.Team"
    else:
        assert r.status_code == 200, r.text
        assert all(r.json()["fields"][ref] == default for ref, default in required.items() if default is not None)


def test_severity_on_a_type_without_it_is_refused(ado):
    r = _session().post(f"{ado.base_url}/Basic/_apis/wit/workitems/$Issue", params={"api-version": "7.1"},
                        json=[{"op": "add", "path": "/fields/System.Title", "value": "t"},
                              {"op": "add", "path": "/fields/Microsoft.VSTS.Common.Severity", "value": "2 - High"}],
                        headers={"Content-Type": PATCH_JSON})
    assert r.status_code == 400 and "TF51535" in r.json()["message"]
    assert ado.items == {}


def test_unknown_assignee_is_refused_and_known_one_reads_as_identity_ref(ado):
    item = _create(ado)
    bad = _patch(ado, item["id"], [{"op": "add", "path": "/fields/System.AssignedTo", "value": "nobody@x.com"}])
    assert bad.status_code == 400 and bad.json()["errorCode"] == 600171
    ok = _patch(ado, item["id"], [{"op": "add", "path": "/fields/System.AssignedTo", "value": "ava@contoso.com"}])
    assert ok.json()["fields"]["System.AssignedTo"]["displayName"] == "Ava Chen"


def test_batch_over_200_ids_is_vs403474(ado):
    r = _session().post(f"{ado.base_url}/_apis/wit/workitemsbatch", params={"api-version": "7.1"},
                        json={"ids": list(range(1, 202))})
    assert r.status_code == 400 and r.json()["message"].startswith("VS403474")


def test_batch_omit_returns_null_for_missing_and_deleted(ado):
    a, b = _create(ado, "a"), _create(ado, "b")
    ado.act_delete(b["id"], "Ava Chen <ava@contoso.com>")
    r = _session().post(f"{ado.base_url}/_apis/wit/workitemsbatch", params={"api-version": "7.1"},
                        json={"ids": [a["id"], b["id"], 999], "fields": ["System.Title"], "errorPolicy": "omit"})
    values = r.json()["value"]
    assert values[0]["fields"] == {"System.Title": "a"} and values[1:] == [None, None]
    fail = _session().post(f"{ado.base_url}/_apis/wit/workitemsbatch", params={"api-version": "7.1"},
                           json={"ids": [a["id"], 999]})
    assert fail.status_code == 404


def test_comments_api_requires_preview_version_and_keeps_format(ado):
    item = _create(ado)
    url = f"{ado.base_url}/Shop/_apis/wit/workItems/{item['id']}/comments"
    refused = _session().post(url, params={"api-version": "7.1", "format": "markdown"}, json={"text": "x"})
    assert refused.status_code == 400 and refused.json()["typeKey"] == "VssInvalidPreviewVersionException"
    r = _session().post(url, params={"api-version": "7.1-preview.4", "format": "markdown"}, json={"text": "**b**"})
    assert r.status_code == 200 and r.json()["format"] == "markdown"
    listed = _session().get(url, params={"api-version": "7.1-preview.4", "$expand": "renderedText"}).json()
    assert listed["totalCount"] == 1 and "<strong>b</strong>" in listed["comments"][0]["renderedText"]
    assert ado.work_item(item["id"]).current.fields["System.CommentCount"] == 1


def test_comment_edit_and_delete_keep_versions_move_the_changed_date(ado):
    item = _create(ado)
    url = f"{ado.base_url}/Shop/_apis/wit/workItems/{item['id']}/comments"
    preview = {"api-version": "7.1-preview.4", "format": "markdown"}
    made = _session().post(url, params=preview, json={"text": "first"}).json()
    changed = ado.work_item(item["id"]).current.fields["System.ChangedDate"]
    other = ado.person("Ava Chen <ava@contoso.com>")
    with pytest.raises(Exception, match="only edit or delete comments that you created"):
        ado.edit_comment(item["id"], made["id"], "not mine", other)
    edited = _session().patch(f"{url}/{made['id']}", params=preview, json={"text": "second"})
    assert edited.status_code == 200 and edited.json()["version"] == 2 and edited.json()["text"] == "second"
    fields = ado.work_item(item["id"]).current.fields
    assert fields["System.ChangedDate"] >= changed and fields["System.CommentCount"] == 1
    versions = _session().get(f"{url}/{made['id']}/versions", params={"api-version": "7.1-preview.4"}).json()
    assert [(v["version"], v["text"]) for v in versions["value"]] == [(1, "first"), (2, "second")]
    gone = _session().delete(f"{url}/{made['id']}", params={"api-version": "7.1-preview.4"})
    assert gone.status_code == 200
    assert _session().get(url, params={"api-version": "7.1-preview.4"}).json()["totalCount"] == 0
    kept = _session().get(url, params={"api-version": "7.1-preview.4", "includeDeleted": "true"}).json()
    assert kept["comments"][0]["isDeleted"] is True
    assert ado.work_item(item["id"]).current.fields["System.CommentCount"] == 0
    assert _session().delete(f"{url}/{made['id']}", params={"api-version": "7.1-preview.4"}).status_code == 404


def test_wiql_filters_by_project_state_and_changed_date(ado):
    a = _create(ado, "a")
    _create(ado, "b", project="Scrum")
    _patch(ado, a["id"], [{"op": "add", "path": "/fields/System.State", "value": "Active"}])
    q = ("SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project AND [System.State] = 'Active' "
         "AND [System.ChangedDate] >= '2000-01-01T00:00:00Z'")
    r = _session().post(f"{ado.base_url}/Shop/_apis/wit/wiql", params={"api-version": "7.1", "timePrecision": "true"},
                        json={"query": q})
    assert [w["id"] for w in r.json()["workItems"]] == [a["id"]]
    no_precision = _session().post(f"{ado.base_url}/Shop/_apis/wit/wiql", params={"api-version": "7.1"},
                                   json={"query": q})
    assert no_precision.status_code == 400 and "VS402625" in no_precision.json()["message"]


def test_recycle_bin_delete_get_404_and_restore(ado):
    item = _create(ado)
    s = _session()
    assert s.delete(f"{ado.base_url}/Shop/_apis/wit/workitems/{item['id']}",
                    params={"api-version": "7.1"}).status_code == 200
    assert s.get(f"{ado.base_url}/_apis/wit/workitems/{item['id']}", params={"api-version": "7.1"}).status_code == 404
    r = s.patch(f"{ado.base_url}/Shop/_apis/wit/recyclebin/{item['id']}", params={"api-version": "7.1"},
                json={"isDeleted": False})
    assert r.status_code == 200
    assert s.get(f"{ado.base_url}/_apis/wit/workitems/{item['id']}", params={"api-version": "7.1"}).status_code == 200


# ----- auth ---------------------------------------------------------------------------------
def test_bad_token_is_401_with_suppress_and_203_sign_in_page_without(ado):
    url = f"{ado.base_url}/_apis/projects"
    r = _session("wrong").get(url, params={"api-version": "7.1"})
    assert r.status_code == 401 and r.json()["typeKey"] == "UnauthorizedRequestException"
    r = requests.get(url, params={"api-version": "7.1"}, auth=("", "wrong"), timeout=10)
    assert r.status_code == 203 and r.headers["Content-Type"].startswith("text/html")


def test_token_identity_is_changed_by_and_connection_data_user(ado):
    ado.add_token("ava-token", "Ava Chen <ava@contoso.com>")
    s = _session("ava-token")
    item = _create(ado, session=s)
    assert item["fields"]["System.ChangedBy"]["uniqueName"] == "ava@contoso.com"
    bearer = requests.get(f"{ado.base_url}/_apis/connectionData", headers={"Authorization": "Bearer ava-token"},
                          timeout=10)
    assert bearer.json()["authenticatedUser"]["providerDisplayName"] == "Ava Chen"


# ----- service hooks ---------------------------------------------------------------------------
def test_updated_hook_has_old_and_new_values_revised_by_and_custom_header(ado, receiver):
    sub = _subscribe(ado, receiver, "workitem.updated", httpHeaders="X-Hook-Secret:abc")
    item = _create(ado)
    ado.act_update(item["id"], {"System.State": "Active", "System.AssignedTo": "jamal@contoso.com"},
                   "Jamal Hartnett <jamal@contoso.com>")
    ado.webhooks.flush()
    [hook] = receiver.of_type("workitem.updated")
    assert hook.headers["X-Hook-Secret"] == "abc"
    body = hook.body
    assert body["subscriptionId"] == sub["id"] and body["publisherId"] == "tfs"
    assert body["resourceContainers"]["project"]["id"] == ado.project("Shop").id
    assert {"notificationId", "id", "message", "detailedMessage", "resourceVersion", "createdDate"} <= set(body)
    res = body["resource"]
    assert res["workItemId"] == item["id"] and res["rev"] == 2
    assert res["fields"]["System.State"] == {"oldValue": "New", "newValue": "Active"}
    assert res["fields"]["System.AssignedTo"] == {"newValue": "Jamal Hartnett <jamal@contoso.com>"}
    assert res["revisedBy"]["uniqueName"] == "jamal@contoso.com"
    assert res["revision"]["fields"]["System.ChangedBy"] == "Jamal Hartnett <jamal@contoso.com>"


def test_created_commented_deleted_restored_hooks_with_basic_auth(ado, receiver):
    for event in ("workitem.created", "workitem.commented", "workitem.deleted", "workitem.restored"):
        _subscribe(ado, receiver, event, basicAuthUsername="ado", basicAuthPassword="s3cret")
    item = _create(ado)
    ado.act_comment(item["id"], "looking", "Ava Chen <ava@contoso.com>")
    ado.act_delete(item["id"], "Ava Chen <ava@contoso.com>")
    ado.act_restore(item["id"], "Ava Chen <ava@contoso.com>")
    ado.webhooks.flush()
    assert [h.body["eventType"] for h in receiver.received] == [
        "workitem.created", "workitem.commented", "workitem.deleted", "workitem.restored"]
    expected = "Basic " + base64.b64encode(b"ado:s3cret").decode()
    assert all(h.headers["Authorization"] == expected for h in receiver.received)
    commented = receiver.of_type("workitem.commented")[0].body["resource"]
    assert commented["fields"]["System.History"] == "looking"
    assert commented["commentVersionRef"]["commentId"] >= 1
    assert "recycleBin" in receiver.of_type("workitem.deleted")[0].body["resource"]["url"]


def test_disabled_subscription_delivers_nothing(ado, receiver):
    sub = _subscribe(ado, receiver, "workitem.created")
    r = requests.post(f"{ado.host}/_sandbox/subscriptions/{sub['id']}/status", json={"status": "disabledBySystem"},
                      timeout=10)
    assert r.status_code == 200
    _create(ado)
    ado.webhooks.flush()
    assert receiver.received == []
    listed = _session().get(f"{ado.base_url}/_apis/hooks/subscriptions", params={"api-version": "7.1"}).json()
    assert listed["value"][0]["status"] == "disabledBySystem"


def test_changed_fields_filter(ado, receiver):
    _subscribe(ado, receiver, "workitem.updated")
    body = {"publisherId": "tfs", "eventType": "workitem.updated", "consumerId": "webHooks",
            "consumerActionId": "httpRequest", "publisherInputs": {"changedFields": "System.State"},
            "consumerInputs": {"url": f"{receiver.url}/state-only"}}
    assert _session().post(f"{ado.base_url}/_apis/hooks/subscriptions", params={"api-version": "7.1"},
                           json=body).status_code == 200
    item = _create(ado)
    ado.act_update(item["id"], {"System.Title": "renamed"}, "Ava Chen <ava@contoso.com>")
    ado.act_update(item["id"], {"System.State": "Active"}, "Ava Chen <ava@contoso.com>")
    ado.webhooks.flush()
    assert [h.path for h in receiver.received].count("/state-only") == 1
    assert [h.path for h in receiver.received].count("/hook") == 2


def test_subscription_with_bad_url_is_refused(ado):
    body = {"publisherId": "tfs", "eventType": "workitem.updated", "consumerId": "webHooks",
            "consumerActionId": "httpRequest", "consumerInputs": {"url": "not a url"}}
    r = _session().post(f"{ado.base_url}/_apis/hooks/subscriptions", params={"api-version": "7.1"}, json=body)
    assert r.status_code == 400 and "not a url" in r.json()["message"]
    assert ado.subscriptions == {}


# ----- journal, control, faults ------------------------------------------------------------------
def test_journal_records_requests(ado):
    _create(ado, "journalled")
    entries = [json.loads(line) for line in
               requests.get(f"{ado.host}/_sandbox/journal", timeout=10).text.splitlines()]
    assert entries[-1]["method"] == "POST" and entries[-1]["path"] == "/contoso/Shop/_apis/wit/workitems/$Bug"
    assert entries[-1]["body"][0]["value"] == "journalled"


def test_control_endpoint_acts_as_a_person(ado):
    item = _create(ado)
    r = requests.post(f"{ado.host}/_sandbox/workitems/{item['id']}/update",
                      json={"as": "Priya Natarajan <priya@contoso.com>", "fields": {"System.State": "Resolved"}},
                      timeout=10)
    assert r.status_code == 200
    fields = ado.work_item(item["id"]).current.fields
    assert fields["System.State"] == "Resolved" and fields["System.ChangedBy"].display_name == "Priya Natarajan"
    bad = requests.post(f"{ado.host}/_sandbox/workitems/{item['id']}/update", json={"fields": {"System.State": "x"}},
                        timeout=10)
    assert bad.status_code == 400 and "'as'" in bad.json()["error"]


def test_rate_limit_fault_carries_ado_headers(ado):
    ado.set_faults(Faults(rate_limit_rate=1.0, retry_after_s=0.5))
    r = _session().get(f"{ado.base_url}/_apis/projects", params={"api-version": "7.1"})
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "0.5"
    for header in ("X-RateLimit-Resource", "X-RateLimit-Delay", "X-RateLimit-Limit", "X-RateLimit-Remaining",
                   "X-RateLimit-Reset"):
        assert header in r.headers
    assert r.json()["message"].startswith("TF400733")


def test_test_button_sends_the_canned_sample_and_reports_the_answer(ado, receiver):
    sub = _subscribe(ado, receiver, "workitem.updated", httpHeaders="X-Hook-Secret:abc")
    r = _session().post(f"{ado.base_url}/_apis/hooks/testnotifications", params={"api-version": "7.1"},
                        json={"subscriptionId": sub["id"]})
    assert r.status_code == 200, r.text
    assert r.json()["result"] == "succeeded" and r.json()["details"]["consumerInputs"]["httpHeaders"] == \
        "X-Hook-Secret:********"
    (hook,) = receiver.received
    assert hook.headers["X-Hook-Secret"] == "abc"
    assert hook.body["subscriptionId"] == sub["id"] and hook.body["notificationId"] >= 1
    assert hook.body["resource"]["workItemId"] == 0 and hook.body["resource"]["revisedBy"] is None
    assert hook.body["resourceContainers"]["collection"]["id"] == "c12d0eb8-e382-443b-9f9c-c52cba5014c2"


def test_test_button_before_saving_uses_the_dialog_inputs_and_reports_a_refusal(ado, receiver):
    receiver.status = 400
    details = {"publisherId": "tfs", "eventType": "workitem.commented", "consumerId": "webHooks",
               "consumerActionId": "httpRequest", "consumerInputs": {"url": f"{receiver.url}/hook"}}
    r = _session().post(f"{ado.base_url}/_apis/hooks/testnotifications", params={"api-version": "7.1"},
                        json={"details": details})
    assert r.status_code == 200 and r.json()["result"] == "failed" and "400" in r.json()["details"]["response"]
    assert receiver.received[0].body["subscriptionId"] == "00000000-0000-0000-0000-000000000000"
    assert receiver.received[0].body["resource"]["fields"]["System.History"] == "This is a great new idea"


def test_a_pat_without_the_scope_is_refused_with_401_tf400813(ado):
    """Azure DevOps refuses a valid token lacking an operation's scope (per the spec's security)
    with the same 401 TF400813 as a wrong token, naming no scope; a broader scope includes the
    narrower one (vso.work_write admits reads)."""
    ado.add_token("read-only", "Reader <reader@contoso.com>", ["vso.work"])
    ado.add_token("read-write", "Writer <writer@contoso.com>", ["vso.work_write"])
    ado.add_token("code-only", "Coder <coder@contoso.com>", ["vso.code"])
    item = _create(ado)
    assert _session("read-only").get(f"{ado.base_url}/_apis/wit/workitems/{item['id']}",
                                     params={"api-version": "7.1"}).status_code == 200
    refused = _session("read-only").patch(f"{ado.base_url}/_apis/wit/workitems/{item['id']}",
                                          params={"api-version": "7.1"}, headers={"Content-Type": PATCH_JSON},
                                          data=json.dumps([{"op": "add", "path": "/fields/System.Title",
                                                            "value": "x"}]))
    assert refused.status_code == 401 and refused.json()["typeKey"] == "UnauthorizedRequestException"
    assert refused.json()["message"].startswith("TF400813") and "scope" not in refused.json()["message"]
    assert ado.work_item(item["id"]).current.fields["System.Title"] == "Crash in checkout"  # nothing changed
    _create(ado, session=_session("read-write"))
    assert _session("code-only").get(f"{ado.base_url}/_apis/wit/workitems/{item['id']}",
                                     params={"api-version": "7.1"}).status_code == 401
    assert _session("code-only").get(f"{ado.base_url}/_apis/hooks/subscriptions",
                                     params={"api-version": "7.1"}).status_code == 200  # vso.code admits hooks


def test_server_mode_is_a_collection_with_domain_accounts_html_and_localized_states(receiver):
    from sandbox.ado.emulator import AdoEmulator
    from sandbox.core import RunningServer

    ado = AdoEmulator(server=True)
    server = RunningServer(ado)
    ado.host = server.url
    try:
        assert ado.base_url == f"{server.url}/tfs/DefaultCollection"
        me = _session().get(f"{ado.base_url}/_apis/connectionData").json()
        assert me["deploymentType"] == "onPremises"
        assert me["authenticatedUser"]["properties"]["Account"]["$value"] == "CONTOSO\\sentry-bridge"
        states = _session().get(f"{ado.base_url}/Shop/_apis/wit/workitemtypes/Bug/states",
                                params={"api-version": "7.1"}).json()["value"]
        assert [(s["name"], s["category"]) for s in states] == [
            ("Neu", "Proposed"), ("Aktiv", "InProgress"), ("Gelöst", "Resolved"), ("Geschlossen", "Completed")]
        markdown = [{"op": "add", "path": "/fields/System.Title", "value": "x"},
                    {"op": "add", "path": "/multilineFieldsFormat/Microsoft.VSTS.TCM.ReproSteps", "value": "Markdown"}]
        refused = _session().post(f"{ado.base_url}/Shop/_apis/wit/workitems/$Bug", params={"api-version": "7.1"},
                                  data=json.dumps(markdown), headers={"Content-Type": PATCH_JSON})
        assert refused.status_code == 400 and "multilineFieldsFormat" in refused.json()["message"]
        item = _create(ado, extra=[{"op": "add", "path": "/fields/System.AssignedTo", "value": "CONTOSO\\ava"}])
        assert item["fields"]["System.AssignedTo"]["uniqueName"] == "CONTOSO\\ava"
        r = _session().post(f"{ado.base_url}/Shop/_apis/wit/workItems/{item['id']}/comments",
                            params={"api-version": "7.1-preview.4", "format": "markdown"}, json={"text": "**hi**"})
        assert r.status_code == 200 and ado.work_item(item["id"]).comments[0].format == "html"
        _subscribe(ado, receiver, "workitem.updated")
        ado.act_update(item["id"], {"System.State": "Aktiv"}, as_="Jamal Hartnett <CONTOSO\\jamal>")
        ado.webhooks.flush()
        hook = receiver.received[-1].body
        assert hook["resource"]["revisedBy"]["name"] == "Jamal Hartnett <CONTOSO\\jamal>"
        assert set(hook["resourceContainers"]) == {"collection", "server", "project"}
        assert _session().get(f"{server.url}/DefaultCollection/_apis/projects",
                              params={"api-version": "7.1"}).status_code == 404  # only under /tfs
    finally:
        server.stop()
