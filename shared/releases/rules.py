"""The ``[releases]`` TOML table: which repositories, stages and environments turn into Sentry releases.

Parsed in one pass so that every bad key is reported at once, as ``shared.config`` does for the rest
of the rules. Facts behind the limits: Sentry's release and deploy
serializers (getsentry/sentry ``src/sentry/api/serializers/rest_framework/release.py``,
``src/sentry/api/endpoints/release_deploys.py``) and its environment name rule
(``src/sentry/models/environment.py``).

Example::

    [releases]
    version = "{repo}@{sha}"            # must equal the release string the SDK sends
    first_deploy_commits = 20           # history taken when an environment was never deployed
    max_commits = 1000                  # cap per deploy (protects both APIs)
    environments = { deploy_prod = "production", "Production" = "production" }

    [[releases.repositories]]
    ado_repository = "shop-web"         # ADO repository name or id (GUID)
    sentry_repository = "shop-web"      # exact Sentry repository name (case matters)
    sentry_projects = ["shop-web"]
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.config_error import ConfigError, unknown_key

VERSION_PLACEHOLDERS = ("repo", "sha", "short_sha", "run_id", "run_name", "pipeline", "branch")
DEFAULT_VERSION = "{repo}@{sha}"
DEFAULT_FIRST_DEPLOY_COMMITS = 20
DEFAULT_MAX_COMMITS = 1000
MAX_SENTRY_REPOSITORY = 64  # commits[].repository limit (§5)
MAX_ENVIRONMENT = 64
_BAD_ENVIRONMENT_CHARS = set("\n\r\f/")
TOP_KEYS = {"version", "first_deploy_commits", "max_commits", "environments", "repositories"}
REPO_KEYS = {"ado_repository", "sentry_repository", "sentry_projects"}


@dataclass(frozen=True)
class RepositoryRule:
    """One ADO repository whose deployments become releases of ``sentry_projects``."""

    ado_repository: str  # name or id, matched case-insensitively (ADO names are case-insensitive)
    sentry_repository: str  # sent verbatim: Sentry matches repository names exactly
    sentry_projects: tuple[str, ...]

    def matches(self, repo_id: str, repo_name: str) -> bool:
        wanted = self.ado_repository.lower()
        return wanted in (repo_id.lower(), repo_name.lower())


@dataclass(frozen=True)
class ReleaseRules:
    repositories: tuple[RepositoryRule, ...] = ()
    environments: Mapping[str, str] = field(default_factory=dict)  # ADO name -> Sentry environment
    version_template: str = DEFAULT_VERSION
    first_deploy_commits: int = DEFAULT_FIRST_DEPLOY_COMMITS
    max_commits: int = DEFAULT_MAX_COMMITS

    def repository_for(self, repo_id: str, repo_name: str) -> RepositoryRule | None:
        return next((r for r in self.repositories if r.matches(repo_id, repo_name)), None)

    def environment_for(self, *keys: str) -> str | None:
        """The Sentry environment of the first key that is mapped (most specific key first)."""
        return next((self.environments[k] for k in keys if k in self.environments), None)


def template_problems(template: object) -> list[str]:
    """What is wrong with a version template; empty when it can be rendered."""
    if not isinstance(template, str) or not template.strip():
        return [f"expected a non-empty string such as {DEFAULT_VERSION!r}, got {template!r}"]
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        return [f"{template!r} is not a valid template ({exc}); write a literal brace as '{{{{' or '}}}}'"]
    problems = []
    names = [name for _, name, _, _ in parts if name is not None]
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in VERSION_PLACEHOLDERS:
            problems.append(f"unknown placeholder {{{name}}} (known: "
                            f"{', '.join('{' + p + '}' for p in VERSION_PLACEHOLDERS)})")
        elif spec or conversion:
            problems.append(f"placeholder {{{name}}} may not carry a format spec or conversion")
    if not names:
        problems.append(f"{template!r} has no placeholder, so every deployment would share one release; "
                        "use e.g. {sha} or {run_name}")
    literal = "".join(text for text, _, _, _ in parts)
    if set(literal) & set("\r\n\f\t/\\"):
        problems.append(f"{template!r} contains a character Sentry refuses in versions (newline, tab, / or \\)")
    return problems


def _whole(problems: list[str], where: str, value: Any, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        problems.append(f"{where}: expected a whole number from {low} to {high}, got {value!r}")
        return default
    return value


def _text(problems: list[str], where: str, value: Any, max_len: int | None = None) -> str:
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where}: expected a non-empty string, got {value!r}")
        return ""
    if max_len is not None and len(value) > max_len:
        problems.append(f"{where}: at most {max_len} characters, got {len(value)}")
    return value


def _repository(problems: list[str], index: int, raw: Any) -> RepositoryRule | None:
    where = f"releases.repositories[{index}]"
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: expected a table with ado_repository, sentry_repository, sentry_projects")
        return None
    problems.extend(unknown_key(where, k, REPO_KEYS) for k in sorted(set(raw) - REPO_KEYS))
    ado = _text(problems, f"{where}.ado_repository", raw.get("ado_repository"))
    sentry = _text(problems, f"{where}.sentry_repository", raw.get("sentry_repository"), MAX_SENTRY_REPOSITORY)
    if sentry != sentry.strip():
        problems.append(f"{where}.sentry_repository: {sentry!r} has surrounding spaces; Sentry matches names "
                        "exactly, so it would create a second repository")
    projects = raw.get("sentry_projects")
    if (not isinstance(projects, list) or not projects
            or not all(isinstance(p, str) and p.strip() for p in projects)):
        problems.append(f"{where}.sentry_projects: expected a non-empty list of Sentry project slugs, "
                        f"got {projects!r}")
        projects = []
    return RepositoryRule(ado, sentry, tuple(projects))


def _environments(problems: list[str], raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        problems.append("releases.environments: expected a table of ADO stage, classic environment or "
                        "pipeline name = Sentry environment")
        return {}
    out: dict[str, str] = {}
    for key, value in raw.items():
        where = f"releases.environments.{key!r}" if "." in key or " " in key else f"releases.environments.{key}"
        if not isinstance(value, str) or not value or len(value) > MAX_ENVIRONMENT \
                or _BAD_ENVIRONMENT_CHARS & set(value):
            problems.append(f"{where}: expected a Sentry environment name of 1-{MAX_ENVIRONMENT} characters "
                            f"without '/' or line breaks, got {value!r}")
            continue
        out[key] = value
    return out


def parse_release_rules(raw: object) -> ReleaseRules:
    """The ``[releases]`` table as ``ReleaseRules``; raises ``ConfigError`` listing every bad key."""
    if raw is None:
        return ReleaseRules()
    if not isinstance(raw, Mapping):
        raise ConfigError(["releases: expected a [releases] table"])
    problems = [unknown_key("releases", k, TOP_KEYS) for k in sorted(set(raw) - TOP_KEYS)]
    template = raw.get("version", DEFAULT_VERSION)
    problems.extend(f"releases.version: {p}" for p in template_problems(template))
    first = _whole(problems, "releases.first_deploy_commits", raw.get("first_deploy_commits"),
                   DEFAULT_FIRST_DEPLOY_COMMITS, 1, 1000)
    cap = _whole(problems, "releases.max_commits", raw.get("max_commits"), DEFAULT_MAX_COMMITS, 1, 50_000)
    repos_raw = raw.get("repositories", [])
    if not isinstance(repos_raw, list):
        problems.append("releases.repositories: expected [[releases.repositories]] tables")
        repos_raw = []
    repos = tuple(r for i, x in enumerate(repos_raw) if (r := _repository(problems, i, x)) is not None)
    seen: dict[str, int] = {}
    for i, repo in enumerate(repos):
        key = repo.ado_repository.lower()
        if key and key in seen:
            problems.append(f"releases.repositories[{i}].ado_repository: {repo.ado_repository!r} is already "
                            f"configured by releases.repositories[{seen[key]}]")
        seen.setdefault(key, i)
    environments = _environments(problems, raw.get("environments"))
    if problems:
        raise ConfigError(problems)
    return ReleaseRules(repos, environments, template, first, cap)
