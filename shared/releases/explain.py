"""``sentry-ado plan ado FILE`` for a deployment event: what would happen, or why nothing would. Pure.

Without network access the commit and repository are unknown (they come from the Build API), so the
plan lists the calls that would find them, and the version template with the values already known.
"""

from __future__ import annotations

from typing import Any

from shared.releases.deployment import DeploymentEventError, NoRelease, parse_deployment
from shared.releases.rules import ReleaseRules


def explain(event: dict[str, Any], rules: ReleaseRules) -> dict[str, Any]:
    try:
        parsed = parse_deployment(event, rules)
    except DeploymentEventError as exc:
        return {"action": "reject", "reason": str(exc)}
    if isinstance(parsed, NoRelease):
        return {"action": "skip", "event_type": parsed.event_type, "reason": parsed.reason}
    d = parsed
    build = (f"GET {d.project}/_apis/build/builds/{d.run_id}" if d.run_id is not None else
             f"GET {d.project}/_apis/release/releases/{d.release_id} (Release Management host) -> "
             "primary Build artifact -> GET build")
    return {
        "action": "release-and-deploy",
        "kind": d.kind,
        "deduplication_key": d.key,
        "ado_stage": d.ado_stage,
        "pipeline": d.pipeline,
        "environment": d.environment,
        "deploy": {"environment": d.environment, "url": d.url, "dateStarted": d.started, "dateFinished": d.finished},
        "version_template": rules.version_template,
        "steps": [
            f"{build}: sourceVersion (commit) and repository; stop for pull-request or non-Azure-Repos builds",
            "repository must be one of: " + (", ".join(r.ado_repository for r in rules.repositories) or "(none)"),
            "if the release already has commits, keep them (do not post again)",
            f"else commits since the last commit deployed to {d.environment!r} (first deploy: newest "
            f"{rules.first_deploy_commits}, at most {rules.max_commits}), each with full message and A/M/D files",
            "POST the release with all commits in one request (Sentry replaces the list on every post)",
            f"POST one deploy to {d.environment!r}, then record it so a re-delivery does nothing",
        ],
    }
