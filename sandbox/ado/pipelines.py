"""Azure Repos commits and Azure Pipelines runs as plain data, and the shapes their APIs return.

Sources (see shared/reference/commits-and-deploys.md): ``commitsbatch`` walks history from
``compareVersion`` excluding what ``itemVersion`` reaches, newest first, ``$top`` default 100 (§2.1);
list endpoints return the first line of a message with ``commentTruncated`` (§2.3); builds carry
``sourceVersion`` and ``repository`` (§2.6); pipeline/release hook resources per §1.4-§1.5.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from sandbox.ado.errors import AdoError, bad_request
from sandbox.ado.identities import Identity


@dataclass(frozen=True)
class Commit:
    commit_id: str
    parents: tuple[str, ...]
    author: Identity
    date: str
    comment: str
    changes: tuple[tuple[str, str], ...]  # (changeType, path)


@dataclass
class Repository:
    id: str
    name: str
    project_id: str
    commits: dict[str, Commit] = field(default_factory=dict)
    heads: dict[str, str] = field(default_factory=dict)  # branch -> sha


@dataclass
class Build:
    id: int
    project_id: str
    project_name: str
    repository: Repository
    source_version: str
    source_branch: str
    pipeline: str
    reason: str
    queue_time: str
    build_number: str = ""  # the run's name: "$(Date:yyyyMMdd).$(Rev:r)" by default, never the id
    status: str = "inProgress"
    result: str | None = None
    finish_time: str | None = None
    stage_finished: str | None = None  # when the previous stage finished: the next one starts then


def commit_sha(parent: str | None, author: Identity, date: str, comment: str) -> str:
    """A deterministic 40-hex id, like git's, from what makes a commit distinct."""
    return hashlib.sha1(f"{parent}|{author.distinct()}|{date}|{comment}".encode(), usedforsecurity=False).hexdigest()


def _ancestors(repo: Repository, start: str) -> list[str]:
    seen: list[str] = []
    stack = [start]
    while stack:
        sha = stack.pop()
        if sha in seen or sha not in repo.commits:
            continue
        seen.append(sha)
        stack.extend(repo.commits[sha].parents)
    return seen


def resolve_version(repo: Repository, descriptor: Any, what: str) -> str | None:
    """A GitVersionDescriptor to a commit id; None when absent; 404 error naming it when unknown."""
    if not descriptor:
        return None
    if not isinstance(descriptor, dict) or not descriptor.get("version"):
        raise bad_request(f"{what} must be an object with a 'version'.")
    kind, version = (descriptor.get("versionType") or "branch").lower(), str(descriptor["version"])
    sha = repo.heads.get(version.removeprefix("refs/heads/")) if kind == "branch" else version.lower()
    if sha is None or sha not in repo.commits:
        raise AdoError(404, "GitItemNotFoundException" if kind == "commit" else "GitUnresolvableToCommitException",
                       f"TF401175: The version descriptor <{kind}: {version}> could not be resolved to a version "
                       f"in the repository {repo.name}")
    return sha


def files_at(repo: Repository, sha: str) -> set[str]:
    """The repository's files at a commit: every add or edit of its history not deleted since."""
    files: set[str] = set()
    for commit in sorted((repo.commits[s] for s in _ancestors(repo, sha)), key=lambda c: c.date):
        for change_type, path in commit.changes:
            if change_type == "delete":
                files.discard(path)
            else:
                files.add(path)
    return files


def folders_of(files: set[str]) -> set[str]:
    """Every folder holding one of ``files`` (``/`` the root)."""
    out = {"/"}
    for path in files:
        parts = path.strip("/").split("/")[:-1]
        out |= {"/" + "/".join(parts[:i]) for i in range(1, len(parts) + 1)}
    return out


def commits_between(repo: Repository, item: str | None, compare: str | None) -> list[Commit]:
    """History from ``compare`` (or ``item`` alone) minus what ``item`` reaches; newest first."""
    if compare is None:
        reach = _ancestors(repo, item) if item else list(repo.commits)
        excluded: set[str] = set()
    else:
        reach = _ancestors(repo, compare)
        excluded = set(_ancestors(repo, item)) if item else set()
    picked = [repo.commits[s] for s in reach if s not in excluded]
    return sorted(picked, key=lambda c: c.date, reverse=True)


def _person(ident: Identity, date: str) -> dict[str, str]:
    return {"name": ident.display_name, "email": ident.unique_name, "date": date}


def render_commit(commit: Commit, repo: Repository, repo_url: str, web_url: str, full: bool,
                  change_count: int = 0) -> dict[str, Any]:
    """GitCommitRef (lists: first line, ``commentTruncated``) or GitCommit (``full``)."""
    first = commit.comment.split("\n", 1)[0]
    counts: dict[str, int] = {}
    for change_type, _ in commit.changes:
        key = {"add": "Add", "edit": "Edit", "delete": "Delete"}.get(change_type, "Edit")
        counts[key] = counts.get(key, 0) + 1
    out: dict[str, Any] = {"commitId": commit.commit_id, "author": _person(commit.author, commit.date),
                           "committer": _person(commit.author, commit.date),
                           "comment": commit.comment if full else first, "changeCounts": counts,
                           "parents": list(commit.parents), "url": f"{repo_url}/commits/{commit.commit_id}",
                           "remoteUrl": f"{web_url}/commit/{commit.commit_id}"}
    if not full and first != commit.comment:
        out["commentTruncated"] = True
    if full and change_count:
        out["changes"] = render_changes(commit, repo_url)["changes"][:change_count]
    return out


def render_changes(commit: Commit, repo_url: str) -> dict[str, Any]:
    changes = [{"item": {"gitObjectType": "blob", "path": path, "url": f"{repo_url}/items{path}"},
                "changeType": change_type} for change_type, path in commit.changes]
    counts: dict[str, int] = {}
    for c in changes:
        key = str(c["changeType"]).capitalize()
        counts[key] = counts.get(key, 0) + 1
    return {"changeCounts": counts, "changes": changes}


def render_build(build: Build, base_url: str) -> dict[str, Any]:
    web = f"{base_url}/{build.project_id}/_build/results?buildId={build.id}"
    out = {"id": build.id, "buildNumber": build.build_number,
           "status": build.status, "queueTime": build.queue_time, "startTime": build.queue_time,
           "sourceBranch": f"refs/heads/{build.source_branch}", "sourceVersion": build.source_version,
           "reason": build.reason, "definition": {"id": 1, "name": build.pipeline},
           "project": {"id": build.project_id, "name": build.project_name},
           "repository": {"id": build.repository.id, "type": "TfsGit", "name": build.repository.name,
                          "url": f"{base_url}/{build.project_id}/_git/{build.repository.name}"},
           "url": f"{base_url}/{build.project_id}/_apis/build/Builds/{build.id}", "_links": {"web": {"href": web}}}
    if build.result:
        out["result"] = build.result
        out["finishTime"] = build.finish_time
    return out


def build_number(queue_time: str, earlier_today: int) -> str:
    """The default build number format, ``$(Date:yyyyMMdd).$(Rev:r)``: the day, then 1, 2, 3...
    (learn.microsoft.com/azure/devops/pipelines/process/run-number)."""
    return f"{queue_time[:10].replace('-', '')}.{earlier_today + 1}"


def repositories_resource(build: Build, base_url: str) -> list[dict[str, Any]]:
    """``resource.repositories`` of the pipelines events (docs/service-hooks/events.md 2025): the
    triggering change's author, committer and message, and the repository URL; no commit id."""
    commit = build.repository.commits[build.source_version]
    person = _person(commit.author, commit.date)
    return [{"type": "Git", "change": {"author": person, "committer": person, "message": commit.comment},
             "url": f"{base_url}/{build.project_id}/_git/{build.repository.name}"}]


def run_resource(build: Build, base_url: str) -> dict[str, Any]:
    """``resource.run`` and ``resource.pipeline`` of the pipelines events. ``run.name`` is the build
    number, not the id; ``run.resources.repositories.self`` names the repository, ref and commit as
    the Pipelines Runs API does (pipelines 7.1 ``RunResources``)."""
    pipeline_url = f"{base_url}/{build.project_id}/_apis/Pipelines/1"
    run = {"_links": {"self": {"href": f"{pipeline_url}/runs/{build.id}"},
                      "web": {"href": f"{base_url}/{build.project_id}/_build/results?buildId={build.id}"},
                      "pipeline.web": {"href": f"{base_url}/{build.project_id}/_build/definition?definitionId=1"},
                      "pipeline": {"href": pipeline_url}},
           "pipeline": {"url": pipeline_url, "id": 1, "revision": 1, "name": build.pipeline, "folder": "\\"},
           "state": "completed" if build.result else "inProgress", "result": build.result,
           "createdDate": build.queue_time, "finishedDate": build.finish_time,
           "url": f"{pipeline_url}/runs/{build.id}", "id": build.id, "name": build.build_number,
           "resources": {"repositories": {"self": {
               "repository": {"id": build.repository.id, "type": "azureReposGit"},
               "refName": f"refs/heads/{build.source_branch}", "version": build.source_version}}}}
    return {"run": run, "pipeline": run["pipeline"]}
