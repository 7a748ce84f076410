# ruff: noqa: F811 - `stack` is the pytest fixture imported from tests.setup.stack
"""`sentry-ado links list|find`: the store's links as a table or JSON Lines, one found by either
side's id; a damaged record is listed, not raised; a link not found is exit 1 with a line on stderr."""

from __future__ import annotations

import json
import sqlite3

import pytest

from cli.main import main
from tests.setup.stack import Stack, stack  # noqa: F401 - the fixture

Capsys = pytest.CaptureFixture[str]


def _seed(stack: Stack) -> str:
    from shared import runtime
    from shared.store import Link
    from shared.store.base import issue_key

    runtime.reset()
    rt = runtime.runtime()
    url = rt.config.settings.ado_org_url
    for n, state in ((8, "linked"), (9, "unlinked")):
        rt.store.claim(Link(sentry_org="acme", sentry_issue_id=str(n), sentry_short_id=f"BACKEND-{n}", ado_org_url=url,
                            work_item_id=100 + n, state=state, ado_project="Shop", work_item_type="Bug"))
    damaged = issue_key("acme", "7")
    with sqlite3.connect(stack.rules_path.parent / "links.sqlite", isolation_level=None) as conn:
        conn.execute("INSERT INTO links VALUES (?, NULL, 1, '{\"sentry_org\": \"ac')", (damaged,))
    runtime.reset()
    return damaged


def test_links_list_and_find(stack: Stack, capsys: Capsys) -> None:
    damaged = _seed(stack)
    assert main(["links", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["issue", "short", "id"]
    assert [x.split()[:3] for x in out[1:3]] == [["8", "BACKEND-8", "108"], ["9", "BACKEND-9", "109"]]
    assert f"damaged record {damaged}: stored link is not readable" in "\n".join(out)
    assert out[-1] == "2 link(s), 1 damaged record(s)"

    assert main(["links", "list", "--state", "unlinked", "--json"]) == 0
    (only,) = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert only["sentry_issue_id"] == "9" and only["work_item_id"] == 109 and only["state"] == "unlinked"

    assert main(["links", "find", "--work-item", "108", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["sentry_issue_id"] == "8"
    assert main(["links", "find", "--issue", "9"]) == 0
    assert capsys.readouterr().out.splitlines()[1].split()[:3] == ["9", "BACKEND-9", "109"]
    assert main(["links", "find", "--issue", "5"]) == 1
    out = capsys.readouterr()
    assert out.out == "" and "no link for Sentry issue 5" in out.err


def test_links_find_by_work_item_lists_every_issue_linked_to_it(stack: Stack, capsys: Capsys) -> None:
    from shared import runtime
    from shared.store import Link

    _seed(stack)
    rt = runtime.runtime()
    rt.store.claim(Link(sentry_org="acme", sentry_issue_id="12", sentry_short_id="IOS-12",
                        ado_org_url=rt.config.settings.ado_org_url, work_item_id=108, state="linked",
                        ado_project="Shop", work_item_type="Bug"))
    assert main(["links", "find", "--work-item", "108"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [x.split()[:3] for x in out[1:3]] == [["8", "BACKEND-8", "108"], ["12", "IOS-12", "108"]]
    assert out[-1].startswith("2 link(s)")
    assert main(["links", "find", "--work-item", "108", "--json"]) == 0
    assert [json.loads(x)["sentry_issue_id"] for x in capsys.readouterr().out.splitlines()] == ["8", "12"]
