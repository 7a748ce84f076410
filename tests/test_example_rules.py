"""sync.example.toml documents every key the sync-rules parser accepts, and outside [[routes]] each
value it shows is the default: a key added to the parser without a line here fails this test."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

from shared import code_links as code_mappings
from shared import config
from shared.releases import rules as releases

EXAMPLE = Path(__file__).resolve().parents[1] / "sync.example.toml"
# Tables whose keys are names the user chooses (a type, a field, an email, a stage), not the parser's.
OPEN = {"routes.fields", "states.overrides", "identities", "releases.environments"}


def accepted() -> set[str]:
    """Every key path the parser accepts, from the key sets it checks against."""
    levels = set(config.SENTRY_LEVELS)
    return ({f"{k}" for k in config.RULES_KEYS}
            | {f"routes.{k}" for k in config.ROUTE_KEYS}
            | {f"routes.auto_create.{k}" for k in config.AUTO_CREATE_KEYS}
            | {f"states.{k}" for k in config.STATES_KEYS}
            | {f"states.overrides.*.{k}" for k in config.OVERRIDE_KEYS}
            | {f"sync.{k}" for k in config.SYNC_KEYS}
            | {f"priority.{k}" for k in levels | set(config.SENTRY_PRIORITIES)}
            | {f"severity.{k}" for k in levels}
            | {f"releases.{k}" for k in releases.TOP_KEYS}
            | {f"releases.repositories.{k}" for k in releases.REPO_KEYS}
            | {f"code_mappings.{k}" for k in code_mappings.MAPPING_KEYS}
            | {f"{k}.*" for k in OPEN})


def documented(node: Any, prefix: str = "") -> set[str]:
    """Every key path in the example, lists of tables flattened, user-named keys as ``*``."""
    if isinstance(node, list) and node and all(isinstance(x, dict) for x in node):
        return set().union(*(documented(x, prefix) for x in node))
    if not isinstance(node, dict):
        return set()
    paths: set[str] = set()
    for key, value in node.items():
        path = f"{prefix}.{key}" if prefix else key
        paths.add(path)
        if prefix in OPEN:
            paths.discard(path)
            paths.add(f"{prefix}.*")
            paths |= {p.replace(path, f"{prefix}.*", 1) for p in documented(value, path)}
        else:
            paths |= documented(value, path)
    return paths


def test_every_key_the_parser_accepts_is_documented_and_nothing_else() -> None:
    shown = documented(tomllib.loads(EXAMPLE.read_text(encoding="utf-8")))
    assert accepted() - shown == set(), "keys the parser accepts that sync.example.toml does not show"
    assert shown - accepted() == set(), "keys sync.example.toml shows that the parser refuses"


def test_outside_routes_the_example_shows_the_defaults() -> None:
    parsed = config.parse_rules(EXAMPLE.read_text(encoding="utf-8"))
    defaults = config.SyncRules()
    assert replace(parsed.states, overrides={}) == defaults.states
    assert parsed.directions == defaults.directions and parsed.conflict == defaults.conflict
    assert parsed.lookback_hours == defaults.lookback_hours
    assert parsed.priority == defaults.priority and parsed.severity == defaults.severity
    ours, default = parsed.releases, releases.ReleaseRules()
    assert (ours.version_template, ours.first_deploy_commits, ours.max_commits) == (
        default.version_template, default.first_deploy_commits, default.max_commits)
