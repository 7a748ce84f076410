"""The [releases] table: defaults, every problem named by key, version templates."""

from __future__ import annotations

import pytest

from shared.config import ConfigError
from shared.releases.rules import ReleaseRules, parse_release_rules
from shared.releases.version import VersionError, VersionFacts, render_version

GOOD = {"version": "{repo}@{short_sha}", "first_deploy_commits": 5,
        "environments": {"deploy_prod": "production", "shop-deploy/qa": "qa"},
        "repositories": [{"ado_repository": "Shop-Web", "sentry_repository": "shop-web",
                          "sentry_projects": ["backend"]}]}


def test_parses_and_matches_repository_by_name_or_id_case_insensitively() -> None:
    rules = parse_release_rules(GOOD)
    assert rules.first_deploy_commits == 5 and rules.max_commits == 1000
    assert rules.repository_for("guid-1", "shop-web").sentry_repository == "shop-web"
    assert rules.repository_for("SHOP-WEB", "other") is not None
    assert rules.repository_for("guid-2", "api") is None
    assert rules.environment_for("shop-deploy/qa", "qa") == "qa"


def test_absent_table_is_empty_defaults() -> None:
    assert parse_release_rules(None) == ReleaseRules()
    assert ReleaseRules().first_deploy_commits == 20


def test_every_problem_is_reported_with_its_key() -> None:
    raw = {"version": "{repo}@{commit}", "first_deploy_commits": 0, "colour": "red",
           "environments": {"deploy/prod": "prod/eu", "ok": "fine"},
           "repositories": [{"ado_repository": "a", "sentry_repository": "x" * 65, "sentry_projects": []},
                            {"ado_repository": "A", "sentry_repository": "b", "sentry_projects": ["p"], "x": 1},
                            "nope"]}
    with pytest.raises(ConfigError) as caught:
        parse_release_rules(raw)
    text = "\n".join(caught.value.problems)
    for fragment in ("releases.colour: unknown key", "releases.version: unknown placeholder {commit}",
                     "releases.first_deploy_commits: expected a whole number from 1",
                     "releases.repositories[0].sentry_repository: at most 64 characters",
                     "releases.repositories[0].sentry_projects: expected a non-empty list",
                     "releases.repositories[1].x: unknown key",
                     "releases.repositories[1].ado_repository: 'A' is already configured by releases.repositories[0]",
                     "releases.repositories[2]: expected a table",
                     "releases.environments.deploy/prod: expected a Sentry environment name"):
        assert fragment in text


@pytest.mark.parametrize(("template", "problem"), [
    ("release", "has no placeholder"),
    ("{sha!r}", "may not carry a format spec"),
    ("{sha:>10}", "may not carry a format spec"),
    ("v{0}", "unknown placeholder {0}"),
    ("{repo", "not a valid template"),
    ("web/{sha}", "refuses in versions"),
    ("", "non-empty string"),
])
def test_bad_version_templates(template: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=r"releases\.version") as caught:
        parse_release_rules({"version": template})
    assert problem in caught.value.problems[0]


FACTS = VersionFacts(repo="shop-web", sha="0123456789abcdef0123456789abcdef01234567", run_id=42,
                     run_name="20260102.3", pipeline="shop-deploy", branch="main")


@pytest.mark.parametrize(("template", "version"), [
    ("{repo}@{sha}", "shop-web@0123456789abcdef0123456789abcdef01234567"),
    ("{run_name}", "20260102.3"),
    ("{pipeline}-{run_id}+{short_sha}", "shop-deploy-42+0123456789ab"),
    ("{{{branch}}}", "{main}"),
])
def test_version_templates_render(template: str, version: str) -> None:
    assert render_version(template, FACTS) == version


def test_rendered_version_sentry_refuses_is_a_named_error() -> None:
    facts = VersionFacts(**{**FACTS.__dict__, "branch": "feature/x"})
    with pytest.raises(VersionError, match=r"rendered 'app-feature/x'"):
        render_version("app-{branch}", facts)
