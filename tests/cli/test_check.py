# ruff: noqa: F811 - `stack` is the pytest fixture imported from tests.setup.stack
"""`sentry-ado check` against both emulators: all green once set up, and each kind of broken
setup reported as FAIL with a fix, exit 1, without any secret in the output."""

from __future__ import annotations

import pytest

from cli.main import main
from sandbox.ado.seed import DEFAULT_TOKEN
from sandbox.sentry.seed import APP_TOKEN
from tests.setup.stack import HOOK_SECRET, Stack, stack  # noqa: F401 - the fixture

Capsys = pytest.CaptureFixture[str]


def check(capsys: Capsys) -> tuple[int, list[str]]:
    code = main(["check"])
    out = capsys.readouterr()
    for secret in (HOOK_SECRET, DEFAULT_TOKEN, APP_TOKEN, "wrong-token"):
        assert secret not in out.out + out.err
    return code, out.out.splitlines()


def line(lines: list[str], start: str) -> str:
    found = [x for x in lines if x.startswith(start)]
    assert len(found) == 1, f"expected one line starting {start!r} in:\n" + "\n".join(lines)
    return found[0]


def fix_after(lines: list[str], start: str) -> str:
    return lines[lines.index(line(lines, start)) + 1]


def test_everything_ok_after_subscribe(stack: Stack, capsys: Capsys) -> None:
    assert main(["subscribe", "--url", stack.hook_url]) == 0
    capsys.readouterr()
    code, lines = check(capsys)
    assert code == 0, "\n".join(lines)
    assert "ok   ADO reachable and authenticated: as Sentry Bridge" in lines
    for expected in ("ok   ADO project 'Shop' (routes[0])", "ok   work item type 'Bug' in Shop",
                     "ok   create Bug in Shop (validateOnly)", "ok   create Product Backlog Item in Scrum",
                     "ok   ADO service hooks for Shop", "ok   ADO service hooks for Scrum",
                     "ok   Sentry token valid", "ok   Sentry organization 'acme'", "ok   Sentry project 'backend'",
                     "ok   Sentry project 'frontend'", "ok   Sentry members readable"):
        line(lines, expected)
    assert lines[-1].startswith("all ") and not stack.ado.items  # validateOnly saved nothing


def test_each_code_mapping_repository_and_branch_is_checked(stack: Stack, capsys: Capsys) -> None:
    assert main(["subscribe", "--url", stack.hook_url]) == 0
    mapping = ('[[code_mappings]]\nado_project = "Shop"\nrepository = "{repo}"\nbranch = "{branch}"\n'
               'stack_root = "{root}"\n')
    stack.rules(stack.rules_path.read_text() + mapping.format(repo="shop-api", branch="main", root="a/")
                + mapping.format(repo="shop-api", branch="main", root="b/")
                + mapping.format(repo="shop-api", branch="develop", root="c/")
                + mapping.format(repo="shop-mobile", branch="main", root="d/"))
    capsys.readouterr()
    code, lines = check(capsys)
    assert code == 1
    line(lines, "ok   repository 'shop-api' of Shop, branch 'main' (code_mappings[0], code_mappings[1])")
    develop = line(lines, "FAIL repository 'shop-api' of Shop, branch 'develop'")
    assert "no such branch (its default is 'main')" in develop
    assert "code_mappings[2].branch" in fix_after(lines, "FAIL repository 'shop-api' of Shop, branch 'develop'")
    line(lines, "FAIL repository 'shop-mobile' of Shop, branch 'main' (code_mappings[3])")
    assert "code_mappings[3].repository" in fix_after(lines, "FAIL repository 'shop-mobile'")


def test_missing_and_disabled_hooks_fail_with_the_subscribe_hint(stack: Stack, capsys: Capsys) -> None:
    code, lines = check(capsys)
    assert code == 1
    assert "workitem.updated missing" in line(lines, "FAIL ADO service hooks for Shop")
    assert "sentry-ado subscribe --url" in fix_after(lines, "FAIL ADO service hooks for Shop")

    main(["subscribe", "--url", stack.hook_url])
    capsys.readouterr()
    sub = next(s for s in stack.ado.subscriptions.values() if s.event_type == "workitem.commented"
               and s.publisher_inputs["projectId"] == stack.ado.project("Scrum").id)
    stack.ado.set_subscription_status(sub.id, "onProbation")
    code, lines = check(capsys)
    assert code == 1
    assert "workitem.commented status onProbation" in line(lines, "FAIL ADO service hooks for Scrum")
    line(lines, "ok   ADO service hooks for Shop")


def test_unknown_project_type_and_area_path_are_each_named(stack: Stack, capsys: Capsys) -> None:
    stack.rules('[[routes]]\nsentry_projects = ["backend"]\nado_project = "Nope"\n'
                '[[routes]]\nsentry_projects = ["frontend"]\nado_project = "Shop"\nwork_item_type = "Story"\n'
                '[[routes]]\nsentry_projects = ["mobile"]\nado_project = "Scrum"\nwork_item_type = "Bug"\n'
                'area_path = "Scrum\\\\Nowhere"\n')
    code, lines = check(capsys)
    assert code == 1
    assert "not found among:" in line(lines, "FAIL ADO project 'Nope' (routes[0])")
    assert "routes[0].ado_project" in fix_after(lines, "FAIL ADO project 'Nope'")
    assert "User Story" in line(lines, "FAIL work item type 'Story' in Shop")
    assert "routes[1].work_item_type" in fix_after(lines, "FAIL work item type 'Story'")
    assert "System.AreaPath" in line(lines, "FAIL create Bug in Scrum (validateOnly)")
    assert "System.AreaPath = 'Scrum\\\\Nowhere' of routes[2]" in fix_after(lines, "FAIL create Bug in Scrum")
    assert "frontend" in line(lines, "FAIL Sentry project 'mobile'")


def test_refused_ado_credentials_fail_once_and_skip_the_rest(stack: Stack, capsys: Capsys) -> None:
    stack.env(ADO_PAT="wrong-token")
    code, lines = check(capsys)
    assert code == 1
    assert "401" in line(lines, "FAIL ADO reachable and authenticated")
    assert "ADO_PAT" in fix_after(lines, "FAIL ADO reachable and authenticated")
    line(lines, "skip ADO projects, types, permissions and service hooks")
    line(lines, "ok   Sentry token valid")


def test_refused_sentry_token_and_wrong_org(stack: Stack, capsys: Capsys) -> None:
    stack.env(SENTRY_TOKEN="wrong-token")
    code, lines = check(capsys)
    assert code == 1
    assert "SENTRY_TOKEN" in fix_after(lines, "FAIL Sentry token valid")
    line(lines, "skip Sentry organization, projects and members")

    stack.env(SENTRY_TOKEN=APP_TOKEN, SENTRY_ORG="other-org")
    code, lines = check(capsys)
    assert code == 1
    line(lines, "ok   Sentry token valid")
    assert "SENTRY_ORG" in fix_after(lines, "FAIL Sentry organization 'other-org'")


def test_unreachable_ado_names_the_setting(stack: Stack, capsys: Capsys) -> None:
    stack.env(ADO_ORG_URL="http://127.0.0.1:9/contoso")
    code, lines = check(capsys)
    assert code == 1
    assert "ADO_ORG_URL" in fix_after(lines, "FAIL ADO reachable and authenticated")


def test_no_routes_is_a_failure_and_bad_config_is_exit_2(stack: Stack, capsys: Capsys) -> None:
    stack.rules("")
    code, lines = check(capsys)
    assert code == 1 and "SYNC_CONFIG_PATH" in fix_after(lines, "FAIL sync rules")
    stack.env(ADO_ORG_URL="not a url")
    assert main(["check"]) == 2
    assert "ADO_ORG_URL: expected an http(s) URL" in capsys.readouterr().err


def test_an_under_scoped_sentry_token_names_each_missing_scope_and_the_permission(stack: Stack,
                                                                                  capsys: Capsys) -> None:
    stack.sentry.add_token("read-only-integration-token", "application", ["event:read", "org:read"])
    stack.env(SENTRY_TOKEN="read-only-integration-token")
    code, lines = check(capsys)
    assert code == 1
    failed = line(lines, "FAIL Sentry token scopes")
    assert "missing event:write" in failed and "missing member:read" in failed and "event:read" not in failed
    fix = fix_after(lines, "FAIL Sentry token scopes")
    assert "Issue & Event: Read & Write" in fix and "Member: Read" in fix and "Organization" not in fix
    assert "Member: Read" in fix_after(lines, "FAIL Sentry members readable")  # the refused call agrees


def test_a_read_only_pat_is_told_which_scope_to_add(stack: Stack, capsys: Capsys) -> None:
    assert main(["subscribe", "--url", stack.hook_url]) == 0
    capsys.readouterr()
    stack.ado.add_token("read-only-pat-value", "Sentry Bridge <bridge@contoso.com>",
                        ["vso.work", "vso.project", "vso.hooks_write"])
    stack.env(ADO_PAT="read-only-pat-value")
    code, lines = check(capsys)
    assert code == 1
    line(lines, "ok   ADO project 'Shop' (routes[0])")
    assert "give ADO_PAT the vso.work_write scope" in fix_after(lines, "FAIL create Bug in Shop (validateOnly)")


def test_check_says_whether_a_workflow_sends_issue_activity(stack: Stack, capsys: Capsys) -> None:
    main(["subscribe", "--url", stack.hook_url])
    capsys.readouterr()
    what = "ok   Sentry issue activity channel (workflow alerts)"
    assert "not set up: no alert sends" in line(check(capsys)[1], what)
    stack.sentry.add_workflow("New issues to ADO", triggers=["first_seen_event"])
    assert "'New issues to ADO' notify the app but" in line(check(capsys)[1], what)
    stack.sentry.add_workflow("Issue activity to ADO")
    code, lines = check(capsys)
    assert code == 0 and line(lines, what).endswith("set up: 'Issue activity to ADO'")


def test_malformed_stored_links_are_listed_with_the_command_that_removes_them(stack: Stack, capsys: Capsys) -> None:
    import sqlite3

    from shared import runtime
    from shared.store import Link
    from shared.store.base import issue_key

    assert main(["subscribe", "--url", stack.hook_url]) == 0
    runtime.reset()
    store = runtime.runtime().store
    store.claim(Link(sentry_org="acme", sentry_issue_id="0", work_item_id=5, state="linked"))  # the report's
    store.claim(Link(sentry_org="acme", sentry_issue_id="8", work_item_id=8, state="linked", ado_project="Shop"))
    with sqlite3.connect(stack.rules_path.parent / "links.sqlite", isolation_level=None) as conn:
        conn.execute("INSERT INTO links VALUES (?, NULL, 1, '{\"sentry_org\": \"ac')", (issue_key("acme", "9"),))
    capsys.readouterr()
    code, lines = check(capsys)
    zero, nine = issue_key("acme", "0"), issue_key("acme", "9")
    assert code == 1
    assert line(lines, f"FAIL stored link {zero}: sentry_issue_id must be a Sentry issue id").endswith(
        f"(fix: sentry-ado links remove {zero})")
    assert line(lines, f"FAIL stored link {nine}: stored link is not readable").endswith(
        f"(fix: sentry-ado links remove {nine}, then link the pair again from the Sentry issue page)")
    assert not [x for x in lines if issue_key("acme", "8") in x]  # the well-formed one is not listed
    assert main(["links", "remove", zero, "--dry-run"]) == 0 and store.get_marker("checkpoint", "x") is None
    assert main(["links", "remove", zero]) == 0 and main(["links", "remove", nine]) == 0
    assert main(["links", "remove", nine]) == 1  # gone already
    capsys.readouterr()
    assert main(["links", "check"]) == 0
    assert "ok   stored links: every one is well formed" in capsys.readouterr().out
    assert store.get_by_issue("acme", "8") is not None
    runtime.reset()


TRUTH_RULES = """
[[routes]]
sentry_projects = ["backend"]
ado_project = "Shop"
area_path = "Shop\\\\Nowhere"
iteration_path = "Shop\\\\Sprint 99"

[states.overrides.Bugg]
resolved = "Closed"

[states.overrides.Bug]
resolved = "Closd"

[identities]
"alice@example.com" = "nobody@contoso.com"
"bob@example.com" = "jamal@contoso.com"

[[releases.repositories]]
ado_repository = "no-such-repo"
sentry_repository = "Shop Web"
sentry_projects = ["backend"]
"""


def test_check_tells_the_truth_about_everything_the_app_depends_on(stack: Stack, capsys: Capsys) -> None:
    """Each of these passed `check` before and failed in production."""
    main(["subscribe", "--url", stack.hook_url])
    capsys.readouterr()
    stack.rules(TRUTH_RULES)
    stack.env(ADO_HOOK_SECRET="abc", SENTRY_INSTALLATION_UUID="00000000-0000-4000-8000-000000000000",
              SQLITE_PATH="/proc/no-such-dir/links.sqlite")
    code, lines = check(capsys)
    assert code == 1
    assert "unable to open" in line(lines, "FAIL link store (sqlite)")
    assert "3 characters" in line(lines, "FAIL ADO_HOOK_SECRET strength")
    assert "openssl rand -hex 32" in fix_after(lines, "FAIL ADO_HOOK_SECRET strength")
    assert "does not exist" in line(lines, "FAIL area_path 'Shop\\Nowhere' in Shop (routes[0])")
    line(lines, "FAIL iteration_path 'Shop\\Sprint 99' in Shop (routes[0])")
    assert "did you mean 'Bug'?" in fix_after(lines, "FAIL states.overrides.Bugg")
    assert "resolved = 'Closd': not a state of Bug" in line(lines, "FAIL states.overrides.Bug in Shop")
    line(lines, "FAIL identities: alice@example.com -> nobody@contoso.com")
    line(lines, "ok   identities: bob@example.com -> jamal@contoso.com")
    line(lines, "FAIL releases.repositories[0].ado_repository 'no-such-repo'")
    assert "SENTRY_INSTALLATION_UUID 00000000" in line(lines, "FAIL Sentry installation")


def test_check_json(stack: Stack, capsys: Capsys) -> None:
    import json

    stack.env(ADO_HOOK_SECRET="abc")
    code = main(["check", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["ok"] is False and report["failed"] >= 1
    weak = next(c for c in report["checks"] if c["what"] == "ADO_HOOK_SECRET strength")
    assert weak["status"] == "FAIL" and "openssl" in weak["fix"]
    assert {c["status"] for c in report["checks"]} <= {"ok", "FAIL", "skip"}


def test_a_release_repository_that_exists_passes(stack: Stack, capsys: Capsys) -> None:
    stack.ado.push_commits("Shop", "shop-web", [{"message": "init", "author": "Ava Chen <ava@contoso.com>",
                                                 "changes": [{"changeType": "add", "path": "/README.md"}]}])
    stack.rules(RULES_WITH_REPO)
    _, lines = check(capsys)
    line(lines, "ok   releases.repositories[0].ado_repository 'shop-web': in Shop")


RULES_WITH_REPO = """
[[routes]]
sentry_projects = ["backend"]
ado_project = "Shop"

[[releases.repositories]]
ado_repository = "shop-web"
sentry_repository = "Shop Web"
sentry_projects = ["backend"]
"""


def test_an_organization_ado_does_not_have_is_a_404_and_check_names_the_url_form(stack: Stack, capsys: Capsys) -> None:
    import requests

    wrong = stack.ado.base_url.rsplit("/", 1)[0] + "/contoso-typo"
    answer = requests.get(f"{wrong}/_apis/projects", params={"api-version": "7.1"}, auth=("", DEFAULT_TOKEN),
                          timeout=10)
    assert answer.status_code == 404  # not the projects of some other organization
    stack.env(ADO_ORG_URL=wrong)
    code, lines = check(capsys)
    assert code == 1 and "404" in line(lines, "FAIL ADO reachable and authenticated")
    assert "https://dev.azure.com/<organization>" in fix_after(lines, "FAIL ADO reachable and authenticated")


RULES_WITH_ENVIRONMENTS = """
[[routes]]
sentry_projects = ["backend"]
ado_project = "Shop"

[releases]
environments = { deploy_prod = "Production", deploy_qa = "qa", deploy_live = "production" }
"""


def test_a_release_environment_that_differs_from_sentrys_only_in_case_fails(stack: Stack, capsys: Capsys) -> None:
    """Sentry makes an environment at its first deploy, so a new name passes; one that is a known
    environment in another case would split the deploys across two environments."""
    stack.sentry.new_error("backend", "KeyError", "seen in production")
    stack.rules(RULES_WITH_ENVIRONMENTS)
    _, lines = check(capsys)
    assert "but 'production' is" in line(lines, "FAIL releases.environments.deploy_prod = 'Production'")
    assert "did you mean 'production'?" in fix_after(lines, "FAIL releases.environments.deploy_prod")
    assert "first deploy" in line(lines, "ok   releases.environments.deploy_qa = 'qa'")
    line(lines, "ok   releases.environments.deploy_live = 'production': an environment of the Sentry organization")
