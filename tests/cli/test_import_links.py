"""`sentry-ado import-links` adopts what Sentry's built-in Azure DevOps integration linked: found by
``is:linked`` and each issue's ``/integrations/``, linked with both sides' values as the baseline,
shown on the Sentry issue through our integration, and idempotent."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from cli.commands.import_links import ado_org_name
from cli.main import main
from sandbox.stack import SandboxStack, sandbox_stack
from shared.runtime import runtime

AVA = "Ava Chen <ava@contoso.com>"


@pytest.fixture
def stack() -> Iterator[SandboxStack]:
    with sandbox_stack(with_host=False) as s:
        yield s


def test_ado_org_names() -> None:
    assert ado_org_name("https://contoso.visualstudio.com/") == "contoso"
    assert ado_org_name("https://dev.azure.com/contoso/_workitems/edit/7") == "contoso"
    assert ado_org_name("https://tfs.example.com/tfs/DefaultCollection/") == "defaultcollection"


def test_links_made_by_the_built_in_integration_are_adopted_once(stack: SandboxStack, capsys) -> None:
    sentry, ado = stack.sentry, stack.ado
    mine = sentry.new_error("backend", "KeyError", "a")["issue"]
    other_org = sentry.new_error("backend", "ValueError", "b", fingerprint="other")["issue"]
    item = ado.act_create("Shop", "Bug", {"System.Title": "a", "System.State": "Active"}, AVA)
    sentry.link_builtin(mine["id"], item.id, "https://contoso.visualstudio.com/", area_path="Shop")
    sentry.link_builtin(other_org["id"], 4242, "https://fabrikam.visualstudio.com/", area_path="Web")

    assert main(["import-links", "--dry-run", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["linked"] == 1 and runtime().store.get_by_issue("acme", mine["id"]) is None
    skipped = next(p for p in report["pairs"] if p["issue_id"] == other_org["id"])
    assert "'fabrikam', not 'contoso'" in skipped["reason"]

    assert main(["import-links"]) == 0
    out = capsys.readouterr().out
    assert f"linked     {mine['shortId']} <-> work item {item.id}" in out
    link = runtime().store.get_by_issue("acme", mine["id"])
    assert link is not None and link.is_linked and link.work_item_id == item.id
    assert (link.synced.sentry_status, link.synced.ado_state) == ("unresolved", "Active")  # the baseline
    shown = [x for x in sentry.world.org.external_issues.values() if x.issue_id == int(mine["id"])]
    assert len(shown) == 1 and shown[0].identifier == str(item.id)  # on the Sentry issue, through us

    assert main(["import-links"]) == 0  # a second run changes nothing
    assert "skip       " in capsys.readouterr().out and len(
        [x for x in sentry.world.org.external_issues.values() if x.issue_id == int(mine["id"])]) == 1
