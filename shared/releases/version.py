"""The Sentry release version of a deployment, rendered from the configured template. Pure.

The version must be byte-identical to the ``release`` the SDK reports, or Sentry shows two releases;
so the template only offers values both sides can know (reference §3.1). Rendering re-checks the
result against Sentry's version rules, because a branch or run name can bring in a ``/``.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.releases.rules import template_problems
from shared.sentry.release_requests import release_version

SHORT_SHA = 12


class VersionError(ValueError):
    """The template rendered to a version Sentry would refuse."""


@dataclass(frozen=True)
class VersionFacts:
    repo: str
    sha: str
    run_id: int | None
    run_name: str | None
    pipeline: str
    branch: str  # without refs/heads/


def render_version(template: str, facts: VersionFacts) -> str:
    problems = template_problems(template)
    if problems:
        raise VersionError(f"releases.version: {'; '.join(problems)}")
    values = {"repo": facts.repo, "sha": facts.sha, "short_sha": facts.sha[:SHORT_SHA],
              "run_id": "" if facts.run_id is None else str(facts.run_id), "run_name": facts.run_name or "",
              "pipeline": facts.pipeline, "branch": facts.branch}
    version = template.format(**values)
    try:
        return release_version(version)
    except ValueError as exc:
        raise VersionError(f"releases.version {template!r} rendered {version!r}, which Sentry refuses: {exc}") \
            from None
