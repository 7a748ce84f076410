"""Config: every problem reported at once, each naming its key; secrets never shown."""

from __future__ import annotations

import pytest

from shared.config import ConfigError, load_config, parse_rules, parse_settings

GOOD = {"SENTRY_ORG": "acme", "SENTRY_TOKEN": "sntrys_tok_123", "SENTRY_CLIENT_SECRET": "csecret-456",
        "ADO_ORG_URL": "https://dev.azure.com/contoso", "ADO_PAT": "pat-789", "ADO_HOOK_SECRET": "hook-000"}


def problems(env: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_settings(env)
    return info.value.problems


def test_good_settings_parse_with_defaults() -> None:
    s = parse_settings(GOOD)
    assert s.sentry_base_url == "https://sentry.io" and s.link_store == "sqlite" and s.ado_auth == "pat"
    assert s.ado_is_services
    assert not parse_settings({**GOOD, "ADO_ORG_URL": "https://tfs.contoso.local/tfs/Default"}).ado_is_services


def test_every_missing_key_is_named_at_once() -> None:
    found = problems({})
    for key in ("SENTRY_ORG", "SENTRY_TOKEN", "SENTRY_CLIENT_SECRET", "ADO_ORG_URL", "ADO_PAT", "ADO_HOOK_SECRET"):
        assert any(p.startswith(f"{key}:") for p in found), key


@pytest.mark.parametrize(("key", "value", "expect"), [
    ("ADO_AUTH", "oauth", "expected one of pat, service-principal, managed-identity"),
    ("LINK_STORE", "redis", "expected one of table, sqlite"),
    ("ADO_ORG_URL", "dev.azure.com/contoso", "expected an http(s) URL"),
    ("SENTRY_BASE_URL", "ftp://sentry.io", "expected an http(s) URL"),
    ("RECONCILE_SCHEDULE", "*/5 * * * *", "6-field NCRONTAB"),
    ("WEBHOOK_MAX_BYTES", "lots", "whole number"),
])
def test_bad_values_name_key_and_form(key: str, value: str, expect: str) -> None:
    found = problems({**GOOD, key: value})
    assert len(found) == 1 and found[0].startswith(f"{key}:") and expect in found[0]


def test_service_principal_needs_its_keys() -> None:
    found = problems({**GOOD, "ADO_AUTH": "service-principal"})
    assert sorted(p.split(":")[0] for p in found) == ["ADO_CLIENT_ID", "ADO_CLIENT_SECRET", "ADO_TENANT_ID"]


def test_table_store_needs_storage() -> None:
    found = problems({**GOOD, "LINK_STORE": "table"})
    assert found[0].startswith("AzureWebJobsStorage:")


def test_unresolved_key_vault_reference_is_named_not_used() -> None:
    ref = "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/ado-pat/)"
    found = problems({**GOOD, "ADO_PAT": ref})
    assert found == [p for p in found if p.startswith("ADO_PAT:")] and "unresolved Key Vault reference" in found[0]


def test_secrets_never_appear_in_repr_or_errors() -> None:
    s = parse_settings(GOOD)
    text = repr(s) + str(s)
    for secret in ("sntrys_tok_123", "csecret-456", "pat-789", "hook-000"):
        assert secret not in text
    assert s.ado_pat.reveal() == "pat-789"
    err = str(ConfigError(problems({**GOOD, "ADO_ORG_URL": "nope", "ADO_AUTH": "x"})))
    assert "pat-789" not in err and "hook-000" not in err


RULES = """
[[routes]]
sentry_projects = ["backend", "api"]
ado_project = "Shop"
work_item_type = "Bug"
area_path = "Shop\\\\Backend"
fields = { "Custom.Team" = "Payments" }
auto_create = { enabled = true, levels = ["fatal"] }

[states]
done_categories = ["Resolved", "Completed"]
ignored_action = "resolve"
[states.overrides.Bug]
resolved = "Closed"

[sync]
assignee = "sentry-to-ado"
conflict = "ado"

[priority]
high = 2

[identities]
"Alice@Example.com" = "alice@contoso.com"
"""


def test_rules_parse() -> None:
    rules = parse_rules(RULES)
    route = rules.route_for("api")
    assert route is not None and route.ado_project == "Shop" and route.area_path == "Shop\\Backend"
    assert route.auto_create.enabled and route.auto_create.levels == ("fatal",)
    assert rules.route_for("frontend") is None
    assert rules.states.overrides["Bug"]["resolved"] == "Closed"
    assert rules.syncs("assignee", "ado") and not rules.syncs("assignee", "sentry")
    assert rules.syncs("status", "sentry") and not rules.syncs("title", "ado")
    assert rules.priority["high"] == 2 and rules.priority["fatal"] == 1
    assert rules.identities == {"alice@example.com": "alice@contoso.com"}


@pytest.mark.parametrize(("text", "expect"), [
    ("routes = 3", "routes: expected [[routes]] tables"),
    ("[[routes]]\nado_project = 'X'", "routes[0].sentry_projects: is required"),
    ("[[routes]]\nsentry_projects = ['a']", "routes[0].ado_project: is required"),
    ("[[routes]]\nsentry_projects=['a']\nado_project='X'\n[severty]", "severty: unknown key; did you mean 'severity'?"),
    ("[sync]\nstatus = 'both'\nstatus = 'off'\n",
     "Cannot overwrite a value (at line 3, column 15) in `status = 'off'`; a key is set twice"),
    ("[[routes]]\nsentry_projects =\n", "in `sentry_projects =`; give the key a value"),
    ("priority = 3", "priority: expected a table"),
    ("[[routes]]\nsentry_projects=['a']\nado_project='X'\ncolour='red'", "routes[0].colour: unknown key"),
    ("[states]\ndone_categories = ['Finished']", "'Finished' is not one of Proposed"),
    ("[states]\nignored_action = 'explode'", "states.ignored_action: expected one of none, resolve, remove"),
    ("[states]\ndone_categories = ['Completed', 'Removed']", "Removed never resolves the Sentry issue"),
    ("[states]\nresolution_strategy = 'next'", "states.resolution_strategy: expected one of resolve, "
                                              "resolve_in_next_release, resolve_in_current_release"),
    ("[states]\ndone_resolves_archived = ['ignored']", "states.done_resolves_archived: 'ignored' is not one of "
                                                      "archived_until_escalating"),
    ("[[routes]]\nsentry_projects=['a']\nado_project='X'\nresolution_strategy='later'",
     "routes[0].resolution_strategy: expected one of resolve"),
    ("[sync]\nstatus = 'sideways'", "sync.status: expected one of both"),
    ("[priority]\nhigh = 9", "priority.high: expected an ADO priority 1-4"),
    ("[[routes]]\nsentry_projects=['a']\nado_project='X'\n[[routes]]\nsentry_projects=['a']\nado_project='Y'",
     "routes[1].sentry_projects: 'a' is already routed by routes[0]"),
    ("this is = not toml =", "not valid TOML"),
])
def test_bad_rules_name_the_key(text: str, expect: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_rules(text)
    assert any(expect in p for p in info.value.problems), info.value.problems


def test_load_config_reports_settings_and_rules_together(tmp_path) -> None:
    path = tmp_path / "sync.toml"
    path.write_text("[sync]\nstatus = 'sideways'\n")
    with pytest.raises(ConfigError) as info:
        load_config({**GOOD, "ADO_AUTH": "bogus", "SYNC_CONFIG_PATH": str(path)})
    keys = [p.split(":")[0] for p in info.value.problems]
    assert "ADO_AUTH" in keys and any("sync.status" in p for p in info.value.problems)
    with pytest.raises(ConfigError, match="SYNC_CONFIG_PATH: cannot read"):
        load_config({**GOOD, "SYNC_CONFIG_PATH": str(tmp_path / "missing.toml")})
    with pytest.raises(ConfigError, match=r"cannot read 'no-such/sync.toml'.*\(looked in .*no-such/sync.toml and "):
        load_config({**GOOD, "SYNC_CONFIG_PATH": "no-such/sync.toml"})


def test_the_top_level_key_is_separated_from_the_file_it_is_in() -> None:
    with pytest.raises(ConfigError) as info:
        parse_rules("severty = 1", source="SYNC_CONFIG_PATH (sync.toml)")
    assert info.value.problems[0].startswith("SYNC_CONFIG_PATH (sync.toml): severty: unknown key")


@pytest.mark.parametrize("url", ["https://dev.azure.com", "https://dev.azure.com/contoso/Shop",
                                 "https://contoso.visualstudio.com/Shop"])
def test_an_ado_url_that_is_not_an_organization_names_the_expected_form(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings({**GOOD, "ADO_ORG_URL": url})
    assert any(p.startswith("ADO_ORG_URL: expected the organization URL https://dev.azure.com/<organization>")
               for p in info.value.problems)


def test_releases_table_is_parsed_and_its_problems_named() -> None:
    rules = parse_rules('[releases]\n[[releases.repositories]]\nado_repository = "shop"\n'
                        'sentry_repository = "contoso/shop"\nsentry_projects = ["backend"]\n')
    assert rules.releases is not None and rules.releases.repositories[0].sentry_repository == "contoso/shop"
    assert parse_rules("").releases is not None  # no [releases]: empty rules, nothing released
    with pytest.raises(ConfigError) as info:
        parse_rules('[releases]\nversion = "{nope}"\n[sync]\nstatus = "x"')
    assert any("releases.version" in p for p in info.value.problems)
    assert any("sync.status" in p for p in info.value.problems)


def test_the_documented_example_rules_parse() -> None:
    from pathlib import Path

    rules = parse_rules((Path(__file__).resolve().parents[1] / "sync.example.toml").read_text())
    assert [r.ado_project for r in rules.routes] == ["Shop", "Web"] and rules.releases is not None
