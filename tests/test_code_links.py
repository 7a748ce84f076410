"""Code mappings: a stack frame's file to an Azure Repos file and URL (shared/code_links.py)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from shared.code_links import (
    BadLinkRequest,
    CodeMapping,
    parse_code_mappings,
    parse_link_request,
    resolve,
    source_url,
)
from shared.config import ConfigError, parse_rules

API = CodeMapping("Shop", "shop-api", stack_root="shop/", source_root="src/shop/", sentry_projects=("backend",))
API_ORDERS = CodeMapping("Shop", "orders-svc", stack_root="shop/api/orders/", source_root="", branch="release/2.1")
EVERYTHING = CodeMapping("Shop", "monorepo", stack_root="", source_root="")
WEB = CodeMapping("Web", "web", stack_root="src/", source_root="web/src/", sentry_projects=("frontend",))
DOTNET = CodeMapping("Shop", "shop-api", stack_root="C:\\agent\\_work\\1\\s\\src\\",
                     source_root="src/", sentry_projects=("dotnet",))
ALL = (API, API_ORDERS, EVERYTHING, WEB, DOTNET)


def where(project: str, filename: str) -> tuple[str, str] | None:
    found = resolve(ALL, project, filename)
    return (found.mapping.repository, found.path) if found else None


@pytest.mark.parametrize(("project", "filename", "expected"), [
    # Python: module paths relative to the app root; the longest stack_root wins
    ("backend", "shop/api/payments.py", ("shop-api", "/src/shop/api/payments.py")),
    ("backend", "shop/api/orders/create.py", ("orders-svc", "/create.py")),
    # a root matches whole segments only: "shop/" does not start "shopping/"
    ("backend", "shopping/cart.py", ("monorepo", "/shopping/cart.py")),
    # a mapping for one project does not serve another; the catch-all does
    ("billing", "shop/api/payments.py", ("monorepo", "/shop/api/payments.py")),
    # JavaScript: app:/// and webpack:// prefixes and ./ are not part of the path
    ("frontend", "app:///src/cart.ts", ("web", "/web/src/cart.ts")),
    ("frontend", "webpack://shop-web/./src/cart.ts", ("web", "/web/src/cart.ts")),
    ("frontend", "./src/cart.ts", ("web", "/web/src/cart.ts")),
    # .NET on a Windows agent: backslashes, drive letter, and case do not matter there
    ("dotnet", "C:\\agent\\_work\\1\\s\\src\\Shop.Web\\Controllers\\CartController.cs",
     ("shop-api", "/src/Shop.Web/Controllers/CartController.cs")),
    ("dotnet", "c:\\AGENT\\_work\\1\\s\\SRC\\Shop.Web\\Program.cs", ("shop-api", "/src/Shop.Web/Program.cs")),
])
def test_a_frame_maps_to_a_repository_file(project: str, filename: str, expected: tuple[str, str]) -> None:
    assert where(project, filename) == expected


def test_posix_paths_keep_their_case() -> None:
    only = (CodeMapping("Shop", "shop-api", stack_root="shop/", source_root="src/shop/"),)
    assert resolve(only, "backend", "Shop/api/x.py") is None
    assert resolve(only, "backend", "shop/api/x.py") is not None


@pytest.mark.parametrize("filename", ["", "shop/", "shop/../../etc/passwd", "x" * 2000, "<anonymous>/.."])
def test_no_file_for_paths_that_cannot_be_a_repository_file(filename: str) -> None:
    assert resolve((API,), "backend", filename) is None


def test_without_a_mapping_for_the_project_nothing_resolves() -> None:
    assert resolve((API, WEB), "billing", "shop/api/payments.py") is None
    assert resolve((), "backend", "shop/api/payments.py") is None


def test_at_equal_length_the_projects_own_mapping_beats_the_catch_all() -> None:
    mine = CodeMapping("Shop", "mine", stack_root="shop/", sentry_projects=("backend",))
    anyone = CodeMapping("Shop", "anyone", stack_root="shop/")
    for order in ((mine, anyone), (anyone, mine)):
        assert resolve(order, "backend", "shop/a.py").mapping.repository == "mine"  # type: ignore[union-attr]
        assert resolve(order, "other", "shop/a.py").mapping.repository == "anyone"  # type: ignore[union-attr]


def test_services_url_names_the_branch_and_selects_the_line() -> None:
    found = resolve(ALL, "backend", "shop/api/orders/create.py")
    assert found is not None
    url = source_url("https://dev.azure.com/contoso/", found, 42)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://dev.azure.com/contoso/Shop/_git/orders-svc"
    query = parse_qs(parts.query)
    assert query["path"] == ["/create.py"] and query["version"] == ["GBrelease/2.1"]
    assert (query["line"], query["lineEnd"], query["lineStartColumn"], query["_a"]) == (
        ["42"], ["43"], ["1"], ["contents"])
    assert "path=/create.py" in url  # slashes of the path stay readable, as Azure Repos writes them


def test_server_url_is_under_the_collection_and_quotes_names() -> None:
    mapping = CodeMapping("Shop Floor", "api repo", stack_root="", source_root="")
    found = resolve((mapping,), "backend", "a b/c#d.py")
    assert found is not None
    url = source_url("https://tfs.contoso.local/tfs/DefaultCollection", found, None)
    assert url == ("https://tfs.contoso.local/tfs/DefaultCollection/Shop%20Floor/_git/api%20repo"
                   "?path=/a%20b/c%23d.py&version=GBmain")


def test_mappings_parse_with_defaults_and_every_problem_named() -> None:
    rules = parse_rules('[[code_mappings]]\nado_project = "Shop"\nrepository = "shop-api"\n')
    assert rules.code_mappings == (CodeMapping("Shop", "shop-api"),)
    with pytest.raises(ConfigError) as err:
        parse_code_mappings([{"ado_project": "", "stack_root": "../x", "branch": "a..b", "sentry_project": ["x"]},
                             "nope"])
    problems = "\n".join(err.value.problems)
    for fragment in ("code_mappings[0].ado_project: is required", "code_mappings[0].repository: is required",
                     "code_mappings[0].branch: 'a..b' is not a branch name", "code_mappings[0].stack_root",
                     "code_mappings[0].sentry_project: unknown key; did you mean 'sentry_projects'",
                     "code_mappings[1]: expected a table"):
        assert fragment in problems
    with pytest.raises(ConfigError, match="the same stack_root"):
        parse_code_mappings([{"ado_project": "Shop", "repository": "a", "stack_root": "shop/"},
                             {"ado_project": "Shop", "repository": "b", "stack_root": "./shop"}])


def test_the_link_query_is_what_sentry_builds() -> None:
    uuid = "7a485448-a9e2-4c85-8a3c-4f44175783c9"
    request = parse_link_request({"installationId": uuid, "projectSlug": "backend", "lineNo": "12",
                                  "filename": "shop/api/orders.py"})
    assert (request.installation, request.sentry_project, request.filename, request.line) == (
        uuid, "backend", "shop/api/orders.py", 12)
    assert parse_link_request({"installationId": uuid, "projectSlug": "backend", "lineNo": "",
                               "filename": "a.py"}).line is None
    for bad, name in (({"projectSlug": "backend", "filename": "a.py"}, "installationId"),
                      ({"installationId": uuid, "projectSlug": "Back End", "filename": "a.py"}, "projectSlug"),
                      ({"installationId": uuid, "projectSlug": "backend"}, "filename"),
                      ({"installationId": uuid, "projectSlug": "backend", "filename": "a.py", "lineNo": "-3"},
                       "lineNo")):
        with pytest.raises(BadLinkRequest, match=name):
            parse_link_request(bad)
