"""Releases, their commits, repositories and deploys, and "Fixes SHORT-ID" resolution (pure).

Semantics follow Sentry's release endpoints and models (getsentry/sentry
``src/sentry/api/endpoints/organization_releases.py``, ``src/sentry/models/releases/set_commits.py``,
``src/sentry/utils/groupreference.py``), simplified: a release is
org-wide and idempotent on ``version`` (201 new / 208 existing); ``commits`` *replace* the
release's commit list; a commit's repository is found by exact name or created; ``refs`` name
existing repositories only. As in current Sentry, issues named after Fix/Fixes/Fixed/Close(s|d)/
Resolve(s|d) in a commit message are resolved *in the release* when its commits are set (not on
push, not on deploy); a deploy is only recorded. Not emulated: the 10-minute commit lock (409),
``#skipsentry``, commit authors matched to users, fetching commits for ``refs`` alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

FIX_KEYWORDS = re.compile(r"\b(?:fix|fixes|fixed|close|closes|closed|resolve|resolves|resolved):?\s+([\w\s,-]+)",
                          re.IGNORECASE)
SHORT_ID = re.compile(r"^[A-Za-z0-9_-]+-[A-Za-z0-9]+$")
MARKDOWN_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
BAD_VERSION = re.compile(r"[\r\n\f\t/\\]")


class InvalidRelease(ValueError):
    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__(str(errors))
        self.errors = errors


@dataclass
class Commit:
    id: str
    repository: str
    message: str | None = None
    author_name: str | None = None
    author_email: str | None = None
    timestamp: str | None = None


@dataclass
class Deploy:
    id: int
    environment: str
    name: str | None
    url: str | None
    date_started: str | None
    date_finished: str


@dataclass
class Release:
    version: str
    project_slugs: list[str]
    date_created: str
    ref: str | None = None
    url: str | None = None
    date_released: str | None = None
    commits: list[Commit] = field(default_factory=list)
    deploys: list[Deploy] = field(default_factory=list)


def referenced_short_ids(message: str) -> list[str]:
    """Short ids a commit message says it fixes, in order, without duplicates."""
    text = MARKDOWN_LINK.sub(r"\1", message or "")
    found: list[str] = []
    for run in FIX_KEYWORDS.findall(text):
        for token in re.split(r"[\s,]+", run):
            if SHORT_ID.match(token) and token.upper() not in found:
                found.append(token.upper())
    return found


def check_version(version: object) -> str:
    if not isinstance(version, str) or not version or len(version) > 200:
        raise InvalidRelease({"version": ["This field is required (at most 200 characters)."]})
    if BAD_VERSION.search(version) or version in (".", "..", "latest"):
        raise InvalidRelease({"version": ["Release with name " + version + " is not allowed"]})
    return version


def parse_commits(raw: object) -> list[Commit]:
    """Commits sorted newest first, as ``set_commits`` stores them; repository defaults to the
    org placeholder name when empty."""
    if not isinstance(raw, list) or not all(isinstance(c, Mapping) and c.get("id") for c in raw):
        raise InvalidRelease({"commits": ["Each commit needs an id."]})
    commits = [Commit(id=str(c["id"]), repository=str(c.get("repository") or "organization-1"),
                      message=c.get("message"), author_name=c.get("author_name"),
                      author_email=c.get("author_email"), timestamp=c.get("timestamp")) for c in raw]
    return sorted(commits, key=lambda c: c.timestamp or "", reverse=True)


def check_refs(raw: object, repositories: Sequence[str]) -> None:
    if not isinstance(raw, list) or not all(isinstance(r, Mapping) and r.get("repository") and r.get("commit")
                                            for r in raw):
        raise InvalidRelease({"refs": ["Each ref needs repository and commit."]})
    unknown = sorted({r["repository"] for r in raw} - set(repositories))
    if unknown:
        raise InvalidRelease({"refs": [f"Invalid repository names: {','.join(unknown)}"]})


def release_json(release: Release, org_slug: str) -> dict[str, Any]:
    last = release.deploys[-1] if release.deploys else None
    return {"version": release.version, "shortVersion": release.version, "ref": release.ref, "url": release.url,
            "dateCreated": release.date_created, "dateReleased": release.date_released,
            "commitCount": len(release.commits), "deployCount": len(release.deploys),
            "lastCommit": commit_json(release.commits[0]) if release.commits else None,
            "lastDeploy": deploy_json(last) if last else None, "status": "open", "data": {}, "newGroups": 0,
            "authors": [], "projects": [{"slug": s, "name": s} for s in release.project_slugs],
            "organization": {"slug": org_slug}}


def commit_json(commit: Commit) -> dict[str, Any]:
    return {"id": commit.id, "message": commit.message, "dateCreated": commit.timestamp,
            "repository": {"name": commit.repository},
            "author": {"name": commit.author_name, "email": commit.author_email} if commit.author_email else None}


def deploy_json(deploy: Deploy) -> dict[str, Any]:
    return {"id": str(deploy.id), "environment": deploy.environment, "name": deploy.name, "url": deploy.url,
            "dateStarted": deploy.date_started, "dateFinished": deploy.date_finished}
