"""Structural checks on infra/*.bicep, parsed with pycep-parser (no Bicep CLI or Azure needed).

Each test names the property it protects; together they pin the hardening checklist (HTTPS, TLS 1.2,
no FTP, identity-only storage, RBAC vault with purge protection, Key Vault references for secrets,
least-privilege roles) and the Flex Consumption shape the app relies on.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.infra.bicep_settings import (
    INFRA,
    KEY_VAULT_REFERENCE,
    LOCAL_ONLY_SETTINGS,
    MAIN,
    MODULES,
    PLATFORM_SETTINGS,
    REPO,
    SECRET_SETTINGS,
    app_setting_names,
    app_settings,
    bicep_files,
    decorator,
    leaves,
    mentions,
    parse,
    secure_params,
    string_leaves,
    unquote,
)

ROLE_IDS = {
    "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "Storage Table Data Contributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
}

# Settings the Flex Consumption platform rejects or that would break identity-based storage.
FORBIDDEN_SETTINGS = {
    "FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION", "WEBSITE_RUN_FROM_PACKAGE",
    "WEBSITE_CONTENTSHARE", "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING", "SCM_DO_BUILD_DURING_DEPLOYMENT",
    "ENABLE_ORYX_BUILD", "WEBSITE_TIME_ZONE", "TZ", "AzureWebJobsStorage", "SQLITE_PATH",
    "APPINSIGHTS_INSTRUMENTATIONKEY",
}


def module(name: str) -> dict[str, Any]:
    return parse(MODULES / f"{name}.bicep")


def resource(tree: dict[str, Any], name: str) -> dict[str, Any]:
    """A resource's body (`config`), unwrapping a `for` loop if there is one."""
    config = tree["resources"][name]["config"]
    return config["config"] if "loop_type" in config else config


def resources_of_type(tree: dict[str, Any], rtype: str) -> dict[str, dict[str, Any]]:
    return {n: r for n, r in tree["resources"].items() if r["type"] == rtype and not r["existing"]}


def main_module_params(name: str) -> dict[str, Any]:
    return {unquote(k): v for k, v in parse(MAIN)["modules"][name]["config"]["params"].items()}


def param_min_value(tree: dict[str, Any], name: str) -> int | None:
    found = decorator(tree["parameters"][name], "min_value")
    return found["argument"] if found else None


# ---------------------------------------------------------------------------------------------
# Files and modules


@pytest.mark.parametrize("path", bicep_files(), ids=lambda p: str(p.relative_to(INFRA)))
def test_every_bicep_file_parses(path: Path) -> None:
    tree = parse(path)
    assert tree.get("resources") or tree.get("modules"), f"{path} declares nothing"


def test_every_module_main_uses_exists_and_every_module_file_is_used() -> None:
    modules = parse(MAIN)["modules"]
    used = set()
    for name, mod in modules.items():
        assert mod["type"] == "local", f"module {name} is not a local file: checkov cannot see inside it"
        path = (INFRA / mod["detail"]["path"]).resolve()
        assert path.is_file(), f"module {name} -> {path} does not exist"
        used.add(path)
    assert used == {p.resolve() for p in MODULES.glob("*.bicep")}, "unused or missing module files"


def test_module_params_match_module_declarations() -> None:
    """Every param main.bicep passes exists in the module; every module param without default is passed."""
    for name, mod in parse(MAIN)["modules"].items():
        declared = parse((INFRA / mod["detail"]["path"]).resolve())["parameters"]
        passed = set(main_module_params(name))
        assert passed <= set(declared), f"{name}: unknown params {passed - set(declared)}"
        required = {p for p, d in declared.items() if d.get("default") is None}
        assert required <= passed, f"{name}: required params not passed {required - passed}"


# ---------------------------------------------------------------------------------------------
# Function App (Flex Consumption)


def test_plan_is_flex_consumption_linux() -> None:
    plan = resource(module("functionapp"), "plan")
    assert plan["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    assert plan["properties"]["reserved"] is True  # Linux


def test_site_is_hardened() -> None:
    site = resource(module("functionapp"), "site")
    props = site["properties"]
    assert site["kind"] == "functionapp,linux"
    assert props["httpsOnly"] is True
    assert props["siteConfig"]["minTlsVersion"] == "1.2"
    assert props["siteConfig"]["scmMinTlsVersion"] == "1.2"
    assert props["siteConfig"]["ftpsState"] == "Disabled"
    assert props["siteConfig"]["http20Enabled"] is True


def test_basic_publishing_credentials_are_disabled() -> None:
    tree = module("functionapp")
    policies = resources_of_type(tree, "Microsoft.Web/sites/basicPublishingCredentialsPolicies")
    by_name = {resource(tree, n)["name"]: resource(tree, n)["properties"]["allow"] for n in policies}
    assert by_name == {"ftp": False, "scm": False}


def test_runtime_is_python_312() -> None:
    config = resource(module("functionapp"), "site")["properties"]["functionAppConfig"]
    assert config["runtime"] == {"name": "python", "version": "3.12"}


def test_http_group_is_always_ready_with_at_least_one_instance() -> None:
    tree = module("functionapp")
    scale = resource(tree, "site")["properties"]["functionAppConfig"]["scaleAndConcurrency"]
    http = [entry for entry in scale["alwaysReady"] if entry["name"] == "http"]
    assert len(http) == 1, "exactly one always-ready entry for the HTTP function group"
    count_param = http[0]["instanceCount"]
    assert count_param in tree["parameters"], "instanceCount should come from a parameter"
    assert (param_min_value(tree, count_param) or 0) >= 1
    assert tree["parameters"][count_param]["default"] >= 1
    # main.bicep exposes it with the same floor and passes it through.
    passed = main_module_params("functionApp")[count_param]
    main = parse(MAIN)
    assert passed in main["parameters"]
    assert (param_min_value(main, passed) or 0) >= 1
    assert main["parameters"][passed]["default"] >= 1


def test_app_runs_as_the_user_assigned_identity_everywhere() -> None:
    tree = module("functionapp")
    site = resource(tree, "site")
    props = site["properties"]
    assert site["identity"]["type"] == "UserAssigned"
    assert list(site["identity"]["userAssignedIdentities"]) == ["'${identityId}'"]
    assert props["keyVaultReferenceIdentity"] == "identityId"
    auth = props["functionAppConfig"]["deployment"]["storage"]["authentication"]
    assert auth == {"type": "UserAssignedIdentity", "userAssignedIdentityResourceId": "identityId"}
    assert main_module_params("functionApp")["identityId"] == {
        "operator": {"type": "property_accessor", "operands": {
            "operand_1": "identity",
            "operand_2": {"operator": {"type": "property_accessor",
                                       "operands": {"operand_1": "outputs", "operand_2": "id"}}}}}}


def test_site_renders_every_app_setting_from_main() -> None:
    rendered = resource(module("functionapp"), "site")["properties"]["siteConfig"]["appSettings"]
    assert rendered["loop_type"]["detail"]["array_name"] == {
        "function": {"type": "items", "parameters": {"arg_1": "appSettings"}}}
    item = rendered["loop_type"]["detail"]["item_name"]
    assert set(string_leaves(rendered["config"])) == {item, "key", "value"}
    assert main_module_params("functionApp")["appSettings"] == "appSettings"


def test_function_app_waits_for_role_assignments() -> None:
    depends = parse(MAIN)["modules"]["functionApp"]["config"]["dependsOn"]
    assert "rbac" in depends


# ---------------------------------------------------------------------------------------------
# App settings


def test_app_settings_cover_what_the_app_and_host_read() -> None:
    required = {
        "SENTRY_BASE_URL", "SENTRY_ORG", "SENTRY_TOKEN", "SENTRY_CLIENT_SECRET", "ADO_ORG_URL", "ADO_AUTH",
        "ADO_PAT", "ADO_TENANT_ID", "ADO_CLIENT_ID", "ADO_CLIENT_SECRET", "ADO_HOOK_SECRET", "LINK_STORE",
        "AzureWebJobsStorage__accountName", "AzureWebJobsStorage__credential", "AzureWebJobsStorage__clientId",
        "SYNC_CONFIG_PATH", "RECONCILE_SCHEDULE", "AZURE_CLIENT_ID", "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
    }
    names = app_setting_names()
    assert required <= names, f"missing: {sorted(required - names)}"
    assert not names & FORBIDDEN_SETTINGS, f"must not be set on Flex/identity storage: {names & FORBIDDEN_SETTINGS}"


def test_app_settings_match_what_shared_config_reads() -> None:
    from shared.config import SETTING_NAMES

    read_by_code = set(SETTING_NAMES) - LOCAL_ONLY_SETTINGS
    in_bicep = app_setting_names() - PLATFORM_SETTINGS
    assert in_bicep == read_by_code, (
        f"only in Bicep: {sorted(in_bicep - read_by_code)}; only in code: {sorted(read_by_code - in_bicep)}")


def test_fixed_setting_values() -> None:
    settings = app_settings()
    assert settings["LINK_STORE"] == "table"
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == (
        "ClientId=${identity.outputs.clientId};Authorization=AAD")
    client_id = settings["AZURE_CLIENT_ID"]
    assert settings["AzureWebJobsStorage__clientId"] == client_id
    assert "clientId" in string_leaves(client_id) and "identity" in string_leaves(client_id)
    assert settings["RECONCILE_SCHEDULE"] == "reconcileSchedule"
    default = parse(MAIN)["parameters"]["reconcileSchedule"]["default"]
    assert re.fullmatch(r"\S+( \S+){5}", default), f"not a 6-field NCRONTAB: {default!r}"


def _vault_secret_names() -> set[str]:
    """Secret names main.bicep can write to the vault (keys of the objects merged into `secrets`)."""
    variables = parse(MAIN)["variables"]
    merged = main_module_params("keyVault")["secrets"]
    names: set[str] = set()
    for var in string_leaves(merged):
        if var in variables:
            value = variables[var]["value"]
            for sub in [value, *(variables[v]["value"] for v in string_leaves(value) if v in variables)]:
                if isinstance(sub, dict):
                    names |= {unquote(k) for k in sub if not k.startswith(("operator", "function"))}
    return names


@pytest.mark.parametrize("name", sorted(SECRET_SETTINGS))
def test_secret_settings_are_key_vault_references(name: str) -> None:
    value = app_settings()[name]
    texts = string_leaves(value)
    references = [KEY_VAULT_REFERENCE.match(t) for t in texts]
    referenced = {m["name"] for m in references if m}
    assert referenced, f"{name} is not a Key Vault reference"
    # Whatever else the expression contains is the auth-mode switch or an empty (unused) value.
    others = {t for t, m in zip(texts, references, strict=True) if not m}
    assert others <= {"", "adoAuth", "pat", "service-principal", "reportErrors"}, f"{name}: unexpected values {others}"
    assert referenced <= _vault_secret_names(), f"{name} references a secret the vault never gets"


def test_no_secure_parameter_reaches_an_app_setting_directly() -> None:
    secure = secure_params(parse(MAIN))
    for name, value in app_settings().items():
        for text in string_leaves(value):
            leaked = [p for p in secure if mentions(text, p)]
            assert not leaked, f"app setting {name} uses @secure() param {leaked} instead of a Key Vault reference"


def test_every_secure_parameter_is_stored_in_the_vault() -> None:
    variables = parse(MAIN)["variables"]
    stored = {leaf for var in variables.values() for leaf in string_leaves(var["value"])}
    assert set(secure_params(parse(MAIN))) <= stored


# ---------------------------------------------------------------------------------------------
# Secrets never as defaults or outputs


@pytest.mark.parametrize("path", bicep_files(), ids=lambda p: str(p.relative_to(INFRA)))
def test_secure_parameters_have_no_default(path: Path) -> None:
    for name, param in secure_params(parse(path)).items():
        assert param.get("default") is None, f"{path.name}: @secure() param {name} has a default"


@pytest.mark.parametrize("path", bicep_files(), ids=lambda p: str(p.relative_to(INFRA)))
def test_outputs_never_carry_secrets(path: Path) -> None:
    tree = parse(path)
    secret_sources = set(secure_params(tree)) | {
        name for name, r in tree.get("resources", {}).items() if r["type"] == "Microsoft.KeyVault/vaults/secrets"}
    for out_name, output in tree.get("outputs", {}).items():
        assert decorator(output, "secure") is None
        for text in string_leaves(output["value"]):
            hits = [s for s in secret_sources if mentions(text, s)]
            assert not hits, f"{path.name}: output {out_name} exposes {hits}"
            assert "listKeys" not in text and "listSecrets" not in text


def test_main_has_secure_parameters_for_every_credential() -> None:
    assert set(secure_params(parse(MAIN))) == {
        "sentryToken", "sentryClientSecret", "adoPat", "adoClientSecret", "adoHookSecret", "sentryDsn"}


# ---------------------------------------------------------------------------------------------
# Key Vault


def test_vault_uses_rbac_soft_delete_and_purge_protection() -> None:
    tree = module("keyvault")
    props = resource(tree, "vault")["properties"]
    assert props["enableRbacAuthorization"] is True
    assert props["enableSoftDelete"] is True
    assert props["enablePurgeProtection"] is True
    assert "accessPolicies" not in props
    retention = props["softDeleteRetentionInDays"]
    assert tree["parameters"][retention]["default"] >= 7 if retention in tree["parameters"] else retention >= 7


def test_vault_secrets_have_content_type() -> None:
    tree = module("keyvault")
    for name in resources_of_type(tree, "Microsoft.KeyVault/vaults/secrets"):
        assert resource(tree, name)["properties"]["contentType"], f"secret {name} lacks contentType"
    assert decorator(tree["parameters"]["secrets"], "secure") is not None


# ---------------------------------------------------------------------------------------------
# Storage


def test_storage_account_is_identity_only_and_tls12() -> None:
    props = resource(module("storage"), "storage")["properties"]
    assert props["allowSharedKeyAccess"] is False
    assert props["minimumTlsVersion"] == "TLS1_2"
    assert props["allowBlobPublicAccess"] is False
    assert props["supportsHttpsTrafficOnly"] is True
    assert props["defaultToOAuthAuthentication"] is True


def test_storage_has_queues_table_and_private_deployment_container() -> None:
    tree = module("storage")
    params = main_module_params("storage")
    assert set(params["queueNames"]) == {"sentry-events", "ado-events"}
    assert params["linkTableName"] == "links"
    assert resources_of_type(tree, "Microsoft.Storage/storageAccounts/queueServices/queues")
    assert resources_of_type(tree, "Microsoft.Storage/storageAccounts/tableServices/tables")
    containers = resources_of_type(tree, "Microsoft.Storage/storageAccounts/blobServices/containers")
    assert [resource(tree, n)["properties"]["publicAccess"] for n in containers] == ["None"]


# ---------------------------------------------------------------------------------------------
# Role assignments


def _role_id(expr: Any, tree: dict[str, Any], loop_values: list[Any] | None = None) -> list[str]:
    roles = tree["variables"]["roles"]["value"]
    if loop_values is not None:  # expr is the loop item: the roles are the looped-over values
        return [rid for v in loop_values for rid in _role_id(v, tree)]
    if isinstance(expr, str) and expr in ROLE_IDS.values():
        return [expr]
    if isinstance(expr, dict) and "operator" in expr:
        operands = expr["operator"]["operands"]
        if operands["operand_1"] == "roles":
            return [roles[operands["operand_2"]]]
    raise AssertionError(f"cannot resolve role id from {expr!r}")


def test_role_assignments_are_least_privilege_with_guid_names() -> None:
    tree = module("rbac")
    granted: dict[str, set[str]] = {}
    for name, res in resources_of_type(tree, "Microsoft.Authorization/roleAssignments").items():
        config = res["config"]
        loop_item, loop_values = None, None
        if "loop_type" in config:
            loop_item = config["loop_type"]["detail"]["item_name"]
            loop_values = tree["variables"][config["loop_type"]["detail"]["array_name"]]["value"]
            config = config["config"]
        assert config["name"]["function"]["type"] == "guid", f"{name}: name must be guid(...)"
        props = config["properties"]
        assert props["principalType"] == "ServicePrincipal"
        assert props["principalId"] == "principalId"
        role_arg = props["roleDefinitionId"]["function"]["parameters"]["resource_name_1"]
        role_ids = _role_id(role_arg, tree, loop_values if role_arg == loop_item else None)
        # The guid must include the scope, the principal and the role, so it is unique per grant.
        guid_args = string_leaves(config["name"])
        assert "principalId" in guid_args and config["scope"] in guid_args
        scope_type = tree["resources"][config["scope"]]["type"]
        granted.setdefault(scope_type, set()).update(role_ids)
    assert granted == {
        "Microsoft.Storage/storageAccounts": {
            ROLE_IDS["Storage Blob Data Owner"], ROLE_IDS["Storage Queue Data Contributor"],
            ROLE_IDS["Storage Table Data Contributor"]},
        "Microsoft.KeyVault/vaults": {ROLE_IDS["Key Vault Secrets User"]},
        "Microsoft.Insights/components": {ROLE_IDS["Monitoring Metrics Publisher"]},
    }


# ---------------------------------------------------------------------------------------------
# Monitoring


def test_app_insights_and_workspace_disable_local_auth() -> None:
    tree = module("monitoring")
    assert resource(tree, "appInsights")["properties"]["DisableLocalAuth"] is True
    workspace_id = resource(tree, "appInsights")["properties"]["WorkspaceResourceId"]
    assert string_leaves(workspace_id) == ["workspace", "id"]
    assert resource(tree, "workspace")["properties"]["features"]["disableLocalAuth"] is True


# ---------------------------------------------------------------------------------------------
# Parameter file and azd


def _bicepparam() -> dict[str, str]:
    text = (INFRA / "main.bicepparam").read_text(encoding="utf-8")
    assert re.search(r"^using 'main\.bicep'$", text, re.M), "main.bicepparam must use main.bicep"
    return dict(re.findall(r"^param (\w+) = (.+)$", text, re.M))


def test_bicepparam_assigns_known_params_and_every_required_one() -> None:
    assigned = _bicepparam()
    params = parse(MAIN)["parameters"]
    assert set(assigned) <= set(params), f"unknown params: {set(assigned) - set(params)}"
    required = {n for n, p in params.items() if p.get("default") is None}
    assert required <= set(assigned), f"not assigned: {required - set(assigned)}"


def test_bicepparam_reads_secrets_from_the_environment_only() -> None:
    assigned = _bicepparam()
    for name in secure_params(parse(MAIN)):
        value = assigned[name]
        assert re.fullmatch(r"readEnvironmentVariable\('[A-Z_]+'(, '')?\)", value), (
            f"{name} must come from the environment, got {value}")


def _simple_yaml(text: str) -> dict[str, Any]:
    """Nested mappings of scalars (all azure.yaml needs); comments and blank lines ignored."""
    root: dict[str, Any] = {}
    stack: list[tuple[int, dict[str, Any]]] = [(-1, root)]
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        key, _, value = line.strip().partition(":")
        while stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1]
        if value.strip():
            parent[key] = value.strip().strip("'\"")
        else:
            parent[key] = {}
            stack.append((indent, parent[key]))
    return root


def test_azure_yaml_deploys_the_root_app_with_this_infra() -> None:
    doc = _simple_yaml((REPO / "azure.yaml").read_text(encoding="utf-8"))
    assert doc["services"]["api"] == {"project": ".", "language": "python", "host": "function"}
    assert (REPO / doc["infra"]["path"] / f"{doc['infra']['module']}.bicep").resolve() == MAIN.resolve()
    # azd finds the app by its tag, and fails if more than one resource carries it.
    tree = module("functionapp")
    assert main_module_params("functionApp")["azdServiceName"] == "api"
    tagged = [name for name, r in tree["resources"].items()
              if "siteTags" in string_leaves(r["config"].get("tags", {}))]
    assert tagged == ["site"]
    site_tags = tree["variables"]["siteTags"]["value"]
    assert "azdServiceName" in string_leaves(site_tags) and "'azd-service-name'" in str(site_tags)


def test_no_literal_that_looks_like_a_secret() -> None:
    """No long random-looking literal (a pasted key or token) anywhere in infra/; GUIDs (role ids) are fine."""
    suspicious = re.compile(r"^[A-Za-z0-9+/=_-]{32,}$")
    guid = re.compile(r"^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$")
    for path in bicep_files():
        for leaf in leaves(parse(path)):
            if isinstance(leaf, str) and not guid.match(leaf):
                assert not suspicious.match(leaf), f"{path.name}: {leaf!r}"
