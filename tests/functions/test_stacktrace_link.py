"""Stack-trace links end to end: the Sentry emulator builds each in-app frame's link as Sentry does,
a browser opens it on the app's route, and the app answers a redirect to the file in the ADO
emulator's seeded repository, or a 404 saying why, never a 5xx (Services and Server)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from sandbox.core import Faults
from sandbox.sentry import seed
from sandbox.stack import SandboxStack, sandbox_stack
from shared.contract import STACKTRACE_LINK_PATH

RULES = """
[[routes]]
sentry_projects = ["backend"]
ado_project = "Shop"

[[code_mappings]]
sentry_projects = ["backend"]
stack_root = "shop/"
source_root = "src/shop/"
ado_project = "Shop"
repository = "shop-api"

[[code_mappings]]
stack_root = "C:\\\\agent\\\\_work\\\\1\\\\s\\\\"
source_root = ""
ado_project = "Shop"
repository = "shop-api"
"""
FRAMES = [{"filename": "shop/api/orders.py", "function": "create", "lineno": 42},
          {"filename": "shop/api/refunds.py", "function": "refund", "lineno": 7},
          {"filename": "app/main.py", "function": "main", "lineno": 3},
          {"filename": "site-packages/flask/app.py", "function": "dispatch", "lineno": 900, "in_app": False},
          {"filename": "C:\\agent\\_work\\1\\s\\src\\Shop.Web\\Controllers\\CartController.cs", "function": "Add",
           "lineno": 18}]


@pytest.fixture(scope="module", params=["services", "server"])
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxStack]:
    path = Path(tmp_path_factory.mktemp("cfg")) / "sync.toml"
    path.write_text(RULES)
    with sandbox_stack(sync_config=path, ado_server=request.param == "server") as s:
        yield s


def item_reads(stack: SandboxStack) -> int:
    return sum(1 for e in stack.ado.journal.entries() if e["path"].endswith("/items"))


def frame_links(stack: SandboxStack) -> list[str]:
    issue = stack.sentry.new_error("backend", "KeyError", "'sku'", frames=FRAMES, level="warning")["issue"]
    return stack.sentry.frame_links(issue["id"], STACKTRACE_LINK_PATH)


def test_sentry_links_in_app_frames_with_the_installation_project_line_and_file(stack: SandboxStack) -> None:
    links = frame_links(stack)
    assert len(links) == 4  # the library frame gets no link
    parts = urlsplit(links[0])
    assert f"{parts.scheme}://{parts.netloc}" == stack.app_url and parts.path == "/api/sentry/stacktrace-link"
    assert parse_qs(parts.query) == {"installationId": [seed.INSTALLATION_UUID], "projectSlug": ["backend"],
                                     "lineNo": ["42"], "filename": ["shop/api/orders.py"]}


def test_a_mapped_file_redirects_to_azure_repos_at_its_line_and_is_checked_once(stack: SandboxStack) -> None:
    link = frame_links(stack)[0]
    before = item_reads(stack)
    resp = stack.sentry.open_link(link)
    assert resp.status_code == 302, resp.text
    target = urlsplit(resp.headers["Location"])
    assert resp.headers["Location"].startswith(f"{stack.env['ADO_ORG_URL']}/Shop/_git/shop-api?")
    query = parse_qs(target.query)
    assert (query["path"], query["version"], query["line"]) == (["/src/shop/api/orders.py"], ["GBmain"], ["42"])
    assert resp.json()["url"] == resp.headers["Location"]
    assert item_reads(stack) == before + 1
    assert stack.sentry.open_link(link).status_code == 302
    assert item_reads(stack) == before + 1  # the file's existence is cached


def test_a_windows_frame_of_any_project_maps_through_the_catch_all(stack: SandboxStack) -> None:
    resp = stack.sentry.open_link(frame_links(stack)[3])
    assert resp.status_code == 302, resp.text
    assert parse_qs(urlsplit(resp.headers["Location"]).query)["path"] == ["/src/Shop.Web/Controllers/CartController.cs"]


def test_a_file_not_in_the_repository_is_a_404_naming_it_and_cached_too(stack: SandboxStack) -> None:
    link = frame_links(stack)[1]
    before = item_reads(stack)
    resp = stack.sentry.open_link(link)
    assert resp.status_code == 404 and "Location" not in resp.headers
    message = resp.json()["message"]
    assert "/src/shop/api/refunds.py is not in repository shop-api of Shop on branch main" in message
    assert stack.sentry.open_link(link).status_code == 404
    assert item_reads(stack) == before + 1
    stack.ado.push_commits("Shop", "shop-api", [{"message": "Add refunds", "changes": [
        {"changeType": "add", "path": "/src/shop/api/refunds.py"}]}])
    assert stack.sentry.open_link(link).status_code == 404  # until the miss expires (five minutes)


def test_a_frame_no_mapping_covers_is_a_404_saying_what_to_add(stack: SandboxStack) -> None:
    before = item_reads(stack)
    resp = stack.sentry.open_link(frame_links(stack)[2])
    assert resp.status_code == 404 and "no code mapping covers 'app/main.py'" in resp.json()["message"]
    assert item_reads(stack) == before  # nothing to look up


@pytest.mark.parametrize(("query", "status", "fragment"), [
    ({"projectSlug": "backend", "filename": "shop/a.py"}, 400, "installationId"),
    ({"installationId": seed.INSTALLATION_UUID, "projectSlug": "backend", "filename": "shop/a.py", "lineNo": "x"},
     400, "lineNo"),
    ({"installationId": "0b3c4f1e-7a5d-4c2b-9e8f-5a6b7c8d9e0f", "projectSlug": "backend", "filename": "shop/a.py"},
     404, "not this app's installation"),
    ({"installationId": seed.INSTALLATION_UUID, "projectSlug": "backend", "filename": "shop/../../etc/passwd"},
     404, "no code mapping"),
])
def test_a_link_sentry_would_not_build_is_a_4xx_naming_the_parameter(stack: SandboxStack, query: dict, status: int,
                                                                    fragment: str) -> None:
    resp = requests.get(f"{stack.app_url}{STACKTRACE_LINK_PATH}", params=query, allow_redirects=False, timeout=10)
    assert resp.status_code == status and fragment in resp.json()["message"]


def test_when_azure_devops_fails_the_link_still_goes_to_the_file_unverified(stack: SandboxStack) -> None:
    issue = stack.sentry.new_error("backend", "KeyError", "'x'", level="warning",
                                   frames=[{"filename": "shop/api/payments.py", "function": "pay", "lineno": 5}])
    (link,) = stack.sentry.frame_links(issue["issue"]["id"], STACKTRACE_LINK_PATH)
    stack.ado.set_faults(Faults(error_rate=1.0))
    try:
        resp = stack.sentry.open_link(link)
    finally:
        stack.ado.set_faults(Faults())
    assert resp.status_code == 302 and "not verified" in json.loads(resp.text)["message"]
    assert parse_qs(urlsplit(resp.headers["Location"]).query)["path"] == ["/src/shop/api/payments.py"]
