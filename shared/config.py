"""The app's configuration: settings from the environment, sync rules from a TOML file.

Rules of this module:
- It is loaded once per process (`get_config`) and is immutable afterwards.
- Every problem is reported at once, one line per problem, each naming the key and the expected
  form, so a bad deployment is fixed in one pass rather than one error at a time.
- A value that still starts with ``@Microsoft.KeyVault(`` is an app setting whose Key Vault
  reference did not resolve; the platform hands the literal text over. We refuse it by name.
- Secrets are wrapped in `Secret`, which never shows its value in ``repr``/``str``; the value is only
  read by the code that puts it on the wire (`Secret.reveal`).

Parsing is pure (`parse_settings(env)`, `parse_rules(text)`); only `load_config` reads a file.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from shared.config_error import ConfigError, unknown_key

if TYPE_CHECKING:
    from shared.code_links import CodeMapping
    from shared.releases.rules import ReleaseRules

KEY_VAULT_PREFIX = "@Microsoft.KeyVault("
ADO_AUTH_MODES = ("pat", "service-principal", "managed-identity")
LINK_STORES = ("table", "sqlite")
DIRECTIONS = ("both", "sentry-to-ado", "ado-to-sentry", "off")
SYNCED_FIELDS = ("status", "assignee", "comments", "title")
CONFLICT_RULES = ("latest", "sentry", "ado")
STATE_CATEGORIES = ("Proposed", "InProgress", "Resolved", "Completed", "Removed")
SENTRY_LEVELS = ("fatal", "error", "warning", "info", "debug", "sample")
SENTRY_PRIORITIES = ("high", "medium", "low")
IGNORED_ACTIONS = ("none", "resolve", "remove")
# How a work item moving to done resolves its Sentry issue (Sentry's Jira/GitHub resolution_strategy).
RESOLUTION_STRATEGIES = ("resolve", "resolve_in_next_release", "resolve_in_current_release")
ARCHIVED_SUBSTATUSES = ("archived_until_escalating", "archived_until_condition_met", "archived_forever")
# Sentry's own Azure DevOps integration counts both as done (reference: anchor-sentry-vsts §1.6).
DEFAULT_DONE_CATEGORIES = ("Resolved", "Completed")
DEFAULT_SCHEDULE = "0 */15 * * * *"
# The keys each table of the sync rules accepts (sync.example.toml documents each one; a test compares).
RULES_KEYS = frozenset({"routes", "states", "sync", "priority", "severity", "identities", "releases",
                        "code_mappings"})
ROUTE_KEYS = frozenset({"sentry_projects", "ado_project", "work_item_type", "area_path", "iteration_path", "tags",
                        "fields", "auto_create", "resolution_strategy"})
AUTO_CREATE_KEYS = frozenset({"enabled", "levels", "environments", "min_events"})
STATES_KEYS = frozenset({"done_categories", "ignored_action", "reopen_on_regression", "overrides",
                         "resolution_strategy", "done_resolves_archived"})
OVERRIDE_KEYS = frozenset({"resolved", "unresolved", "ignored"})
SYNC_KEYS = frozenset(SYNCED_FIELDS) | {"conflict", "lookback_hours"}



class Secret:
    """A secret value that cannot leak through ``repr``, ``str``, f-strings or logging."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True)
class Settings:
    """App settings (environment variables). Names match the Bicep app settings one to one."""

    sentry_base_url: str
    sentry_org: str
    sentry_token: Secret
    sentry_client_secret: Secret
    ado_org_url: str
    ado_auth: str
    ado_pat: Secret | None
    ado_tenant_id: str | None
    ado_client_id: str | None
    ado_client_secret: Secret | None
    ado_hook_secret: Secret
    link_store: str
    sqlite_path: str
    storage_connection: Secret | None
    storage_account: str | None
    sync_config_path: str | None
    reconcile_schedule: str
    sentry_installation_uuid: str | None = None
    app_base_url: str | None = None  # where ADO hooks must point (APP_BASE_URL, else https://WEBSITE_HOSTNAME)
    webhook_max_bytes: int = 1_048_576
    webhook_max_age_s: int = 300

    @property
    def ado_is_services(self) -> bool:
        """Azure DevOps Services (cloud) vs Server (on-prem): Markdown fields exist only on Services."""
        host = urlparse(self.ado_org_url).hostname or ""
        return host == "dev.azure.com" or host.endswith(".visualstudio.com")


# Every app setting the code reads, so tests can compare with infra/ and local.settings.example.json.
SETTING_NAMES = (
    "SENTRY_BASE_URL", "SENTRY_ORG", "SENTRY_TOKEN", "SENTRY_CLIENT_SECRET", "SENTRY_INSTALLATION_UUID",
    "ADO_ORG_URL", "ADO_AUTH", "ADO_PAT", "ADO_TENANT_ID", "ADO_CLIENT_ID", "ADO_CLIENT_SECRET",
    "ADO_HOOK_SECRET", "LINK_STORE", "SQLITE_PATH", "AzureWebJobsStorage",
    "AzureWebJobsStorage__accountName", "SYNC_CONFIG_PATH", "RECONCILE_SCHEDULE",
    "WEBHOOK_MAX_BYTES", "WEBHOOK_MAX_AGE_S", "APP_BASE_URL", "WEBSITE_HOSTNAME",
    "SENTRY_DSN", "SENTRY_TRACES_SAMPLE_RATE",  # read by shared/error_reporting.py, before the config
)


class _Reader:
    """Reads env values and collects problems instead of stopping at the first."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[str] = []

    def raw(self, key: str) -> str | None:
        value = self.env.get(key)
        if value is None or not value.strip():
            return None
        value = value.strip()
        if value.startswith(KEY_VAULT_PREFIX):
            self.problems.append(
                f"{key}: is an unresolved Key Vault reference; check the secret exists and the app's "
                "identity has 'Key Vault Secrets User' on the vault (keyVaultReferenceIdentity)")
            return None
        return value

    def text(self, key: str, default: str | None = None, required: bool = False) -> str | None:
        value = self.raw(key)
        if value is None and required and not self._reported(key):
            self.problems.append(f"{key}: is required")
        return value if value is not None else default

    def secret(self, key: str, required: bool = False) -> Secret | None:
        value = self.text(key, required=required)
        return Secret(value) if value is not None else None

    def url(self, key: str, default: str | None = None, required: bool = False) -> str | None:
        value = self.text(key, default, required)
        if value is None:
            return None
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            self.problems.append(f"{key}: expected an http(s) URL such as https://example.com, got {value!r}")
            return None
        return value.rstrip("/")

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        value = self.text(key, default) or default
        if value not in choices:
            self.problems.append(f"{key}: expected one of {', '.join(choices)}, got {value!r}")
        return value

    def integer(self, key: str, default: int, minimum: int = 1) -> int:
        value = self.text(key)
        if value is None:
            return default
        if not value.isdigit() or int(value) < minimum:
            self.problems.append(f"{key}: expected a whole number >= {minimum}, got {value!r}")
            return default
        return int(value)

    def _reported(self, key: str) -> bool:
        return any(p.startswith(f"{key}:") for p in self.problems)


_NCRONTAB = re.compile(r"^\S+( \S+){5}$")
ADO_URL_FORM = ("expected the organization URL https://dev.azure.com/<organization> (or "
                "https://<organization>.visualstudio.com, or a Server collection URL "
                "https://<server>/tfs/<collection>), with no project after it")


def ado_url_problem(url: str) -> str | None:
    """Why an Azure DevOps Services URL cannot be an organization URL (a Server URL's form cannot be
    told from outside; `sentry-ado check` asks the server)."""
    parsed = urlparse(url)
    host = (parsed.hostname or "").lower()
    segments = [p for p in parsed.path.split("/") if p]
    if host == "dev.azure.com" and len(segments) != 1:
        return f"ADO_ORG_URL: {ADO_URL_FORM}, got {url!r}"
    if host.endswith(".visualstudio.com") and segments and segments != ["DefaultCollection"]:
        return f"ADO_ORG_URL: {ADO_URL_FORM}, got {url!r}"
    return None


def parse_settings(env: Mapping[str, str]) -> Settings:
    """Build `Settings` from environment variables, reporting every problem at once."""
    r = _Reader(env)
    ado_auth = r.choice("ADO_AUTH", ADO_AUTH_MODES, "pat")
    link_store = r.choice("LINK_STORE", LINK_STORES, "sqlite")
    schedule = r.text("RECONCILE_SCHEDULE", DEFAULT_SCHEDULE) or DEFAULT_SCHEDULE
    if not _NCRONTAB.match(schedule):
        r.problems.append(
            f"RECONCILE_SCHEDULE: expected a 6-field NCRONTAB expression such as '{DEFAULT_SCHEDULE}', "
            f"got {schedule!r}")
    storage_connection = r.secret("AzureWebJobsStorage")
    storage_account = r.text("AzureWebJobsStorage__accountName")
    if link_store == "table" and storage_connection is None and storage_account is None:
        r.problems.append("AzureWebJobsStorage: LINK_STORE=table needs AzureWebJobsStorage (a connection "
                          "string) or AzureWebJobsStorage__accountName (identity-based access)")
    settings = Settings(
        sentry_base_url=r.url("SENTRY_BASE_URL", "https://sentry.io") or "https://sentry.io",
        sentry_org=r.text("SENTRY_ORG", required=True) or "",
        sentry_token=r.secret("SENTRY_TOKEN", required=True) or Secret(""),
        sentry_client_secret=r.secret("SENTRY_CLIENT_SECRET", required=True) or Secret(""),
        ado_org_url=r.url("ADO_ORG_URL", required=True) or "",
        ado_auth=ado_auth,
        ado_pat=r.secret("ADO_PAT", required=ado_auth == "pat"),
        ado_tenant_id=r.text("ADO_TENANT_ID", required=ado_auth == "service-principal"),
        ado_client_id=r.text("ADO_CLIENT_ID", required=ado_auth == "service-principal"),
        ado_client_secret=r.secret("ADO_CLIENT_SECRET", required=ado_auth == "service-principal"),
        ado_hook_secret=r.secret("ADO_HOOK_SECRET", required=True) or Secret(""),
        link_store=link_store,
        sqlite_path=r.text("SQLITE_PATH", "sentry-ado-links.sqlite") or "",
        storage_connection=storage_connection,
        storage_account=storage_account,
        sync_config_path=r.text("SYNC_CONFIG_PATH"),
        reconcile_schedule=schedule,
        sentry_installation_uuid=r.text("SENTRY_INSTALLATION_UUID"),
        app_base_url=r.url("APP_BASE_URL") or (f"https://{host}" if (host := r.text("WEBSITE_HOSTNAME")) else None),
        webhook_max_bytes=r.integer("WEBHOOK_MAX_BYTES", 1_048_576),
        webhook_max_age_s=r.integer("WEBHOOK_MAX_AGE_S", 300),
    )
    if settings.ado_org_url and (problem := ado_url_problem(settings.ado_org_url)):
        r.problems.append(problem)
    if r.problems:
        raise ConfigError(r.problems)
    return settings


# ---------------------------------------------------------------------------------------------
# Sync rules (TOML)


@dataclass(frozen=True)
class AutoCreate:
    """Which new Sentry issues get a work item without anyone asking."""

    enabled: bool = False
    levels: tuple[str, ...] = ("error", "fatal")
    environments: tuple[str, ...] = ()  # empty: any environment
    min_events: int = 1


@dataclass(frozen=True)
class Route:
    """Where issues of some Sentry projects go in Azure DevOps."""

    sentry_projects: tuple[str, ...]
    ado_project: str
    work_item_type: str = "Bug"
    area_path: str | None = None
    iteration_path: str | None = None
    tags: tuple[str, ...] = ("sentry",)
    fields: Mapping[str, Any] = field(default_factory=dict)
    auto_create: AutoCreate = AutoCreate()
    resolution_strategy: str | None = None  # None: [states] resolution_strategy


@dataclass(frozen=True)
class StateRules:
    """How Sentry statuses and ADO state categories correspond; see shared/mapping/states.py."""

    done_categories: tuple[str, ...] = DEFAULT_DONE_CATEGORIES
    ignored_action: str = "none"
    reopen_on_regression: bool = True
    resolution_strategy: str = "resolve"  # the default of routes that name none
    done_resolves_archived: tuple[str, ...] = ()  # archived substatuses a work item moving to done resolves
    # work item type -> {"resolved": state name, "unresolved": state name, "ignored": state name}
    overrides: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class SyncRules:
    routes: tuple[Route, ...] = ()
    states: StateRules = StateRules()
    directions: Mapping[str, str] = field(default_factory=lambda: dict.fromkeys(SYNCED_FIELDS[:3], "both")
                                          | {"title": "off"})
    conflict: str = "latest"
    # Sentry priority or level -> ADO Microsoft.VSTS.Common.Priority (1 highest .. 4)
    priority: Mapping[str, int] = field(default_factory=lambda: {
        "high": 1, "medium": 2, "low": 3,
        "fatal": 1, "error": 2, "warning": 3, "info": 4, "debug": 4, "sample": 4})
    # Sentry level -> ADO Microsoft.VSTS.Common.Severity, only on types that have the field
    severity: Mapping[str, str] = field(default_factory=lambda: {
        "fatal": "1 - Critical", "error": "2 - High", "warning": "3 - Medium",
        "info": "4 - Low", "debug": "4 - Low", "sample": "4 - Low"})
    # Sentry member email -> ADO identity (uniqueName, usually an email or DOMAIN\\user)
    identities: Mapping[str, str] = field(default_factory=dict)
    lookback_hours: int = 24
    releases: ReleaseRules | None = None  # [releases]: deployments -> Sentry releases (shared/releases/)
    code_mappings: tuple[CodeMapping, ...] = ()  # [[code_mappings]]: stack frames -> Azure Repos files

    @property
    def commit_tracking(self) -> bool:
        """``[releases]`` names repositories: deployments become Sentry releases."""
        return bool(self.releases and self.releases.repositories)

    def route_for(self, sentry_project: str) -> Route | None:
        """The route for a Sentry project slug, or None when the project is not synced."""
        return next((r for r in self.routes if sentry_project in r.sentry_projects), None)

    def resolution_strategy(self, sentry_project: str) -> str:
        """How a work item moving to done resolves an issue of this project: its route's, else the default."""
        route = self.route_for(sentry_project)
        return (route.resolution_strategy if route else None) or self.states.resolution_strategy

    def direction(self, field_name: str) -> str:
        return self.directions.get(field_name, "off")

    def syncs(self, field_name: str, towards: str) -> bool:
        """Whether changes of `field_name` flow towards "ado" or "sentry"."""
        d = self.direction(field_name)
        return d == "both" or d == f"{'sentry' if towards == 'ado' else 'ado'}-to-{towards}"


class _RulesReader:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def check_keys(self, where: str, table: Mapping[str, Any], allowed: set[str] | frozenset[str]) -> None:
        if not isinstance(table, Mapping):
            self.problems.append(f"{where}: expected a table ([{where}])")
            return
        self.problems.extend(unknown_key(where, key, allowed) for key in sorted(set(table) - allowed))

    def required_strs(self, where: str, value: Any, example: str) -> tuple[str, ...]:
        if value is None or value in ("", []):
            self.problems.append(f"{where}: is required, e.g. {example}")
            return ()
        return self.strs(where, value)

    def required_text(self, where: str, value: Any, example: str) -> str:
        if value is None or value == "":
            self.problems.append(f"{where}: is required, e.g. {example}")
            return ""
        return self.text(where, value)

    def strs(self, where: str, value: Any, choices: tuple[str, ...] | None = None) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problems.append(f"{where}: expected a list of strings, got {value!r}")
            return ()
        if choices:
            for v in value:
                if v not in choices:
                    self.problems.append(f"{where}: {v!r} is not one of {', '.join(choices)}")
        return tuple(value)

    def one_of(self, where: str, value: Any, choices: tuple[str, ...]) -> str:
        if value not in choices:
            self.problems.append(f"{where}: expected one of {', '.join(choices)}, got {value!r}")
        return value

    def text(self, where: str, value: Any) -> str:
        if not isinstance(value, str) or not value:
            self.problems.append(f"{where}: expected a non-empty string, got {value!r}")
            return ""
        return value


def _parse_route(rr: _RulesReader, i: int, raw: Any) -> Route | None:
    where = f"routes[{i}]"
    if not isinstance(raw, dict):
        rr.problems.append(f"{where}: expected a table")
        return None
    rr.check_keys(where, raw, ROUTE_KEYS)
    auto_raw = raw.get("auto_create", {})
    auto = AutoCreate()
    if isinstance(auto_raw, dict):
        rr.check_keys(f"{where}.auto_create", auto_raw, AUTO_CREATE_KEYS)
        min_events = auto_raw.get("min_events", 1)
        if not isinstance(min_events, int) or min_events < 1:
            rr.problems.append(f"{where}.auto_create.min_events: expected a whole number >= 1")
            min_events = 1
        auto = AutoCreate(
            enabled=bool(auto_raw.get("enabled", False)),
            levels=rr.strs(f"{where}.auto_create.levels", auto_raw.get("levels", ["error", "fatal"]),
                           SENTRY_LEVELS),
            environments=rr.strs(f"{where}.auto_create.environments", auto_raw.get("environments", [])),
            min_events=min_events)
    else:
        rr.problems.append(f"{where}.auto_create: expected a table")
    fields_raw = raw.get("fields", {})
    if not isinstance(fields_raw, dict):
        rr.problems.append(f"{where}.fields: expected a table of field reference name = value")
        fields_raw = {}
    return Route(
        sentry_projects=rr.required_strs(f"{where}.sentry_projects", raw.get("sentry_projects"),
                                         'sentry_projects = ["backend"] (Sentry project slugs)'),
        ado_project=rr.required_text(f"{where}.ado_project", raw.get("ado_project"), 'ado_project = "Shop"'),
        work_item_type=rr.text(f"{where}.work_item_type", raw.get("work_item_type", "Bug")),
        area_path=raw.get("area_path"),
        iteration_path=raw.get("iteration_path"),
        tags=rr.strs(f"{where}.tags", raw.get("tags", ["sentry"])),
        fields=dict(fields_raw),
        auto_create=auto,
        resolution_strategy=(rr.one_of(f"{where}.resolution_strategy", raw["resolution_strategy"],
                                       RESOLUTION_STRATEGIES) if "resolution_strategy" in raw else None),
    )


def _parse_states(rr: _RulesReader, raw: Any) -> StateRules:
    if not isinstance(raw, dict):
        rr.problems.append("states: expected a table")
        return StateRules()
    rr.check_keys("states", raw, STATES_KEYS)
    overrides = raw.get("overrides", {})
    if not isinstance(overrides, dict) or not all(isinstance(v, dict) for v in overrides.values()):
        rr.problems.append("states.overrides: expected tables per work item type, e.g. "
                           "[states.overrides.Bug] resolved = \"Resolved\"")
        overrides = {}
    for wit, table in overrides.items():
        rr.check_keys(f"states.overrides.{wit}", table, OVERRIDE_KEYS)
    done = rr.strs("states.done_categories", raw.get("done_categories", list(DEFAULT_DONE_CATEGORIES)),
                   STATE_CATEGORIES)
    if not done:
        rr.problems.append("states.done_categories: name at least one category, e.g. [\"Completed\"]")
    if "Removed" in done:
        rr.problems.append("states.done_categories: Removed never resolves the Sentry issue (a removed item is "
                           "off the board, not fixed); to archive the issue instead, set ignored_action = \"remove\"")
    return StateRules(
        done_categories=done,
        ignored_action=rr.one_of("states.ignored_action", raw.get("ignored_action", "none"), IGNORED_ACTIONS),
        reopen_on_regression=bool(raw.get("reopen_on_regression", True)),
        resolution_strategy=rr.one_of("states.resolution_strategy", raw.get("resolution_strategy", "resolve"),
                                      RESOLUTION_STRATEGIES),
        done_resolves_archived=rr.strs("states.done_resolves_archived", raw.get("done_resolves_archived", []),
                                       ARCHIVED_SUBSTATUSES),
        overrides={k: dict(v) for k, v in overrides.items()},
    )


def _table(rr: _RulesReader, where: str, value: Any) -> Mapping[str, Any]:
    if isinstance(value, dict):
        return value
    rr.problems.append(f"{where}: expected a table ([{where}] with key = value lines)")
    return {}


def parse_rules(text: str, source: str = "sync rules") -> SyncRules:
    """Parse the TOML sync rules; see README "Sync rules" and sandbox/default-sync.toml."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{source}: not valid TOML: {toml_problem(str(exc), text)}"]) from None
    rr = _RulesReader()
    rr.check_keys("", raw, RULES_KEYS)
    routes_raw = raw.get("routes", [])
    if not isinstance(routes_raw, list):
        rr.problems.append("routes: expected [[routes]] tables")
        routes_raw = []
    routes = tuple(r for i, x in enumerate(routes_raw) if (r := _parse_route(rr, i, x)) is not None)
    seen: dict[str, int] = {}
    for i, route in enumerate(routes):
        for p in route.sentry_projects:
            if p in seen:
                rr.problems.append(
                    f"routes[{i}].sentry_projects: {p!r} is already routed by routes[{seen[p]}]")
            seen[p] = i
    defaults = SyncRules()
    sync = raw.get("sync", {})
    rr.check_keys("sync", sync, SYNC_KEYS)
    sync = sync if isinstance(sync, dict) else {}
    directions = dict(defaults.directions)
    for name in SYNCED_FIELDS:
        if name in sync:
            directions[name] = rr.one_of(f"sync.{name}", sync[name], DIRECTIONS)
    lookback = sync.get("lookback_hours", 24)
    if not isinstance(lookback, int) or lookback < 1:
        rr.problems.append("sync.lookback_hours: expected a whole number of hours >= 1")
        lookback = 24
    priority = dict(defaults.priority)
    for key, value in _table(rr, "priority", raw.get("priority", {})).items():
        if key not in SENTRY_PRIORITIES + SENTRY_LEVELS:
            rr.problems.append(f"priority.{key}: not a Sentry priority or level")
        elif not isinstance(value, int) or not 1 <= value <= 4:
            rr.problems.append(f"priority.{key}: expected an ADO priority 1-4, got {value!r}")
        else:
            priority[key] = value
    severity = dict(defaults.severity)
    for key, value in _table(rr, "severity", raw.get("severity", {})).items():
        if key not in SENTRY_LEVELS:
            rr.problems.append(f"severity.{key}: not a Sentry level")
        else:
            severity[key] = rr.text(f"severity.{key}", value)
    identities = raw.get("identities", {})
    if not isinstance(identities, dict) or not all(isinstance(v, str) for v in identities.values()):
        rr.problems.append("identities: expected a table of \"sentry email\" = \"ADO uniqueName\"")
        identities = {}
    from shared.releases.rules import parse_release_rules

    try:
        releases = parse_release_rules(raw.get("releases"))
    except ConfigError as exc:
        rr.problems.extend(exc.problems)
        releases = None
    from shared.code_links import parse_code_mappings

    try:
        code_mappings = parse_code_mappings(raw.get("code_mappings"))
    except ConfigError as exc:
        rr.problems.extend(exc.problems)
        code_mappings = ()
    rules = SyncRules(
        releases=releases,
        code_mappings=code_mappings,
        routes=routes,
        states=_parse_states(rr, raw.get("states", {})),
        directions=directions,
        conflict=rr.one_of("sync.conflict", sync.get("conflict", "latest"), CONFLICT_RULES),
        priority=priority,
        severity=severity,
        identities={k.lower(): v for k, v in identities.items()},
        lookback_hours=lookback,
    )
    if rr.problems:
        raise ConfigError([f"{source}: {p}" if not p.startswith(source) else p for p in rr.problems])
    return rules


# What to change for each of tomllib's messages (their text is stable across Python versions).
_TOML_FIXES = (
    ("Cannot overwrite a value", "a key is set twice (or a key and a [table] share a name): keep one"),
    ("Cannot declare", "a [table] header appears twice: merge the two tables (use [[...]] for a list of tables)"),
    ("Invalid value", "give the key a value: a \"quoted string\", a number, true/false or a [list]; "
                      "to leave it unset, delete the line"),
    ("Invalid statement", "each line must be key = value, a [table] header or a comment (#)"),
    ("Unclosed", "close the string, array or table opened on this line"),
    ("Illegal character", "quote the text: key = \"value\""),
    ("Expected", "check the punctuation: strings in double quotes, lists in [ ], items separated by commas"),
)
_TOML_WHERE = re.compile(r"\(at line (\d+), column (\d+)\)")


def toml_problem(message: str, text: str) -> str:
    """tomllib's message, the offending line quoted, and what to change."""
    where = _TOML_WHERE.search(message)
    line = ""
    if where:
        lines = text.splitlines()
        number = int(where.group(1))
        if 1 <= number <= len(lines):
            line = f" in `{lines[number - 1].strip()[:80]}`"
    fix = next((f for prefix, f in _TOML_FIXES if message.startswith(prefix)), "")
    return f"{message}{line}" + (f"; {fix}" if fix else "")


APP_ROOT = Path(__file__).resolve().parent.parent


def _rules_file(path: str) -> Path:
    """A relative SYNC_CONFIG_PATH is found in the working directory, else beside function_app.py
    (the deployed package's root, whatever directory the host starts in)."""
    candidate = Path(path)
    if candidate.is_absolute() or candidate.exists():
        return candidate
    return APP_ROOT / candidate


@dataclass(frozen=True)
class Config:
    settings: Settings
    rules: SyncRules


def load_config(env: Mapping[str, str] | None = None) -> Config:
    """Read settings from `env` (default: the process environment) and the rules file they name."""
    env = os.environ if env is None else env
    problems: list[str] = []
    try:
        settings = parse_settings(env)
    except ConfigError as exc:
        problems.extend(exc.problems)
        settings = None
    rules = SyncRules()
    path = env.get("SYNC_CONFIG_PATH")
    if path and not path.startswith(KEY_VAULT_PREFIX):
        try:
            rules = parse_rules(_rules_file(path).read_text(encoding="utf-8"), source=f"SYNC_CONFIG_PATH ({path})")
        except OSError as exc:
            looked = _rules_file(path)
            also = "" if Path(path).is_absolute() else f" (looked in {Path.cwd() / path} and {looked})"
            problems.append(f"SYNC_CONFIG_PATH: cannot read {path!r}: {exc.strerror}{also}; give an absolute "
                            "path or a path relative to the working directory")
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems or settings is None:
        raise ConfigError(problems)
    return Config(settings=settings, rules=rules)


@lru_cache(maxsize=1)
def get_config() -> Config:
    """The process-wide config, loaded on first use (never at import time: the host must index)."""
    return load_config()
