"""Read infra/ Bicep with pycep-parser, for the infra tests and for cross-checks by other tests.

`app_setting_names()` is the contract between the Bicep and the code: the names of every app setting
the Function App gets (the keys of `var appSettings` in infra/main.bicep, which main.bicep hands to
modules/functionapp.bicep whole). A test elsewhere can compare it with what `shared/config.py` reads:

    from tests.infra.bicep_settings import PLATFORM_SETTINGS, app_setting_names
    assert app_setting_names() - PLATFORM_SETTINGS == set(SETTING_NAMES) - LOCAL_ONLY_SETTINGS

pycep represents an identifier and a string literal the same way (a Python str); interpolations stay
as text (``'${x.y}'``); operators and functions become ``{"operator": ...}`` / ``{"function": ...}``
dicts; object keys that needed quotes keep them (``"'sentry-token'"``). Helpers below hide that.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from pycep import BicepParser

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
MAIN = INFRA / "main.bicep"
MODULES = INFRA / "modules"

# Settings read by the Functions host, Azure SDKs or the App Insights agent, not by shared/config.py.
PLATFORM_SETTINGS = frozenset({
    "AzureWebJobsStorage__credential",
    "AzureWebJobsStorage__clientId",
    "AZURE_CLIENT_ID",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
})

# Settings shared/config.py reads that exist only for local runs, never in Azure.
LOCAL_ONLY_SETTINGS = frozenset({
    "AzureWebJobsStorage",  # connection string (Azurite); Azure uses AzureWebJobsStorage__* identity settings
    "SQLITE_PATH",  # LINK_STORE=sqlite; Azure uses the `links` table
    "APP_BASE_URL",  # local runs; in Azure the platform sets WEBSITE_HOSTNAME
    "WEBSITE_HOSTNAME",  # set by the platform itself, never by us
})

# App settings whose value is a secret: each must be a Key Vault reference (or empty when unused).
SECRET_SETTINGS = frozenset({
    "SENTRY_TOKEN",
    "SENTRY_CLIENT_SECRET",
    "ADO_PAT",
    "ADO_CLIENT_SECRET",
    "ADO_HOOK_SECRET",
    "SENTRY_DSN",
})

KEY_VAULT_REFERENCE = re.compile(
    r"^@Microsoft\.KeyVault\(SecretUri=\$\{keyVault\.outputs\.uri\}secrets/(?P<name>[a-z0-9-]+)/\)$"
)


@cache
def parse(path: Path) -> dict[str, Any]:
    """The pycep tree of one .bicep file (cached; treat it as read-only)."""
    return BicepParser().parse(file_path=path)


def bicep_files() -> list[Path]:
    return sorted(INFRA.rglob("*.bicep"))


def unquote(key: str) -> str:
    """Object keys that needed quotes in Bicep keep them in pycep's tree."""
    return key[1:-1] if len(key) >= 2 and key[0] == key[-1] == "'" else key


def leaves(node: Any) -> Iterator[Any]:
    """Every scalar (str, int, bool, None) inside a pycep node: literals, identifiers, interpolations.

    Operator and function nodes contribute their operands/arguments, not their type tags.
    """
    if isinstance(node, dict) and set(node) == {"operator"}:
        yield from leaves(node["operator"].get("operands", {}))
    elif isinstance(node, dict) and set(node) == {"function"}:
        yield from leaves(node["function"].get("parameters", {}))
    elif isinstance(node, dict):
        for value in node.values():
            yield from leaves(value)
    elif isinstance(node, list):
        for value in node:
            yield from leaves(value)
    else:
        yield node


def string_leaves(node: Any) -> list[str]:
    return [leaf for leaf in leaves(node) if isinstance(leaf, str)]


def mentions(text: str, identifier: str) -> bool:
    """Whether an identifier occurs in a leaf (bare, or inside an interpolation), as a whole word."""
    return re.search(rf"(?<![\w.-]){re.escape(identifier)}(?![\w-])", text) is not None


def decorator(param: dict[str, Any], kind: str) -> dict[str, Any] | None:
    return next((d for d in param.get("decorators", []) if d.get("type") == kind), None)


def secure_params(tree: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: p for name, p in tree.get("parameters", {}).items() if decorator(p, "secure")}


def app_settings() -> dict[str, Any]:
    """The Function App's settings as written in main.bicep: name -> pycep value node."""
    value = parse(MAIN)["variables"]["appSettings"]["value"]
    return {unquote(k): v for k, v in value.items()}


def app_setting_names() -> set[str]:
    """Names of every app setting the Bicep gives the Function App."""
    return set(app_settings())
