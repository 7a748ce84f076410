"""The shell: one deployment event in, one Sentry release (with its commits) and one deploy out.

Every decision is made by the pure modules; this file only reads ADO, writes Sentry and the store,
in an order that makes a re-delivered event or a crash harmless (reference §4.1, §5):
1. claim the deployment (``markers``); a recorded one is a duplicate, a live claim is retried later;
2. build -> repository and commit (``source``), version (``version``);
3. if the release already has commits, leave them (re-posting re-resolves issues people reopened);
   otherwise list the range since the environment's last deployed commit (``commit_range``), read
   each commit's full message and file changes, and post them all in one request (``payloads``);
4. post the deploy, unless a crashed earlier attempt already did (asked of Sentry on a take-over);
5. mark the deploy recorded and move the environment's head marker.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from shared.ado.client import AdoClient
from shared.ado.code_requests import get_classic_release
from shared.releases import markers
from shared.releases.commit_range import CommitRange, decide_range
from shared.releases.deployment import Deployment, NoRelease, parse_deployment
from shared.releases.payloads import chunked, deploy_body, deploy_name, release_body, sentry_commit
from shared.releases.rules import ReleaseRules
from shared.releases.source import Shipped, primary_build_id, shipped
from shared.releases.version import VersionFacts, render_version
from shared.sentry.client import SentryClient
from shared.sentry.errors import SentryNotFound
from shared.sentry.release_requests import get_release
from shared.store.base import LinkStore

CHANGES_PER_COMMIT_CALL = 100
FETCH_BATCH = 50  # commits read per batch before checking the lease

Status = Literal["released", "duplicate", "skipped"]


class DeploymentBusy(RuntimeError):
    """Another worker holds a live claim on this deployment; let the queue deliver it again later."""


@dataclass(frozen=True)
class Outcome:
    status: Status
    detail: str
    version: str | None = None
    environment: str | None = None
    commits: int = 0  # commits posted with this delivery (0 when the release already had them)
    deploy_id: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)


def handle_deployment(event: dict[str, Any], ado: AdoClient, sentry: SentryClient, store: LinkStore,
                      rules: ReleaseRules, *, release_ado: AdoClient | None = None,
                      clock: Callable[[], float] = time.time) -> Outcome:
    """Turn one deployment service-hook body into a Sentry release and deploy, at most once.

    ``release_ado`` reaches the Release Management host for classic releases
    (``https://vsrm.dev.azure.com/{org}`` on Services); it defaults to ``ado`` (right for Server)."""
    parsed = parse_deployment(event, rules)
    if isinstance(parsed, NoRelease):
        return Outcome("skipped", parsed.reason)
    deployment = parsed
    key = deployment.key
    current = markers.claim(clock())
    taken_over = False
    if not store.claim_marker(markers.DEPLOY_KIND, key, current):
        existing = store.get_marker(markers.DEPLOY_KIND, key)
        verdict = markers.claim_verdict(existing, clock())
        if verdict == "recorded":
            assert existing is not None
            return Outcome("duplicate", f"deployment {key} was already recorded as release "
                           f"{existing.get('version')!r}", existing.get("version"), deployment.environment)
        if verdict == "busy":
            raise DeploymentBusy(f"deployment {key} is being processed by another worker; retry later")
        generation = markers.next_generation(existing)
        if not store.claim_marker(markers.TAKEOVER_KIND, f"{key}#{generation}", {"at": clock()}):
            raise DeploymentBusy(f"deployment {key}: another worker is taking over the stale claim; retry later")
        current = markers.claim(clock(), generation)
        store.set_marker(markers.DEPLOY_KIND, key, current)
        taken_over = True
    try:
        return _process(deployment, ado, release_ado or ado, sentry, store, rules, current, taken_over, clock)
    except Exception as exc:
        # Free the claim for the next delivery; it checks Sentry before posting a deploy again.
        store.set_marker(markers.DEPLOY_KIND, key, markers.failed(current, clock(), f"{type(exc).__name__}"))
        raise


def _process(deployment: Deployment, ado: AdoClient, release_ado: AdoClient, sentry: SentryClient,
             store: LinkStore, rules: ReleaseRules, claim: dict[str, Any], taken_over: bool,
             clock: Callable[[], float]) -> Outcome:
    build_id = deployment.run_id
    if build_id is None:  # classic: the release's primary Build artifact
        assert deployment.release_id is not None
        build_id = primary_build_id(release_ado.send(get_classic_release(deployment.project, deployment.release_id)))
    what = shipped(ado.get_build(deployment.project, build_id), rules)
    if isinstance(what, NoRelease):
        store.set_marker(markers.DEPLOY_KIND, deployment.key, {**claim, "state": "recorded", "skipped": what.reason})
        return Outcome("skipped", what.reason, environment=deployment.environment)
    version = render_version(rules.version_template, VersionFacts(
        repo=what.repo_name, sha=what.sha, run_id=what.build_id, run_name=what.build_number,
        pipeline=deployment.pipeline, branch=what.branch))
    head_key = markers.head_key(what.repo_id, deployment.environment)
    previous = (store.get_marker(markers.HEAD_KIND, head_key) or {}).get("sha")
    commits = _release_with_commits(deployment, what, version, previous, ado, sentry, rules)
    name = deploy_name(deployment, what.build_number)
    deploy_id = _recorded_deploy_id(sentry, version, deployment.environment, name) if taken_over else None
    if deploy_id is None:
        deploy = sentry.create_deploy(version, **deploy_body(deployment, what.build_number, what.started))
        deploy_id = str((deploy or {}).get("id")) if (deploy or {}).get("id") is not None else None
    store.set_marker(markers.DEPLOY_KIND, deployment.key, markers.recorded(claim, clock(), version, deploy_id))
    store.set_marker(markers.HEAD_KIND, head_key, {"sha": what.sha, "version": version, "deployment": deployment.key})
    return Outcome("released", f"release {version!r} deployed to {deployment.environment!r}", version,
                   deployment.environment, commits, deploy_id,
                   {"repository": what.repo_name, "sha": what.sha, "previous_sha": previous, "build_id": what.build_id})


def _release_with_commits(deployment: Deployment, what: Shipped, version: str, previous: str | None,
                          ado: AdoClient, sentry: SentryClient, rules: ReleaseRules) -> int:
    """Create the release (idempotent) and give it its commits unless it already has some."""
    projects = what.rule.sentry_projects
    if _commit_count(sentry, version) > 0:
        sentry.create_release(**release_body(version, projects, [], what.sha, deployment.url))  # attach projects
        return 0
    span = decide_range(previous, what.sha, rules.first_deploy_commits, rules.max_commits)
    commits = _collect(ado, deployment.project, what, span)
    sentry.create_release(**release_body(version, projects, commits, what.sha, deployment.url))
    return len(commits)


def _commit_count(sentry: SentryClient, version: str) -> int:
    try:
        release = sentry.send(get_release(sentry.org, version)) or {}
    except SentryNotFound:
        return 0
    count = release.get("commitCount")
    return count if isinstance(count, int) else 0


def _collect(ado: AdoClient, project: str, what: Shipped, span: CommitRange) -> list[dict[str, Any]]:
    """Every commit of the range with its full message and A/M/D file list, newest first."""
    if span.empty:
        return []
    refs = ado.commits_between(project, what.repo_id, span.old, span.new, max_commits=span.limit)
    out: list[dict[str, Any]] = []
    for batch in chunked(refs, FETCH_BATCH):
        for ref in batch:
            sha = ref["commitId"]
            full = ado.get_commit(project, what.repo_id, sha, change_count=CHANGES_PER_COMMIT_CALL)
            changes = full.get("changes") or []
            if _change_total(full) > len(changes):
                changes = ado.commit_changes(project, what.repo_id, sha)
            out.append(sentry_commit({**ref, **full}, changes, what.rule.sentry_repository))
    return out


def _change_total(commit: Mapping[str, Any]) -> int:
    counts = commit.get("changeCounts") or {}
    return sum(v for v in counts.values() if isinstance(v, int)) if isinstance(counts, Mapping) else 0


def _recorded_deploy_id(sentry: SentryClient, version: str, environment: str, name: str) -> str | None:
    """After a take-over: the deploy a crashed attempt may already have posted (same name and env)."""
    try:
        deploys = sentry.list_deploys(version)
    except SentryNotFound:
        return None
    found = next((d for d in deploys if d.get("environment") == environment and d.get("name") == name), None)
    return str(found["id"]) if found and found.get("id") is not None else None


class Deployments:
    """Deployment events to Sentry releases, with the app's clients, store and release rules: the
    queue function hands each deployment event here (work item events go to the Syncer)."""

    def __init__(self, rules: ReleaseRules | None, ado_org_url: str, store: LinkStore, ado: AdoClient,
                 sentry: SentryClient) -> None:
        self.rules, self.ado_org_url = rules or ReleaseRules(), ado_org_url
        self.store, self.ado, self.sentry = store, ado, sentry

    def handle(self, body: dict[str, Any]) -> dict[str, Any]:
        outcome = handle_deployment(body, self.ado, self.sentry, self.store, self.rules,
                                    release_ado=self._release_ado())
        return {"kind": f"deployment_{outcome.status}", "detail": outcome.detail, "version": outcome.version}

    def _release_ado(self) -> AdoClient | None:
        """Classic releases live on the Release Management host on Services (vsrm.dev.azure.com)."""
        url = self.ado_org_url
        if not url.startswith("https://dev.azure.com/"):
            return None
        return AdoClient(url.replace("https://dev.azure.com/", "https://vsrm.dev.azure.com/"), self.ado.auth)
