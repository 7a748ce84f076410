"""Sentry release and deploy bodies built from ADO commits and a ``Deployment``. Pure.

Why one release request carries every commit: Sentry's ``set_commits`` *replaces* a release's
commit list on every POST or PUT (reference §3.1-3.2), so sending commits in several requests would
leave only the last batch. Large deploys are bounded instead: at most ``max_commits`` commits (the
newest, as ``commitsbatch`` lists them) and at most ``MAX_PATCH_SET`` files per commit, and
``chunked`` splits the per-commit ADO look-ups, which are the part that is really large.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from shared.releases.deployment import Deployment

MAX_PATCH_SET = 1000  # files per commit; Sentry stores each as a row
MAX_PATH = 510
MAX_AUTHOR_NAME = 128
MAX_DEPLOY_NAME = 64
T = TypeVar("T")


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most ``size`` items, in order."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"chunk size must be a positive integer, got {size!r}")
    for start in range(0, len(items), size):
        yield items[start:start + size]


def change_type(value: object) -> str:
    """ADO's ``VersionControlChangeType`` flags (``"add, edit, encoding"``) as Sentry's A/M/D."""
    flags = {part.strip().lower() for part in str(value or "").split(",")}
    if "delete" in flags:
        return "D"
    if "add" in flags:
        return "A"
    return "M"


def patch_set(changes: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Files only (folders are ``tree`` items), each path once (its last change wins), capped."""
    by_path: dict[str, str] = {}
    for change in changes:
        item = change.get("item") if isinstance(change, Mapping) else None
        if not isinstance(item, Mapping) or item.get("isFolder") or item.get("gitObjectType", "blob") != "blob":
            continue
        path = item.get("path")
        if not isinstance(path, str) or not path or len(path) > MAX_PATH:
            continue
        by_path[path] = change_type(change.get("changeType"))
    return [{"path": p, "type": t} for p, t in list(by_path.items())[:MAX_PATCH_SET]]


def sentry_commit(commit: Mapping[str, Any], changes: Iterable[Mapping[str, Any]],
                  sentry_repository: str) -> dict[str, Any]:
    """One entry of ``commits[]``: the full message (so "Fixes X-1" in a body is seen), the author's
    date (what ``git log`` shows), and the patch set that powers suspect commits."""
    sha = commit.get("commitId")
    if not isinstance(sha, str) or not sha:
        raise ValueError(f"ADO commit has no commitId: {dict(commit)!r}"[:200])
    author = commit.get("author") if isinstance(commit.get("author"), Mapping) else {}
    out: dict[str, Any] = {"id": sha, "repository": sentry_repository, "message": commit.get("comment") or "",
                           "patch_set": patch_set(changes)}
    if author.get("name"):
        out["author_name"] = str(author["name"])[:MAX_AUTHOR_NAME]
    if author.get("email"):
        out["author_email"] = str(author["email"])
    if author.get("date"):
        out["timestamp"] = str(author["date"])
    return out


def release_body(version: str, projects: Sequence[str], commits: Sequence[Mapping[str, Any]],
                 new_sha: str, url: str | None) -> dict[str, Any]:
    """Keyword arguments for ``SentryClient.create_release`` (``version`` and ``projects`` first)."""
    body: dict[str, Any] = {"version": version, "projects": list(projects), "ref": new_sha}
    if url:
        body["url"] = url
    if commits:
        body["commits"] = [dict(c) for c in commits]
    return body


def deploy_name(deployment: Deployment, run_name: str | None) -> str:
    """``<pipeline> <run> <stage>`` cut to Sentry's 64 characters; also how a crashed attempt's deploy
    is recognised later, so it must be the same for every delivery of one deployment."""
    parts = [deployment.pipeline, run_name or deployment.run_name or "", deployment.ado_stage]
    if deployment.kind == "run":
        parts = parts[:2]
    return " ".join(p for p in parts if p)[:MAX_DEPLOY_NAME]


def deploy_body(deployment: Deployment, run_name: str | None, started: str | None) -> dict[str, Any]:
    """Keyword arguments for ``SentryClient.create_deploy`` (environment first)."""
    body: dict[str, Any] = {"environment": deployment.environment, "name": deploy_name(deployment, run_name)}
    optional = {"url": deployment.url, "date_started": deployment.started or started,
                "date_finished": deployment.finished}
    body.update({k: v for k, v in optional.items() if v})
    return body
