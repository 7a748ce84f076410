"""validate_request against the official Swagger specs, and the pure patch/WIQL rules."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from sandbox.ado import wiql
from sandbox.ado.errors import AdoError
from sandbox.ado.identities import Identity
from sandbox.ado.patch import PatchContext, WorkItemDraft, apply_patch, merge_tags
from sandbox.ado.processes import AGILE, BASIC
from sandbox.ado.spec import SPEC_DIR, SPEC_FILES, check_request, validate_api_request, validate_request
from shared.ado import code_requests
from shared.ado import endpoints as ado_endpoints
from shared.api_request import ApiRequest

PATCH = "application/json-patch+json"
PREFIX = "SELECT [System.Id] FROM WorkItems WHERE"
TITLE = [{"op": "add", "path": "/fields/System.Title", "value": "t"}]


@pytest.mark.parametrize(("method", "path", "query", "ctype", "body"), [
    ("POST", "/contoso/Shop/_apis/wit/workitems/$Bug", {"api-version": "7.1"}, PATCH, TITLE),
    ("PATCH", "/contoso/_apis/wit/workItems/5", {"api-version": "7.1-preview.3"}, PATCH, TITLE),
    ("POST", "/contoso/_apis/wit/workitemsbatch", {"api-version": "7.1"}, "application/json", {"ids": [1]}),
    ("POST", "/contoso/Shop/_apis/wit/wiql", {"api-version": "7.1"}, "application/json", {"query": "x"}),
    ("GET", "/contoso/Shop/_apis/wit/workItems/5/comments", {"api-version": "7.1-preview.4"}, None, None),
    ("GET", "/contoso/Shop/_apis/wit/classificationnodes/Areas/Web/Checkout", {"api-version": "7.1"}, None, None),
    ("PUT", "/contoso/_apis/hooks/subscriptions/abc", {"api-version": "7.1"}, "application/json",
     {"eventType": "workitem.updated"}),
    ("POST", "/contoso/Shop/_apis/git/repositories/r/commitsbatch", {"api-version": "7.1"}, "application/json",
     {"itemVersion": {"versionType": "commit", "version": "a"}}),
])
def test_requests_the_specs_accept(method, path, query, ctype, body):
    assert validate_request(method, path, query, ctype, body) == []


@pytest.mark.parametrize(("method", "path", "query", "ctype", "body", "needle"), [
    ("PATCH", "/contoso/_apis/wit/workitems/5", {}, PATCH, TITLE, "api-version"),
    ("PATCH", "/contoso/_apis/wit/workitems/5", {"api-version": "7.1"}, "application/json", TITLE,
     "application/json-patch+json"),
    ("PATCH", "/contoso/_apis/wit/workitems/5", {"api-version": "7.1"}, PATCH, [{"op": "zap", "path": "/x"}], "zap"),
    ("PATCH", "/contoso/_apis/wit/workitems/five", {"api-version": "7.1"}, PATCH, TITLE, "'five'"),
    ("GET", "/contoso/_apis/wit/workitems/5", {"api-version": "7.1", "$expand": "everything"}, None, None,
     "everything"),
    ("POST", "/contoso/Shop/_apis/wit/workItems/5/comments", {"api-version": "7.1", "format": "html"},
     "application/json", {"text": "x"}, "preview"),
    ("POST", "/contoso/Shop/_apis/wit/workItems/5/comments", {"api-version": "7.1-preview.4", "format": "rtf"},
     "application/json", {"text": "x"}, "rtf"),
    ("POST", "/contoso/_apis/hooks/subscriptions", {"api-version": "7.1"}, "application/json",
     {"consumerInputs": {"url": 5}}, "consumerInputs/url"),
    ("DELETE", "/contoso/Shop/_apis/wit/wiql", {"api-version": "7.1"}, None, None, "DELETE"),
    ("GET", "/contoso/_apis/nothing/here", {"api-version": "7.1"}, None, None, "no operation"),
])
def test_requests_the_specs_refuse_name_the_problem(method, path, query, ctype, body, needle):
    problems = validate_request(method, path, query, ctype, body)
    assert problems and any(needle in p for p in problems), problems


def test_api_request_helper_prefixes_the_organization():
    ok = ApiRequest("POST", "/Shop/_apis/wit/workitems/$Task", {"api-version": "7.1"}, TITLE, PATCH)
    assert validate_api_request(ok) == []
    bad = ApiRequest("POST", "/Shop/_apis/wit/workitems/$Task", {"api-version": "7.1"}, TITLE)
    assert validate_api_request(bad)


def _ctx(rev: int | None = 3, wit=AGILE.types[0], bypass: bool = False) -> PatchContext:
    return PatchContext(wit, frozenset({"Shop", "Shop\\Web"}), frozenset({"Shop"}),
                        (Identity("Ava Chen", "ava@contoso.com"),), rev, bypass)


def test_patch_is_all_or_nothing_and_keeps_the_input():
    draft = WorkItemDraft({"System.Title": "old"})
    with pytest.raises(AdoError) as info:
        apply_patch([{"op": "add", "path": "/fields/System.Title", "value": "new"},
                     {"op": "add", "path": "/fields/System.State", "value": "Nope"}], draft, _ctx())
    assert info.value.status == 400 and "TF401320" in info.value.message
    assert draft.fields == {"System.Title": "old"}


def test_patch_rules():
    draft = WorkItemDraft({"System.Tags": "b; A"})
    out = apply_patch([{"op": "test", "path": "/rev", "value": 3},
                       {"op": "add", "path": "/fields/System.Tags", "value": "c; a"},
                       {"op": "add", "path": "/fields/Assigned To", "value": "Ava Chen"},
                       {"op": "add", "path": "/fields/System.AreaPath", "value": "Shop\\Web"},
                       {"op": "add", "path": "/relations/-", "value": {"rel": "Hyperlink", "url": "https://s/1"}}],
                      draft, _ctx())
    assert out.fields["System.Tags"] == "A; b; c"
    assert out.fields["System.AssignedTo"].unique_name == "ava@contoso.com"
    assert out.relations[0]["url"] == "https://s/1"
    for ops, status in ([{"op": "test", "path": "/rev", "value": 2}], 412),  \
                       ([{"op": "remove", "path": "/fields/System.Title", "value": "x"}], 400), \
                       ([{"op": "add", "path": "/fields/System.AreaPath", "value": "Elsewhere"}], 400), \
                       ([{"op": "add", "path": "/fields/System.CreatedDate", "value": "2020-01-01"}], 400), \
                       ([{"op": "add", "path": "/nowhere", "value": 1}], 400):
        with pytest.raises(AdoError) as info:
            apply_patch(ops, draft, _ctx())
        assert info.value.status == status, ops
    created = apply_patch([{"op": "add", "path": "/fields/System.CreatedDate", "value": "2020-01-01"}], draft,
                          _ctx(bypass=True))
    assert created.fields["System.CreatedDate"] == "2020-01-01"
    with pytest.raises(AdoError, match="TF51535"):
        apply_patch([{"op": "add", "path": "/fields/Microsoft.VSTS.Common.Severity", "value": "2 - High"}],
                    draft, _ctx(wit=BASIC.types[1]))


def test_merge_tags_is_case_insensitive_union():
    assert merge_tags("", "") == ""
    assert merge_tags("x; Y", "y; z") == "x; Y; z"


def _rows() -> list[dict]:
    return [
        {"System.Id": 1, "System.TeamProject": "Shop", "System.State": "Active", "System.Tags": "sentry; web",
         "System.ChangedDate": "2024-05-02T10:00:00.000Z", "System.AssignedTo": "Ava Chen <ava@contoso.com>",
         "System.AreaPath": "Shop\\Web"},
        {"System.Id": 2, "System.TeamProject": "Shop", "System.State": "New", "System.Tags": "websites",
         "System.ChangedDate": "2024-05-01T10:00:00.000Z", "System.AreaPath": "Shop"},
        {"System.Id": 3, "System.TeamProject": "Other", "System.State": "Active",
         "System.ChangedDate": "2024-05-03T10:00:00.000Z", "System.AreaPath": "Other"},
    ]


@pytest.mark.parametrize(("where", "precise", "expected"), [
    ("[System.TeamProject] = @project", False, [1, 2]),
    ("[System.TeamProject] = @project AND [System.State] <> 'New'", False, [1]),
    ("[System.Tags] CONTAINS 'web'", False, [1]),
    ("[System.ChangedDate] >= '2024-05-02T09:00:00Z'", True, [1, 3]),
    ("[System.ChangedDate] >= '2024-05-02'", False, [1, 3]),
    ("[System.AssignedTo] = 'ava@contoso.com' OR [System.Id] IN (3)", False, [1, 3]),
    ("[System.AreaPath] UNDER 'Shop' AND NOT ([System.Id] = 1)", False, [2]),
])
def test_wiql_clauses(where, precise, expected):
    ctx = wiql.QueryContext("Shop", "Ava Chen <ava@contoso.com>", precise, datetime(2024, 6, 1, tzinfo=UTC))
    query = wiql.parse(" ".join((PREFIX, where)), ctx)
    assert wiql.run(query, _rows()) == expected


def test_wiql_order_top_and_errors():
    ctx = wiql.QueryContext("Shop", "x <x@y>", False, datetime(2024, 6, 1, tzinfo=UTC))
    q = wiql.parse("SELECT [System.Id] FROM WorkItems ORDER BY [System.ChangedDate] DESC", ctx)
    assert wiql.run(q, _rows(), top=2) == [3, 1]
    for bad, code in (("SELECT [Nope] FROM WorkItems", "TF51005"),
                      ("SELECT [System.Id] FROM WorkItems WHERE [System.ChangedDate] > '2024-01-01T00:00:00Z'",
                       "VS402625"),
                      ("SELECT [System.Id] WorkItems", "TF51006")):
        with pytest.raises(AdoError, match=code):
            wiql.parse(bad, ctx)


@pytest.mark.parametrize(("request_", "spec_file"), [
    (code_requests.get_build("Shop", 7), "build-7.1-build.json"),
    (code_requests.get_classic_release("Shop", 9), "release-7.1-release.json"),
    (code_requests.commits_batch("Shop", "web", "a" * 40, "b" * 40), "git-7.1-git.json"),
    (code_requests.get_commit("Shop", "web", "a" * 40, change_count=10), "git-7.1-git.json"),
    (code_requests.commit_changes("Shop", "web", "a" * 40), "git-7.1-git.json"),
    (ado_endpoints.projects(top=100), "core-7.1-core.json"),
    (code_requests.git_item("Shop", "shop-api", "/src/shop/api/orders.py", "main"), "git-7.1-git.json"),
    (code_requests.git_repository("Shop", "shop-api"), "git-7.1-git.json"),
    (code_requests.git_branch("Shop", "shop-api", "release/2.1"), "git-7.1-git.json"),
])
def test_requests_beyond_work_items_are_checked_against_the_official_specs(request_, spec_file):
    """Builds, releases, commits and projects are validated by Microsoft's published files, not by hand."""
    query = {k: v if isinstance(v, str) else ",".join(v) for k, v in request_.query.items()}
    op, problems = check_request(request_.method, f"/contoso{request_.path}", query,
                                 request_.content_type if request_.body is not None else None, request_.body)
    assert problems == [] and op is not None and op.definitions_key == spec_file


def test_the_specs_are_read_from_inside_the_repository():
    repo = Path(__file__).resolve().parents[2]
    assert SPEC_DIR.is_relative_to(repo) and all((SPEC_DIR / name).is_file() for name in SPEC_FILES)
