"""Git commitsbatch, items, Build get, and pipeline/release hooks of the ADO emulator, over HTTP."""

from __future__ import annotations

import base64

import requests

from sandbox.ado.seed import DEFAULT_TOKEN
from shared.ado.auth import PatAuth
from shared.ado.client import AdoClient


def _s() -> requests.Session:
    s = requests.Session()
    s.headers["Authorization"] = "Basic " + base64.b64encode(f":{DEFAULT_TOKEN}".encode()).decode()
    s.headers["X-TFS-FedAuthRedirect"] = "Suppress"
    return s


def _push(ado, n: int) -> list[str]:
    return ado.push_commits("Shop", "shop-web", [
        {"message": f"change {i}\n\nFixes SHOP-{i}", "author": "Ava Chen <ava@contoso.com>",
         "changes": [{"changeType": "edit", "path": f"/src/f{i}.py"}]} for i in range(n)])


def _batch(ado, body: dict, **params) -> requests.Response:
    return _s().post(f"{ado.base_url}/Shop/_apis/git/repositories/shop-web/commitsbatch",
                     params={"api-version": "7.1", **params}, json=body)


def test_commitsbatch_range_is_newest_first_excludes_item_and_pages(ado):
    shas = _push(ado, 5)
    body = {"itemVersion": {"versionType": "commit", "version": shas[1]},
            "compareVersion": {"versionType": "commit", "version": shas[4]}}
    r = _batch(ado, body)
    assert [c["commitId"] for c in r.json()["value"]] == [shas[4], shas[3], shas[2]]
    first = r.json()["value"][0]
    assert first["comment"] == "change 4" and first["commentTruncated"] is True
    assert first["author"]["email"] == "ava@contoso.com"
    page = _batch(ado, body, **{"$top": "2", "$skip": "2"}).json()["value"]
    assert [c["commitId"] for c in page] == [shas[2]]


def test_commitsbatch_unknown_version_is_404_and_bad_body_400(ado):
    _push(ado, 1)
    r = _batch(ado, {"itemVersion": {"versionType": "commit", "version": "f" * 40}})
    assert r.status_code == 404 and "TF401175" in r.json()["message"]
    assert _batch(ado, {"itemVersion": {"versionType": "sha", "version": "x"}}).status_code == 400


def test_full_commit_and_changes(ado):
    [sha] = _push(ado, 1)
    base = f"{ado.base_url}/Shop/_apis/git/repositories/shop-web/commits/{sha}"
    full = _s().get(base, params={"api-version": "7.1", "changeCount": "5"}).json()
    assert full["comment"] == "change 0\n\nFixes SHOP-0"
    assert full["changes"][0]["item"]["path"] == "/src/f0.py"
    changes = _s().get(f"{base}/changes", params={"api-version": "7.1"}).json()
    assert changes["changes"][0]["changeType"] == "edit"


def test_build_carries_source_version_and_repository(ado):
    shas = _push(ado, 2)
    build_id = ado.queue_run("Shop", "shop-web")
    build = _s().get(f"{ado.base_url}/Shop/_apis/build/builds/{build_id}", params={"api-version": "7.1"}).json()
    assert build["sourceVersion"] == shas[-1]
    assert build["repository"]["type"] == "TfsGit" and build["repository"]["name"] == "shop-web"
    assert _s().get(f"{ado.base_url}/Shop/_apis/build/builds/999", params={"api-version": "7.1"}).status_code == 404


def _subscribe(ado, receiver, publisher: str, event: str, **filters) -> None:
    body = {"publisherId": publisher, "eventType": event, "resourceVersion": "5.1-preview.1",
            "consumerId": "webHooks", "consumerActionId": "httpRequest",
            "publisherInputs": {"projectId": ado.project("Shop").id, **filters},
            "consumerInputs": {"url": f"{receiver.url}/{event}", "httpHeaders": "X-Hook-Secret:abc"}}
    r = _s().post(f"{ado.base_url}/_apis/hooks/subscriptions", params={"api-version": "7.1"}, json=body)
    assert r.status_code == 200, r.text


def test_pipeline_and_release_hooks_fire_with_filters(ado, receiver):
    _subscribe(ado, receiver, "pipelines", "ms.vss-pipelines.stage-state-changed-event", stageNameId="deploy_prod")
    _subscribe(ado, receiver, "pipelines", "ms.vss-pipelines.run-state-changed-event")
    _subscribe(ado, receiver, "rm", "ms.vss-release.deployment-completed-event", releaseEnvironmentStatus="4")
    _push(ado, 1)
    build_id = ado.queue_run("Shop", "shop-web")
    ado.complete_stage(build_id, "build")
    ado.complete_stage(build_id, "deploy_prod")
    ado.complete_run(build_id)
    ado.complete_deployment(build_id, "Production", "rejected")
    ado.complete_deployment(build_id, "Production")
    ado.webhooks.flush()
    events = [h.body["eventType"] for h in receiver.received]
    assert events == ["ms.vss-pipelines.stage-state-changed-event", "ms.vss-pipelines.run-state-changed-event",
                      "ms.vss-release.deployment-completed-event"]
    stage, run, deploy = (h.body["resource"] for h in receiver.received)
    assert stage["stage"]["name"] == "deploy_prod" and stage["run"]["id"] == build_id
    assert run["run"]["result"] == "succeeded" and f"buildId={build_id}" in run["run"]["_links"]["web"]["href"]
    assert deploy["environment"]["name"] == "Production" and deploy["deployment"]["status"] == "succeeded"
    assert all(h.headers["X-Hook-Secret"] == "abc" for h in receiver.received)
    assert receiver.received[0].body["resourceContainers"]["project"]["id"] == ado.project("Shop").id


def test_control_endpoints_push_and_run(ado):
    r = requests.post(f"{ado.host}/_sandbox/git/push", timeout=10,
                      json={"project": "Shop", "repository": "api", "commits": [{"message": "init"}]})
    assert r.status_code == 200 and len(r.json()["commits"]) == 1
    run = requests.post(f"{ado.host}/_sandbox/pipelines/run", timeout=10,
                        json={"project": "Shop", "repository": "api"})
    assert run.status_code == 200
    bad = requests.post(f"{ado.host}/_sandbox/git/push", timeout=10, json={"project": "Shop", "repository": "api"})
    assert bad.status_code == 400 and "commits" in bad.json()["error"]


def test_stage_event_carries_the_real_shapes(ado, receiver):
    """As the service sends them: ``stage.name`` is the identifier and ``displayName`` may differ,
    the stage has its own start and finish, ``run.name`` is the build number (not the id), and the
    run's repository and commit are under ``run.resources.repositories.self``."""
    _subscribe(ado, receiver, "pipelines", "ms.vss-pipelines.stage-state-changed-event", stageNameId="Deploy")
    [sha] = _push(ado, 1)
    build_id = ado.queue_run("Shop", "shop-web")
    ado.complete_stage(build_id, "Build")
    ado.complete_stage(build_id, "Deploy", display_name="Deployment Stage")
    ado.webhooks.flush()
    [hook] = receiver.received
    resource = hook.body["resource"]
    stage, run = resource["stage"], resource["run"]
    assert (stage["name"], stage["displayName"]) == ("Deploy", "Deployment Stage")
    assert stage["startTime"] < stage["finishTime"] and stage["startTime"] > run["createdDate"]
    build = _s().get(f"{ado.base_url}/Shop/_apis/build/builds/{build_id}", params={"api-version": "7.1"}).json()
    assert run["name"] == build["buildNumber"] != str(build_id) and run["id"] == build_id
    assert run["resources"]["repositories"]["self"]["version"] == sha
    assert resource["repositories"][0]["change"]["message"] == "change 0\n\nFixes SHOP-0"


def test_git_items_of_the_seeded_repository_as_azure_repos_serves_them(ado) -> None:
    """Items_Get (``path``) answers one GitItem at a branch's head; a file not there is TF401174,
    a branch that does not exist TF401175, a repository TF401019; the ``scopePath`` listing,
    repositories and refs agree; a push or a deletion changes what the branch has."""
    client = AdoClient(ado.base_url, PatAuth(DEFAULT_TOKEN))
    base = f"{ado.base_url}/Shop/_apis/git/repositories/shop-api"
    item = requests.get(f"{base}/items", params={"path": "/src/shop/api/orders.py", "api-version": "7.1",
                                                 "versionDescriptor.version": "main"}, auth=("", DEFAULT_TOKEN),
                        timeout=10).json()
    assert (item["path"], item["gitObjectType"], len(item["commitId"])) == ("/src/shop/api/orders.py", "blob", 40)
    for query, code, key in (({"path": "/src/shop/api/none.py"}, "TF401174", "GitItemNotFoundException"),
                             ({"path": "/README.md", "versionDescriptor.version": "nope"}, "TF401175",
                              "GitUnresolvableToCommitException")):
        resp = requests.get(f"{base}/items", params={**query, "api-version": "7.1"}, auth=("", DEFAULT_TOKEN),
                            timeout=10)
        assert resp.status_code == 404 and code in resp.json()["message"] and resp.json()["typeKey"] == key
    missing_repo = requests.get(f"{ado.base_url}/Shop/_apis/git/repositories/none/items",
                                params={"path": "/a", "api-version": "7.1"}, auth=("", DEFAULT_TOKEN), timeout=10)
    assert missing_repo.status_code == 404 and "TF401019" in missing_repo.json()["message"]
    listing = requests.get(f"{base}/items", params={"scopePath": "/src/shop/api", "recursionLevel": "OneLevel",
                                                    "api-version": "7.1"}, auth=("", DEFAULT_TOKEN), timeout=10).json()
    assert [i["path"] for i in listing["value"]] == [
        "/src/shop/api", "/src/shop/api/__init__.py", "/src/shop/api/orders.py", "/src/shop/api/payments.py"]
    assert client.git_repository("Shop", "shop-api")["defaultBranch"] == "refs/heads/main"
    assert client.git_branch_exists("Shop", "shop-api", "main")
    assert not client.git_branch_exists("Shop", "shop-api", "ma")
    ado.push_commits("Shop", "shop-api", [{"message": "Move orders", "changes": [
        {"changeType": "delete", "path": "/src/shop/api/orders.py"}, {"changeType": "add", "path": "/src/orders.py"}]}],
        branch="main")
    assert not client.git_item_exists("Shop", "shop-api", "/src/shop/api/orders.py", "main")
    assert client.git_item_exists("Shop", "shop-api", "/src/orders.py", "main")
