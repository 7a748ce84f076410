"""What a deployment shipped: repository, commit and run, read from ADO Build and Release answers. Pure.

No deployment event carries a SHA (reference §1.5), so the build is the source of truth: a YAML run
id is its build id; a classic release names its build in its primary ``Build`` artifact (§1.4).
Builds of pull requests (a merge commit on ``refs/pull/N/merge``) and of sources outside Azure Repos
must not become releases (§5).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.releases.deployment import NoRelease
from shared.releases.rules import ReleaseRules, RepositoryRule


class SourceError(ValueError):
    """An ADO answer lacks a field commit tracking needs (named in the message)."""


@dataclass(frozen=True)
class Shipped:
    repo_id: str
    repo_name: str
    sha: str
    branch: str  # without refs/heads/
    build_id: int
    build_number: str
    started: str | None
    rule: RepositoryRule


def primary_build_id(release: Mapping[str, Any]) -> int:
    """The build id of a classic release's primary Build artifact (else its only Build artifact)."""
    artifacts = [a for a in release.get("artifacts") or [] if isinstance(a, Mapping) and a.get("type") == "Build"]
    chosen = next((a for a in artifacts if a.get("isPrimary")), artifacts[0] if len(artifacts) == 1 else None)
    if chosen is None:
        raise SourceError(f"release {release.get('id')}: no primary Build artifact "
                          f"({len(artifacts)} Build artifacts) - cannot tell which commit was deployed")
    version = (chosen.get("definitionReference") or {}).get("version") or {}
    try:
        return int(version.get("id"))
    except (TypeError, ValueError):
        raise SourceError(f"release {release.get('id')}: artifact {chosen.get('alias')!r} has no "
                          "definitionReference.version.id (build id)") from None


def shipped(build: Mapping[str, Any], rules: ReleaseRules) -> Shipped | NoRelease:
    """The configured repository and commit a build ran on, or why it is not released."""
    build_id = build.get("id")
    repo = build.get("repository") if isinstance(build.get("repository"), Mapping) else None
    sha = build.get("sourceVersion")
    if not isinstance(build_id, int) or repo is None or not isinstance(sha, str) or not sha:
        missing = [name for name, ok in (("id", isinstance(build_id, int)), ("repository", repo is not None),
                                         ("sourceVersion", isinstance(sha, str) and bool(sha))) if not ok]
        raise SourceError(f"build {build_id}: {', '.join(missing)} missing from the Build API answer")
    event = "build"
    if build.get("reason") == "pullRequest":
        return NoRelease(f"build {build_id} is a pull-request build (merge commit), not a deployment of a branch",
                         event)
    if repo.get("type") != "TfsGit":
        return NoRelease(f"build {build_id} built a {repo.get('type')!r} repository; only Azure Repos (TfsGit) "
                    "commits can be listed", event)
    repo_id, repo_name = str(repo.get("id") or ""), str(repo.get("name") or "")
    rule = rules.repository_for(repo_id, repo_name)
    if rule is None:
        return NoRelease(f"repository {repo_name!r} ({repo_id}) is not in releases.repositories", event)
    return Shipped(repo_id=repo_id, repo_name=repo_name, sha=sha.lower(),
                   branch=str(build.get("sourceBranch") or "").removeprefix("refs/heads/"),
                   build_id=build_id, build_number=str(build.get("buildNumber") or build_id),
                   started=build.get("startTime"), rule=rule)
